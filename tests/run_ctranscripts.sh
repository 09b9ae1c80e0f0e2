#!/bin/sh
# make test-ctranscripts: each client transcript runner given (built by the
# Makefile with gcc and clang under ASan+UBSan) over every
# tests/ctranscripts/*.txt in every feeding mode.  Ends with
# "ctranscripts: N passed, N failed".
. tests/lib.sh
[ -n "$SKIP" ] && echo "SKIP: $SKIP"
for b in "$@"; do echo "--- $b"; run "$b" tests/ctranscripts/*.txt; done
finish ctranscripts
