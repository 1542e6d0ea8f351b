# dfs: build, test and run a local cluster.
SWIFT ?= swift
CLUSTER_DIR ?= ./.dfs-local
PORT ?= 8000

.PHONY: all build release deps test chaos run screenshot bench bench-small bench-scale fuzz lint fmt clean

all: build

# Installs what a new machine lacks: SQLite's, OpenSSL's and libpq's headers and libraries;
# the PostgreSQL server (the PostgreSQL tests start a throwaway one with its initdb); tcpdump
# (the test that checks a secret cluster's traffic is encrypted captures it); promtool, from
# the prometheus package (the tests check every /metrics with it); headless Chromium (the
# tests load the status page in it, and `make screenshot` takes its picture); libfuse3's
# headers and fusermount3 (`dfs mount`, and the tests that mount a cluster); rsync (a test
# copies a tree onto a mount with it); fio (tests run its verifying jobs on a mount); curl and
# rclone (Debian) and the aws CLI and boto3 (PyPI, for the python3 on the PATH): the S3
# gateway's tests drive it with them.
deps:
	@missing=""; \
	[ -f /usr/include/sqlite3.h ] || missing="$$missing libsqlite3-dev"; \
	[ -f /usr/include/openssl/ssl.h ] || missing="$$missing libssl-dev"; \
	[ -f /usr/include/postgresql/libpq-fe.h ] || missing="$$missing libpq-dev"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v tcpdump >/dev/null 2>&1 || [ -x /usr/bin/tcpdump ] || missing="$$missing tcpdump"; \
	[ -x /usr/bin/promtool ] || missing="$$missing prometheus"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium fonts-dejavu-core"; \
	[ -f /usr/include/fuse3/fuse_lowlevel.h ] || missing="$$missing libfuse3-dev"; \
	command -v fusermount3 >/dev/null 2>&1 || missing="$$missing fuse3"; \
	command -v rsync >/dev/null 2>&1 || missing="$$missing rsync"; \
	command -v fio >/dev/null 2>&1 || missing="$$missing fio"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v rclone >/dev/null 2>&1 || missing="$$missing rclone"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi; \
	if ! command -v aws >/dev/null 2>&1 || ! python3 -c 'import boto3' >/dev/null 2>&1; then \
		echo "installing awscli and boto3 from PyPI"; \
		python3 -m pip install --quiet --disable-pip-version-check awscli boto3; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Builds everything (the dfs binary too: CLI tests run it) and runs every test. A crash prints
# the crashed thread only; a run that outlives TEST_TIMEOUT seconds is stopped and fails.
TEST_TIMEOUT ?= 1200
# One test at a time: each cluster test runs a meta server and several data nodes with
# second-scale heartbeat deadlines, and dozens of clusters sharing two cores at once made
# nodes look dead. Tests stay concurrent inside (nodes, blocks, clients); about 2 minutes.
test: deps lint
	$(SWIFT) build --build-tests
	DFS_LOG=warn SWIFT_BACKTRACE=enable=yes,threads=crashed,symbolicate=fast \
		timeout --kill-after=20 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --no-parallel

# The fault test alone, for longer: writers upload and overwrite files while data nodes and
# the meta server are killed and restarted at random for CHAOS_SECONDS; then everything
# acknowledged must read back and the space of failed uploads must come back.
# DFS_CHAOS_SEED=N replays a run (the seed is printed).
CHAOS_SECONDS ?= 600
chaos: deps
	$(SWIFT) build --build-tests
	CHAOS_SECONDS=$(CHAOS_SECONDS) DFS_LOG=warn SWIFT_BACKTRACE=enable=yes,threads=crashed,symbolicate=fast \
		$(SWIFT) test --skip-build --filter ChaosTests

