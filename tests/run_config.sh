#!/bin/sh
# make test-config: tests/unit.c (the receiver) and tests/client_config.c
# (the sender) with smtp.c under other compile-time settings, each program
# where its role is compiled in, and smtp.h from C++.  Environment from the
# Makefile: CC (gcc), CXX (g++), CFLAGS (the test flags), STRICT.  Ends with
# "config: N passed, N failed".
. tests/lib.sh
CC=${CC:-gcc}; CXX=${CXX:-g++}
mkdir -p "$TEST_DIR/config"
printf '/* test-config: SMTP_HAS_CONFIG */\n#define TEST_CONFIG_SEEN 1\n#define SMTP_RCPT_MAX 7\n#define SMTP_LINE_MAX 1000\n' \
    >"$TEST_DIR/config/smtp_config.h"
# name:flags (commas for spaces)
for v in \
    tiny:-DSMTP_LINE_MAX=64,-DSMTP_RCPT_MAX=2,-DSMTP_TEXT_LINE_MAX=3,-DSMTP_PATH_MAX=64,-DSMTP_LOCAL_MAX=16,-DSMTP_DOMAIN_MAX=64 \
    large:-DSMTP_LINE_MAX=4096,-DSMTP_REPLY_MAX=4096,-DSMTP_RCPT_MAX=1000,-DSMTP_TEXT_LINE_MAX=100000 \
    static:-DSMTP_STATIC,-Wno-unused-function \
    terse:-DSMTP_TERSE \
    no-ext:-DSMTP_NO_CHUNKING,-DSMTP_NO_STARTTLS,-DSMTP_NO_AUTH,-DSMTP_NO_DSN,-DSMTP_NO_SMTPUTF8 \
    has-config:-DSMTP_HAS_CONFIG,-I"$TEST_DIR/config" \
    no-server:-DSMTP_NO_SERVER \
    no-client:-DSMTP_NO_CLIENT \
    sender-no-auth:-DSMTP_NO_SERVER,-DSMTP_NO_AUTH \
    sender-no-oauth:-DSMTP_NO_SERVER,-DSMTP_NO_OAUTH \
    sender-no-starttls:-DSMTP_NO_SERVER,-DSMTP_NO_STARTTLS \
    sender-no-chunking:-DSMTP_NO_SERVER,-DSMTP_NO_CHUNKING \
    sender-no-dsn:-DSMTP_NO_SERVER,-DSMTP_NO_DSN \
    sender-no-smtputf8:-DSMTP_NO_SERVER,-DSMTP_NO_SMTPUTF8 \
    sender-min:-DSMTP_NO_SERVER,-DSMTP_NO_CHUNKING,-DSMTP_NO_DSN,-DSMTP_NO_SMTPUTF8,-DSMTP_NO_OAUTH \
    sender-no-ext:-DSMTP_NO_SERVER,-DSMTP_NO_CHUNKING,-DSMTP_NO_STARTTLS,-DSMTP_NO_AUTH,-DSMTP_NO_DSN,-DSMTP_NO_SMTPUTF8,-DSMTP_TERSE
do
    name=${v%%:*}; flags=$(echo "${v#*:}" | tr ',' ' ')
    echo "--- $name: $flags"
    for t in unit client_config; do
        case $t:$flags in
        unit:*SMTP_NO_SERVER*|client_config:*SMTP_NO_CLIENT*) continue ;;
        esac
        b=$TEST_DIR/$t-config-$name
        case $flags in *SMTP_STATIC*) srcs=tests/$t.c ;; *) srcs="tests/$t.c smtp.c" ;; esac
        # shellcheck disable=SC2086
        if $CC $CFLAGS $flags $srcs -o "$b"; then run "$b"
        else echo "FAIL $name: tests/$t.c does not build"; f=$((f + 1)); fi
    done
done
echo "--- C++: smtp.h with $CXX"
if command -v "$CXX" >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    if $CC $STRICT -c smtp.c -o "$TEST_DIR/cxx-smtp.o" &&
       $CXX -std=c++11 -Wall -Wextra -Wpedantic -Werror -I. tests/cxx_smoke.cc \
           "$TEST_DIR/cxx-smtp.o" -o "$TEST_DIR/cxx" && "$TEST_DIR/cxx"; then
        echo "ok   smtp.h from C++"; p=$((p + 1))
    else echo "FAIL C++"; f=$((f + 1)); fi
else echo "SKIP: $CXX not installed"; fi
finish config
