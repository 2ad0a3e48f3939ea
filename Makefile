# Thin wrapper over CMake/Ninja. Everything real lives in CMakeLists.txt and scripts/.
SHELL := /bin/bash
BUILD ?= build
# The sanitizer tree (clang, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer targets):
# make test-asan builds and runs it (tests/fuzz/README.md). It is not yet part of make test:
# how long its cold build takes on a clean 2-core CI machine is not measured (issue 11).
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
# Debian packages likewise build in their own folder, with the shipped build type, and land in
# dist/ (docs/self-hosting.md).
PACKAGE_BUILD ?= build-package
DIST ?= dist

.PHONY: all deps configure build run test bench package format clean configure-asan build-asan test-asan fuzz

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

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

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

# Every suite and each fuzz target (20 s) under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: build-asan
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

# veil-relay, veil and veil-desktop as .deb files in $(DIST)/ (packaging/CMakeLists.txt).
package: deps
	@if [ ! -f $(PACKAGE_BUILD)/build.ninja ]; then \
	    cmake -S . -B $(PACKAGE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVEIL_WERROR=ON \
	        -DVEIL_BUILD_TESTS=OFF -DVEIL_BUILD_BENCH=OFF; fi
	cmake --build $(PACKAGE_BUILD) -j $(JOBS) --target veil-relay veil veil-desktop veil_man
	rm -rf $(DIST) && mkdir -p $(DIST)
	cd $(PACKAGE_BUILD) && cpack -G DEB -B $(CURDIR)/$(DIST)/.cpack
	mv $(DIST)/.cpack/*.deb $(DIST)/ && rm -rf $(DIST)/.cpack
	@ls -l $(DIST)/*.deb

format:
	git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
