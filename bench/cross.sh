#!/bin/sh
# bench/cross.sh: the tests on other byte orders and word sizes, under
# qemu-user (`make test-cross`).
#
# Targets (Debian cross compilers; each one missing is a SKIP, not a pass):
#   armhf  arm-linux-gnueabihf-gcc + qemu-arm    32-bit little-endian
#   mips   mips-linux-gnu-gcc      + qemu-mips   32-bit big-endian
#   s390x  s390x-linux-gnu-gcc     + qemu-s390x  64-bit big-endian
# (packages gcc-arm-linux-gnueabihf libc6-dev-armhf-cross gcc-mips-linux-gnu
# libc6-dev-mips-cross gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user).
# CROSS_TARGETS="armhf s390x" picks some.
#
# For each target:
#   1. smtp.c compiles with the strict flags and -Werror (one check: 32-bit
#      size_t and long often bring out conversion warnings);
#   2. bench/selfcheck.c (the RFC 821 example session, every split, 64-bit
#      sizes) and every test program the tests section lists in
#      CROSS_TESTS (default: tests/transcript.c over
#      tests/transcripts/*.txt) are linked statically and run under qemu;
#      each prints "N passed, N failed" and the counts are added.
# No sanitizers here: the native `make test` runs them.
# Last line: "N passed, N failed"; exit status 1 if anything failed.
set -u
BUILD=${BUILD:-build}
STRICT=${STRICT:--std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror}
CROSS_TARGETS=${CROSS_TARGETS:-armhf mips s390x}
# "source args..." entries separated by ';'
CROSS_TESTS=${CROSS_TESTS:-tests/transcript.c tests/transcripts/*.txt}
TEST_CFLAGS=${TEST_CFLAGS:--std=c99 -O2 -Wall -Wextra -Wno-unused-function}

passed=0
failed=0
start=$(date +%s)

count() { # LOGFILE: add its last "N passed, N failed" line; none: 1 failure
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        return 1
    fi
    p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
    echo "    $line"
}

for t in $CROSS_TARGETS; do
    case $t in
    armhf) cc=arm-linux-gnueabihf-gcc qemu=qemu-arm ;;
    mips) cc=mips-linux-gnu-gcc qemu=qemu-mips ;;
    s390x) cc=s390x-linux-gnu-gcc qemu=qemu-s390x ;;
    *) echo "unknown target $t"; failed=$((failed + 1)); continue ;;
    esac
    if ! command -v "$cc" >/dev/null 2>&1 || ! command -v "$qemu" >/dev/null 2>&1; then
        echo "== $t: SKIP: $cc or $qemu not installed"
        continue
    fi
    dir=$BUILD/cross/$t
    mkdir -p "$dir"
    echo "== $t ($cc, $qemu)"

    # shellcheck disable=SC2086
    if $cc $STRICT -O2 -c smtp.c -o "$dir/smtp.o" 2>"$dir/smtp.warn"; then
        passed=$((passed + 1))
        echo "    smtp.c: strict build with -Werror: ok"
    else
        failed=$((failed + 1))
        echo "    FAIL: smtp.c does not build with the strict flags for $t:"
        sed 's/^/      /' "$dir/smtp.warn" | head -20
        # go on with a lenient build so the tests still run
        # shellcheck disable=SC2086
        $cc -std=c99 -O2 -c smtp.c -o "$dir/smtp.o" || continue
    fi

    # selfcheck first, then CROSS_TESTS (';'-separated "source args...")
    printf '%s\n' "bench/selfcheck.c" "$CROSS_TESTS" | tr ';' '\n' |
        while read -r src args; do
            [ -n "$src" ] && echo "$src $args"
        done >"$dir/list"
    while read -r src args; do
        [ -f "$src" ] || { echo "    SKIP: $src not there yet"; continue; }
        exe=$dir/$(basename "$src" .c)
        # linked with smtp.o, or alone if it includes smtp.c itself
        # shellcheck disable=SC2086
        if ! $cc $TEST_CFLAGS -I. -static "$src" "$dir/smtp.o" -o "$exe" \
                2>"$exe.build" &&
           ! $cc $TEST_CFLAGS -I. -static "$src" -o "$exe" 2>>"$exe.build"; then
            echo "    FAIL: $src does not build for $t:"
            sed 's/^/      /' "$exe.build" | head -20
            failed=$((failed + 1))
            continue
        fi
        # shellcheck disable=SC2086
        "$qemu" "$exe" $args >"$exe.log" 2>&1
        rc=$?
        echo "    $src $( [ -n "$args" ] && echo "($(echo $args | wc -w) files)")"
        grep -E '^(FAIL|not ok|selfcheck:)' "$exe.log" | head -20 | sed 's/^/    /'
        if count "$exe.log"; then
            if [ $rc != 0 ] && ! tail -n 1 "$exe.log" | grep -q ' [1-9][0-9]* failed'; then
                echo "    FAIL: exit status $rc"
                failed=$((failed + 1))
            fi
        else
            echo "    FAIL: no 'N passed, N failed' line (exit $rc):"
            tail -5 "$exe.log" | sed 's/^/      /'
        fi
    done <"$dir/list"
done
echo "test-cross took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
