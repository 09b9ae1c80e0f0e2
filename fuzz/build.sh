#!/bin/bash -eu
# fuzz/build.sh - OSS-Fuzz / ClusterFuzzLite build script.  Works unchanged
# from the project root or from $SRC/smtp: uses $CC, $CFLAGS and
# $LIB_FUZZING_ENGINE (libFuzzer, AFL++, honggfuzz, centipede) and links
# with $CXX as OSS-Fuzz requires; writes to $OUT:
#   <target>, <target>_seed_corpus.zip, <target>.dict, <target>.options
# Local check:  CC=clang CXX=clang++ CFLAGS=-fsanitize=address,fuzzer-no-link \
#   CXXFLAGS=-fsanitize=address,fuzzer-no-link \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=build/oss fuzz/build.sh
cd "$(dirname "$0")/.."
: "${CC:=clang}" "${CXX:=clang++}" "${CFLAGS:=}" "${CXXFLAGS:=}"
: "${OUT:=build/oss-fuzz}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
$CC $CFLAGS -std=c99 -I. -c smtp.c -o "$OUT/smtp.o.tmp"
for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    $CC $CFLAGS -std=c99 -I. -c "fuzz/$t.c" -o "$OUT/$t.o.tmp"
    $CXX $CXXFLAGS $LIB_FUZZING_ENGINE "$OUT/$t.o.tmp" "$OUT/smtp.o.tmp" -o "$OUT/$t"
    rm -f "$OUT/$t.o.tmp" "$OUT/${t}_seed_corpus.zip"
    (cd "corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
    cp fuzz/smtp.dict "$OUT/$t.dict"
    if [ -f "fuzz/$t.options" ]; then cp "fuzz/$t.options" "$OUT/$t.options"; fi
done
rm -f "$OUT/smtp.o.tmp"
