# opbound - top-level build.
#
#   make          build/opbound and build/libopbound.a
#   make demo     install missing Debian packages, build, analyze a bundled model on H100
#   make check    install missing packages, build and run every test, then again under
#                 AddressSanitizer + UndefinedBehaviorSanitizer; check docs/schema.md
#                 and docs/man (make man-update rewrites docs/man from the option tables)
#   make layer-check  the include arrows run one way (docs/architecture.md); part of check
#   make docs-check   the figures docs/ quotes, rerun (tests/tools/docs-figures.txt); part of check
#   make mutants  mutation check: tests/mutants/list.txt applied one by one to a copy
#                 of the tree; prints killed / survived (docs/testing.md)
#   make bench    engine speed (BENCHMARKS.md)
#   make kernels  CUDA kernels and build/kernels/bench (docs/kernels.md) when nvcc is on
#                 PATH; otherwise one line saying they were skipped. Never part of check.
#   make kernels-sanitize  bench --check-only under compute-sanitizer (memcheck, racecheck)
#   kernels/run-gpu.sh OUT  the whole GPU run: build, check, sanitize, measure, calibrate
#   make check-browser   opens a generated report.html in headless Chromium (installed
#                 from Debian, DevTools client chrome-remote-interface from npm, when
#                 missing); fails on console errors, failed or external requests,
#                 broken images, roofline points without hover titles; screenshots
#                 in build/browser/. Run by .ci/run after check.
#   make deps     only install the Debian packages the build needs
#   make install PREFIX=/usr/local [DESTDIR=]   binary, libopbound.a/.so, opbound.h,
#                 opbound.pc, man pages, bash completion, data in PREFIX/share/opbound
#   make uninstall PREFIX=...   removes exactly what install put there
#   make fuzz     libFuzzer harnesses (tests/fuzz, docs/reliability.md) when clang can
#                 link -fsanitize=fuzzer; otherwise one line saying they were skipped
#   make fuzz-smoke  builds them and runs each for FUZZ_SECONDS (part of check)
#   make malformed   the malformed-input corpus (tests/malformed; part of test)
#   SAN=address,undefined make ...   sanitized build into build-san/

CC      ?= cc
VERSION := 0.1.0
SAN     ?=
ifeq ($(SAN),)
  BUILD := build
  SANFLAGS :=
else
  BUILD := build-san
  SANFLAGS := -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS  ?= -O2 -g
# -fvisibility=hidden: only functions marked OB_API (sim/api/opbound.h) leave
# libopbound.so and the installed libopbound.a; -fPIC so one object set serves
# both libraries.
# -pthread: `opbound plan` searches on every core (sim/plan.c); compile and link.
ALL_CFLAGS := -std=c11 $(CFLAGS) $(WARN) $(SANFLAGS) -pthread -MMD -MP -fPIC -fvisibility=hidden \
              -DOB_VERSION='"$(VERSION)"'
# Tests and the benchmark read files of this clone (examples/, tests/data/).
SRC_DEF := -DOB_DATADIR='"$(CURDIR)"'
LDLIBS  := -lyaml -lm -pthread
TEST_LDLIBS := -lcmocka $(LDLIBS)

