#!/bin/sh
# make test-unit: the unit test binaries and the embedding examples given
# (tests/unit.c, tests/cunit.c and tests/embed_example.c, built by the
# Makefile).  Ends with "unit: N passed, N failed".
. tests/lib.sh
[ -n "$SKIP" ] && echo "SKIP: $SKIP"
for b in "$@"; do
    echo "--- $b"
    case $b in
    *embed_example*) embed "$b" ;;
    *embed_client*) embedc "$b" ;;
    *) run "$b" ;;
    esac
done
finish unit
