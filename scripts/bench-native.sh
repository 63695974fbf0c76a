#!/usr/bin/env bash
# The native benchmark: twinsock's native client next to raw tungstenite (blocking),
# tokio-tungstenite (current-thread runtime) and ewebsock (native backend), against one local
# echo server on 127.0.0.1, clients alternating round after round.
#
#   scripts/bench-native.sh            full run (5 rounds; a few minutes on 2 cores)
#   scripts/bench-native.sh --quick    smoke test (2 rounds, smaller counts; well under a minute)
#
# Prints a table of medians and ratios to raw tungstenite; writes every round's numbers and the
# machine's facts to target/bench/native.json and round-trip latency samples to
# target/bench/native-latency.csv. The benchmark is its own Cargo package (bench/native, own
# workspace and Cargo.lock), built into target/bench-native-build.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-common.sh
bench_options "$@"
# The scale test holds 1,000 sockets in the client process and 1,000 in the server process.
raise_open_files 2200 "the 1,000-socket scale test"

started=$(date +%s)
cargo build --release --manifest-path bench/native/Cargo.toml --target-dir target/bench-native-build
mkdir -p target/bench
status=0
target/bench-native-build/release/bench-native ${args[@]+"${args[@]}"} \
    --json target/bench/native.json --csv target/bench/native-latency.csv || status=$?
echo "bench-native.sh: $(($(date +%s) - started)) s in all (build included)"
exit "$status"
