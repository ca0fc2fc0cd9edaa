# fleetgate: one hand-written GNU Makefile, out-of-tree builds in $(BUILD).
#
#   make                build build/fleetgate and build/mender-sim
#   make check          run every test; ends with "N passed, N failed"
#   make asan           the same suite built with AddressSanitizer + UBSan
#   make fuzz           libFuzzer on fuzz/fuzz_*.c for FUZZ_TIME seconds (clang)
#   make analyze        gcc -fanalyzer and cppcheck over the library, front ends and stand-in
#   make coverage       the suite built with --coverage in build-cov; lines covered per file
#   make demo           the whole flow on this machine (see README);
#                       DEVICES=real with real Mender clients
#   make install        PREFIX=/usr/local DESTDIR= (make uninstall: the same, removed)
#   make V=1            show full commands

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

CC ?= cc
PKG_CONFIG ?= pkg-config

LIB_PKGS := libgit2 yaml-0.1 libcjson libcurl libcrypto
SIM_PKGS := libmicrohttpd libcjson libcrypto libarchive
TEST_PKGS := cmocka
# The stand-in's tests talk to it over HTTP: no libmicrohttpd of their own.
SIMTEST_PKGS := libcjson yaml-0.1 libcurl cmocka

ifeq ($(V),1)
Q :=
else
Q := @
endif

# pkg-config for every library, with a clear error when one is missing.
pkgflags = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null || echo __missing__)
check_pkgs = $(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo ok),,\
	$(error pkg-config cannot find '$(p)': run scripts/ensure-deps, or apt-get install the Debian -dev package)))

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral
OPT ?= -O2
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DFLEETGATE_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) -Ilib -I. -MMD -MP
LDFLAGS ?=

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# make coverage: gcov's counters in every object and program.
ifeq ($(COVERAGE),1)
ALL_CFLAGS += --coverage
LDFLAGS += --coverage
endif
# make fuzz: coverage for libFuzzer in every object, its main linked only
# into the fuzz targets.
ifeq ($(SANITIZE),fuzzer)
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

