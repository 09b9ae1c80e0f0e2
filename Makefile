# smtp.c - build, test, fuzz, bench.  `make help` lists the targets.
#
# Sections: core | tests | fuzz | example | bench.  Each section owns its
# targets; `make test` runs every suite listed in TEST_SUITES through
# tests/run_all.sh, which prints the final "N passed, N failed" line.

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
STRICT  := -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Werror
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     ?= -O2
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all help test clean
all: $(BUILD)/smtp.o

help:
	@echo "make            build the core (and examples once they exist)"
	@echo "make test       every test suite; last line 'N passed, N failed'"
	@grep -E '^## ' Makefile | sed 's/^## /make /'

$(BUILD):
	mkdir -p $(BUILD)

# ---------------------------------------------------------------- core
$(BUILD)/smtp.o: smtp.c smtp.h | $(BUILD)
	$(CC) $(STRICT) $(OPT) -c smtp.c -o $@

# ---------------------------------------------------------------- tests
TEST_SUITES :=

# ---------------------------------------------------------------- fuzz

# ---------------------------------------------------------------- example

# ---------------------------------------------------------------- bench

# ---------------------------------------------------------------- test driver
test:
	@sh tests/run_all.sh $(TEST_SUITES)

clean:
	rm -rf $(BUILD)
