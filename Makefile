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
# make bench / size / load / test-cross: issue 6.  bench/README.md has the
# figures and what each one means.
BENCH_CFLAGS ?= -std=c99 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
# make size: one variant per word; a variant is "default" or -D flags joined
# by commas (e.g. -DSMTP_NO_AUTH,-DSMTP_NO_DSN).  Add an extension macro here.
SIZE_VARIANTS ?= default
.PHONY: bench size load test-cross

$(BUILD)/bench: bench/bench.c smtp.c smtp.h | $(BUILD)
	$(CC) $(BENCH_CFLAGS) -DBENCH_FLAGS='"$(CC) $(BENCH_CFLAGS)"' \
		bench/bench.c smtp.c -o $@

## bench       core speed vs memchr/memcpy/a line splitter, scaling (~2 min)
bench: $(BUILD)/bench
	$(BUILD)/bench
	@sh bench/instr.sh $(BUILD)/bench

## size        .text/.data/.bss, state and stack: x86-64, Cortex-M0+, Cortex-M4
size:
	@BUILD=$(BUILD) CC=$(CC) sh bench/size.sh $(SIZE_VARIANTS)

## load        build/smtp-sink vs Postfix smtp-sink under smtp-source (loopback)
load: $(BUILD)/smtp-sink
	@BUILD=$(BUILD) sh bench/load.sh

# ---------------------------------------------------------------- test driver
test:
	@sh tests/run_all.sh $(TEST_SUITES)

clean:
	rm -rf $(BUILD)
