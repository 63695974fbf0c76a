#!/usr/bin/env bash
# The native benchmark: twinsock's native client next to raw tungstenite (blocking),
# tokio-tungstenite, tokio-websockets 0.13, fastwebsockets 0.10 (one write per frame, and behind
# a BufWriter), yawc 0.3 and ewebsock, each used the way its documentation shows, against
# local servers on 127.0.0.1 that are not the ceiling: a batching echo server (the headline
# measures), the earlier per-message echo server (labelled as the ceiling case) and a broadcast
# server (in-process fan-out to 100 and 1,000 clients); clients alternating within each round.
# Also memory per socket (1,000 sockets, a child process per client) and system calls, context
# switches and CPU per message (perf stat, a child process per client).
#
#   scripts/bench-native.sh            full run (5 rounds; about 15 minutes on 2 cores)
#   scripts/bench-native.sh --quick    smoke test (small counts, 1 round of the heavy phases)
#
# Prints a table of medians and ratios to the best async peer; writes every round's numbers and
# the machine's facts to target/bench/native.json and round-trip latency samples to
# target/bench/native-latency.csv. The benchmark is its own Cargo package (bench/native, own
# workspace and Cargo.lock), built into target/bench-native-build.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-common.sh
bench_options "$@"
# 1,000 sockets in the client process and 1,000 in the server process, for the memory and
# fan-out measures.
raise_open_files 2200 "the 1,000-socket measures"

# perf counts the clients' system calls (Debian's linux-perf); the benchmark reports an error
# for that part when perf cannot count them here.
if ! command -v perf >/dev/null; then
    echo "bench-native.sh: installing linux-perf (perf stat counts the system calls)" >&2
    apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null
fi

started=$(date +%s)
cargo build --release --manifest-path bench/native/Cargo.toml --target-dir target/bench-native-build
mkdir -p target/bench
status=0
target/bench-native-build/release/bench-native ${args[@]+"${args[@]}"} \
    --json target/bench/native.json --csv target/bench/native-latency.csv || status=$?
echo "bench-native.sh: $(($(date +%s) - started)) s in all (build included)"
exit "$status"
