# A small front for CMake + CTest.  `make deps` installs what the build and the tests need.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

BUILD_STATIC ?= build-static
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: all deps build asan static test test-asan test-normal fuzz demo bench format clean graph

all: build

deps:
	./scripts/deps.sh

build:
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan:
	@cmake -S . -B $(BUILD_ASAN) -DSAGERUN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)

# One binary without shared libraries (docs/static.md): curl and libarchive built from
# Debian's sources into .deps/static once, the rest from Debian's own static archives.
static:
	./scripts/static-deps.sh
	@PKG_CONFIG_PATH=$(CURDIR)/.deps/static/prefix/lib/pkgconfig cmake -S . -B $(BUILD_STATIC) \
		-DSAGERUN_STATIC=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_STATIC) -j $(JOBS) --target sagerun
	@file $(BUILD_STATIC)/sagerun | grep -q "static-pie linked" || \
		{ echo "$(BUILD_STATIC)/sagerun is not statically linked" >&2; exit 1; }
	@echo "$(BUILD_STATIC)/sagerun: static"

# The README's test command: every test, in a normal build and under ASan+UBSan.
test: test-normal test-asan

test-normal: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: asan
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The libFuzzer harnesses (docs/fuzzing.md), built with clang in a tree of their own, each run
# for FUZZ_SECONDS; FUZZ_TARGETS="NAME..." runs only those, FUZZ_ARGS adds libFuzzer flags.
# Fails on a crash, keeping its input.
fuzz:
	@cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DSAGERUN_FUZZ=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)
	./tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The graph pipeline's stages (examples/graph/README.md), MPI programs of their own, into
# $(BUILD)/graph; examples/graph/pipeline.sh runs them (GRAPH_BIN=$(BUILD)/graph).
graph:
	@$(MAKE) --no-print-directory -C examples/graph BIN=$(CURDIR)/$(BUILD)/graph

# Installs what is missing, builds, runs the 3-host example job.
demo:
	./scripts/deps.sh --demo
	@$(MAKE) --no-print-directory build
	./examples/barrier/run-demo.sh $(BUILD)/sagerun

bench: build
	./bench/launch.sh $(BUILD)/sagerun
	./bench/scale.sh $(BUILD)/sagerun
	./bench/s3.sh $(BUILD)/sagerun
	./bench/process-vs-train.sh $(BUILD)/sagerun

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_STATIC) $(BUILD_FUZZ)
