#!/usr/bin/env bash
# The benchmarks (separate from the tests): the native client next to raw tungstenite,
# tokio-tungstenite, tokio-websockets, fastwebsockets, yawc and ewebsock; the chat server next
# to the tutorial's Node server, and one chat server against two and three behind one Redis;
# the browser backend next to plain JavaScript; bundle sizes next to gloo-net and
# ws_stream_wasm; and permessage-deflate on and off next to yawc, natively and in the page
# (scripts/bench-compression.sh). Prints one table, writes the raw results to
# bench/results/latest.json, the charts to bench/results/*.svg, and BENCHMARKS.md.
# `--quick` runs fewer rounds (a smoke test).
#
# A part that reports errors (for example one client of a thousand that failed to connect)
# does not stop the others: the report is written with the errors in it, and the command then
# exits non-zero.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command="scripts/bench.sh${1:+ $1}"
failed=()
for part in native chat web compression; do
    scripts/bench-$part.sh "$@" || failed+=("$part")
done
scripts/bench-chat.sh --scale-out "$@" || failed+=("chat scale-out")
python3 scripts/bench_report.py "$command"
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench.sh: these parts reported errors (see above and BENCHMARKS.md): ${failed[*]}" >&2
    exit 1
fi