# A meta server on port $(PORT) and three data nodes, all under $(CLUSTER_DIR), with the status
# page and metrics on http://127.0.0.1:$(HTTP_PORT)/; Ctrl-C stops.
HTTP_PORT ?= 8080
run: release
	.build/release/dfs local-cluster --dir $(CLUSTER_DIR) --port $(PORT) --nodes 3 --http 127.0.0.1:$(HTTP_PORT)

# Docs/status-page.png: the status page of a cluster like `make run`'s, with a few files
# copied in and half a minute of activity, in headless Chromium.
screenshot: release
	@set -e; dir=$$(mktemp -d); trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf "$$dir"' EXIT; \
	.build/release/dfs local-cluster --dir "$$dir/cluster" --port 0 --nodes 3 --http 127.0.0.1:0 > "$$dir/out" 2>&1 & pid=$$!; \
	for i in $$(seq 200); do grep -q "Status page" "$$dir/out" && break; sleep 0.1; done; \
	meta=$$(sed -n 's/.*meta server on \([0-9.:]*\),.*/\1/p' "$$dir/out"); \
	http=$$(sed -n 's|^Status page: http://\([0-9.:]*\)/.*|\1|p' "$$dir/out"); \
	for round in 1 2 3 4 5 6; do \
		.build/release/dfs cp -q -r Sources "$$meta:/src-$$round"; \
		.build/release/dfs cp -q -r "$$meta:/src-$$round" "$$dir/copy-$$round"; sleep 5; \
	done; \
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$$dir/profile" \
		--window-size=1200,820 --screenshot=Docs/status-page.png "http://$$http/" 2>/dev/null; \
	echo "wrote Docs/status-page.png"

# dfs against this machine's limits: a cluster of processes in a temp folder, baselines and
# dfs side by side (BENCH_ARGS=--quick for a short run, --json FILE to keep the numbers). The
# run includes the concurrent small-file phase (16 clients, 20,000 files of 1 KiB) and stat
# one after another and 16 at once.
BENCH_ARGS ?=
bench: release
	.build/release/dfs bench $(BENCH_ARGS)

# The concurrent small-file phase alone, about a minute (BENCH_ARGS="--clients 64 --files
# 100000 --size 4KiB" for another shape).
bench-small: release
	.build/release/dfs bench --small $(BENCH_ARGS)

# The meta server with 1,000,000 files: list and stat against a namespace of 1,000.
bench-scale: release
	.build/release/dfs bench --scale $(BENCH_ARGS)

# libFuzzer on the frame and message decoders (Tests/Fuzz), for FUZZ_TIME seconds. Built with
# swiftc directly: libFuzzer brings its own main, which a SwiftPM executable cannot take.
FUZZ_TIME ?= 30
FUZZ_DIR = .build/fuzz
fuzz: deps
	mkdir -p $(FUZZ_DIR)/corpus
	clang -c -O1 -fsanitize=fuzzer-no-link -I Sources/CCRC32C/include Sources/CCRC32C/crc32c.c -o $(FUZZ_DIR)/crc32c.o
	printf 'module CCRC32C {\n  header "%s/Sources/CCRC32C/include/crc32c.h"\n  export *\n}\n' "$(CURDIR)" > $(FUZZ_DIR)/module.modulemap
	$(SWIFT)c -sanitize=fuzzer -parse-as-library -O -module-name DFSCore \
		-Xcc -fmodule-map-file=$(FUZZ_DIR)/module.modulemap \
		Sources/DFSCore/*.swift Tests/Fuzz/FrameFuzz.swift $(FUZZ_DIR)/crc32c.o -o $(FUZZ_DIR)/dfs-fuzz-frames
	$(FUZZ_DIR)/dfs-fuzz-frames -max_total_time=$(FUZZ_TIME) -max_len=65536 -print_final_stats=1 $(FUZZ_DIR)/corpus Tests/Fuzz/seeds

# The style in .swift-format, checked strictly: `make test` fails on a warning; `make fmt`
# rewrites the files to it.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests

fmt:
	$(SWIFT) format --in-place --recursive Sources Tests

clean:
	rm -rf .build
