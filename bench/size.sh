#!/bin/sh
# bench/size.sh [VARIANT...]: code, data, state and stack of smtp.o.
#
# Each VARIANT is a comma-separated list of compiler flags (-DSMTP_NO_AUTH,
# -DSMTP_LINE_MAX=1000) or "default" for none; `make size` passes the
# Makefile's SIZE_VARIANTS.  For each variant and target (x86-64 -O2,
# Cortex-M0+ and Cortex-M4 -Os -mthumb) it compiles smtp.c with
# -fstack-usage -fcallgraph-info=su and prints:
#   .text / .rodata / code (the two together: what goes to flash besides
#   .data's initialisers) / .data / .bss of smtp.o,
#   sizeof(struct smtp_session) and sizeof(struct smtp_event), read with nm
#   from bench/sizeof.c compiled for the same target (nothing is run),
#   the worst-case stack depth of any API call (bench/stack.py over the call
#   graph; library calls such as memchr are not counted).
# Then the goals of issue 6 for the first variant on Cortex-M4, and what
# each further variant saves or costs against the first.
#
# Needs gcc, python3 and, for the ARM columns, arm-none-eabi-gcc (Debian:
# gcc-arm-none-eabi).  Missing ones are reported as SKIP.
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

# measure NAME TARGETCC SIZE NM DIR FLAGS...: one row of the table
measure() {
    name=$1 tcc=$2 tsize=$3 tnm=$4 dir=$5
    shift 5
    mkdir -p "$dir"
    if ! $tcc $WARN "$@" -fstack-usage -fcallgraph-info=su \
            -c smtp.c -o "$dir/smtp.o" 2>"$dir/warnings"; then
        cat "$dir/warnings"
        printf '  %-30s compile FAILED\n' "$name"
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
    printf '  %-30s %6s %7s %6s %5s %5s %8s %6s %6s\n' "$name" "$text" "$ro" \
        $((text + ro)) "$data" "$bss" "$sess" "$evsz" "$stack"
    echo "$((text + ro)) $data $bss $sess $stack" >"$dir/figures"
    [ -s "$dir/warnings" ] && { echo "  warnings:"; sed 's/^/    /' "$dir/warnings"; }
    return 0
}

first=
for variant in "$@"; do
    flags=$(echo "$variant" | tr ',' ' ')
    [ "$variant" = default ] && flags=
    vdir=$out/$(echo "$variant" | tr -c 'A-Za-z0-9_=\n' '_')
    [ -n "$first" ] || first=$vdir
    echo "== smtp.o, variant: $variant"
    printf '  %-30s %6s %7s %6s %5s %5s %8s %6s %6s\n' target .text .rodata \
        code .data .bss session event stack
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
    for t in x86-64 cortex-m4; do
        [ -f "$vdir/$t/stack.txt" ] || continue
        echo "  stack, $t:"
        sed 's/^/    /' "$vdir/$t/stack.txt" | grep -v '^    MAXSTACK'
    done
    if [ "$vdir" != "$first" ] && [ -f "$vdir/cortex-m4/figures" ] &&
            [ -f "$first/cortex-m4/figures" ]; then
        set -- $(cat "$first/cortex-m4/figures")
        c0=$1 s0=$4
        set -- $(cat "$vdir/cortex-m4/figures")
        echo "  against $(basename "$first") on cortex-m4: code $(($1 - c0)) octets, session $(($4 - s0)) octets"
    fi
    echo
done

echo "== goals (issue 6), $(basename "$first"), cortex-m4 -Os -mthumb:"
if [ -f "$first/cortex-m4/figures" ]; then
    set -- $(cat "$first/cortex-m4/figures")
    code=$1 sess=$4 stack=$5
else
    echo "  not measured: $ARM_CC missing"
    set -- $(cat "$first/x86-64/figures")
    code=? sess=$4 stack=$5
fi
verdict() { # VALUE GOAL
    case $1 in
    ''|*[!0-9]*) echo "not measured" ;;
    *) if [ "$1" -le "$2" ]; then
           echo "met ($1 of $2, $(( ($2 - $1) * 100 / $2 ))% to spare)"
       else
           echo "MISSED by $(($1 - $2)) octets ($1 of $2, +$(( ($1 - $2) * 100 / $2 ))%)"
       fi ;;
    esac
}
echo "  code (.text+.rodata) <= $GOAL_CODE: $(verdict "$code" $GOAL_CODE)"
echo "  sizeof(struct smtp_session) <= $GOAL_STATE: $(verdict "$sess" $GOAL_STATE)"
if ! grep -q '^recursion: YES' "$first"/*/stack.txt; then
    echo "  no recursion: met (call graph checked, every target)"
else
    echo "  no recursion: MISSED ($(grep -h '^recursion' "$first"/*/stack.txt | head -1))"
fi
echo "  stack per call <= $GOAL_STACK: $(verdict "$stack" $GOAL_STACK)"
