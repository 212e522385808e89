# flightrec build. `make` builds build/flightrec; `make test` runs every
# test (unit, integration, then the same suite under ASan+UBSan).
#
# Layout: every src/<component>/*.c except src/cli goes into one core library,
# build/libflightrec.a, linked by the CLI, the tests and the fuzzers.

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT := -O1
else
BUILD ?= build
SANFLAGS :=
OPT := -O2
endif

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
CFLAGS ?= $(OPT) -g
CFLAGS += -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $(SANFLAGS) \
	-I$(BUILD) -Isrc
LDFLAGS += $(SANFLAGS) -pthread
LDLIBS := -lbpf -lelf -lz -lzstd -lm

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CORE_SRCS := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CORE_SRCS := $(filter-out %.bpf.c,$(CORE_SRCS))
CORE_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
CLI_SRCS := $(wildcard src/cli/*.c)
CLI_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
HDRS := $(wildcard src/*/*.h)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TEST_TOOL_SRCS := $(wildcard tests/tools/*.c)
TEST_TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TEST_TOOL_SRCS))
TEST_HELPER_SRCS := $(wildcard tests/helpers/*.c)
TEST_HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(TEST_HELPER_SRCS))

.PHONY: all test test-unit test-integration test-asan asan fuzz clean bench-record
all: $(BUILD)/flightrec $(UNIT_BINS) $(TEST_HELPER_BINS) $(TEST_TOOL_BINS) $(BUILD)/bench/stress

$(BUILD)/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/sensor.bpf.o: src/sensor/sensor.bpf.c src/sensor/sensor_abi.h $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Isrc/sensor \
		-Wall -Werror -c $< -o $@

$(BUILD)/sensor.skel.h: $(BUILD)/sensor.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/sensor/sensor.o: $(BUILD)/sensor.skel.h

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libflightrec.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/flightrec: $(CLI_OBJS) $(BUILD)/libflightrec.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libflightrec.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h tests/unit/fl_testgen.h tests/unit/fl_testseg.h fuzz/fuzz_prior.h $(BUILD)/libflightrec.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -DFIXTURE_DIR='"$(abspath tests/fixtures)"' -o $@ $< $(BUILD)/libflightrec.a $(LDLIBS)

# Fails chosen allocations inside the library (tests/unit/test_flightlog_oom.c).
$(BUILD)/tests/test_flightlog_oom: LDLIBS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

$(BUILD)/bench/stress: bench/stress.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# The sensor's sustained rate and cost (docs/BENCHMARKS.md).
bench-record: all
	FLIGHTREC_BUILD=$(abspath $(BUILD)) python3 bench/record_rate.py

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libflightrec.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libflightrec.a $(LDLIBS) $(LDFLAGS)

$(BUILD)/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# Unit tests then integration tests, through prove. FLIGHTREC_BUILD tells the
# integration tests which build to drive.
test-unit: all
	FLIGHTREC_BUILD=$(abspath $(BUILD)) prove -v $(UNIT_BINS) 2>&1 | tee $(BUILD)/test-unit.log

test-integration: all
	FLIGHTREC_BUILD=$(abspath $(BUILD)) prove -v --exec '/usr/bin/python3' tests/integration/*.t 2>&1 | tee $(BUILD)/test-integration.log

# The whole suite: normal build, then the sanitizer build, then the bounded
# fuzz run. scripts/run-tests.sh prints the closing "N passed, N failed".
test:
	bash scripts/run-tests.sh

asan:
	$(MAKE) SAN=1

clean:
	rm -rf build build-asan build-fuzz

# --- flight log: libFuzzer target and benchmark (additive) ---
# The fuzz build compiles the reader's sources with clang and libFuzzer, with
# checksum checks disabled so mutations reach the decoders; it does not need
# the BPF toolchain. scripts/fuzz.sh SECONDS runs it on fuzz/corpus/segment.
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -g -O1 -std=c17 -D_GNU_SOURCE -pthread -Isrc \
	-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_SRCS := $(wildcard src/event/*.c) $(wildcard src/flightlog/*.c)

fuzz: $(FUZZ_BUILD)/fuzz_segment

$(FUZZ_BUILD)/fuzz_segment: fuzz/fuzz_segment.c fuzz/fuzz_prior.h $(FUZZ_LIB_SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_segment.c $(FUZZ_LIB_SRCS) -lzstd

.PHONY: bench-flightlog
bench-flightlog: $(BUILD)/flightlog_bench
	$(BUILD)/flightlog_bench

$(BUILD)/flightlog_bench: bench/flightlog_bench.c tests/unit/fl_testgen.h $(BUILD)/libflightrec.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -DFIXTURE_DIR='"$(abspath tests/fixtures)"' -o $@ $< $(BUILD)/libflightrec.a $(LDLIBS)

# --- query: the synthetic fleet generator and the query benchmark (additive) ---
all: $(BUILD)/bench/fleetgen

$(BUILD)/bench/fleetgen: bench/fleetgen.c $(BUILD)/libflightrec.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libflightrec.a $(LDLIBS) $(LDFLAGS)

.PHONY: bench-query
bench-query: all
	FLIGHTREC_BUILD=$(abspath $(BUILD)) bench/query_bench
