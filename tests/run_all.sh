#!/bin/sh
# Runs each suite named on the command line as `make <suite>`, shows its
# output, and adds up the "N passed, N failed" line each one ends with.
# A suite whose make exits non-zero counts one failure more, so a build
# error or a crash can never pass.  Each suite's wall time is printed after
# it ("=== suite: N s"), to see where CI's minutes go.
#
# Suites named in TEST_BESIDE start first, in the background, and run beside
# the others; their output is shown and counted at the end.  They must build
# nothing with make that another suite builds (the proof reads the sources
# and writes only its own folder): the point is that the suites that mostly
# wait (servers and clients on loopback, fixed-time fuzzing) leave the CPUs
# to the analysis, instead of the two taking turns.
passed=0; failed=0
# A suite's prerequisites (its builds) are made TEST_JOBS at a time (default:
# the number of CPUs); the suite itself then runs alone.
jobs=${TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
beside=" ${TEST_BESIDE:-} "
tmp=$(mktemp -d)

# count SUITE OUT RC T0: adds up SUITE's result from its output and status
count() {
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
        f=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
        passed=$((passed + p)); failed=$((failed + f))
    else
        echo "!!! suite $1 printed no 'N passed, N failed' line"
        failed=$((failed + 1))
    fi
    if [ "$3" != 0 ]; then
        echo "!!! suite $1 exited with status $3"
        [ -n "$line" ] && [ "$f" -gt 0 ] || failed=$((failed + 1))
    fi
}

for suite in "$@"; do
    case $beside in *" $suite "*) ;; *) continue ;; esac
    echo "=== $suite: started beside the others (its output comes at the end)"
    {
        t0=$(date +%s)
        make --no-print-directory "$suite" >"$tmp/$suite.out" 2>&1
        echo "$? $(($(date +%s) - t0))" >"$tmp/$suite.rc"
    } &
done

for suite in "$@"; do
    case $beside in *" $suite "*) continue ;; esac
    echo "=== $suite"
    t0=$(date +%s)
    { make --no-print-directory -j"$jobs" "$suite" 2>&1; echo $? >"$tmp/rc"; } | tee "$tmp/out"
    count "$suite" "$tmp/out" "$(cat "$tmp/rc")"
    echo "=== $suite: $(($(date +%s) - t0)) s"
done

wait
for suite in "$@"; do
    case $beside in *" $suite "*) ;; *) continue ;; esac
    echo "=== $suite (ran beside the others)"
    cat "$tmp/$suite.out"
    read -r rc t <"$tmp/$suite.rc"
    count "$suite" "$tmp/$suite.out" "$rc"
    echo "=== $suite: $t s, beside the others"
done
rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
