# smtp.c - build, test, fuzz, bench.  `make help` lists the targets.
#
# Sections: core | install | tests | fuzz | example | bench | docs.  Each
# section owns its targets; shell programs live in scripts beside the files
# they test (tests/, fuzz/, bench/).  `make test` runs every suite listed in
# TEST_SUITES through tests/run_all.sh, which prints the final "N passed, N
# failed" line; `make check` is the core's tests alone (tests/check.sh).

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
STRICT  := -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -Werror
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     ?= -O2
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all help check test clean
## all             (or just `make`) the core's object, the example receiver and sender
all: $(BUILD)/smtp.o

## help            this list
help:
	@grep -E '^## ' Makefile | sed 's/^## /make /'

$(BUILD):
	mkdir -p $(BUILD)

# ---------------------------------------------------------------- core
$(BUILD)/smtp.o: smtp.c smtp.h | $(BUILD)
	$(CC) $(STRICT) $(OPT) -c smtp.c -o $@

## check           the core's tests with one compiler, CC (default cc), and nothing else
check:
	@CC="$(CC)" BUILD=$(BUILD) sh tests/check.sh

# ---------------------------------------------------------------- install
# libsmtp.a, smtp.h and smtp.pc (from smtp.pc.in, as CMake's install does).
# SMTP_DEFS holds the compile-time switches (-DSMTP_NO_AUTH -DSMTP_TERSE
# -DSMTP_RCPT_MAX=20 ...): the library is built with them and smtp.pc's
# Cflags carry them, because they change the layout of struct smtp_session.
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SMTP_DEFS  ?=
INSTALL_DIR := $(BUILD)/install
SMTP_VERSION = $(shell sed -n 's/^\#define SMTP_VERSION_STRING "\(.*\)"/\1/p' smtp.h)
.PHONY: install uninstall
## install         libsmtp.a, smtp.h, smtp.pc into $(DESTDIR)$(PREFIX) (PREFIX=/usr/local, SMTP_DEFS=...)
install: smtp.c smtp.h smtp.pc.in
	mkdir -p $(INSTALL_DIR)
	$(CC) $(filter-out -Werror,$(STRICT)) $(OPT) $(CFLAGS) $(SMTP_DEFS) -c smtp.c -o $(INSTALL_DIR)/smtp.o
	rm -f $(INSTALL_DIR)/libsmtp.a && $(AR) rcs $(INSTALL_DIR)/libsmtp.a $(INSTALL_DIR)/smtp.o
	sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(LIBDIR)|' -e 's|@includedir@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(SMTP_VERSION)|' -e 's|@CFLAGS@|$(SMTP_DEFS)|' smtp.pc.in >$(INSTALL_DIR)/smtp.pc
	mkdir -p $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	cp $(INSTALL_DIR)/libsmtp.a $(DESTDIR)$(LIBDIR)/libsmtp.a
	cp smtp.h $(DESTDIR)$(INCLUDEDIR)/smtp.h
	cp $(INSTALL_DIR)/smtp.pc $(DESTDIR)$(PKGCONFIGDIR)/smtp.pc

## uninstall       remove what `make install` put there (same PREFIX and DESTDIR)
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libsmtp.a $(DESTDIR)$(INCLUDEDIR)/smtp.h $(DESTDIR)$(PKGCONFIGDIR)/smtp.pc

# ---------------------------------------------------------------- tests
# Transcript tests (tests/transcripts/*.txt, run by tests/transcript.c whole,
# byte by byte, in random chunks, at every split, after struct copies and
# with a slow writer), the sender's transcripts (tests/ctranscripts/*.txt,
# run by tests/ctranscript.c the same ways), API unit tests (tests/unit.c,
# and tests/cunit.c for the sender) and the README's
# embedding example (tests/embed_example.c), each built with gcc and clang
# under ASan+UBSan.  test-config rebuilds the unit tests with other
# compile-time settings.  Every suite ends with "N passed, N failed".
TEST_SUITES :=
TEST_GCC    ?= gcc
TEST_CXX    ?= g++
TEST_DIR    := $(BUILD)/tests
TEST_FLAGS  := $(STRICT) -g -O1 $(SAN) -I.
TEST_CCS    := gcc $(if $(shell command -v $(CLANG) 2>/dev/null),clang)
TEST_SKIP   := $(if $(filter clang,$(TEST_CCS)),,$(CLANG) not installed: gcc only)
TEST_ENV    = TEST_DIR=$(TEST_DIR) SKIP="$(TEST_SKIP)"

