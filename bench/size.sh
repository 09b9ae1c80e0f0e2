#!/bin/sh
# bench/size.sh [VARIANT...]: code, data, state and stack of smtp.o.
#
# Each VARIANT is NAME:FLAGS, FLAGS being compiler flags joined by commas
# (basics:-DSMTP_NO_AUTH,-DSMTP_NO_DSN), or "default" for no flags; `make
# size` passes the Makefile's SIZE_VARIANTS.  For each variant and target
# (x86-64 -O2, Cortex-M0+ and Cortex-M4 -Os -mthumb) it compiles smtp.c
# with -fstack-usage -fcallgraph-info=su and prints:
#   .text, .rodata, code (the two together: all the flash it needs but
#   .data's initialisers), .data and .bss of smtp.o;
#   sizeof(struct smtp_session) and sizeof(union smtp_event), read with nm
#   from bench/sizeof.c compiled for the same target (nothing is run);
#   the worst-case stack depth of any API call: bench/stack.py over the
#   call graph (library calls such as memchr are not counted).
# Then a table of every variant on Cortex-M4 against "default" (what each
# extension costs), and the goals of issue 6 checked on each variant named
# in SIZE_GOALS (default: the first one).
#
# Needs gcc, python3 and, for the ARM columns, arm-none-eabi-gcc (Debian:
# gcc-arm-none-eabi).  A missing cross compiler is reported as SKIP.
set -u
BUILD=${BUILD:-build}
CC=${CC:-cc}
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
WARN="-std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow"
GOAL_CODE=8192
GOAL_STATE=1536
GOAL_STACK=256
[ $# -gt 0 ] || set -- default
out=$BUILD/size
rm -rf "$out"
mkdir -p "$out"

have_arm=1
command -v "$ARM_CC" >/dev/null 2>&1 || have_arm=0
command -v python3 >/dev/null 2>&1 || { echo "size: python3 is needed"; exit 1; }

# sect OBJ SIZE_TOOL PATTERN: total of the sections whose name matches
sect() {
    "$2" -A "$1" | awk -v pat="$3" '$1 ~ pat { t += $2 } END { print t + 0 }'
}
# symsize OBJ NM SYMBOL: size of a data symbol, decimal
symsize() {
    v=$("$2" -S --defined-only "$1" | awk -v s="$3" '$4 == s { print $2 }')
    [ -n "$v" ] && printf '%d\n' "0x$v" || echo "?"
}
row() {
    printf '  %-28s %6s %7s %6s %5s %5s %8s %6s %6s\n' "$@"
}

# measure NAME TARGETCC SIZE NM DIR FLAGS...: one row of the table; writes
# DIR/figures: code data bss session stack text
measure() {
    mname=$1 tcc=$2 tsize=$3 tnm=$4 dir=$5
    shift 5
    mkdir -p "$dir"
    if ! $tcc $WARN "$@" -fstack-usage -fcallgraph-info=su \
            -c smtp.c -o "$dir/smtp.o" 2>"$dir/warnings"; then
        sed 's/^/    /' "$dir/warnings" | head -20
        printf '  %-28s compile FAILED\n' "$mname"
        return 1
    fi
    $tcc -std=c99 "$@" -fno-common -c bench/sizeof.c -o "$dir/sizeof.o" ||
        return 1
    text=$(sect "$dir/smtp.o" "$tsize" '^\.text')
    ro=$(sect "$dir/smtp.o" "$tsize" '^\.rodata')
    data=$(sect "$dir/smtp.o" "$tsize" '^\.data')
    bss=$(sect "$dir/smtp.o" "$tsize" '^(\.bss|COMMON)')
    sess=$(symsize "$dir/sizeof.o" "$tnm" smtp_sizeof_session)
    evsz=$(symsize "$dir/sizeof.o" "$tnm" smtp_sizeof_event)
    python3 bench/stack.py "$dir/smtp.ci" >"$dir/stack.txt"
    stack=$(awk '/^MAXSTACK/ { print $2 }' "$dir/stack.txt")
    [ "$stack" = -1 ] && stack=unbounded
    row "$mname" "$text" "$ro" $((text + ro)) "$data" "$bss" "$sess" "$evsz" \
        "$stack"
    echo "$((text + ro)) $data $bss $sess $stack $text" >"$dir/figures"
    if [ -s "$dir/warnings" ]; then
        echo "    warnings:"
        sed 's/^/      /' "$dir/warnings" | head -20
    fi
    return 0
}

# variant_dir NAME: where a variant's objects go
variant_dir() { echo "$out/$(echo "$1" | tr -c 'A-Za-z0-9_=\n-' '_')"; }

first=
for variant in "$@"; do
    case $variant in
    *:*) name=${variant%%:*} flags=$(echo "${variant#*:}" | tr ',' ' ') ;;
    default) name=default flags= ;;
    *) name=$variant flags=$(echo "$variant" | tr ',' ' ') ;;
    esac
    vdir=$(variant_dir "$name")
    [ -n "$first" ] || first=$name
    echo "== smtp.o, variant $name: ${flags:-(no flags)}"
    row target .text .rodata code .data .bss session event stack
    # shellcheck disable=SC2086
    measure "x86-64 $CC -O2" "$CC" size nm "$vdir/x86-64" -O2 $flags
    if [ $have_arm = 1 ]; then
        for cpu in cortex-m0plus cortex-m4; do
            # shellcheck disable=SC2086
            measure "$cpu -Os -mthumb" "$ARM_CC" arm-none-eabi-size \
                arm-none-eabi-nm "$vdir/$cpu" -Os -mthumb -mcpu=$cpu $flags
        done
    else
        echo "  SKIP: $ARM_CC not installed (Debian: apt-get install gcc-arm-none-eabi)"
    fi
    # the call-graph detail for the goal variant and the full build
    if [ "$name" = "$first" ] || [ "$name" = default ]; then
        for t in cortex-m4 x86-64; do
            [ -f "$vdir/$t/stack.txt" ] || continue
            echo "  stack, $t (worst path per API function, octets):"
            grep -v '^MAXSTACK' "$vdir/$t/stack.txt" | sed 's/^/    /'
            break
        done
    fi
    echo
    echo "$name" >>"$out/names"
    echo "$name:$flags" >>"$out/variants"
