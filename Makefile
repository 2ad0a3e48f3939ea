# Thin wrapper over CMake/Ninja. Everything real lives in CMakeLists.txt and scripts/.
SHELL := /bin/bash
BUILD ?= build
# The sanitizer tree (clang, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer targets):
# make test builds and runs it after the normal tree (tests/fuzz/README.md).
ASAN_BUILD ?= build-asan
# make fuzz: seconds per target, and where new corpus entries go (outside the tree unless
# FUZZ_CORPUS_OUT points into it).
FUZZ_SECONDS ?= 600
FUZZ_CORPUS_OUT ?= $(HOME)/.cache/veil-fuzz
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
JOBS ?= $(shell nproc)
# Benchmarks build in their own folder, with the shipped build type, so that `make bench` never
# reconfigures or waits on the everyday build.
BENCH_BUILD ?= build-bench

.PHONY: all deps configure build run test bench format clean configure-asan build-asan test-asan fuzz

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	    cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEIL_WERROR=ON; fi

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run.sh $(BUILD)

# Both trees run to the end, each printing its ctest summary; the target fails if either failed.
test: build build-asan
	@status=0; \
	(cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600) || status=1; \
	$(MAKE) --no-print-directory test-asan || status=1; \
	exit $$status

configure-asan: deps
	@if [ ! -f $(ASAN_BUILD)/build.ninja ]; then \
	    cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
	        "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
	        -DVEIL_WERROR=ON -DVEIL_SANITIZE=address,undefined -DVEIL_FUZZ=ON \
	        -DVEIL_BUILD_BENCH=OFF; fi

# catch_discover_tests runs each test binary as it is built, so the build needs the same
# sanitizer environment as the run.
build-asan: configure-asan
	. scripts/sanitizer-env.sh && cmake --build $(ASAN_BUILD) -j $(JOBS)

test-asan:
	. scripts/sanitizer-env.sh && cd $(ASAN_BUILD) && \
	    ctest --output-on-failure -j $(JOBS) --timeout 600

# Each fuzz target for FUZZ_SECONDS over its seeds and FUZZ_CORPUS_OUT/<target> (tests/fuzz/README.md).
fuzz: build-asan
	@scripts/fuzz.sh $(ASAN_BUILD) $(FUZZ_SECONDS) $(FUZZ_CORPUS_OUT)

# Builds the benchmark executables and runs each workload three times (bench/README.md).
bench: deps
	@if [ ! -f $(BENCH_BUILD)/build.ninja ]; then \
	    cmake -S . -B $(BENCH_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEIL_WERROR=ON \
	        -DVEIL_BUILD_BENCH=ON; fi
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target veil_benchmarks
	@scripts/bench.sh $(BENCH_BUILD)

format:
	git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
