#!/usr/bin/env bash
# The chat-server benchmark: our chat-server (axum) against the tutorial's Node `ws` server
# (e2e/tutorial-server.mjs), both driven by one load generator written with twinsock's native
# client (`bench-native chat`, in bench/native). 100 and 1,000 clients (10 of them sending), a
# paced load and a burst: deliveries per second and p50/p99 delivery latency; then 10,000 idle
# clients: the server's resident memory per connection. The servers alternate within each
# round, each measurement on a fresh server process; everything on 127.0.0.1.
#
#   scripts/bench-chat.sh            full run (5 rounds; about 5 minutes on 2 cores)
#   scripts/bench-chat.sh --quick    smoke test (1 round, shorter paced runs)
#   scripts/bench-chat.sh --scale-out [--quick]
#                                    instead: one chat-server against two and three sharing one
#                                    chat through one redis-server (`bench-native chat-scale`;
#                                    3 rounds of 1,000 clients, about 4 minutes), into
#                                    target/bench/chat-scale.json
#
# Prints a table of medians and ratios (chat-server / Node) and writes every run's numbers and
# the machine's facts to target/bench/chat.json (the servers' logs next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-common.sh
scale_out=
if [ "${1:-}" = --scale-out ]; then
    scale_out=1
    shift
fi
bench_options "$@"
# 10,000 clients in the generator and 10,000 connections in the server: both processes
# inherit this limit.
raise_open_files 10200 "the 10,000-client memory test"

started=$(date +%s)
cargo build --release -p chat-server
cargo build --release --manifest-path bench/native/Cargo.toml --target-dir target/bench-native-build
mkdir -p target/bench
pids=target/bench/chat-servers.pids
: >"$pids"

# The benchmark stops its servers itself (also on errors and from its watchdog); if this
# script is interrupted, the trap stops the benchmark and any server it left, by PID.
bench_pid=
cleanup() {
    if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
        kill "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
    if [ -s "$pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        done <"$pids"
    fi
    rm -f "$pids"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=0
if [ -n "$scale_out" ]; then
    ensure_redis
    target/bench-native-build/release/bench-native chat-scale ${args[@]+"${args[@]}"} \
        --chat-server target/release/chat-server --redis-server "$(command -v redis-server)" \
        --json target/bench/chat-scale.json --pids "$pids" &
else
    target/bench-native-build/release/bench-native chat ${args[@]+"${args[@]}"} \
        --chat-server target/release/chat-server --node "$(command -v node)" \
        --tutorial e2e/tutorial-server.mjs --json target/bench/chat.json --pids "$pids" &
fi
bench_pid=$!
wait "$bench_pid" || status=$?
bench_pid=
echo "bench-chat.sh: $(($(date +%s) - started)) s in all (build included)"
exit "$status"
