#!/bin/sh
# make test-transcripts: each transcript runner given (built by the Makefile
# with gcc and clang under ASan+UBSan) over every tests/transcripts/*.txt in
# every feeding mode.  Ends with "transcripts: N passed, N failed".
. tests/lib.sh
[ -n "$SKIP" ] && echo "SKIP: $SKIP"
for b in "$@"; do echo "--- $b"; run "$b" tests/transcripts/*.txt; done
finish transcripts