$(TEST_DIR):
	@mkdir -p $@
$(TEST_DIR)/%-gcc: tests/%.c tests/tlib.h smtp.c smtp.h | $(TEST_DIR)
	$(TEST_GCC) $(TEST_FLAGS) tests/$*.c smtp.c -o $@
$(TEST_DIR)/%-clang: tests/%.c tests/tlib.h smtp.c smtp.h | $(TEST_DIR)
	$(CLANG) $(TEST_FLAGS) tests/$*.c smtp.c -o $@

.PHONY: test-transcripts test-unit test-config test-packaging
## test-transcripts (suite) every transcript in every feeding mode, gcc and clang
TEST_SUITES += test-transcripts
test-transcripts: $(TEST_CCS:%=$(TEST_DIR)/transcript-%)
	@$(TEST_ENV) sh tests/run_transcripts.sh $^

## test-ctranscripts (suite) every client transcript in every feeding mode, gcc and clang
TEST_SUITES += test-ctranscripts
.PHONY: test-ctranscripts
test-ctranscripts: $(TEST_CCS:%=$(TEST_DIR)/ctranscript-%)
	@$(TEST_ENV) sh tests/run_ctranscripts.sh $^

## test-unit       (suite) API unit tests (both roles), the embedding examples and TURN/ATRN, gcc and clang
TEST_SUITES += test-unit
test-unit: $(TEST_CCS:%=$(TEST_DIR)/unit-%) $(TEST_CCS:%=$(TEST_DIR)/cunit-%) \
	   $(TEST_CCS:%=$(TEST_DIR)/embed_example-%) $(TEST_CCS:%=$(TEST_DIR)/turn-%) \
	   $(TEST_CCS:%=$(TEST_DIR)/embed_client-%)
	@$(TEST_ENV) sh tests/run_unit.sh $^

## test-b2b        (suite) the sender and the receiver back to back in memory, gcc and clang
TEST_SUITES += test-b2b
.PHONY: test-b2b
test-b2b: $(TEST_CCS:%=$(TEST_DIR)/b2b-%)
	@$(TEST_ENV) sh tests/run_b2b.sh $^
$(TEST_CCS:%=$(TEST_DIR)/b2b-%): fuzz/b2b.h

## test-config     (suite) unit tests under other compile-time settings, and smtp.h as C++
TEST_SUITES += test-config
test-config: tests/unit.c tests/client_config.c tests/cxx_smoke.cc smtp.c smtp.h | $(TEST_DIR)
	@TEST_DIR=$(TEST_DIR) CC=$(TEST_GCC) CXX=$(TEST_CXX) CFLAGS="$(TEST_FLAGS)" STRICT="$(STRICT)" \
	    sh tests/run_config.sh

## test-packaging  (suite) consumers via CMake, FetchContent, find_package, pkg-config, Meson; manifests
TEST_SUITES += test-packaging
test-packaging:
	@BUILD=$(BUILD) CC=$(CC) sh tests/packaging/run.sh

## test-catalogue  (suite) the README's reply table is smtp.c's reply catalogue
TEST_SUITES += test-catalogue
.PHONY: test-catalogue
test-catalogue:
	@sh tests/catalogue_check.sh

## test-vendor     (suite) smtp.c #included next to clashing names, as C++, and nm of smtp.o
TEST_SUITES += test-vendor
.PHONY: test-vendor
test-vendor: smtp.c smtp.h | $(TEST_DIR)
	@sh tests/vendor_check.sh $(TEST_DIR)

# ---------------------------------------------------------------- fuzz
# Fuzz targets (fuzz/*.c, one LLVMFuzzerTestOneInput each), built three
# ways: libFuzzer, AFL++, and the plain replay main.  fuzz/README section of
# the top README explains the workflow; corpus/README.md the seeds.
FUZZ_TARGETS  := fuzz_server fuzz_split fuzz_data fuzz_args fuzz_ext fuzz_client fuzz_b2b
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 20
AFL_SECONDS   ?= 600
FUZZ_WORK     ?= $(BUILD)/fuzz-work
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_WARN     := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion \
                 -Wno-implicit-fallthrough -Werror
