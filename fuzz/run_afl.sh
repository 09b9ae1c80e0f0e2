#!/bin/sh
# run_afl.sh SECONDS BIN: AFL++ on fuzz_server, a main instance plus a CMPLOG
# secondary (BIN.cmplog), both bounded with -V, sharing $BUILD/afl-out.
secs=$1; bin=$2
out=${BUILD:-build}/afl-out
mkdir -p "$out"
# the main binary has ASan+UBSan (AFL_USE_ASAN/UBSAN); afl-fuzz wants these
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
       AFL_FAST_CAL=1 AFL_CMPLOG_ONLY_NEW=1 AFL_NO_UI=1
afl-fuzz -S cmplog -c "$bin.cmplog" -l 2AT -i corpus/fuzz_server -o "$out" \
    -x fuzz/smtp.dict -V "$secs" -- "$bin" >"$out/cmplog.log" 2>&1 &
pid=$!
afl-fuzz -M main -i corpus/fuzz_server -o "$out" -x fuzz/smtp.dict -V "$secs" -- "$bin"
rc=$?
wait $pid
for d in "$out"/main "$out"/cmplog; do
    [ -f "$d/fuzzer_stats" ] || continue
    echo "=== $(basename "$d"): $(grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg) ' "$d/fuzzer_stats" | \
        sed -E 's/ +: /=/' | tr '\n' ' ')"
done
n=$(ls "$out"/*/crashes/id* "$out"/*/hangs/id* 2>/dev/null | wc -l)
echo "afl: $n findings (crashes/hangs in $out/*/crashes, $out/*/hangs)"
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
