# Thin wrapper over CMake/Ninja. Everything real lives in CMakeLists.txt and scripts/.
BUILD ?= build
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

.PHONY: all deps configure build run test bench package format clean

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
