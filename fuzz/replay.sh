#!/bin/sh
# Replays corpus/<target>/ and tests/regressions/<target>-* with each replay
# build given (folders of binaries named after the targets).  Every input is
# one test; prints "fuzz-replay: N passed, N failed" and fails if any failed.
passed=0; failed=0
for dir in "$@"; do
    for bin in "$dir"/fuzz_*; do
        t=$(basename "$bin")
        set -- corpus/"$t"
        for r in tests/regressions/"$t"-*; do [ -e "$r" ] && set -- "$@" "$r"; done
        out=$("$bin" "$@" 2>&1); rc=$?
        line=$(echo "$out" | tail -n 1)
        echo "$out" | grep -v ' passed, ' | head -n 20
        p=$(echo "$line" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
        f=$(echo "$line" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
        if [ -z "$p" ]; then p=0; f=1; echo "$bin: no summary (exit $rc)"; fi
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
        echo "$(basename "$dir")/$t: $p passed, $f failed"
        passed=$((passed + p)); failed=$((failed + f))
    done
done
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
