#!/bin/sh
# bench/size.sh [VARIANT...]: code, data, state and stack of smtp.o.
#
# Each VARIANT is NAME:FLAGS, FLAGS being compiler flags joined by commas
# (basics:-DSMTP_NO_AUTH,-DSMTP_NO_DSN), or "default" for no flags; `make
# size` passes the Makefile's SIZE_VARIANTS.  A variant whose name starts
# with "sender" is a sender-only build (its flags hold -DSMTP_NO_SERVER).
# For each variant and target (x86-64 -O2, Cortex-M0+ and Cortex-M4 -Os
# -mthumb) it compiles smtp.c with -fstack-usage -fcallgraph-info=su and
# prints:
#   .text, .rodata, code (the two together: all the flash it needs but
#   .data's initialisers), .data and .bss of smtp.o;
#   sizeof(struct smtp_session) and sizeof(union smtp_event) (for a sender,
#   sizeof(struct smtp_client)), read with nm from bench/sizeof.c compiled
#   for the same target (nothing is run);
#   the worst-case stack depth of any API call: bench/stack.py over the
#   call graph (library calls such as memchr are not counted).
# On Cortex-M4 each variant is also linked into a minimal firmware with
# --gc-sections: bench/fw_min.c (a receiver) or, for a sender,
# bench/fw_client.c; that "linked" figure is what a device pays.
# Then a table of every variant on Cortex-M4 against its reference ("sender"
# for the senders, "receiver" for the rest when listed, else "default"):
# what each extension costs; and the goals checked on each variant named in
# SIZE_GOALS (default: the first one) and SIZE_SENDER_GOALS.
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
GOAL_SENDER_CODE=6144
FW_FLAGS="-std=c99 -Os -mthumb -mcpu=cortex-m4 -ffunction-sections -fdata-sections"
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
    printf '  %-28s %6s %7s %6s %5s %5s %8s %6s %6s %7s\n' "$@"
}

# linked NAME DIR FLAGS...: the Cortex-M4 firmware figure (.text+.rodata of
# the firmware and what it keeps of smtp.c); prints it, "" on failure
linked() {
    lname=$1 ldir=$2
    shift 2
    case $lname in
    sender*) fw=bench/fw_client.c entry="-u fw_rx -u fw_send_start" ;;
    *) fw=bench/fw_min.c entry="-u fw_rx" ;;
    esac
    mkdir -p "$ldir"
    # shellcheck disable=SC2086
    $ARM_CC $FW_FLAGS "$@" -I. -c smtp.c -o "$ldir/smtp.o" &&
        $ARM_CC $FW_FLAGS "$@" -I. -c $fw -o "$ldir/fw.o" &&
        arm-none-eabi-ld -r --gc-sections -e fw_rx $entry "$ldir/fw.o" "$ldir/smtp.o" \
            -o "$ldir/linked.o" &&
        arm-none-eabi-size "$ldir/linked.o" | awk 'NR == 2 { print $1 }'
}

# measure NAME TARGETCC SIZE NM DIR FLAGS...: one row of the table; writes
# DIR/figures: code data bss session stack text linked
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
    case $vname in
    sender*) sess=$(symsize "$dir/sizeof.o" "$tnm" smtp_sizeof_client) evsz=- ;;
    *) sess=$(symsize "$dir/sizeof.o" "$tnm" smtp_sizeof_session)
       evsz=$(symsize "$dir/sizeof.o" "$tnm" smtp_sizeof_event) ;;
    esac
    python3 bench/stack.py "$dir/smtp.ci" >"$dir/stack.txt"
    stack=$(awk '/^MAXSTACK/ { print $2 }' "$dir/stack.txt")
    [ "$stack" = -1 ] && stack=unbounded
    link=-
    case $dir in
    */cortex-m4) link=$(linked "$vname" "$dir/fw" "$@") || link=- ;;
    esac
    row "$mname" "$text" "$ro" $((text + ro)) "$data" "$bss" "$sess" "$evsz" \
        "$stack" "$link"
    echo "$((text + ro)) $data $bss $sess $stack $text $link" >"$dir/figures"
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
    vname=$name
    [ -n "$first" ] || first=$name
    echo "== smtp.o, variant $name: ${flags:-(no flags)}"
    case $name in
    sender*) row target .text .rodata code .data .bss client - stack linked ;;
    *) row target .text .rodata code .data .bss session event stack linked ;;
    esac
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
    # the call-graph detail for the goal variants and the full build
    if [ "$name" = "$first" ] || [ "$name" = default ] ||
            [ "$name" = "${SIZE_SENDER_GOALS:-sender}" ]; then
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

