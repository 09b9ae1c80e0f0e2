#!/bin/sh
# bench/instr.sh BENCH: instruction counts of the core under callgrind, which
# do not depend on the machine's load or clock (valgrind: Debian package
# valgrind).  Runs `BENCH instr` (a 1 MB message, 1000 pipelined sessions,
# 1 MB each of CRLF text, bare-LF text and CRLF text with half its lines
# starting with '.' through the sender, each drained one span per call and
# by smtp_client_output_spans()) eight times, counting only inside
# instr_data(), instr_cmds() or one of the six instr_client*() functions.
bench=${1:-build/bench}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "instructions: SKIP: valgrind not installed"
    exit 0
fi
info=$("$bench" instr) || exit 1
# "instr: data N octets; cmds N commands, N octets; client N octets; client-lf N octets; client-dots N octets"
dbytes=$(echo "$info" | sed -E 's/.*data ([0-9]+) octets.*/\1/')
ncmds=$(echo "$info" | sed -E 's/.*cmds ([0-9]+) commands.*/\1/')
cbytes=$(echo "$info" | sed -E 's/.*commands, ([0-9]+) octets.*/\1/')
sbytes=$(echo "$info" | sed -E 's/.*; client ([0-9]+) octets.*/\1/')
lbytes=$(echo "$info" | sed -E 's/.*client-lf ([0-9]+) octets.*/\1/')
obytes=$(echo "$info" | sed -E 's/.*client-dots ([0-9]+) octets.*/\1/')
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect="$1" "$bench" instr 2>&1 >/dev/null |
        awk '/Collected/ { print $NF }'
}
di=$(count instr_data)
ci=$(count instr_cmds)
si=$(count instr_client)
li=$(count instr_client_lf)
oi=$(count instr_client_dots)
sv=$(count instr_client_v)
lv=$(count instr_client_lf_v)
ov=$(count instr_client_dots_v)
echo
echo "instructions (callgrind, counted only inside the workloads: the core plus the bench loop around it):"
awk -v di="$di" -v db="$dbytes" -v ci="$ci" -v nc="$ncmds" -v cb="$cbytes" -v si="$si" -v sb="$sbytes" \
    -v li="$li" -v lb="$lbytes" -v oi="$oi" -v ob="$obytes" -v sv="$sv" -v lv="$lv" -v ov="$ov" 'BEGIN {
    printf "   DATA phase: %.3f instructions per octet (%d octets)\n", di / db, db
    printf "   sessions:   %.0f instructions per command, %.2f per octet (%d commands)\n", ci / nc, ci / cb, nc
    printf "   sender body, instructions per octet with the output loop (one span per call; writev-style via smtp_client_output_spans):\n"
    printf "     CRLF text:             %.3f; %.3f (%d octets)\n", si / sb, sv / sb, sb
    printf "     bare-LF text:          %.3f; %.3f (%d octets)\n", li / lb, lv / lb, lb
    printf "     CRLF, 52%% dot lines:   %.3f; %.3f (%d octets)\n", oi / ob, ov / ob, ob
}'
