# Thin wrapper around CMake: the README's two commands are `make run` and `make test`.
# Each installs missing Debian packages (tools/deps.sh), configures and builds first.
BUILD ?= build
CONFIG ?= configs/seed.yaml
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test bench clean

all: build

deps:
	@tools/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/bin/fanin run $(CONFIG)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	tools/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
