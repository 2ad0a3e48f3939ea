# Thin wrapper over CMake/Ninja. Everything real lives in CMakeLists.txt and scripts/.
SHELL := /bin/bash
BUILD ?= build
# The sanitizer tree (clang 14, AddressSanitizer + UndefinedBehaviorSanitizer at -O1, -Werror,
# the six libFuzzer targets): make test builds and runs it after the normal tree, and fails if
# either fails while still running both. It holds everything but the benchmarks, the Qt desktop
# app and its suite included; its cost was measured cold on the 2-core machine
# (tests/fuzz/README.md, "Cost in CI"). No unity build (the sources share helper names across
# files).
ASAN_BUILD ?= build-asan
# OFF leaves the Qt desktop app and its suite out of the sanitizer tree (make test-asan
# ASAN_DESKTOP=OFF), for a quicker run by hand.
ASAN_DESKTOP ?= ON
# Seconds each fuzz target runs in make test and make test-asan (side by side under ctest -j).
FUZZ_TEST_SECONDS ?= 20
ASAN_CMAKE_ARGS := -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    -DVEIL_WERROR=ON -DVEIL_SANITIZE=address,undefined -DVEIL_FUZZ=ON \
    -DVEIL_BUILD_BENCH=OFF -DVEIL_BUILD_DESKTOP=$(ASAN_DESKTOP) \
    -DVEIL_FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS)
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

.PHONY: all deps configure build run test test-normal bench package format clean configure-asan build-asan test-asan fuzz

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

# The normal tree's suites, then the sanitizer tree's (test-asan). Both always run, so that the
# CI log shows both summaries; make test fails if either failed.
test:
	@status=0; \
	$(MAKE) --no-print-directory test-normal || status=1; \
	$(MAKE) --no-print-directory test-asan || status=1; \
	if [ $$status -ne 0 ]; then echo "make test: the normal or the sanitizer tree failed (above)" >&2; fi; \
	exit $$status

test-normal: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Configures again whenever the arguments above change (an older build-asan keeps its objects).
configure-asan: deps
	@if [ ! -f $(ASAN_BUILD)/build.ninja ] || \
	    [ "$$(cat $(ASAN_BUILD)/veil-cmake-args 2>/dev/null)" != '$(ASAN_CMAKE_ARGS)' ]; then \
	    cmake -S . -B $(ASAN_BUILD) $(ASAN_CMAKE_ARGS) && \
	    echo '$(ASAN_CMAKE_ARGS)' > $(ASAN_BUILD)/veil-cmake-args; fi

# catch_discover_tests runs each test binary as it is built, so the build needs the same
# sanitizer environment as the run.
build-asan: configure-asan
	. scripts/sanitizer-env.sh && cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every suite and each fuzz target (FUZZ_TEST_SECONDS) under AddressSanitizer and
# UndefinedBehaviorSanitizer. Every report goes to a file in $(ASAN_BUILD)/sanitizer-reports/
# (instead of the process's stderr) and still ends that process with a failure; the files are
# printed at the end and any file fails the run, so a report from a relay or client that a test
# started and killed, or whose exit code it did not check, is never lost.
test-asan: build-asan
	@reports="$$(cd $(ASAN_BUILD) && pwd)/sanitizer-reports" && rm -rf "$$reports" && \
	    mkdir -p "$$reports" && export VEIL_SANITIZER_REPORTS="$$reports" && \
	    . scripts/sanitizer-env.sh || exit 1; \
	status=0; \
	(cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600) || status=1; \
	if [ -n "$$(ls -A "$$reports")" ]; then \
	    echo "make test-asan: sanitizer reports in $$reports:" >&2; \
	    tail -n +1 "$$reports"/* >&2; status=1; fi; \
	exit $$status

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