FUZZ_DEPS     := smtp.c smtp.h fuzz/fuzz_common.h fuzz/b2b.h
FUZZ_DEFS     ?=
FUZZ_LIBFUZZER := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/libfuzzer/%)
FUZZ_REPLAY_GCC := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/replay-gcc/%)
FUZZ_REPLAY_CLANG := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/replay-clang/%)
FUZZ_LF_FLAGS ?= -dict=fuzz/smtp.dict -max_len=4096 -use_value_profile=1 \
                 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
.PHONY: fuzz fuzz-build fuzz-replay fuzz-smoke fuzz-merge fuzz-seeds afl repro \
        coverage fuzz-clean

$(FUZZ_DIR)/libfuzzer/%: fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(FUZZ_DEFS) -I. fuzz/$*.c smtp.c -o $@
$(FUZZ_DIR)/replay-gcc/%: fuzz/%.c fuzz/replay_main.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	gcc $(FUZZ_WARN) -g -O1 $(SAN) -I. fuzz/$*.c fuzz/replay_main.c smtp.c -o $@
$(FUZZ_DIR)/replay-clang/%: fuzz/%.c fuzz/replay_main.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_WARN) -g -O1 $(SAN) -I. fuzz/$*.c fuzz/replay_main.c smtp.c -o $@

## fuzz-build      every fuzz target: libFuzzer and replay (gcc, clang)
fuzz-build: $(FUZZ_LIBFUZZER) $(FUZZ_REPLAY_GCC) $(FUZZ_REPLAY_CLANG)

## fuzz-replay     (suite) corpus/ + tests/regressions/ under ASan+UBSan, gcc and clang
TEST_SUITES += fuzz-replay
fuzz-replay: $(FUZZ_REPLAY_GCC) $(FUZZ_REPLAY_CLANG)
	@sh fuzz/replay.sh $(FUZZ_DIR)/replay-gcc $(FUZZ_DIR)/replay-clang

## fuzz-smoke      (suite) FUZZ_SMOKE_SECONDS (20) of libFuzzer per target
TEST_SUITES += fuzz-smoke
fuzz-smoke: $(FUZZ_LIBFUZZER)
	@FUZZ_WORK=$(FUZZ_WORK) sh fuzz/run_libfuzzer.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_DIR)/libfuzzer $(FUZZ_LF_FLAGS)

## fuzz            each libFuzzer target FUZZ_SECONDS (60); new inputs in build/fuzz-work
fuzz: $(FUZZ_LIBFUZZER)
	@FUZZ_WORK=$(FUZZ_WORK) sh fuzz/run_libfuzzer.sh fuzz $(FUZZ_SECONDS) $(FUZZ_DIR)/libfuzzer $(FUZZ_LF_FLAGS)

## fuzz-merge      fold build/fuzz-work (and AFL++ queues) into corpus/ (-merge=1)
fuzz-merge: $(FUZZ_LIBFUZZER)
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_WORK=$(FUZZ_WORK) BUILD=$(BUILD) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
	    sh fuzz/merge.sh work

## fuzz-seeds      regenerate the hand-made seeds (fuzz/mkseeds*.py) and merge them
fuzz-seeds: $(FUZZ_LIBFUZZER)
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_WORK=$(FUZZ_WORK) BUILD=$(BUILD) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
	    sh fuzz/merge.sh seeds

## repro FILE=x    replay one input under ASan+UBSan with a trace (TARGET=fuzz_server)
TARGET ?= $(firstword $(foreach t,$(FUZZ_TARGETS),$(if $(findstring $(t),$(FILE)),$(t))) fuzz_server)
repro: $(FUZZ_DIR)/replay-clang/$(TARGET)
	@test -n "$(FILE)" || { echo "usage: make repro FILE=path [TARGET=fuzz_server]"; exit 2; }
	SMTP_FUZZ_TRACE=1 $(FUZZ_DIR)/replay-clang/$(TARGET) $(FILE)

## afl             AFL++ on fuzz_server (main + CMPLOG secondary), AFL_SECONDS (600)
AFL_CC ?= afl-clang-fast
$(FUZZ_DIR)/afl/fuzz_server: fuzz/fuzz_server.c fuzz/replay_main.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	AFL_QUIET=1 AFL_USE_ASAN=1 AFL_USE_UBSAN=1 $(AFL_CC) -std=c99 -g -O2 $(FUZZ_DEFS) -I. \
		fuzz/fuzz_server.c fuzz/replay_main.c smtp.c -o $@
