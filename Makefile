# revintel - one plain Makefile (STYLE C14). Objects go to build/ (build-san/ with
# SANITIZE=...). Dependencies come from Debian packages through pkg-config; `make deps`
# installs the missing ones.
include config.mk
MAKEFLAGS += --no-print-directory

PKGS     := sqlite3 libzip expat inih jansson gsl libcurl libcrypto
CWARN    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Wpedantic -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
            -Wold-style-definition -Wpointer-arith -Wwrite-strings -Wvla -Wformat=2 \
            -Wimplicit-fallthrough -Wcast-align -Wcast-qual -Wundef -Wnull-dereference \
            -Wdouble-promotion -Wfloat-equal -Wconversion -Wno-sign-conversion
OPT      ?= -O2 -g
ifeq ($(DEVELOPER),1)
CWARN    += -Werror
endif

ifneq ($(SANITIZE),)
BUILD    ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT      := -O1 -g
else
BUILD    ?= build
SANFLAGS :=
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv $(XGBOOST_LIBS) -lm -lpthread
CFLAGS   ?=
CPPFLAGS := -Iinclude -Isrc $(PKG_CFLAGS)
ALLCFLAGS = $(CWARN) $(OPT) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)

LIB_SRC  := $(wildcard src/*.c)
CLI_SRC  := $(wildcard cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)
LIB      := $(BUILD)/librevintel.a
BIN      := $(BUILD)/revintel

.PHONY: all deps demo test check check-asan unit golden datasets http browser report-shot fuzz \
        fuzz-replay bench lint fmt \
        check-symbols clean install
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/harness.h tests/unit/fixture.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(PKG_LIBS)

# --- set-up ---------------------------------------------------------------
deps:
	@sh scripts/deps.sh

demo: deps
	$(MAKE) all
	./$(BIN) demo

# --- tests ----------------------------------------------------------------
# `make test` is what CI runs: install what is missing, then every layer under ASan+UBSan
# with warnings as errors.
test: deps
	$(MAKE) check-asan DEVELOPER=1

check: unit golden datasets fuzz-replay http browser

check-asan:
	$(MAKE) check SANITIZE=address,undefined

unit: $(UNIT_BIN)
	@sh tests/run_unit.sh $(UNIT_BIN)

golden: $(BIN)
	@sh tests/run_golden.sh $(BIN)

datasets: $(BIN)
	@sh tests/run_datasets.sh $(BIN)

# the daily job against real receivers on 127.0.0.1 (tests/run_http.sh)
http: $(BIN)
	@sh tests/run_http.sh $(BIN)

# the HTML report in headless Chromium (tests/run_browser.sh)
browser: $(BIN)
	@sh tests/run_browser.sh $(BIN)

# the weekly report of a simulated store as a PNG, to look at; prints its path
report-shot: $(BIN)
	@sh tests/run_browser.sh $(BIN) --shot

fuzz-replay: $(FUZZ_REPLAY)
	@sh tests/fuzz/run_replay.sh $(BUILD)/fuzz-replay

check-valgrind: $(BIN) $(UNIT_BIN)
	@for t in $(UNIT_BIN); do valgrind -q --error-exitcode=1 --leak-check=full $$t || exit 1; done

check-symbols: $(LIB)
	@sh scripts/check-symbols.sh $(LIB)

# libFuzzer builds (clang): make fuzz FUZZ_TARGET=fuzz_csv FUZZ_SECONDS=60
FUZZ_TARGET  ?= fuzz_csv
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SANITIZE=fuzzer-no-link,address,undefined build-fuzz/librevintel.a
	@mkdir -p build-fuzz/fuzz
	clang $(CWARN) -O1 -g -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
	    -o build-fuzz/fuzz/$(FUZZ_TARGET) tests/fuzz/$(FUZZ_TARGET).c build-fuzz/librevintel.a $(PKG_LIBS)
	@mkdir -p build-fuzz/corpus/$(FUZZ_TARGET)
	build-fuzz/fuzz/$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) \
	    $$( [ -f tests/fuzz/$(FUZZ_TARGET:fuzz_%=%).dict ] && echo -dict=tests/fuzz/$(FUZZ_TARGET:fuzz_%=%).dict ) \
	    build-fuzz/corpus/$(FUZZ_TARGET) tests/fuzz/corpus/$(FUZZ_TARGET:fuzz_%=%)

# --- benchmarks (never part of test) ---------------------------------------
bench: deps all
	@sh bench/bench_ingest.sh
	@sh bench/bench_diagnose.sh
	@sh bench/bench_model.sh
	@sh bench/bench_forecast.sh
	@sh bench/bench_run.sh

# --- tools ----------------------------------------------------------------
lint:
	clang-format --dry-run -Werror src/*.c src/*.h cli/*.c include/*.h
	cppcheck --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
	    -q -Iinclude -Isrc src cli
	@sh scripts/checksrc.sh

fmt:
	clang-format -i src/*.c src/*.h cli/*.c include/*.h tests/unit/*.c

install: $(BIN)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/revintel
	install -D -m 644 docs/revintel.1 $(DESTDIR)$(PREFIX)/share/man/man1/revintel.1

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
