#!/bin/sh
# Checks that what the README shows is what the tests run: the embedding
# example must be tests/embed_example.c verbatim.
pass=0; fail=0
want=$(cat tests/embed_example.c)
got=$(awk '/<!-- embed_example.c -->/ {on=1; next} on && /^```c$/ {grab=1; next} grab && /^```$/ {exit} grab {print}' README.md)
if [ "$want" = "$got" ]; then pass=$((pass+1)); echo "ok   README embedding example matches tests/embed_example.c"
else fail=$((fail+1)); echo "FAIL README embedding example differs from tests/embed_example.c"; fi
for cmd in "make run" "make test"; do
    if head -n 15 README.md | grep -q "^$cmd"; then pass=$((pass+1)); echo "ok   README opens with '$cmd'"
    else fail=$((fail+1)); echo "FAIL README does not open with '$cmd'"; fi
done
echo "readme: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