$(FUZZ_DIR)/afl/fuzz_server.cmplog: fuzz/fuzz_server.c fuzz/replay_main.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	AFL_QUIET=1 AFL_LLVM_CMPLOG=1 $(AFL_CC) -std=c99 -g -O2 $(FUZZ_DEFS) -I. fuzz/fuzz_server.c fuzz/replay_main.c smtp.c -o $@
afl:
	@if ! command -v afl-fuzz >/dev/null 2>&1 || ! command -v $(AFL_CC) >/dev/null 2>&1; then \
	    echo "AFL++ is not installed: apt-get install afl++"; exit 1; fi
	@$(MAKE) --no-print-directory $(FUZZ_DIR)/afl/fuzz_server $(FUZZ_DIR)/afl/fuzz_server.cmplog
	@BUILD=$(BUILD) sh fuzz/run_afl.sh $(AFL_SECONDS) $(FUZZ_DIR)/afl/fuzz_server

## coverage        llvm-cov line/branch coverage of smtp.c: tests + corpus (build/coverage)
coverage:
	@BUILD=$(BUILD) CLANG=$(CLANG) sh fuzz/coverage.sh

## fuzz-clean      remove the fuzz builds, work folders, AFL++ output and coverage
fuzz-clean:
	rm -rf $(FUZZ_DIR) $(FUZZ_WORK) $(BUILD)/afl-out $(BUILD)/coverage

