# A thin wrapper: set-up, build, run, test, bench. CMake does the work.
BUILD ?= build
JOBS ?= $(shell nproc)
HTTP ?= 127.0.0.1:9477
INGEST ?= 127.0.0.1:9478

.PHONY: all deps build run test bench clean

all: build

deps:
	@bash .ci/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DMG_WERROR=$(or $(MG_WERROR),OFF)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/gateway/moongate --scripts scripts --rules rules --http $(HTTP) --ingest $(INGEST)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300

bench: build
	bash gateway/tools/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
