#!/bin/sh
# run_libfuzzer.sh MODE SECONDS BINDIR [libFuzzer flags...]
# Runs every libFuzzer target in BINDIR for SECONDS, seeded from corpus/<t>
# (read-only) with new inputs written to $FUZZ_WORK/<t> and crashes to
# $FUZZ_WORK/artifacts/<date>/ (make repro FILE=... replays one).  FUZZ_PAR
# targets run at a time (default: the number of CPUs), each on one core.
# Shows each engine's progress, then a summary per target (execs, exec/s,
# coverage, findings).  MODE "smoke" (CI) ends with "fuzz-smoke: N passed,
# N failed"; both fail if anything was found.
mode=$1; secs=$2; bindir=$3; shift 3
work=${FUZZ_WORK:-build/fuzz-work}
par=${FUZZ_PAR:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
art=$work/artifacts/$(date +%Y%m%d-%H%M%S)
mkdir -p "$art" "$work/logs"

run_one() { # $1: the binary; the rest: libFuzzer flags
    bin=$1; shift
    t=$(basename "$bin")
    mkdir -p "$work/$t"
    "$bin" "$@" -max_total_time="$secs" -artifact_prefix="$art/$t-" \
        "$work/$t" corpus/"$t" >"$work/logs/$t.log" 2>&1
}

n=0
for bin in "$bindir"/fuzz_*; do
    echo "=== $(basename "$bin"): $secs s (log $work/logs/$(basename "$bin").log)"
    run_one "$bin" "$@" &
    n=$((n + 1))
    [ $((n % par)) -eq 0 ] && wait
done
wait

summary=""; passed=0; failed=0
for bin in "$bindir"/fuzz_*; do
    t=$(basename "$bin")
    log="$work/logs/$t.log"
    echo "--- $t"
    grep -E '^#[0-9]+.*(NEW|pulse|DONE|REDUCE)|ERROR|VIOLATED|SUMMARY|Test unit written' "$log" |
        { if [ "$mode" = smoke ]; then grep -vE 'NEW|REDUCE'; else cat; fi; }
    found=$(ls "$art" | grep -c "^$t-")
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    corp=$(ls "$work/$t" | wc -l)
    if grep -qE 'ERROR: libFuzzer|ERROR: AddressSanitizer|PROPERTY VIOLATED|runtime error' "$log" && [ "$found" -eq 0 ]; then
        found=1
    fi
    line=$(printf '%-12s execs %-10s exec/s %-7s %-22s new inputs %-5s findings %s' \
        "$t" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$corp" "$found")
    summary="$summary$line
"
    if [ "$found" -eq 0 ] && [ -n "$execs" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "=== summary ($secs s per target, $par at a time; inputs in $work/<target>, crashes in $art)"
printf '%s' "$summary"
ls "$art" 2>/dev/null | sed "s|^|finding: $art/|"
if [ "$mode" = smoke ]; then
    echo "fuzz-smoke: $passed passed, $failed failed"
else
    echo "fuzz: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
