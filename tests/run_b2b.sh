#!/bin/sh
# make test-b2b: each back-to-back binary given (tests/b2b.c, built by the
# Makefile with gcc and clang under ASan+UBSan): the sender core wired to
# the receiver core in memory, a few hundred seeded sessions each.  Ends
# with "back-to-back: N passed, N failed".
. tests/lib.sh
[ -n "$SKIP" ] && echo "SKIP: $SKIP"
for b in "$@"; do echo "--- $b"; run "$b"; done
finish back-to-back
