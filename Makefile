# Thin wrapper around CMake: the README's two commands are `make run` and `make test`.
# Each installs missing Debian packages (tools/deps.sh), configures and builds first.
BUILD ?= build
CONFIG ?= configs/seed.yaml
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test bench fuzz format format-check layering clean

all: build

deps:
	@tools/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# --jobs auto: the sweep's members in processes, the cores left over as BLAS threads for a
# large model (its one line says the choice; RUN_JOBS=N for N processes). The results stay
# in runs/NAME: --overwrite replaces the previous `make run`'s (RUN_FLAGS= keeps it, writing
# runs/NAME-2, ...)
RUN_FLAGS ?= --overwrite
RUN_JOBS ?= auto
run: build
	$(BUILD)/bin/fanin run $(CONFIG) --jobs $(RUN_JOBS) $(RUN_FLAGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (tests/fuzz/README.md): a clang build with ASan+UBSan in build-fuzz,
# each harness run for FUZZ_SECONDS on its seed corpus; new inputs go to build-fuzz/corpus,
# crashes to build-fuzz/crash-* (copy each into tests/fuzz/regressions/NAME/ once fixed).
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build-fuzz
FUZZ_HARNESSES = config set idx csv safetensors
fuzz:
	@FANIN_DEPS_FUZZ=1 tools/deps.sh
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang-14 -DFANIN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$h $(FUZZ_BUILD)/artifacts/$$h; \
	  dict=""; case $$h in config|set) dict=-dict=tests/fuzz/config.dict;; esac; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/bin/fuzz_$$h $$dict -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -timeout=10 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$h/ \
	    $(FUZZ_BUILD)/corpus/$$h tests/fuzz/corpus/$$h || exit 1; \
	done

# FANIN_DEPS_BENCH=1 adds libfann-dev (the FANN peer); cmake runs again to find it
bench: build
	@FANIN_DEPS_BENCH=1 tools/deps.sh
	cmake -S . -B $(BUILD) >/dev/null && cmake --build $(BUILD) -j $(JOBS)
	tools/bench/run.sh $(BUILD)

# clang-format (.clang-format, tuned on Debian's clang-format 14) over the C sources: core/ and
# plugins/ at any depth, tools/, include/fanin/ and tests/; the reference tables in tests/ref/
# (written by their make_*_ref.py) are left as they are, and generated sources (templates.c)
# live in $(BUILD), which is not searched. FORMAT_EXCLUDE takes more make patterns.
CLANG_FORMAT ?= clang-format
FORMAT_EXCLUDE ?= tests/ref/%
FORMAT_FILES = $(filter-out $(FORMAT_EXCLUDE),$(sort $(shell find core plugins -name '*.[ch]' 2>/dev/null) \
	$(wildcard tools/*.c tools/*.h include/fanin/*.h tests/*.c tests/*.h)))
format:
	@command -v $(CLANG_FORMAT) >/dev/null 2>&1 || { echo "format: $(CLANG_FORMAT) not found (apt-get install clang-format)"; exit 1; }
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

# fails listing the files `make format` would change; skips (exit 0) without clang-format
format-check:
	@if ! command -v $(CLANG_FORMAT) >/dev/null 2>&1; then \
	  echo "format-check: $(CLANG_FORMAT) not found, skipped (apt-get install clang-format)"; exit 0; \
	fi; \
	bad=""; n=0; \
	for f in $(FORMAT_FILES); do \
	  $(CLANG_FORMAT) "$$f" | cmp -s - "$$f" || { bad="$$bad $$f"; n=$$((n + 1)); }; \
	done; \
	if [ $$n -gt 0 ]; then \
	  echo "format-check: $$n file(s) not formatted as .clang-format says (run 'make format'):"; \
	  for f in $$bad; do echo "  $$f"; done; exit 1; \
	fi; \
	echo "format-check: $(words $(FORMAT_FILES)) files formatted"

# the include layering of core/ (tools/check-layering.sh --order prints the folders' order)
layering:
	@tools/check-layering.sh .

clean:
	rm -rf $(BUILD)