# ---------------------------------------------------------------- example
# build/smtp-sink: the example receiver (examples/smtp-sink.c + smtp.c).
# The client tests run a sanitized build of it against real SMTP clients.
# STARTTLS uses OpenSSL (Debian: libssl-dev).  SINK_TLS=1 links it, 0 builds
# without it (no --tls-cert); by default it is used when its header exists.
# The choice is detected at every make and kept in $(SINK_TLS_STAMP), which
# is rewritten only when it changes: installing libssl-dev (or setting
# SINK_TLS) after a build rebuilds the sink on the next plain `make`.
SINK_SAN := $(BUILD)/smtp-sink-asan
SINK_TLS_STAMP := $(BUILD)/sink-tls
ifndef SINK_TLS
SINK_TLS := $(shell printf '\043include <openssl/ssl.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1 || echo 0)
endif
ifeq ($(SINK_TLS),1)
SINK_LIBS := -lssl -lcrypto
else
SINK_LIBS :=
SINK_DEFS := -DSMTP_SINK_NO_TLS
SEND_DEFS := -DSMTP_SEND_NO_TLS
endif
all: $(BUILD)/smtp-sink $(BUILD)/smtp-send

.PHONY: FORCE
$(SINK_TLS_STAMP): FORCE | $(BUILD)
	@echo 'SINK_TLS=$(SINK_TLS)' | cmp -s - $@ || echo 'SINK_TLS=$(SINK_TLS)' >$@

$(BUILD)/smtp-sink: examples/smtp-sink.c $(BUILD)/smtp.o smtp.h $(SINK_TLS_STAMP) | $(BUILD)
	$(CC) $(STRICT) $(OPT) $(SINK_DEFS) -I. examples/smtp-sink.c $(BUILD)/smtp.o -o $@ $(SINK_LIBS)

$(SINK_SAN): examples/smtp-sink.c smtp.c smtp.h $(SINK_TLS_STAMP) | $(BUILD)
	$(CC) $(STRICT) -O1 -g $(SAN) $(SINK_DEFS) -I. examples/smtp-sink.c smtp.c -o $@ $(SINK_LIBS)

$(BUILD)/smtp-sink-clang-asan: examples/smtp-sink.c smtp.c smtp.h $(SINK_TLS_STAMP) | $(BUILD)
	$(CLANG) $(STRICT) -O1 -g $(SAN) $(SINK_DEFS) -I. examples/smtp-sink.c smtp.c -o $@ $(SINK_LIBS)

# build/smtp-send: the example sender (examples/smtp-send.c + smtp.c), the
# sink's counterpart, with the same OpenSSL choice (SINK_TLS=0: no --tls,
# --starttls).  test-send runs a sanitized build against real servers.
SEND_SAN := $(BUILD)/smtp-send-asan
$(BUILD)/smtp-send: examples/smtp-send.c $(BUILD)/smtp.o smtp.h $(SINK_TLS_STAMP) | $(BUILD)
	$(CC) $(STRICT) $(OPT) $(SEND_DEFS) -I. examples/smtp-send.c $(BUILD)/smtp.o -o $@ $(SINK_LIBS)

$(SEND_SAN): examples/smtp-send.c smtp.c smtp.h $(SINK_TLS_STAMP) | $(BUILD)
	$(CC) $(STRICT) -O1 -g $(SAN) $(SEND_DEFS) -I. examples/smtp-send.c smtp.c -o $@ $(SINK_LIBS)

.PHONY: run test-sink
## run             build the example sink (and smtp-send) and start the sink on 127.0.0.1:2525, Maildir var/Maildir
# User data (the Maildir, a TLS key) lives in SINK_DATA, outside $(BUILD):
# `make clean` never deletes it.  var/ is ignored by git.
SINK_DATA ?= var
SINK_ARGS ?= --maildir $(SINK_DATA)/Maildir
run: $(BUILD)/smtp-sink $(BUILD)/smtp-send
	mkdir -p $(SINK_DATA)
	$(BUILD)/smtp-sink --listen 127.0.0.1:2525 $(SINK_ARGS)

## test-sink       the sink with real clients (smtplib, curl, swaks, msmtp), STARTTLS, AUTH
TEST_SUITES += test-sink
test-sink: $(SINK_SAN) $(BUILD)/smtp-sink-clang-asan
	@python3 tests/clients/run.py --sink $(SINK_SAN) --sink $(BUILD)/smtp-sink-clang-asan

.PHONY: test-send
## test-send       (suite) smtp-send against smtp-sink, aiosmtpd and Postfix, each started on loopback
TEST_SUITES += test-send
test-send: $(SEND_SAN) $(BUILD)/smtp-sink
	@python3 tests/send/run.py --send $(SEND_SAN) --sink $(BUILD)/smtp-sink


# ---------------------------------------------------------------- bench
# make bench / size / load / test-cross: issue 6.  bench/README.md has the
# figures and what each one means.
BENCH_CFLAGS ?= -std=c99 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
# make size: extensions that compile out with -DSMTP_NO_<NAME> (smtp.h), one
# word each: a new one here gets its own no-NAME row and joins "basics".
SIZE_EXTS ?= CHUNKING STARTTLS AUTH DSN SMTPUTF8
size_comma := ,
size_space := $(subst ,, )
size_basics := $(subst $(size_space),$(size_comma),$(SIZE_EXTS:%=-DSMTP_NO_%))
# One variant per word, NAME:flags with the flags joined by commas; "default"
# is everything in, both roles.  The receiver's variants leave the sender
# out (-DSMTP_NO_CLIENT), the sender's ("sender...") the receiver.
# SIZE_GOALS: the variants the receiver's goals are checked on (the ESMTP
# basics: every extension compiled out); SIZE_SENDER_GOALS the sender's
# (PLAIN, LOGIN and STARTTLS: SIZE_SENDER_OUT compiled out).
SIZE_SENDER_OUT ?= CHUNKING DSN SMTPUTF8 OAUTH
size_rx := -DSMTP_NO_CLIENT
size_tx := $(subst $(size_space),$(size_comma),-DSMTP_NO_SERVER $(SIZE_SENDER_OUT:%=-DSMTP_NO_%))
size_tx_without = $(subst $(size_comma)-DSMTP_NO_$(1),,$(size_tx))
SIZE_VARIANTS ?= basics:$(size_rx),$(size_basics) basics-terse:$(size_rx),$(size_basics),-DSMTP_TERSE \
                 default receiver:$(size_rx) terse:$(size_rx),-DSMTP_TERSE \
                 $(foreach e,$(SIZE_EXTS),no-$(e):$(size_rx),-DSMTP_NO_$(e)) \
                 sender:$(size_tx) sender-terse:$(size_tx),-DSMTP_TERSE \
                 sender-no-STARTTLS:$(size_tx),-DSMTP_NO_STARTTLS sender-no-AUTH:$(size_tx),-DSMTP_NO_AUTH \
                 $(foreach e,$(SIZE_SENDER_OUT),sender+$(e):$(call size_tx_without,$(e))) \
                 sender-all:-DSMTP_NO_SERVER
SIZE_GOALS ?= basics basics-terse
SIZE_SENDER_GOALS ?= sender
.PHONY: bench size load test-cross

$(BUILD)/bench: bench/bench.c smtp.c smtp.h | $(BUILD)
	$(CC) $(BENCH_CFLAGS) -DBENCH_FLAGS='"$(CC) $(BENCH_CFLAGS)"' \
		bench/bench.c smtp.c -o $@

## bench       core speed vs memchr/memcpy/a line splitter, scaling (~20 s)
bench: $(BUILD)/bench
	$(BUILD)/bench
	@sh bench/instr.sh $(BUILD)/bench

## size        .text/.data/.bss, state and stack: x86-64, Cortex-M0+, Cortex-M4
size:
	@BUILD=$(BUILD) CC=$(CC) SIZE_GOALS="$(SIZE_GOALS)" SIZE_SENDER_GOALS="$(SIZE_SENDER_GOALS)" \
	    sh bench/size.sh $(SIZE_VARIANTS)

## load        build/smtp-sink vs Postfix smtp-sink under smtp-source (loopback)
load: $(BUILD)/smtp-sink
	@BUILD=$(BUILD) bash bench/load.sh

## test-cross  (suite) tests on armhf (32-bit LE), mips (32-bit BE), s390x under qemu
TEST_SUITES += test-cross
test-cross:
	@BUILD=$(BUILD) sh bench/cross.sh

# ---------------------------------------------------------------- analysis
# make analyze: gcc -fanalyzer, clang --analyze, clang-tidy and cppcheck over
# smtp.c and examples/*.c, zero findings (proof/analyze.sh says which checks).
.PHONY: analyze
## analyze     (suite) static analysers over smtp.c and examples/*.c: zero findings
TEST_SUITES += analyze
analyze:
	@BUILD=$(BUILD) GCC=$(TEST_GCC) CLANG=$(CLANG) sh proof/analyze.sh

# make prove: Frama-C's Eva over smtp.c, zero alarms, once per machine model
# (PROVE_MACHDEPS).  Each run is NAME:DRIVER[:DEFINES, commas for spaces];
# proof/README.md says what each one covers and assumes.  The longest runs
# come first, so that the analyses running side by side end close together.
# PROVE_LONG are runs that pass but take minutes of CPU each (`make
# prove-long`); PROVE_PENDING are the drivers that do not reach zero alarms
# yet (`make prove-pending` runs them and fails).  Neither is part of
# `make test`.
PROVE_NO_EXT   := -DSMTP_NO_CHUNKING,-DSMTP_NO_STARTTLS,-DSMTP_NO_AUTH,-DSMTP_NO_DSN,-DSMTP_NO_SMTPUTF8
PROVE_RUNS     ?= session-bytes:proof/session.c:-DCALLS=5,-DIN_MAX=1 \
                  data:proof/feed.c:-DCALLS=2,-DIN_MAX=4 \
                  data-bdat-last:proof/feed.c:-DSTART=2,-DCALLS=2,-DIN_MAX=4 \
                  data-bdat:proof/feed.c:-DSTART=1,-DCALLS=2,-DIN_MAX=4 \
                  lines:proof/feed.c:-DSTART=3,-DCALLS=2,-DIN_MAX=4 \
                  lines-ehlo:proof/feed.c:-DSTART=4,-DCALLS=2,-DIN_MAX=4 \
                  init:proof/init.c init-no-ext:proof/init.c:$(PROVE_NO_EXT) \
                  init-terse:proof/init.c:-DSMTP_TERSE init-terse-no-ext:proof/init.c:-DSMTP_TERSE,$(PROVE_NO_EXT) \
                  helpers:proof/helpers.c \
                  helpers-no-ext:proof/helpers.c:$(PROVE_NO_EXT) \
                  helpers-tiny:proof/helpers.c:-DSMTP_PATH_MAX=64,-DSMTP_LOCAL_MAX=16,-DSMTP_DOMAIN_MAX=64 \
                  helpers-terse:proof/helpers.c:-DSMTP_TERSE \
                  helpers-small:proof/helpers.c:-DSMTP_SMALL=1 \
                  client:proof/client.c client-no-ext:proof/client.c:$(PROVE_NO_EXT),-DSMTP_NO_SERVER \
                  client-greeted:proof/client.c:-DGREETED client-auth:proof/client.c:-DGREETED,-DAUTH_CALL \
                  cmd-mail:proof/command.c:-DVERB=0,-DARG_LEN=4 \
                  cmd-bdat:proof/command.c:-DVERB=11,-DARG_LEN=3,-DPRE=2,-DCONFIG=2 \
                  cmd-rcpt:proof/command.c:-DVERB=1,-DARG_LEN=2,-DPRE=1 \
                  cmd-ehlo:proof/command.c:-DVERB=2,-DARG_LEN=4 cmd-helo:proof/command.c:-DVERB=3,-DARG_LEN=4 \
                  cmd-data:proof/command.c:-DVERB=4,-DARG_LEN=3,-DPRE=2 cmd-rset:proof/command.c:-DVERB=5,-DARG_LEN=3 \
                  cmd-noop:proof/command.c:-DVERB=6,-DARG_LEN=4 cmd-quit:proof/command.c:-DVERB=7,-DARG_LEN=3 \
                  cmd-vrfy:proof/command.c:-DVERB=8,-DARG_LEN=3 cmd-expn:proof/command.c:-DVERB=9,-DARG_LEN=3 \
                  cmd-help:proof/command.c:-DVERB=10,-DARG_LEN=3 cmd-any:proof/command.c:-DVERB=16,-DARG_LEN=4 \
                  cmd-starttls:proof/command.c:-DVERB=13,-DARG_LEN=3,-DCONFIG=2 \
                  cmd-mail-any:proof/command.c:-DVERB=0,-DARG_LEN=2,-DCONFIG=1 \
                  cmd-rcpt-any:proof/command.c:-DVERB=1,-DARG_LEN=2,-DPRE=1,-DCONFIG=1 \
                  cmd-auth-plain:proof/command.c:-DVERB=25,-DARG_LEN=4,-DCONFIG=2 \
                  cmd-auth-response:proof/command.c:-DVERB=16,-DARG_LEN=4,-DPRE=3,-DCONFIG=2 \
                  cmd-auth-login:proof/command.c:-DVERB=16,-DARG_LEN=4,-DPRE=4,-DCONFIG=2 \
                  cmd-auth-login-pass:proof/command.c:-DVERB=16,-DARG_LEN=4,-DPRE=6,-DCONFIG=2
PROVE_LONG     ?= lines-long:proof/feed.c:-DSTART=3,-DCALLS=3,-DIN_MAX=4 \
                  data-long:proof/feed.c:-DCALLS=2,-DIN_MAX=6 \
                  session-bytes-long:proof/session.c:-DCALLS=6,-DIN_MAX=1
PROVE_PENDING  ?= session:proof/session.c:-DCALLS=2,-DIN_MAX=16
PROVE_MACHDEPS ?= x86_64 gcc_x86_32
.PHONY: prove prove-long prove-pending
## prove       (suite) Frama-C Eva: no run-time error in smtp.c, zero alarms (proof/)
TEST_SUITES += prove
prove:
	@BUILD=$(BUILD) PROVE_MACHDEPS="$(PROVE_MACHDEPS)" sh proof/prove.sh $(PROVE_RUNS)
## prove-long      longer Eva runs that pass but take minutes of CPU each (not in make test)
prove-long:
	@BUILD=$(BUILD) PROVE_MACHDEPS="$(PROVE_MACHDEPS)" sh proof/prove.sh $(PROVE_LONG)
## prove-pending   the Eva drivers that still report alarms (fails; see proof/README.md)
prove-pending:
	@BUILD=$(BUILD) PROVE_MACHDEPS="$(PROVE_MACHDEPS)" sh proof/prove.sh $(PROVE_PENDING)

# ---------------------------------------------------------------- docs
## test-readme     (suite) the README's example is the one the tests compile; `make help` is complete
TEST_SUITES += test-readme
.PHONY: test-readme
test-readme:
	@sh tests/readme_check.sh

# ---------------------------------------------------------------- test driver
## test            every suite (TEST_SUITES); the last line is "N passed, N failed"
# The proof builds nothing with make and takes minutes of CPU: it runs beside
# the suites that mostly wait (tests/run_all.sh).  TEST_BESIDE= runs it in turn.
TEST_BESIDE ?= prove
test:
	@TEST_BESIDE="$(TEST_BESIDE)" sh tests/run_all.sh $(TEST_SUITES)

## clean           remove build/
clean:
	rm -rf $(BUILD)
