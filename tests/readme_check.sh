#!/bin/sh
# Checks that what the README and `make help` show is true: the embedding
# examples must be tests/embed_example.c and tests/embed_client.c verbatim, the README must open with
# its commands, and `make help` must list every .PHONY target of the
# Makefile.
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
want=$(cat tests/embed_example.c)
got=$(awk '/<!-- embed_example.c -->/ {on=1; next} on && /^```c$/ {grab=1; next} grab && /^```$/ {exit} grab {print}' README.md)
if [ "$want" = "$got" ]; then ok "README embedding example matches tests/embed_example.c"
else bad "README embedding example differs from tests/embed_example.c"; fi
want=$(cat tests/embed_client.c)
got=$(awk '/<!-- embed_client.c -->/ {on=1; next} on && /^```c$/ {grab=1; next} grab && /^```$/ {exit} grab {print}' README.md)
if [ "$want" = "$got" ]; then ok "README sender example matches tests/embed_client.c"
else bad "README sender example differs from tests/embed_client.c"; fi
for cmd in "make check" "make run" "make test"; do
    if head -n 15 README.md | grep -q "^$cmd"; then ok "README opens with '$cmd'"
    else bad "README does not open with '$cmd'"; fi
done
# FORCE: the empty prerequisite that forces a rebuild, not a command.
phony=$(make -pnq help 2>/dev/null | sed -n 's/^\.PHONY: //p' | tr ' ' '\n' | grep -vx FORCE | sort -u)
listed=$(make --no-print-directory help | awk '$1 == "make" {print $2}' | sort -u)
[ -n "$phony" ] || bad "no .PHONY targets found in the Makefile"
for t in $phony; do
    if echo "$listed" | grep -qx -- "$t"; then ok "make help lists $t"
    else bad "make help does not list the .PHONY target $t (add a '## $t ...' line)"; fi
done
for t in $listed; do
    echo "$phony" | grep -qx -- "$t" || bad "make help lists $t, which is not a .PHONY target"
done
echo "readme: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
