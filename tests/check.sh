#!/bin/sh
# make check: the core's own tests with one compiler and nothing else: the
# receiver's and the sender's transcripts in every feeding mode, the unit
# tests (default build and SMTP_TERSE with every extension compiled out),
# the transcripts and unit tests once more with SMTP_SMALL (smtp.h),
# the sender's unit tests, the README's embedding examples, TURN/ATRN and
# the sender wired to the receiver (tests/b2b.c).  No Python, no OpenSSL,
# no other package.  With ASan+UBSan when the compiler can build and run
# them, without otherwise (said so).
# Environment: CC (default cc), BUILD (build), CHECK_CFLAGS (replaces the
# warning and debug flags).  Ends with "check: N passed, N failed".
CC=${CC:-cc}
BUILD=${BUILD:-build}
TEST_DIR=$BUILD/check
. tests/lib.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
start=$(date +%s)
CFLAGS=${CHECK_CFLAGS:--std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow \
-Wstrict-prototypes -Wmissing-prototypes -Werror -g}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
printf 'int main(void) { return 0; }\n' >"$TEST_DIR/probe.c"
# shellcheck disable=SC2086
if $CC $CFLAGS $SAN "$TEST_DIR/probe.c" -o "$TEST_DIR/probe" >/dev/null 2>&1 && "$TEST_DIR/probe"; then
    echo "check: $CC with ASan+UBSan"; OPT=-O1
else
    # -O2 as firmware is built (gcc 12.2 at -O1 miscompiles a unit test)
    SAN=; OPT=-O2; echo "check: $CC cannot build and run -fsanitize=address,undefined: without sanitizers"
fi
$CC --version 2>/dev/null | head -n 1

# build NAME FLAGS...: tests/NAME.c (NAME up to a '-') with smtp.c into
# $TEST_DIR/NAME, in the background; wait, then `built NAME` says if it did.
build() {
    _b=$1; shift; rm -f "$TEST_DIR/$_b"
    # shellcheck disable=SC2086
    $CC $CFLAGS $OPT $SAN -I. "$@" "tests/${_b%%-*}.c" smtp.c -o "$TEST_DIR/$_b" &
}
built() {
    [ -x "$TEST_DIR/$1" ] && return 0
    echo "FAIL $1 does not build with $CC"; f=$((f + 1)); return 1
}
# SMTP_SMALL=0 (the faster paths for common input, as at -O2) in the default
# builds, =1 (the smaller paths, as at -Os) in transcript-small, cunit-small
# and unit-small
build transcript -DSMTP_SMALL=0
build transcript-small -DSMTP_SMALL=1
build ctranscript
build cunit -DSMTP_SMALL=0
build cunit-small -DSMTP_SMALL=1
build unit -DSMTP_SMALL=0
build unit-small -DSMTP_TERSE -DSMTP_NO_CHUNKING -DSMTP_NO_STARTTLS -DSMTP_NO_AUTH -DSMTP_NO_DSN \
    -DSMTP_NO_SMTPUTF8 -DSMTP_SMALL=1
build embed_example
build turn
build embed_client
build b2b
wait
built transcript && { echo "--- transcripts"; run "$TEST_DIR/transcript" tests/transcripts/*.txt; }
built transcript-small && { echo "--- transcripts, SMTP_SMALL"; run "$TEST_DIR/transcript-small" tests/transcripts/*.txt; }
built ctranscript && { echo "--- client transcripts"; run "$TEST_DIR/ctranscript" tests/ctranscripts/*.txt; }
built cunit && { echo "--- client unit"; run "$TEST_DIR/cunit"; }
built cunit-small && { echo "--- client unit, SMTP_SMALL"; run "$TEST_DIR/cunit-small"; }
built unit && { echo "--- unit"; run "$TEST_DIR/unit"; }
built unit-small && { echo "--- unit, SMTP_TERSE, SMTP_SMALL and every SMTP_NO_*"; run "$TEST_DIR/unit-small"; }
built embed_example && { echo "--- embedding example"; embed "$TEST_DIR/embed_example"; }
built embed_client && { echo "--- sender example"; embedc "$TEST_DIR/embed_client"; }
built turn && { echo "--- TURN and ATRN, both roles"; run "$TEST_DIR/turn"; }
built b2b && { echo "--- sender and receiver back to back"; run "$TEST_DIR/b2b"; }
echo "check: took $(($(date +%s) - start)) s"
finish check