# lib/<layer>/*.c: one folder a layer (scripts/check-layers)
LIB_SRC := $(sort $(wildcard lib/*/*.c))
FG_SRC := $(sort $(wildcard front/*.c cli/*.c hooks/*.c gate/*.c validate/*.c))
SIM_SRC := $(sort $(wildcard sim/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
SIMTEST_SRC := $(sort $(wildcard tests/sim/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
FG_OBJ := $(FG_SRC:%.c=$(BUILD)/obj/%.o)
SIM_OBJ := $(SIM_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SIMTEST_BIN := $(SIMTEST_SRC:tests/sim/%.c=$(BUILD)/tests/sim-%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIBA := $(BUILD)/libfleetgate.a
FLEETGATE := $(BUILD)/fleetgate
# not MENDER_SIM: that name is the environment variable the tests read
SIM_BIN := $(BUILD)/mender-sim

.PHONY: all deps check-deps check asan demo install uninstall clean bench fuzz analyze coverage tests
# Keep objects of chained pattern rules: no rebuild on the next make.
.SECONDARY:
all: $(if $(FG_SRC),$(FLEETGATE)) $(if $(SIM_SRC),$(SIM_BIN))

deps:
	$(Q)scripts/ensure-deps build

# Targets that need the libraries resolve their flags lazily, so that
# "make check" on a fresh machine can install them first.
LIB_CFLAGS = $(call pkgflags,--cflags,$(LIB_PKGS))
# -lm: floor() and fabs() are real calls at -O0, not builtins.
LIB_LIBS = $(call pkgflags,--libs,$(LIB_PKGS)) -lm
SIM_CFLAGS = $(call pkgflags,--cflags,$(SIM_PKGS))
SIM_LIBS = $(call pkgflags,--libs,$(SIM_PKGS)) -lm
SIMTEST_CFLAGS = $(call pkgflags,--cflags,$(SIMTEST_PKGS))
SIMTEST_LIBS = $(call pkgflags,--libs,$(SIMTEST_PKGS)) -lm
TEST_LIBS = $(call pkgflags,--libs,$(TEST_PKGS))

$(BUILD)/obj/lib/%.o $(BUILD)/obj/front/%.o $(BUILD)/obj/cli/%.o $(BUILD)/obj/hooks/%.o \
$(BUILD)/obj/gate/%.o $(BUILD)/obj/validate/%.o: CFLAGS_EXTRA = $(LIB_CFLAGS)
$(BUILD)/obj/sim/%.o: CFLAGS_EXTRA = $(SIM_CFLAGS)
$(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/bench/%.o: CFLAGS_EXTRA = $(LIB_CFLAGS)
# The packages each kind of object needs: only the stand-in needs libmicrohttpd.
OBJ_PKGS = $(LIB_PKGS)
$(BUILD)/obj/sim/%.o: OBJ_PKGS = $(SIM_PKGS)
$(BUILD)/obj/tests/sim/%.o: OBJ_PKGS = $(SIMTEST_PKGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(call check_pkgs,$(OBJ_PKGS))$(CC) $(ALL_CFLAGS) $(CFLAGS_EXTRA) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FLEETGATE): $(FG_OBJ) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(FG_OBJ) $(LIBA) $(LIB_LIBS)

$(SIM_BIN): $(SIM_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(SIM_OBJ) $(SIM_LIBS)

# The unit tests of the pure modules (desired state, rules, planner,
# reports, the validator) link without libgit2: a pure module that comes to
# need the git adapter no longer links.
PURE_TESTS := test_buf test_desired test_gate_docs test_plan test_policy test_validate
PURE_LIBS = $(call pkgflags,--libs,$(filter-out libgit2,$(LIB_PKGS))) -lm
UNIT_LIBS = $(LIB_LIBS)
$(PURE_TESTS:%=$(BUILD)/tests/%): UNIT_LIBS = $(PURE_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(UNIT_LIBS) $(TEST_LIBS)

# The sim tests also use libyaml, libcurl and cmocka, and share tests/sim/support/.
SIMTEST_SUPPORT_SRC := $(sort $(wildcard tests/sim/support/*.c))
SIMTEST_SUPPORT_OBJ := $(SIMTEST_SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/tests/sim/%.o: CFLAGS_EXTRA = $(SIMTEST_CFLAGS)
$(BUILD)/tests/sim-%: $(BUILD)/obj/tests/sim/%.o $(SIMTEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(SIMTEST_SUPPORT_OBJ) $(SIMTEST_LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LIB_LIBS)

tests: $(UNIT_BIN) $(SIMTEST_BIN)

check:
	$(Q)scripts/ensure-deps check
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)BUILD=$(abspath $(BUILD)) tests/run-all

asan:
	$(Q)LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
		$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT=-O1 check

# make demo DEVICES=real: the story with real Mender clients (root).
demo:
	$(Q)scripts/ensure-deps $(if $(filter real,$(DEVICES)),demo-devices,demo)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(abspath $(BUILD)) scripts/demo $(if $(filter real,$(DEVICES)),--real-devices)

bench: all $(BENCH_BIN)
	$(Q)BUILD=$(abspath $(BUILD)) bench/run-all

MANDIR ?= $(PREFIX)/share/man

install: $(FLEETGATE)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(FLEETGATE) $(DESTDIR)$(PREFIX)/bin/fleetgate
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 docs/fleetgate.1 $(DESTDIR)$(MANDIR)/man1/fleetgate.1
	install -d $(DESTDIR)$(PREFIX)/share/fleetgate/contrib
	cp -R contrib/. $(DESTDIR)$(PREFIX)/share/fleetgate/contrib/

# What install wrote, with the same PREFIX and DESTDIR.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/fleetgate $(DESTDIR)$(MANDIR)/man1/fleetgate.1
	rm -rf $(DESTDIR)$(PREFIX)/share/fleetgate

# ---- fuzzing ----
# Every fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput: fuzz_fleet (the
# loader and validator), fuzz_mender (the parsers of Mender's answers),
# fuzz_jinja (the template renderer of `fleetgate import edi-cd`), fuzz_artifact
# (the stand-in's .mender reader), fuzz_record (the evidence records of verified
# promotion).
# `make fuzz` builds each with clang's libFuzzer (build-fuzz/fuzz/fuzz_<name>)
# and runs it for FUZZ_TIME seconds from its saved corpus
# fuzz/corpus/<name>/ (and fuzz/<name>.dict when there is one), writing what
# it finds to build-fuzz/corpus/<name>/ and crashes to
# build-fuzz/crash-<name>-*. FUZZ_TARGETS=mender runs only that one. To keep
# a run's finds, merge them into the saved corpus (only inputs that add
# coverage):
#   build-fuzz/fuzz/fuzz_fleet -merge=1 fuzz/corpus/fleet build-fuzz/corpus/fleet
# `make check` replays every fuzz/corpus/<name>/ through a plain build of
# the same code ($(BUILD)/fuzz/replay-fuzz_<name>, with fuzz/replay.c as
# its main).
FUZZ_TIME ?= 60
FUZZ_ALL := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_REPLAY := $(FUZZ_ALL:%=$(BUILD)/fuzz/replay-fuzz_%)
fuzz_opts = -max_total_time=$(FUZZ_TIME) -timeout=10 -max_len=16384 \
	$(if $(wildcard fuzz/$(1).dict),-dict=fuzz/$(1).dict) \
	-artifact_prefix=build-fuzz/crash-$(1)- $(FUZZ_ARGS)
$(BUILD)/obj/fuzz/%.o: CFLAGS_EXTRA = $(LIB_CFLAGS) -Itests/unit

$(BUILD)/fuzz/replay-fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIB_LIBS)

tests: $(FUZZ_REPLAY)

# fuzz/fuzz_artifact.c: the stand-in's .mender reader, built with the
# stand-in's objects it needs and their libraries (libarchive, libcrypto);
# its corpus is fuzz/corpus/artifact/. These rules win over the pattern
# rules above, which link a target with the library only.
FUZZ_ARTIFACT_SIM := $(addprefix $(BUILD)/obj/sim/,artifact_file.o json.o util.o)
$(BUILD)/obj/fuzz/fuzz_artifact.o: CFLAGS_EXTRA = $(SIM_CFLAGS) -Isim
$(BUILD)/obj/fuzz/fuzz_artifact.o: OBJ_PKGS = $(SIM_PKGS)

$(BUILD)/fuzz/replay-fuzz_artifact: $(BUILD)/obj/fuzz/fuzz_artifact.o $(BUILD)/obj/fuzz/replay.o \
		$(FUZZ_ARTIFACT_SIM) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) $(SIM_LIBS)

$(BUILD)/fuzz/fuzz_artifact: $(BUILD)/obj/fuzz/fuzz_artifact.o $(FUZZ_ARTIFACT_SIM)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(SIM_LIBS)

fuzz:
	$(Q)scripts/ensure-deps fuzz
	$(Q)$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SANITIZE=fuzzer OPT=-O1 \
		$(FUZZ_TARGETS:%=build-fuzz/fuzz/fuzz_%)
	$(Q)$(foreach t,$(FUZZ_TARGETS),mkdir -p build-fuzz/corpus/$(t) && \
		build-fuzz/fuzz/fuzz_$(t) $(call fuzz_opts,$(t)) build-fuzz/corpus/$(t) fuzz/corpus/$(t) &&) true

# ---- static analysis ----
# gcc's -fanalyzer compiles every source of the library, the front ends and
# the stand-in (LIB_SRC, FG_SRC, SIM_SRC: wherever they live) with the
# build's own flags, its warnings errors; then cppcheck reads them with the
# same -I and -D. A false positive is silenced where it is, with the reason
# beside it: a "#pragma GCC diagnostic" around the function for gcc, a
# "cppcheck-suppress" comment on the line before for cppcheck.
ANALYZE_CC ?= gcc
ANALYZE_CFLAGS = $(filter-out -MMD -MP,$(ALL_CFLAGS)) -fanalyzer
CPPCHECK_FLAGS = --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	--std=c11 -q $(filter -I% -D%,$(ALL_CFLAGS)) \
	$(shell $(PKG_CONFIG) --cflags-only-I $(LIB_PKGS) $(SIM_PKGS) 2>/dev/null) \
	--include=$(shell $(PKG_CONFIG) --variable=includedir libcjson 2>/dev/null)/cjson/cJSON.h
# (cppcheck does not read the system headers; it needs cJSON.h for the
# cJSON_ArrayForEach loops.)

analyze:
	$(Q)scripts/ensure-deps analyze
	$(Q)$(call check_pkgs,$(LIB_PKGS) $(SIM_PKGS))fail=0; \
	for f in $(LIB_SRC) $(FG_SRC); do \
		$(if $(Q),echo "  ANALYZE $$f";) \
		$(ANALYZE_CC) $(ANALYZE_CFLAGS) $(LIB_CFLAGS) -c -o /dev/null $$f || fail=1; \
	done; \
	for f in $(SIM_SRC); do \
		$(if $(Q),echo "  ANALYZE $$f";) \
		$(ANALYZE_CC) $(ANALYZE_CFLAGS) $(SIM_CFLAGS) -c -o /dev/null $$f || fail=1; \
	done; \
	$(if $(Q),echo "  CPPCHECK $(words $(LIB_SRC) $(FG_SRC) $(SIM_SRC)) files";) \
	cppcheck $(CPPCHECK_FLAGS) $(LIB_SRC) $(FG_SRC) $(SIM_SRC) || fail=1; \
	if [ $$fail -ne 0 ]; then echo "make analyze: findings above" >&2; exit 1; fi; \
	echo "make analyze: no findings in $(words $(LIB_SRC) $(FG_SRC) $(SIM_SRC)) files"

# ---- coverage ----
# The whole suite built with --coverage in build-cov (counters reset first),
# then lcov's lines covered per source file and in total, and an HTML page
# per file in build-cov/html/ (genhtml). Exits as the suite did.
coverage:
	$(Q)scripts/ensure-deps coverage
	$(Q)rm -f build-cov/coverage.info; find build-cov -name '*.gcda' -delete 2>/dev/null; \
	$(MAKE) --no-print-directory BUILD=build-cov COVERAGE=1 OPT=-O0 check; rc=$$?; \
	lcov -q --capture --no-external --base-directory . --directory build-cov/obj \
		--output-file build-cov/coverage.info 2>/dev/null && \
	lcov -q --remove build-cov/coverage.info '*/tests/*' '*/fuzz/*' '*/bench/*' \
		--output-file build-cov/coverage.info && \
	lcov --list build-cov/coverage.info && \
	lcov --summary build-cov/coverage.info 2>&1 | grep -E 'lines|functions' && \
	genhtml -q --output-directory build-cov/html build-cov/coverage.info || rc=1; \
	exit $$rc

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-cov build-trace

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
