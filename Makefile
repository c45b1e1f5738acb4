# TigerFans C++ — the commands the README promises.
#   make run     install what is missing, build, start PostgreSQL/Redis(/TigerBeetle), serve :8000
#   make test    build and run every test (unit, integration, end-to-end)
#   make bench   run the benchmark matrix and record results in bench/results/
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test run bench format clean

all: build

setup:
	scripts/setup.sh

configure:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --verbose

run: setup build
	BUILD_DIR=$(BUILD_DIR) scripts/run.sh

bench: build
	/usr/bin/python3 bench/run_bench.py $(BENCH_ARGS)

format:
	find src include tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
