#!/bin/sh
# Runs each suite named on the command line as `make <suite>`, shows its
# output, and adds up the "N passed, N failed" line each one ends with.
# A suite whose make exits non-zero counts one failure more, so a build
# error or a crash can never pass.  Each suite's wall time is printed after
# it ("=== suite: N s"), to see where CI's minutes go.
passed=0; failed=0
# A suite's prerequisites (its builds) are made TEST_JOBS at a time (default:
# the number of CPUs); the suite itself then runs alone.
jobs=${TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
tmp=$(mktemp -d)
for suite in "$@"; do
    echo "=== $suite"
    t0=$(date +%s)
    { make --no-print-directory -j"$jobs" "$suite" 2>&1; echo $? >"$tmp/rc"; } | tee "$tmp/out"
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$tmp/out" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
        f=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
        passed=$((passed + p)); failed=$((failed + f))
    else
        echo "!!! suite $suite printed no 'N passed, N failed' line"
        failed=$((failed + 1))
    fi
    if [ "$(cat "$tmp/rc")" != 0 ]; then
        echo "!!! suite $suite exited with status $(cat "$tmp/rc")"
        [ -n "$line" ] && [ "$f" -gt 0 ] || failed=$((failed + 1))
    fi
    echo "=== $suite: $(($(date +%s) - t0)) s"
done
rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
