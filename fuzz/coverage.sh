#!/bin/sh
# coverage.sh - line and branch coverage of smtp.c (llvm-cov, clang source
# based coverage) from the test programs in tests/ plus the whole corpus and
# tests/regressions replayed through the fuzz targets.
# Writes $BUILD/coverage/html/index.html and prints a one-line summary.
set -u
BUILD=${BUILD:-build}; CLANG=${CLANG:-clang}
dir=$BUILD/coverage
PROFDATA=$(command -v llvm-profdata || command -v llvm-profdata-14)
LLVMCOV=$(command -v llvm-cov || command -v llvm-cov-14)
if [ -z "$PROFDATA" ] || [ -z "$LLVMCOV" ]; then
    echo "coverage: llvm-profdata/llvm-cov missing: apt-get install llvm"; exit 1
fi
rm -rf "$dir"; mkdir -p "$dir/bin" "$dir/prof"
CF="-std=c99 -O0 -g -fprofile-instr-generate -fcoverage-mapping -I."
export LLVM_PROFILE_FILE="$PWD/$dir/prof/%p-%m.profraw"
objs=""
# 1. the fuzz targets over corpus/ and tests/regressions/
for src in fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    $CLANG $CF fuzz/$t.c fuzz/replay_main.c smtp.c -o "$dir/bin/$t" || exit 1
    set -- corpus/$t
    for r in tests/regressions/$t-*; do [ -e "$r" ] && set -- "$@" "$r"; done
    "$dir/bin/$t" "$@" >"$dir/$t.log" 2>&1
    objs="$objs -object $dir/bin/$t"
done
# 2. every test program in tests/ (a .c with a main), run the way the
#    tests section runs it when known, else with no arguments
for src in tests/*.c; do
    [ -e "$src" ] || continue
    grep -q 'main(' "$src" || continue
    b=$dir/bin/$(basename "$src" .c)
    if $CLANG $CF "$src" smtp.c -o "$b" >"$b.build.log" 2>&1; then
        case $(basename "$src") in
            transcript.c) "$b" tests/transcripts/*.txt >"$b.log" 2>&1 ;;
            *) "$b" >"$b.log" 2>&1 ;;
        esac
        objs="$objs -object $b"
    else
        echo "coverage: $src does not build alone with smtp.c (skipped, see $b.build.log)"
    fi
done
"$PROFDATA" merge -sparse "$dir"/prof/*.profraw -o "$dir/smtp.profdata" || exit 1
first=$(echo $objs | awk '{print $2}')
rest=$(echo $objs | cut -d' ' -f3-)
"$LLVMCOV" show "$first" $rest -instr-profile="$dir/smtp.profdata" -format=html \
    -show-branches=count -show-line-counts-or-regions -output-dir="$dir/html" smtp.c
"$LLVMCOV" show "$first" $rest -instr-profile="$dir/smtp.profdata" \
    -show-branches=count smtp.c >"$dir/smtp.c.txt"
"$LLVMCOV" report "$first" $rest -instr-profile="$dir/smtp.profdata" smtp.c >"$dir/report.txt"
# Uncovered lines and branches, for the README list
grep -nE '^ +[0-9]+\| +0\|' "$dir/smtp.c.txt" >"$dir/uncovered-lines.txt"
grep -nE 'Branch \(.*\[True: 0|False: 0' "$dir/smtp.c.txt" >"$dir/uncovered-branches.txt"
line=$(grep -E '^(TOTAL|.*smtp\.c) ' "$dir/report.txt" | tail -n 1)
echo "$line" | awk '{printf "coverage: smtp.c lines %s (%d of %d missed), branches %s (%d of %d missed) - %s/html/index.html\n", $10, $9, $8, $13, $12, $11, "'"$dir"'"}'