done

# Every variant on one target, against "default": what each one saves.
t=cortex-m4
[ $have_arm = 1 ] || t=x86-64
ddir=$(variant_dir default)
echo "== variants on $t (against default: negative = what leaving it out saves)"
printf '  %-14s %6s %6s %8s %6s %12s %12s\n' variant .text code session stack \
    "code vs def" "state vs def"
while read -r name; do
    f=$(variant_dir "$name")/$t/figures
    [ -f "$f" ] || continue
    set -- $(cat "$f")
    dc=- ds=-
    if [ -f "$ddir/$t/figures" ]; then
        # shellcheck disable=SC2046
        set -- "$@" $(cat "$ddir/$t/figures")
        dc=$(($1 - $7)) ds=$(($4 - ${10}))
    fi
    printf '  %-14s %6s %6s %8s %6s %12s %12s\n' "$name" "$6" "$1" "$4" "$5" \
        "$dc" "$ds"
done <"$out/names"
echo

verdict() { # VALUE GOAL
    case $1 in
    ''|*[!0-9]*) echo "not measured ($1)" ;;
    *) if [ "$1" -le "$2" ]; then
           echo "met ($1 of $2, $(( ($2 - $1) * 100 / $2 ))% to spare)"
       else
           echo "MISSED by $(($1 - $2)) octets ($1 of $2, +$(( ($1 - $2) * 100 / $2 ))%)"
       fi ;;
    esac
}
for g in ${SIZE_GOALS:-$first}; do
    fdir=$(variant_dir "$g")
    if [ ! -f "$fdir/$t/figures" ]; then
        echo "== goals of issue 6, variant $g: not measured (no such variant or build failed)"
        continue
    fi
    echo "== goals of issue 6, variant $g, $t:"
    [ $have_arm = 1 ] || echo "  (no $ARM_CC: x86-64 figures instead, not the goal's target)"
    set -- $(cat "$fdir/$t/figures")
    code=$1 sess=$4 stack=$5 text=$6
    echo "  code, .text alone <= $GOAL_CODE: $(verdict "$text" $GOAL_CODE)"
    echo "  code, .text+.rodata (all flash but .data) <= $GOAL_CODE: $(verdict "$code" $GOAL_CODE)"
    echo "  sizeof(struct smtp_session) <= $GOAL_STATE: $(verdict "$sess" $GOAL_STATE)"
    if grep -q '^recursion: none' "$fdir"/*/stack.txt &&
            ! grep -q '^recursion: YES' "$fdir"/*/stack.txt; then
        echo "  no recursion: met (call graph checked for cycles, every target)"
    else
        echo "  no recursion: MISSED ($(grep -h '^recursion' "$fdir"/*/stack.txt | head -1))"
    fi
    echo "  stack per call <= $GOAL_STACK: $(verdict "$stack" $GOAL_STACK)"
    # What a device pays: smtp.c linked into bench/fw_min.c with
    # --gc-sections (unused API functions and tables drop out).
    if [ $have_arm = 1 ]; then
        vflags=$(grep -h "^$g:" "$out/variants" 2>/dev/null | head -n 1 | cut -d: -f2-)
        fw=$out/fw-$g
        mkdir -p "$fw"
        if $ARM_CC -std=c99 -Os -mthumb -mcpu=cortex-m4 -ffunction-sections -fdata-sections $vflags \
                -I. -c smtp.c -o "$fw/smtp.o" &&
           $ARM_CC -std=c99 -Os -mthumb -mcpu=cortex-m4 -ffunction-sections -I. -c bench/fw_min.c -o "$fw/fw.o" &&
           arm-none-eabi-ld -r --gc-sections -e fw_rx -u fw_rx "$fw/fw.o" "$fw/smtp.o" -o "$fw/linked.o"; then
            linked=$(arm-none-eabi-size "$fw/linked.o" | awk 'NR == 2 { print $1 }')
            echo "  code linked into bench/fw_min.c with --gc-sections (.text+.rodata, fw_min's ~60 octets included) <= $GOAL_CODE: $(verdict "$linked" $GOAL_CODE)"
        fi
    fi
done
