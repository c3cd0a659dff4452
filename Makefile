# A thin wrapper: set-up, build, run, test, bench. CMake does the work.
BUILD ?= build
JOBS ?= $(shell nproc)
HTTP ?= 127.0.0.1:9477
INGEST ?= 127.0.0.1:9478
# make test SANITIZE=1: the same suite built with ASan and UBSan, apart.
ifeq ($(SANITIZE),1)
BUILD := build-san
CMAKE_FLAGS += -DMG_SANITIZE="address;undefined"
endif
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MERGE ?= 0

.PHONY: all deps build run test bench fuzz clean

all: build

deps:
	@bash .ci/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DMG_WERROR=$(or $(MG_WERROR),OFF) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/gateway/moongate --scripts scripts --rules rules --http $(HTTP) --ingest $(INGEST)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout $(if $(SANITIZE),900,300)

bench: build
	bash gateway/tools/bench.sh $(BUILD)

# libFuzzer needs clang and its runtime; the targets' list is gateway/CMakeLists.txt's.
fuzz:
	@bash .ci/deps.sh clang libclang-rt-dev
	test -f $(FUZZ_BUILD)/CMakeCache.txt || \
	  CC=clang cmake -S . -B $(FUZZ_BUILD) -DMG_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash gateway/fuzz/run.sh $(abspath $(FUZZ_BUILD)) $(FUZZ_SECONDS) $(FUZZ_MERGE) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
