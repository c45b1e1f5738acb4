# TigerFans C++ — the commands the README promises.
#   make run     install what is missing, build, start PostgreSQL/Redis(/TigerBeetle), serve :8000
#   make test    build and run every test (unit, integration, end-to-end, fault injection)
#   make test-sanitize, make test-tsan   unit and integration under ASan+UBSan, under TSan
#   make tidy    clang-tidy with the checks of .clang-tidy over src/, tests/ and bench/
#   make bench   run the benchmark matrix and record results in bench/results/
#   make bench-micro  the micro benchmarks (google benchmark), JSON into bench/results/
#   make bench-compare A=old.json B=new.json  what changed between two recorded results
#   make bench-targets [BENCH_RESULT=r.json]  level 3 against its speed targets (the latest)
#   make faults  the fault-injection suite at full size (level 3 with TIGERBEETLE_BIN)
#   make fuzz    every libFuzzer target of fuzz/ for FUZZ_SECONDS each (clang, build-fuzz/);
#                make fuzz-build only builds them
#   make format  rewrite every C++ file as .clang-format says; format-check only reports
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
# The micro benchmarks (google benchmark, bench/micro), the TigerBeetle floor probe
# (bench/tb_floor) and the HTTP floor (bench/http_floor) are built only with
# TIGERFANS_BENCHMARKS: test and the bench targets turn it on, a plain build leaves them out.
BENCH_FLAGS ?=
MICRO_ARGS ?=
JOBS ?= $(shell nproc)
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 180
TIDY_JOBS ?= 2
# ccache shares objects between clones of the tree (CI builds in a fresh clone).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all setup configure build test test-sanitize test-tsan check-packages tidy run bench \
	bench-micro bench-compare bench-targets faults fuzz fuzz-build format format-check clean

all: build

setup:
	scripts/setup.sh

# The server builds without the tests (and GoogleTest); the targets that need them say so.
TESTS_FLAG =
test check-packages tidy: TESTS_FLAG = -DTIGERFANS_TESTS=ON

configure:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(TESTS_FLAG) \
		$(BENCH_FLAGS) $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: setup build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --verbose -j $(JOBS)

# Every file the build used from the system comes from a package setup.sh installs.
check-packages: setup build
	/usr/bin/python3 scripts/check_packages.py --build-dir $(BUILD_DIR)

# The unit and integration suites again under AddressSanitizer and UndefinedBehaviorSanitizer
# (build-asan/), and under ThreadSanitizer (build-tsan/): the presets of CMakePresets.json.
test-sanitize: PRESET = asan
test-tsan: PRESET = tsan
test-sanitize test-tsan: setup
	cmake --preset $(PRESET) $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)
	ctest --preset $(PRESET) --verbose -j $(JOBS)

# clang-tidy over the compile commands of the build tree (scripts/tidy.sh), two files at a time.
tidy: setup configure
	scripts/tidy.sh $(BUILD_DIR) $(TIDY_JOBS)

# The fuzz targets, built with clang in a tree of their own (the packages that tree used are
# checked as well), then run one after another. CI builds them early, so a target that no longer
# links fails the run in minutes rather than after the sanitizer suites.
fuzz-build: setup
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_COMPILER=clang++-14 -DTIGERFANS_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	/usr/bin/python3 scripts/check_packages.py --build-dir $(FUZZ_DIR)

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

run: setup build
	BUILD_DIR=$(BUILD_DIR) scripts/run.sh

test check-packages tidy bench bench-micro: BENCH_FLAGS = -DTIGERFANS_BENCHMARKS=ON

bench: build
	/usr/bin/python3 bench/run_bench.py $(BENCH_ARGS)

# Throughput, p50, p99 and server CPU per operation of two results side by side, with the change
# in percent (bench/compare.py); COMPARE_ARGS adds flags, e.g. COMPARE_ARGS="--threshold 5".
bench-compare:
	@if [ -z "$(A)" ] || [ -z "$(B)" ]; then \
		echo "usage: make bench-compare A=<results.json> B=<results.json>" >&2; exit 2; fi
	/usr/bin/python3 bench/compare.py $(COMPARE_ARGS) "$(A)" "$(B)"

# Level 3 against its speed targets in one recorded result (bench/targets.py), the newest unless
# BENCH_RESULT names another.
BENCH_RESULT ?= bench/results/latest.json
bench-targets:
	/usr/bin/python3 bench/targets.py "$(BENCH_RESULT)"

# Every micro benchmark at google benchmark's own run length; MICRO_ARGS adds flags, e.g.
# MICRO_ARGS=--benchmark_filter=route.
MICRO_OUT = bench/results/micro-$$(date -u +%Y%m%dT%H%M%S)-$$(git rev-parse --short HEAD).json
bench-micro: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target tigerfans-micro
	mkdir -p bench/results
	$(BUILD_DIR)/tigerfans-micro --benchmark_out_format=json --benchmark_out=$(MICRO_OUT) \
		$(MICRO_ARGS)

# Crashes and kills under load; no paid order may be lost or doubled (tests/faults/run_faults.py).
faults: build
	/usr/bin/python3 tests/faults/run_faults.py --build-dir $(BUILD_DIR) $(FAULTS_ARGS)

CXX_FILES = $(shell find src include tests bench fuzz -path '*/node_modules' -prune -o \
	\( -name '*.cpp' -o -name '*.hpp' \) -print)

format: setup
	clang-format-14 -i $(CXX_FILES)

format-check: setup
	@clang-format-14 --dry-run -Werror $(CXX_FILES)
	@echo "format-check: $(words $(CXX_FILES)) files as .clang-format says"

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-debug build-release $(FUZZ_DIR)
