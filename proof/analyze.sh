#!/bin/sh
# proof/analyze.sh: four static analysers over the core and the examples
# (`make analyze`).  Each (tool, file, variant) is one test: it passes when
# the tool reports nothing at all.  A missing tool is a SKIP line, never a
# pass.  Last line: "analyze: N passed, N failed"; exit status 1 on failure.
#
#   gcc -fanalyzer          interprocedural paths: leaks, double free, NULL
#   clang --analyze         the Clang static analyser's default checkers
#   clang-tidy              bugprone-*, cert-*, clang-analyzer-* (the
#                           analyser's optional checkers too), minus
#                           bugprone-easily-swappable-parameters: it judges
#                           signatures, and the public API's are fixed by
#                           smtp.h
#   cppcheck                --enable=warning,portability, every #ifdef
#                           configuration it finds
#
# Variants: smtp.c as shipped and with every SMTP_NO_* extension compiled
# out; each example with and without OpenSSL (SMTP_SINK_NO_TLS, SMTP_SEND_NO_TLS).
# A finding that is wrong is silenced next to its line, with the reason
# (NOLINT(check): why); none are silenced here.
set -u
BUILD=${BUILD:-build}
GCC=${GCC:-gcc}
CLANG=${CLANG:-clang}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
CPPCHECK=${CPPCHECK:-cppcheck}
TIDY_CHECKS='-*,bugprone-*,cert-*,clang-analyzer-*,-bugprone-easily-swappable-parameters'
NO_EXT='-DSMTP_NO_CHUNKING -DSMTP_NO_STARTTLS -DSMTP_NO_AUTH -DSMTP_NO_DSN -DSMTP_NO_SMTPUTF8'
out=$BUILD/analyze
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0

# check NAME CMD...: starts CMD in the background (ANALYZE_JOBS at a time,
# default one per CPU); report() then judges each in the order started: any
# "warning:" or "error:" line, or a non-zero exit, is a finding.  $obj is a
# fresh output file name for CMD.
jobs=${ANALYZE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
n=0
obj=$out/000.o
check() {
    name=$1; shift
    log=$out/$(printf %03d $n).log
    echo "$name" >"$log.name"
    { "$@" >"$log" 2>&1; echo $? >"$log.rc"; } &
    n=$((n + 1))
    obj=$out/$(printf %03d $n).o
    [ $((n % jobs)) -eq 0 ] && wait
}
report() {
    wait
    for rcf in "$out"/[0-9][0-9][0-9].log.rc; do
        [ -e "$rcf" ] || continue
        log=${rcf%.rc}; name=$(cat "$log.name"); rc=$(cat "$rcf")
        if [ "$rc" -eq 0 ] && ! grep -qE '(warning|error):' "$log"; then
            pass=$((pass + 1)); echo "ok   $name"
        else
            fail=$((fail + 1)); echo "FAIL $name (exit $rc):"
            grep -E '(warning|error):' "$log" | sed 's/^/    /'
        fi
    done
}

have() { command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $1 not installed"; return 1; }; }

# file|defines pairs, defines with commas for spaces
units="smtp.c| smtp.c|$(echo "$NO_EXT" | tr ' ' ',') smtp.c|-DSMTP_NO_SERVER"
for ex in examples/*.c; do # without OpenSSL: smtp-sink.c -> -DSMTP_SINK_NO_TLS
    units="$units $ex| $ex|-D$(basename "$ex" .c | tr 'a-z-' 'A-Z_')_NO_TLS"
done

for u in $units; do
    f=${u%%|*}; defs=$(echo "${u#*|}" | tr ',' ' ')
    tag="$f${defs:+ $defs}"
    # shellcheck disable=SC2086 # $defs is a word list
    {
        if have "$GCC"; then
            check "gcc -fanalyzer $tag" "$GCC" -std=c99 -fanalyzer $defs -I. -c "$f" -o "$obj"
        fi
        if have "$CLANG"; then
            check "clang --analyze $tag" "$CLANG" --analyze -std=c99 $defs -I. "$f" -o "$obj"
        fi
        if have "$CLANG_TIDY"; then
            check "clang-tidy $tag" "$CLANG_TIDY" --quiet --checks="$TIDY_CHECKS" --warnings-as-errors='*' \
                "$f" -- -std=c99 $defs -I.
        fi
    }
done
if have "$CPPCHECK"; then
    for f in smtp.c examples/*.c; do
        check "cppcheck $f" "$CPPCHECK" --enable=warning,portability --std=c99 --quiet \
            --error-exitcode=1 --inline-suppr -I. "$f"
    done
fi
report
echo "analyze: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
