# Top-level entry points. `make demo` and `make test` are the README's quick
# start: both install missing Debian packages (scripts/deps.sh), configure
# with CMake, build, then run the demo or every test through ctest.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSE05X_SANITIZE=ON -DSE05X_FUZZ=ON

.PHONY: all deps configure build test check-gcc demo bench clean
MAKEFLAGS += --no-print-directory

all: build

deps:
	@bash scripts/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) \
	  -DSE05X_MBEDTLS_PREFIX="$$(bash scripts/mbedtls.sh --print-prefix)" >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same tree compiled by gcc, optimised, without sanitizers: gcc's -O2
# warnings (truncation, overflow, maybe-uninitialized) are errors too.
GCC_BUILD ?= build-gcc
check-gcc: deps
	@cmake -S . -B $(GCC_BUILD) -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
	  -DSE05X_MBEDTLS_PREFIX="$$(bash scripts/mbedtls.sh --print-prefix)" >/dev/null
	@cmake --build $(GCC_BUILD) -j $(JOBS) >/dev/null && echo "gcc build: clean"

demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target se05x-sim se05x-cli se05x_provider \
	  el2go-server el2go-agent se05x-paho-pub
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(GCC_BUILD)