# Every variant on one target, against its reference: what each one saves.
t=cortex-m4
[ $have_arm = 1 ] || t=x86-64
reference() { # NAME: the variant it is compared with
    case $1 in
    sender*) echo sender ;;
    *) if grep -qx receiver "$out/names"; then echo receiver; else echo default; fi ;;
    esac
}
sub() { case $1$2 in *[!0-9]*) echo - ;; *) echo $(($1 - $2)) ;; esac; }
echo "== variants on $t (against the reference: negative = what leaving it out saves;"
echo "   state: sizeof(struct smtp_session), for a sender sizeof(struct smtp_client))"
printf '  %-20s %6s %6s %7s %6s %6s %-9s %8s %8s %8s\n' variant .text code linked state stack \
    reference "code +-" "linked +-" "state +-"
while read -r name; do
    f=$(variant_dir "$name")/$t/figures
    [ -f "$f" ] || continue
    ref=$(reference "$name")
    set -- $(cat "$f")
    dc=- dl=- ds=-
    rf=$(variant_dir "$ref")/$t/figures
    if [ -f "$rf" ]; then
        # shellcheck disable=SC2046
        set -- "$@" $(cat "$rf")
        dc=$(sub "$1" "$8") dl=$(sub "$7" "${14}") ds=$(sub "$4" "${11}")
    fi
    printf '  %-20s %6s %6s %7s %6s %6s %-9s %8s %8s %8s\n' "$name" "$6" "$1" "$7" "$4" "$5" \
        "$ref" "$dc" "$dl" "$ds"
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
        echo "  code linked into bench/fw_min.c with --gc-sections (.text+.rodata, fw_min's ~60 octets included) <= $GOAL_CODE: $(verdict "$7" $GOAL_CODE)"
    fi
done
for g in ${SIZE_SENDER_GOALS:-}; do
    fdir=$(variant_dir "$g")
    if [ ! -f "$fdir/$t/figures" ]; then
        echo "== goals of the sender, variant $g: not measured (no such variant or build failed)"
        continue
    fi
    echo "== goals of the sender, variant $g ($(grep -h "^$g:" "$out/variants" | cut -d: -f2-)), $t:"
    [ $have_arm = 1 ] || echo "  (no $ARM_CC: x86-64 figures instead, not the goal's target)"
    set -- $(cat "$fdir/$t/figures")
    if [ $have_arm = 1 ]; then
        echo "  code linked into bench/fw_client.c with --gc-sections (.text+.rodata, fw_client's own ~390 octets included) <= $GOAL_SENDER_CODE: $(verdict "$7" $GOAL_SENDER_CODE)"
    fi
    echo "  code, smtp.o alone (.text+.rodata): $1; .text $6"
    echo "  sizeof(struct smtp_client): $4 octets (RAM, with the default SMTP_CLIENT_* limits)"
    if grep -q '^recursion: none' "$fdir"/*/stack.txt &&
            ! grep -q '^recursion: YES' "$fdir"/*/stack.txt; then
        echo "  no recursion: met (call graph checked for cycles, every target)"
    else
        echo "  no recursion: MISSED ($(grep -h '^recursion' "$fdir"/*/stack.txt | head -1))"
    fi
    echo "  stack per client call <= $GOAL_STACK: $(verdict "$5" $GOAL_STACK)"
done
