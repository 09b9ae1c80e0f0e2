#!/bin/sh
# tests/packaging/run.sh: builds and runs tests/packaging/consumer.c through
# every build-system entry point of the source tree, as a user would, and
# checks the manifests.  Each consumer is run with what the library must
# have been built with (consumer.c says how it checks), so a library that is
# not found, not linked, or built with other switches fails.  Also checks
# that a missing library makes the consumer's build fail, so the passes
# above are not vacuous.  Ends with "packaging: N passed, N failed".
#
# Needs cmake, a C compiler (CC, default cc), make, pkg-config; meson and
# ninja for the Meson consumer and python3 (with PyYAML and kconfiglib) for
# the manifests, each a SKIP line when missing.
# Environment: BUILD (build), CC, MAKE, PYTHON.
SRC=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) W=$BUILD/packaging ;; *) W=$SRC/$BUILD/packaging ;; esac
CC=${CC:-cc}
MAKE=${MAKE:-make}
export CC
pass=0; fail=0
# python_with MODULES: the first python that can import MODULES, or nothing.
python_with() {
    for p in ${PYTHON:-} python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c "import $1" 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
skip() { echo "SKIP: $*"; }
# step LOG CMD...: runs CMD with its output in $W/LOG; shows it on failure.
step() { log=$W/$1; shift; if "$@" >>"$log" 2>&1; then return 0; fi
         echo "--- $* (exit $?), $log:"; tail -n 30 "$log"; return 1; }
# quiet LOG CMD...: the same without showing it (for what must fail).
quiet() { log=$W/$1; shift; "$@" >"$log" 2>&1; }
# consume NAME BIN ARGS...: runs a consumer with its expectations.
consume() { name=$1; shift
    if [ ! -x "$1" ]; then bad "$name: consumer was not built"; return; fi
    if "$@" >"$W/$name.run" 2>&1; then ok "$name: consumer runs ($(sed -n 1p "$W/$name.run"))"
    else cat "$W/$name.run"; bad "$name: consumer checks"; fi; }

rm -rf "$W" && mkdir -p "$W" || exit 1
V=$(sed -n 's/^#define SMTP_VERSION_STRING "\(.*\)"/\1/p' smtp.h)
if [ -n "$V" ]; then ok "smtp.h version $V"; else bad "smtp.h has no SMTP_VERSION_STRING"; fi
MAJOR=${V%%.*}; rest=${V#*.}; MINOR=${rest%%.*}

if ! command -v cmake >/dev/null 2>&1; then
    skip "cmake not installed: no CMake, ESP-IDF or Zephyr consumers"
else
    # add_subdirectory, with switches and a limit set as cache options.
    if step subdir.log cmake -S tests/packaging/cmake-subdir -B "$W/subdir" -DSMTP_SOURCE_DIR="$SRC" \
            -DSMTP_TERSE=ON -DSMTP_NO_AUTH=ON -DSMTP_RCPT_MAX=7 &&
       step subdir.log cmake --build "$W/subdir"; then ok "cmake add_subdirectory: builds"
    else bad "cmake add_subdirectory: builds"; fi
    consume subdir "$W/subdir/consumer" "$V" terse no-auth 7

    # FetchContent from an archive of the source tree (no network).
    tar -czf "$W/smtp-src.tar.gz" --exclude=./build --exclude=./.git --exclude=./corpus -C "$SRC" .
    if step fetch.log cmake -S tests/packaging/cmake-fetch -B "$W/fetch" \
            -DSMTP_ARCHIVE="$W/smtp-src.tar.gz" -DFETCHCONTENT_FULLY_DISCONNECTED=OFF &&
       step fetch.log cmake --build "$W/fetch"; then ok "cmake FetchContent: builds"
    else bad "cmake FetchContent: builds"; fi
    consume fetch "$W/fetch/consumer" "$V" texts auth 100

    # cmake --install, then find_package from another project.
    P=$W/cmake-prefix
    if step install.log cmake -S . -B "$W/lib" -DCMAKE_INSTALL_PREFIX="$P" -DSMTP_NO_AUTH=ON \
            -DSMTP_RCPT_MAX=20 && step install.log cmake --build "$W/lib" &&
       step install.log cmake --install "$W/lib"; then ok "cmake --install"
    else bad "cmake --install"; fi
    for f in include/smtp.h lib/libsmtp.a lib/cmake/smtp/smtpConfig.cmake \
             lib/cmake/smtp/smtpConfigVersion.cmake lib/pkgconfig/smtp.pc; do
        [ -f "$P/$f" ] || bad "cmake --install: $f missing"
    done
    if step find.log cmake -S tests/packaging/cmake-find -B "$W/find" -DCMAKE_PREFIX_PATH="$P" \
            -DSMTP_WANT_VERSION="$MAJOR.$MINOR" && step find.log cmake --build "$W/find"; then
        ok "cmake find_package(smtp $MAJOR.$MINOR): builds"
    else bad "cmake find_package(smtp $MAJOR.$MINOR): builds"; fi
    if grep -q "found smtp $V in $P" "$W/find.log"; then ok "find_package found version $V in the prefix"
    else bad "find_package did not report smtp $V in $P"; fi
    consume find "$W/find/consumer" "$V" texts no-auth 20
    if quiet find-none.log cmake -S tests/packaging/cmake-find -B "$W/find-none" \
            -DSMTP_WANT_VERSION="$MAJOR.$MINOR"; then
        bad "find_package without the prefix configures (should fail: not found)"
    else ok "find_package without the prefix fails"; fi
    if quiet find-next.log cmake -S tests/packaging/cmake-find -B "$W/find-next" -DCMAKE_PREFIX_PATH="$P" \
            -DSMTP_WANT_VERSION="$MAJOR.$((MINOR + 1))"; then
        bad "find_package(smtp $MAJOR.$((MINOR + 1))) accepts $V"
    else ok "find_package(smtp $MAJOR.$((MINOR + 1))) refuses $V"; fi
    pc=$P/lib/pkgconfig/smtp.pc
    if [ -f "$pc" ] && grep -qx "Version: $V" "$pc" && grep -q '^Cflags:.*-DSMTP_NO_AUTH -DSMTP_RCPT_MAX=20' "$pc"
    then ok "cmake's smtp.pc: version $V and the switches"; else bad "cmake's smtp.pc: version $V and the switches"; fi

    # ESP-IDF and Zephyr: their CMake logic with stand-in functions.
    if step idf.log cmake -S tests/packaging/standin -B "$W/idf" -DPLATFORM=idf -DSMTP_SOURCE_DIR="$SRC" \
            -DRECORD="$W/idf.rec" -DSMTP_NO_AUTH=ON -DSMTP_TERSE=ON -DSMTP_RCPT_MAX=5 &&
       step idf.log cmake --build "$W/idf"; then ok "ESP-IDF component: configures and builds"
    else bad "ESP-IDF component: configures and builds"; fi
    if [ -f "$W/idf.rec" ] && [ "$(grep -c . "$W/idf.rec")" = 4 ] &&
       grep -qx "SRCS=$SRC/smtp.c" "$W/idf.rec" && grep -qx "INCLUDE_DIRS=$SRC" "$W/idf.rec" &&
       grep -qx "OTHER=" "$W/idf.rec" &&
       grep -qx "DEFS=SMTP_TERSE;SMTP_NO_AUTH;SMTP_RCPT_MAX=5" "$W/idf.rec"; then
        ok "ESP-IDF: registers exactly smtp.c and its directory, with the switches"
    else cat "$W/idf.rec"; bad "ESP-IDF: registers exactly smtp.c and its directory, with the switches"; fi
    consume idf "$W/idf/consumer" "$V" terse no-auth 5
    if step idf-early.log cmake -DSMTP_SOURCE_DIR="$SRC" -DRECORD="$W/idf-early.rec" \
            -P tests/packaging/standin/idf_early.cmake &&
       [ "$(cat "$W/idf-early.rec")" = "SRCS;smtp.c;INCLUDE_DIRS;." ]; then
        ok "ESP-IDF early expansion (script mode): registers SRCS smtp.c INCLUDE_DIRS ."
    else bad "ESP-IDF early expansion (script mode): registers SRCS smtp.c INCLUDE_DIRS ."; fi

    PY=$(python_with kconfiglib)
    if [ -z "$PY" ]; then
        skip "no python3 with kconfiglib (Debian: python3-kconfiglib): Zephyr module not run"
    elif ! defs=$("$PY" tests/packaging/manifests.py "$SRC" kconfig SMTP_NO_AUTH=y SMTP_RCPT_MAX=3); then
        bad "zephyr/Kconfig: SMTP_NO_AUTH=y SMTP_RCPT_MAX=3 cannot be set"
    else
        # shellcheck disable=SC2086
        if step zephyr.log cmake -S tests/packaging/standin -B "$W/zephyr" -DPLATFORM=zephyr \
                -DSMTP_SOURCE_DIR="$SRC" -DRECORD="$W/zephyr.rec" $defs &&
           step zephyr.log cmake --build "$W/zephyr"; then ok "Zephyr module: configures and builds"
        else bad "Zephyr module: configures and builds"; fi
        if [ -f "$W/zephyr.rec" ] && grep -qx "SRCS=$SRC/smtp.c" "$W/zephyr.rec" &&
           grep -qx "INCLUDE_DIRS=$SRC" "$W/zephyr.rec" && [ "$(grep -c '^SRCS=' "$W/zephyr.rec")" = 1 ] &&
           [ "$(grep -c '^INCLUDE_DIRS=' "$W/zephyr.rec")" = 1 ] &&
           grep -qx 'DEFS+=SMTP_NO_AUTH' "$W/zephyr.rec" && grep -qx 'DEFS+=SMTP_RCPT_MAX=3' "$W/zephyr.rec"; then
            ok "Zephyr: registers exactly smtp.c and its directory, with the Kconfig switches"
        else cat "$W/zephyr.rec"; bad "Zephyr: registers exactly smtp.c and its directory, with the Kconfig switches"; fi
        consume zephyr "$W/zephyr/consumer" "$V" texts no-auth 3
        if step zephyr-off.log cmake -S tests/packaging/standin -B "$W/zephyr-off" -DPLATFORM=zephyr \
                -DSMTP_SOURCE_DIR="$SRC" -DRECORD="$W/zephyr-off.rec" && [ ! -s "$W/zephyr-off.rec" ]; then
            ok "Zephyr: nothing registered without CONFIG_SMTP"
        else bad "Zephyr: nothing registered without CONFIG_SMTP"; fi
    fi
fi

# make install, then a consumer built with pkg-config only.
P=$W/make-prefix
if step make-install.log $MAKE --no-print-directory install PREFIX="$P" BUILD="$W/make-build" \
        SMTP_DEFS="-DSMTP_TERSE -DSMTP_RCPT_MAX=9"; then ok "make install PREFIX=..."
else bad "make install PREFIX=..."; fi
if ! command -v pkg-config >/dev/null 2>&1; then
    skip "pkg-config not installed: no pkg-config consumer"
else
    if PKG_CONFIG_PATH='' PKG_CONFIG_LIBDIR='' pkg-config --exists smtp 2>/dev/null; then
        skip "an smtp.pc is installed on this system: cannot check that the consumer needs ours"
    elif PKG_CONFIG_PATH='' PKG_CONFIG_LIBDIR=/nonexistent pkg-config --exists smtp 2>/dev/null; then
        bad "pkg-config finds smtp without the prefix"
    else ok "pkg-config without the prefix does not find smtp"; fi
    export PKG_CONFIG_PATH="$P/lib/pkgconfig"
    if [ "$(pkg-config --modversion smtp 2>/dev/null)" = "$V" ]; then ok "pkg-config --modversion smtp is $V"
    else bad "pkg-config --modversion smtp is not $V"; fi
    # shellcheck disable=SC2046
    if step pc.log $CC -o "$W/pc-consumer" tests/packaging/consumer.c $(pkg-config --cflags --libs smtp); then
        ok "pkg-config consumer builds with \$(pkg-config --cflags --libs smtp)"
    else bad "pkg-config consumer builds"; fi
    consume pkg-config "$W/pc-consumer" "$V" terse auth 9
    if quiet pc-nolib.log $CC -o "$W/pc-nolib" tests/packaging/consumer.c $(pkg-config --cflags smtp); then
        bad "the consumer links without -lsmtp (it must need the library)"
    else ok "the consumer does not link without the library"; fi
    unset PKG_CONFIG_PATH
fi
# DESTDIR staging and uninstall.
S=$W/stage
if step destdir.log $MAKE --no-print-directory install PREFIX=/usr/local DESTDIR="$S" BUILD="$W/make-build" &&
   [ -f "$S/usr/local/lib/libsmtp.a" ] && [ -f "$S/usr/local/include/smtp.h" ] &&
   grep -qx 'prefix=/usr/local' "$S/usr/local/lib/pkgconfig/smtp.pc"; then
    ok "make install DESTDIR=... PREFIX=/usr/local stages under DESTDIR, smtp.pc says /usr/local"
else bad "make install DESTDIR=... PREFIX=/usr/local"; fi
if step uninstall.log $MAKE --no-print-directory uninstall PREFIX=/usr/local DESTDIR="$S" &&
   [ -z "$(find "$S" -type f)" ]; then ok "make uninstall removes the three files"
else find "$S" -type f; bad "make uninstall removes the three files"; fi

# Meson subproject.
if ! command -v meson >/dev/null 2>&1 || ! command -v ninja >/dev/null 2>&1; then
    skip "meson or ninja not installed: no Meson consumer"
else
    M=$W/meson-src
    mkdir -p "$M/subprojects/smtp" && cp tests/packaging/meson/meson.build tests/packaging/consumer.c "$M/" &&
        cp smtp.c smtp.h meson.build meson_options.txt LICENSE "$M/subprojects/smtp/"
    if step meson.log meson setup "$W/meson" "$M" && step meson.log meson compile -C "$W/meson"; then
        ok "meson subproject: builds"
    else bad "meson subproject: builds"; fi
    consume meson "$W/meson/consumer" "$V" terse no-auth 7
    pc=$(find "$W/meson" -name smtp.pc | head -n 1)
    if [ -n "$pc" ] && grep -qx "Version: $V" "$pc" && grep -q '^Cflags:.*-DSMTP_NO_AUTH' "$pc"; then
        ok "meson's smtp.pc: version $V and the switches"
    else bad "meson's smtp.pc: version $V and the switches"; fi
fi

# The manifests: parsed, versions equal, what they build.
PY=$(python_with 'yaml, kconfiglib')
[ -z "$PY" ] && for p in ${PYTHON:-} python3; do command -v "$p" >/dev/null 2>&1 && { PY=$p; break; }; done
if [ -z "$PY" ]; then
    skip "python3 not installed: manifests not parsed"
else
    "$PY" tests/packaging/manifests.py "$SRC" >"$W/manifests.out" 2>&1
    cat "$W/manifests.out"
    pass=$((pass + $(grep -c '^ok' "$W/manifests.out")))
    fail=$((fail + $(grep -c '^FAIL' "$W/manifests.out")))
    grep -q '^manifests: ' "$W/manifests.out" || bad "manifests.py did not finish"
fi

echo "packaging: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
