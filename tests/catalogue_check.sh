#!/bin/sh
# The reply catalogue of smtp.c (SMTP__REPLY_MAP: every reply the core writes
# itself) against the README's table of it, between <!-- replies --> and
# <!-- /replies -->: the same rows, in the same order.  Also: no reply text
# or enhanced code stands in smtp.c outside the catalogue's two maps.
# A text may stand in SMTP__T(), SMTP__T_<EXT>() or SMTP__IF_<EXT>() (left
# out with SMTP_TERSE, with the extension, or both).
# `sh tests/catalogue_check.sh --print` prints the table to paste.
# Prints "catalogue: N passed, N failed".
table() {
    # the macro's lines joined (a row may wrap), then one row a line
    awk '/^#define SMTP__REPLY_MAP/ {on=1; next} on { l = $0; sub(/\\$/, "", l); printf "%s ", l; if ($0 !~ /\\$/) on=0 } END { print "" }' smtp.c |
    sed -E 's/ +/ /g; s/ X\(/\nX(/g' |
    sed -nE -e 's/SMTP__E\(([0-9]+), ([0-9]+), ([0-9]+)\)/"\1.\2.\3"/' -e 's/^(X\([A-Z0-9_]+, [0-9]+, )0,/\1"",/' \
        -e 's/^X\(([A-Z0-9_]+), ([0-9]+), "([^"]*)", (SMTP__(T|T_[A-Z]+|IF_[A-Z]+)\()?"([^"]*)"\)?\).*/| \2 | \3 | \6 | `\1` |/p'
}
if [ "${1:-}" = "--print" ]; then
    echo "| code | enhanced | text | catalogue id |"
    echo "|---|---|---|---|"
    table
    exit 0
fi
p=0; f=0
want=$(table)
got=$(awk '/<!-- replies -->/ {on=1; next} /<!-- \/replies -->/ {on=0} on' README.md | sed '1,2d')
n=$(echo "$want" | grep -c '^|')
if [ "$n" -ge 40 ]; then p=$((p + 1)); else echo "FAIL only $n catalogue rows parsed from smtp.c"; f=$((f + 1)); fi
if [ "$want" = "$got" ]; then p=$((p + 1)); echo "ok   README reply table matches SMTP__REPLY_MAP ($n rows)"
else f=$((f + 1)); echo "FAIL README reply table differs from SMTP__REPLY_MAP:"
    printf '%s\n' "$want" >/tmp/catalogue.want.$$; printf '%s\n' "$got" >/tmp/catalogue.got.$$
    diff /tmp/catalogue.want.$$ /tmp/catalogue.got.$$ | head -20; rm -f /tmp/catalogue.*.$$; fi
# every code of the catalogue is named in the conformance table
for code in $(echo "$want" | cut -d'|' -f2 | sort -u); do
    if awk '/^## Conformance/ {on=1; next} /^## / {on=0} on' README.md | grep -v '^| [0-9]* | ' | grep -q "$code"; then
        p=$((p + 1))
    else f=$((f + 1)); echo "FAIL code $code of the catalogue is not in the README's conformance table"; fi
done
# outside the two maps: no string that looks like an enhanced code or a reply
stray=$(awk '/^#define SMTP__(REPLY|DEFAULT)_MAP/ {on=1} on && !/\\$/ {on=0; next} !on' smtp.c |
    grep -nE '"[245]\.[0-9]{1,3}\.[0-9]{1,3}"|"[2-5][0-9][0-9][ -]|SMTP__E\([0-9]' | grep -v '^ *[0-9]*: *\*')
if [ -z "$stray" ]; then p=$((p + 1)); else f=$((f + 1)); echo "FAIL reply text outside the catalogue:"; echo "$stray"; fi
echo "catalogue: $p passed, $f failed"
[ "$f" -eq 0 ]
