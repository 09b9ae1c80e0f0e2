#!/bin/sh
# make fuzz-merge / fuzz-seeds: minimise corpus/<target>/ together with new
# inputs (-merge=1 of the libFuzzer builds) and write the result back.
#   fuzz/merge.sh work   build/fuzz-work/<target> (and AFL++ queues for fuzz_server)
#   fuzz/merge.sh seeds  the hand-made seeds of fuzz/mkseeds.py, mkseeds_ext.py and mkseeds_client.py
# Environment: FUZZ_DIR (libFuzzer builds in $FUZZ_DIR/libfuzzer), FUZZ_WORK,
# BUILD, FUZZ_TARGETS.
mode=$1
if [ "$mode" = seeds ]; then
    rm -rf "$FUZZ_WORK/seeds" && python3 fuzz/mkseeds.py "$FUZZ_WORK/seeds" &&
        python3 fuzz/mkseeds_ext.py "$FUZZ_WORK/seeds/fuzz_ext" &&
        python3 fuzz/mkseeds_client.py "$FUZZ_WORK/seeds" || exit 1
fi
for t in $FUZZ_TARGETS; do
    extra=""
    if [ "$mode" = seeds ]; then
        extra="$FUZZ_WORK/seeds/$t"
    else
        [ -d "$FUZZ_WORK/$t" ] && extra="$FUZZ_WORK/$t"
        if [ "$t" = fuzz_server ]; then
            for q in "$BUILD"/afl-out/*/queue; do [ -d "$q" ] && extra="$extra $q"; done
        fi
    fi
    mkdir -p "corpus/$t" "$FUZZ_WORK/merged/$t" && rm -f "$FUZZ_WORK/merged/$t"/*
    # shellcheck disable=SC2086
    "$FUZZ_DIR/libfuzzer/$t" -merge=1 -use_counters=0 -max_len=4096 "$FUZZ_WORK/merged/$t" \
        "corpus/$t" $extra 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files'
    if ls "$FUZZ_WORK/merged/$t"/* >/dev/null 2>&1; then
        rm -f "corpus/$t"/* && cp "$FUZZ_WORK/merged/$t"/* "corpus/$t/" &&
            echo "$t: $(ls "corpus/$t" | wc -l) files in corpus/$t"
    else echo "$mode: nothing merged for $t, corpus/$t kept"; fi
done
