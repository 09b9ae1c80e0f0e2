#!/bin/sh
# Vendoring checks: what a firmware project does when it copies smtp.c.
#  1. #define SMTP_STATIC and #include "smtp.c" into a file that already has
#     <sys/param.h> (MIN), <error.h> (error()) and its own reply, error,
#     command, body and MIN, with -Werror, under gcc and clang.
#  2. smtp.c compiles as C++ (g++ and clang++ -x c++); each role alone with
#     each compile-out switch compiles clean as C and C++.
#  3. nm of smtp.o: every function or object it defines starts with smtp_
#     (compiler-made local labels, which contain a '.', aside).
#  4. smtp.c and smtp.h are laid out as .clang-format says.
# Prints "vendor: N passed, N failed".
dir=${1:-build/tests}
mkdir -p "$dir"
p=0; f=0
ok() { p=$((p + 1)); }
bad() { echo "FAIL $*"; f=$((f + 1)); }
cat >"$dir/vendor.c" <<'C'
#define _GNU_SOURCE
#include <sys/param.h>
#include <error.h>
#include <stdio.h>
#undef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b)) /* the application's own */
static int reply(int x) { return x + 1; }
static int command(int x) { return x + 2; }
static int body(int x) { return x + 3; }
static int state, verb, flag, line; /* names a careless core would take */
#define SMTP_STATIC
#include "smtp.c"
int main(void)
{
    struct smtp_session s;
    union smtp_event ev;
    size_t used;
    smtp_init(&s, NULL);
    if (smtp_feed(&s, "", 0, &used, &ev) != SMTP_EV_CONNECT)
        error(1, 0, "no EV_CONNECT");
    state = verb = flag = line = 0;
    return reply(0) + command(0) + body(0) + MIN(0, 1) + state + verb + flag + line - 6;
}
C
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 || { echo "SKIP: $cc not installed"; continue; }
    if $cc -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -Wno-unused-function \
           -I. "$dir/vendor.c" -o "$dir/vendor-$cc" && "$dir/vendor-$cc"; then ok
    else bad "$cc: smtp.c #included next to clashing names"; fi
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null 2>&1 || { echo "SKIP: $cxx not installed"; continue; }
    for std in c++11 c++17; do
        if $cxx -x c++ -std=$std -Wall -Wextra -Wpedantic -Werror -c smtp.c -o "$dir/vendor-$cxx.o"; then ok
        else bad "$cxx -std=$std: smtp.c as C++"; fi
    done
done
# 2b. each role alone (and neither: the helpers), with each compile-out
#     switch, as C (gcc, clang) and as C++ (g++, clang++), strict warnings,
#     -Werror (-O0: what a switch breaks is an unused function or table
#     or a conversion, which needs no optimiser; gcc reports unused static
#     functions only when it compiles, not with -fsyntax-only)
for role in -DSMTP_NO_CLIENT -DSMTP_NO_SERVER "-DSMTP_NO_CLIENT -DSMTP_NO_SERVER"; do
    for sw in "" -DSMTP_NO_AUTH -DSMTP_NO_OAUTH -DSMTP_NO_STARTTLS -DSMTP_NO_CHUNKING -DSMTP_NO_DSN \
              -DSMTP_NO_SMTPUTF8 "-DSMTP_NO_AUTH -DSMTP_NO_STARTTLS -DSMTP_NO_CHUNKING -DSMTP_NO_DSN -DSMTP_NO_SMTPUTF8 -DSMTP_TERSE"; do
        for c in "gcc -std=c99" "clang -std=c99" "g++ -x c++ -std=c++11" "clang++ -x c++ -std=c++11"; do
            command -v "${c%% *}" >/dev/null 2>&1 || continue
            # shellcheck disable=SC2086
            if $c -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -O0 $role $sw \
                   -c smtp.c -o "$dir/vendor-sw.o"; then ok
            else bad "$c $role $sw: smtp.c"; fi
        done
    done
done
for defs in "" "-DSMTP_NO_CHUNKING -DSMTP_NO_STARTTLS -DSMTP_NO_AUTH -DSMTP_NO_DSN -DSMTP_NO_SMTPUTF8" "-DSMTP_TERSE" "-DSMTP_NO_SERVER" "-DSMTP_NO_CLIENT"; do
    gcc -std=c99 -O2 $defs -c smtp.c -o "$dir/vendor-nm.o" || { bad "gcc $defs: smtp.c"; continue; }
    loose=$(nm "$dir/vendor-nm.o" | awk '$2 ~ /^[tTrRdDbBcC]$/ && $3 !~ /^smtp_/ && $3 !~ /\./ {print $3}')
    if [ -z "$loose" ]; then ok; else bad "nm ($defs): names outside smtp_: $loose"; fi
done
# 4. the layout: smtp.c and smtp.h as .clang-format lays them out (100 columns)
if command -v clang-format >/dev/null 2>&1; then
    if clang-format --dry-run --Werror smtp.c smtp.h 2>"$dir/format.err"; then ok
    else bad "clang-format: smtp.c/smtp.h differ from .clang-format's layout"; head -n 5 "$dir/format.err"; fi
else
    echo "SKIP: clang-format not installed (apt-get install clang-format)"
fi
echo "vendor: $p passed, $f failed"
[ "$f" -eq 0 ]
