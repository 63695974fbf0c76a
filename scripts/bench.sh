#!/usr/bin/env bash
# The benchmarks (separate from the tests; several minutes): the native client next to raw
# tungstenite, tokio-tungstenite and ewebsock; our chat-server next to the tutorial's Node server;
# the browser backend next to plain JavaScript; and bundle sizes next to gloo-net and
# ws_stream_wasm. Prints one table, writes the raw results to bench/results/latest.json, the
# charts to bench/results/latency.svg and bench/results/deliveries.svg, and BENCHMARKS.md.
# `--quick` runs fewer rounds (a smoke test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command="scripts/bench.sh${1:+ $1}"
scripts/bench-native.sh "$@"
scripts/bench-chat.sh "$@"
scripts/bench-web.sh "$@"
python3 scripts/bench_report.py "$command"