LIB_SRC := $(wildcard sim/core/*.c) $(wildcard sim/*.c) $(wildcard sim/api/*.c) $(filter-out sim/cli/main.c,$(wildcard sim/cli/*.c)) $(wildcard models/*.c) \
           $(wildcard hw/*.c) $(wildcard reports/*.c) kernels/bench_host.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

DEB_PKGS := gcc make libc6-dev libyaml-dev libcmocka-dev gnuplot-nox pkg-config binutils

PREFIX  ?= /usr/local
DESTDIR ?=
SOMAJOR := 0
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
INCDIR  := $(DESTDIR)$(PREFIX)/include
PCDIR   := $(LIBDIR)/pkgconfig
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
COMPDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
DATADIR := $(DESTDIR)$(PREFIX)/share/opbound
COMMANDS := analyze compare import list serve schema roofline sweep report calibrate validate predict \
            train plan measure
MAN_PAGES := $(BUILD)/man/opbound.1 $(COMMANDS:%=$(BUILD)/man/opbound-%.1)

.PRECIOUS: $(BUILD)/tests/%.o
.PHONY: all deps demo check test test-san test-py schema-check layer-check docs-check mutants \
        man-check man-update \
        bench clean kernels install uninstall man check-browser fuzz fuzz-smoke malformed
ifeq ($(SAN),)
all: $(BUILD)/opbound $(BUILD)/libopbound.a $(BUILD)/libopbound.so $(BUILD)/pub/libopbound.a man
else
all: $(BUILD)/opbound $(BUILD)/libopbound.a
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libopbound.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/opbound: $(BUILD)/obj/sim/cli/main.o $(BUILD)/libopbound.a
	$(CC) $(ALL_CFLAGS) $^ $(LDLIBS) -o $@

# The shared library: only ob_ symbols (hidden visibility plus a version script).
$(BUILD)/libopbound.so: $(LIB_OBJ) sim/api/opbound.map
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libopbound.so.$(SOMAJOR) \
	    -Wl,--version-script=sim/api/opbound.map $(LIB_OBJ) $(LDLIBS) -o $@

# The installed static library: every object linked into one whose hidden
# (internal) symbols are made local, so only ob_ names can clash with a user's.
# build/libopbound.a keeps the internal names for the CLI and the tests.
$(BUILD)/pub/libopbound.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(LD) -r $(LIB_OBJ) -o $(BUILD)/pub/opbound.o
	objcopy --localize-hidden $(BUILD)/pub/opbound.o
	rm -f $@ && ar rcs $@ $(BUILD)/pub/opbound.o

# Man pages: `opbound man [CMD]` writes them from the option tables that --help
# prints, so the two cannot drift; docs/man/ keeps a copy to read without
# building, checked by man-check.
man: $(MAN_PAGES)
$(BUILD)/man/opbound.1: $(BUILD)/opbound
	@mkdir -p $(dir $@)
	$(BUILD)/opbound man > $@.tmp && mv $@.tmp $@
$(BUILD)/man/opbound-%.1: $(BUILD)/opbound
	@mkdir -p $(dir $@)
	$(BUILD)/opbound man $* > $@.tmp && mv $@.tmp $@

man-check: man
	@for p in $(MAN_PAGES); do diff -u docs/man/$$(basename $$p) $$p || \
	  { echo "docs/man is out of date: run 'make man-update'"; exit 1; }; done
	@test "$$(ls docs/man | wc -l)" -eq "$(words $(MAN_PAGES))" || \
	  { echo "docs/man holds pages of no command: run 'make man-update'"; exit 1; }
	@echo "docs/man matches the commands' option tables"

man-update: man
	rm -rf docs/man && mkdir -p docs/man && cp $(MAN_PAGES) docs/man/

# Paths are quoted: a PREFIX may contain spaces.
install: all
	install -d "$(BINDIR)" "$(LIBDIR)" "$(PCDIR)" "$(INCDIR)" "$(MANDIR)" "$(COMPDIR)" \
	    "$(DATADIR)/models" "$(DATADIR)/hw" "$(DATADIR)/examples"
	install -m 755 $(BUILD)/opbound "$(BINDIR)/opbound"
	install -m 644 $(BUILD)/pub/libopbound.a "$(LIBDIR)/libopbound.a"
	install -m 755 $(BUILD)/libopbound.so "$(LIBDIR)/libopbound.so.$(VERSION)"
	ln -sf libopbound.so.$(VERSION) "$(LIBDIR)/libopbound.so.$(SOMAJOR)"
	ln -sf libopbound.so.$(SOMAJOR) "$(LIBDIR)/libopbound.so"
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: opbound' 'Description: cost model for attention and MoE designs of LLMs' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lopbound' 'Libs.private: -lyaml -lm -pthread' \
	  'Cflags: -I$${includedir}' > "$(PCDIR)/opbound.pc"
	install -m 644 sim/api/opbound.h "$(INCDIR)/opbound.h"
	install -m 644 $(MAN_PAGES) "$(MANDIR)"
	install -m 644 sim/cli/opbound.bash "$(COMPDIR)/opbound"
	install -m 644 models/*.yaml "$(DATADIR)/models"
	install -m 644 hw/*.yaml "$(DATADIR)/hw"
	install -m 644 examples/*.yaml "$(DATADIR)/examples"
	@echo "installed into $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f "$(BINDIR)/opbound" "$(LIBDIR)/libopbound.a" "$(LIBDIR)/libopbound.so" \
	    "$(LIBDIR)/libopbound.so.$(SOMAJOR)" "$(LIBDIR)/libopbound.so.$(VERSION)" \
	    "$(PCDIR)/opbound.pc" "$(INCDIR)/opbound.h" "$(COMPDIR)/opbound" "$(MANDIR)/opbound.1"
	for c in $(COMMANDS); do rm -f "$(MANDIR)/opbound-$$c.1"; done
	rm -rf "$(DATADIR)"
	@echo "removed opbound from $(DESTDIR)$(PREFIX)"

# Test objects apart from the link, so a library change relinks the tests
# without recompiling them (`make mutants` relies on it).
$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SRC_DEF) -DOB_BIN='"$(CURDIR)/$(BUILD)/opbound"' -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libopbound.a
	$(CC) $(ALL_CFLAGS) $< $(BUILD)/libopbound.a $(TEST_LDLIBS) -o $@

# Installs whatever of DEB_PKGS is missing (root, or sudo when available).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: deps
	$(MAKE) --no-print-directory all
	./$(BUILD)/opbound analyze llama-3-8b --hw h100 --phase prefill --batch 1 --seq 8192
	@echo
	./$(BUILD)/opbound analyze llama-3-8b --hw h100 --phase decode --batch 32 --context 8192 --per-op

# Runs every test program; prints their output and one summary line
# "tests (BUILD): N passed, M failed, K skipped" counted from cmocka's own
# report lines (a test that needs a missing tool, such as gnuplot for the
# image checks, is skipped, never passed; `make check` installs gnuplot and
# sets OPBOUND_REQUIRE_GNUPLOT=1 so that those tests fail instead).
test: all $(TEST_BIN)
	@passed=0; failed=0; skipped=0; progs_failed=0; \
	for t in $(TEST_BIN); do \
	  echo "== $$t"; ./$$t > $$t.log 2>&1; rc=$$?; cat $$t.log; \
	  p=$$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' $$t.log); \
	  f=$$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' $$t.log); \
	  k=$$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' $$t.log); \
	  passed=$$((passed + $${p:-0})); failed=$$((failed + $${f:-0})); skipped=$$((skipped + $${k:-0})); \
	  if [ $$rc -ne 0 ]; then progs_failed=$$((progs_failed + 1)); \
	    [ -n "$$f" ] || failed=$$((failed + 1)); fi; \
	done; \
	echo "tests ($(BUILD)): $$passed passed, $$failed failed, $$skipped skipped"; \
	[ $$progs_failed -eq 0 ]
	$(MAKE) --no-print-directory malformed

# Every case of the malformed-input corpus must exit 2 with its expected
# FILE:LINE:COL and leave no output file (tests/malformed/README.md).
malformed: all
	@bash tests/malformed/run.sh $(BUILD)/opbound

test-san:
	$(MAKE) --no-print-directory SAN=address,undefined test

# Python tests (tests/test_*.py: the CSV writer of kernels/collect_torch.py),
# without torch or a GPU; skipped, and said so, when python3 is missing.
test-py: all
	@if command -v python3 >/dev/null 2>&1; then \
	  python3 -m unittest discover -s tests -p 'test_*.py' -v; \
	else echo "python tests: skipped (python3 not found)"; fi

schema-check: all
	@./$(BUILD)/opbound schema | diff -u docs/schema.md - \
	  || { echo "docs/schema.md is out of date: run './build/opbound schema > docs/schema.md'"; exit 1; }
	@echo "docs/schema.md matches the loader's key tables"

# Every figure docs/ quotes that the CLI prints, rerun and compared as
# printed (tests/tools/docs-figures.sh, one line per figure).
docs-check: all
	@bash tests/tools/docs-figures.sh ./$(BUILD)/opbound

# Mutation check (docs/testing.md): each small source change listed in
# tests/mutants/list.txt is applied to a copy of the tree, the library rebuilt
# incrementally and the (non-sanitized) tests run; prints killed / survived.
mutants:
	@bash tests/mutants/run.sh

# The layer check on this tree, then its own test (it must fail on injected
# upward, sideways and cyclic includes).
layer-check:
	@sh tests/tools/check-layers.sh .
	@sh tests/tools/test-check-layers.sh

check: deps
	$(MAKE) --no-print-directory layer-check
	$(MAKE) --no-print-directory schema-check
	$(MAKE) --no-print-directory man-check
	$(MAKE) --no-print-directory docs-check
	OPBOUND_REQUIRE_GNUPLOT=1 $(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory test-py
	OPBOUND_REQUIRE_GNUPLOT=1 $(MAKE) --no-print-directory test-san
	$(MAKE) --no-print-directory fuzz-smoke

# A real browser on the report (tests/tools/check-browser.js). The page is
# copied alone into another folder first: it must not need the files beside it.
BROWSER_DIR := $(BUILD)/browser
CRI_VERSION := 0.34.0
check-browser: deps
	$(MAKE) --no-print-directory all
	@command -v chromium >/dev/null 2>&1 || $(MAKE) --no-print-directory deps DEB_PKGS=chromium
	@{ command -v node && command -v npm; } >/dev/null 2>&1 || \
	  $(MAKE) --no-print-directory deps DEB_PKGS="nodejs npm"
	@test -f $(BROWSER_DIR)/node_modules/chrome-remote-interface/package.json || \
	  { echo "installing chrome-remote-interface $(CRI_VERSION) from npm into $(BROWSER_DIR)"; \
	    mkdir -p $(BROWSER_DIR) && npm install --silent --no-audit --no-fund --no-save \
	      --prefix $(BROWSER_DIR) chrome-remote-interface@$(CRI_VERSION); }
	rm -rf $(BROWSER_DIR)/report $(BROWSER_DIR)/alone
	./$(BUILD)/opbound report examples/study-attention.yaml -o $(BROWSER_DIR)/report >/dev/null
	mkdir -p $(BROWSER_DIR)/alone && cp $(BROWSER_DIR)/report/report.html $(BROWSER_DIR)/alone/
	NODE_PATH=$(CURDIR)/$(BROWSER_DIR)/node_modules timeout 300 node tests/tools/check-browser.js \
	  "$$(command -v chromium)" $(BROWSER_DIR)/alone/report.html $(BROWSER_DIR)

bench: deps
	$(MAKE) --no-print-directory all $(BUILD)/bench
	./$(BUILD)/bench

$(BUILD)/bench: tests/bench.c $(BUILD)/libopbound.a
	$(CC) $(ALL_CFLAGS) $(SRC_DEF) $< $(BUILD)/libopbound.a $(LDLIBS) -o $@

# CUDA (docs/kernels.md): built only by `make kernels`, only when nvcc is found.
# Machine code for sm_80, sm_90 and sm_90a, plus compute_90 PTX that newer GPUs
# compile at load. kernels/bench_host.c is plain C inside libopbound.a, so
# `make check` tests the bench's host logic without nvcc.
NVCC      ?= nvcc
CU_ARCHS  := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_90,code=compute_90
NVCC_THREADS ?= 1
NVCCFLAGS ?= -O3 -std=c++17 -lineinfo -Xptxas -v --threads $(NVCC_THREADS)
CU_SRC    := $(wildcard kernels/*.cu)
CU_OBJ    := $(CU_SRC:kernels/%.cu=$(BUILD)/kernels/%.o)
CU_HDR    := $(wildcard kernels/*.h) sim/core/opcost.h
SANITIZER ?= $(shell command -v compute-sanitizer 2>/dev/null || \
               { [ -x /usr/local/cuda/bin/compute-sanitizer ] && echo /usr/local/cuda/bin/compute-sanitizer; })

.PHONY: kernels kernels-sanitize opbound-static
kernels:
	@if command -v $(NVCC) >/dev/null 2>&1; then \
	  echo "make kernels: nvcc found ($$(command -v $(NVCC))): building CUDA kernels and bench for sm_80, sm_90, sm_90a + compute_90 PTX"; \
	  $(MAKE) --no-print-directory $(BUILD)/kernels/bench; \
	else \
	  echo "make kernels: nvcc not found on PATH; skipping the CUDA kernels and bench"; \
	fi

$(BUILD)/kernels/%.o: kernels/%.cu $(CU_HDR)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) $(CU_ARCHS) -c $< -o $@

# The bench needs only the cost model's counts (sim/core/opcost.h) and bench_host.c:
# it links the library objects without the YAML reader, so it builds and runs
# on a GPU machine that has no libyaml.
KLIB_OBJ := $(filter-out $(BUILD)/obj/sim/yml.o,$(LIB_OBJ))
$(BUILD)/kernels/libopbound-noyaml.a: $(KLIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/kernels/bench: $(CU_OBJ) $(BUILD)/kernels/libopbound-noyaml.a
	$(NVCC) $(CU_ARCHS) $(CU_OBJ) $(BUILD)/kernels/libopbound-noyaml.a -lcublas -lm -o $@

# opbound with libyaml linked in, to carry to a machine without libyaml
# (kernels/run-gpu.sh uses it for validate and calibrate when present).
opbound-static: $(BUILD)/opbound-static
$(BUILD)/opbound-static: $(BUILD)/obj/sim/cli/main.o $(BUILD)/libopbound.a
	$(CC) $(ALL_CFLAGS) $^ -Wl,-Bstatic -lyaml -Wl,-Bdynamic -lm -pthread -o $@

# The bench's --check-only mode (small shapes; --no-large) under compute-sanitizer
# memcheck and racecheck, when it is installed; one skip line otherwise.
kernels-sanitize:
	@if [ -z "$(SANITIZER)" ] || ! command -v $(NVCC) >/dev/null 2>&1; then \
	  echo "make kernels-sanitize: compute-sanitizer or nvcc not found; skipping"; \
	else \
	  $(MAKE) --no-print-directory kernels && \
	  $(SANITIZER) --tool memcheck --leak-check full --error-exitcode 3 \
	    ./$(BUILD)/kernels/bench --check-only --no-large && \
	  $(SANITIZER) --tool racecheck --error-exitcode 3 \
	    ./$(BUILD)/kernels/bench --check-only --no-large; \
	fi

# ---- libFuzzer harnesses (docs/reliability.md) ----
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 14
FUZZ_BUILD   := build-fuzz
FUZZ_TARGETS := model import meas study serve trace profile cli
FUZZ_CFLAGS  := -std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all $(filter-out -Werror,$(WARN)) -MMD -MP \
                -pthread -DOB_VERSION='"$(VERSION)"' -DOB_DATADIR='"$(CURDIR)"'
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# seeds: the bundled files of each kind (copied into a scratch corpus)
# and the malformed-input corpus of that kind (its error paths)
FUZZ_SEEDS_model  := models/*.yaml $(filter-out examples/study-% examples/serve-%,$(wildcard examples/*.yaml)) \
                     tests/malformed/model/*.yaml
FUZZ_SEEDS_import := tests/data/hf/*.json tests/malformed/config/*.json
FUZZ_SEEDS_meas   := tests/fuzz/seeds/meas/*.csv tests/malformed/csv/*.csv tests/fuzz/findings/*.csv
FUZZ_SEEDS_study  := examples/study-*.yaml tests/malformed/study/*.yaml
FUZZ_SEEDS_serve  := examples/serve-*.yaml tests/bench-serve.yaml tests/malformed/serve/*.yaml
FUZZ_SEEDS_profile := models/profiles/*.yaml tests/malformed/profile/*.yaml
FUZZ_SEEDS_cli    := tests/fuzz/seeds/cli/*
FUZZ_DICT_model := yaml
FUZZ_DICT_import := json
FUZZ_DICT_meas := csv
FUZZ_DICT_study := yaml
FUZZ_SEEDS_trace  := examples/traces/*.csv tests/malformed/csv/trace-*.csv
FUZZ_DICT_serve := yaml
FUZZ_DICT_trace := csv
FUZZ_DICT_profile := profile
FUZZ_DICT_cli := cli
FUZZ_PROBE := printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
              | $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c - -o /dev/null >/dev/null 2>&1

fuzz:
	@if $(FUZZ_PROBE); then \
	  echo "make fuzz: $(FUZZ_CC) links libFuzzer: building $(FUZZ_BIN)"; \
	  $(MAKE) --no-print-directory $(FUZZ_BIN); \
	else \
	  echo "make fuzz: skipped ($(FUZZ_CC) with -fsanitize=fuzzer not found; apt-get install clang)"; \
	fi

fuzz-smoke:
	@if $(FUZZ_PROBE); then \
	  $(MAKE) --no-print-directory $(FUZZ_BIN) || exit 1; \
	  for t in $(FUZZ_TARGETS); do bash tests/fuzz/run.sh $$t $(FUZZ_SECONDS) || exit 1; done; \
	else \
	  echo "fuzz smoke: skipped ($(FUZZ_CC) with -fsanitize=fuzzer not found)"; \
	fi

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libopbound.a: $(FUZZ_OBJ)
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libopbound.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_BUILD)/libopbound.a $(LDLIBS) -o $@

# the seed list and dictionary of one target, for tests/fuzz/run.sh
fuzz-seeds-%:
	@echo $(wildcard $(FUZZ_SEEDS_$*))
fuzz-dict-%:
	@echo tests/fuzz/dict/$(FUZZ_DICT_$*).dict

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
