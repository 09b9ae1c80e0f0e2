# tests/lib.sh: sourced by the suite scripts (tests/run_*.sh, tests/check.sh).
#
# run CMD...    runs CMD, shows its output and adds the last "N passed, N
#               failed" line it printed to $p and $f.  A command that prints
#               no such line, or exits non-zero without reporting a failure,
#               counts one failure.
# embed BIN     runs the README's embedding example and checks its replies.
# finish NAME   prints "NAME: $p passed, $f failed" and fails if $f > 0.
# Logs go to $TEST_DIR (default build/tests).
TEST_DIR=${TEST_DIR:-build/tests}
mkdir -p "$TEST_DIR"
p=0; f=0
run() {
    _log=$TEST_DIR/run.$$.log
    "$@" >"$_log" 2>&1; _rc=$?
    cat "$_log"
    _l=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$_log" | tail -n 1)
    rm -f "$_log"
    if [ -z "$_l" ]; then echo "!!! $1: no result line (exit $_rc)"; f=$((f + 1)); return; fi
    _n=$(echo "$_l" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/')
    _p=${_n% *}; _f=${_n#* }
    p=$((p + _p)); f=$((f + _f))
    if [ "$_rc" -ne 0 ] && [ "$_f" -eq 0 ]; then echo "!!! $1: exit status $_rc"; f=$((f + 1)); fi
}
# The embedding example must run a whole session and give these replies.
EMBED_REPLIES="220 250 250 250 550 354 250 221"
embed() {
    "$1" >"$TEST_DIR/embed.$$.out" 2>/dev/null; _rc=$?
    _got=$(tr -d '\r' <"$TEST_DIR/embed.$$.out" | grep -E '^[0-9]{3} ' | cut -c1-3 | tr '\n' ' ')
    rm -f "$TEST_DIR/embed.$$.out"
    if [ "$_rc" -eq 0 ] && [ "$_got" = "$EMBED_REPLIES " ]; then
        echo "ok   $1: replies $EMBED_REPLIES"; p=$((p + 1))
    else echo "FAIL $1: exit $_rc, replies '$_got', expected '$EMBED_REPLIES '"; f=$((f + 1)); fi
}
# The sender example must send exactly these octets and exit 0 (the
# server took the message and the session ended with 221).
EMBED_CLIENT_OUT='EHLO localhost|MAIL FROM:<sensor@example.org>|RCPT TO:<ops@example.net>|DATA|Subject: alarm||Door 3 opened.|..|.|QUIT|'
embedc() {
    "$1" >"$TEST_DIR/embedc.$$.out" 2>/dev/null; _rc=$?
    _got=$(tr '\n' '|' <"$TEST_DIR/embedc.$$.out"); _crlf=$(tr -cd '\r' <"$TEST_DIR/embedc.$$.out" | wc -c)
    _lf=$(tr -cd '\n' <"$TEST_DIR/embedc.$$.out" | wc -c)
    rm -f "$TEST_DIR/embedc.$$.out"
    _got=$(printf '%s' "$_got" | tr -d '\r')
    if [ "$_rc" -eq 0 ] && [ "$_got" = "$EMBED_CLIENT_OUT" ] && [ "$_crlf" -eq "$_lf" ]; then
        echo "ok   $1: sent EHLO MAIL RCPT DATA, the dot-stuffed CRLF body, QUIT"; p=$((p + 1))
    else echo "FAIL $1: exit $_rc, sent '$_got' ($_crlf CR, $_lf LF)"; f=$((f + 1)); fi
}
finish() {
    echo "$1: $p passed, $f failed"
    [ "$f" -eq 0 ]
}
