#!/usr/bin/env bash
# The demo. Until the chat demo lands, it runs the tutorial's first demo: the `hello` example
# (native) against the test server's /hello route, which answers like the tutorial's server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ensure_rust

cargo build --quiet --release --features test-server --bin test-server --example hello
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT
coproc SERVER { exec target/release/test-server 2>/dev/null; }
server_pid=$SERVER_PID
read -r -t 30 line <&"${SERVER[0]}"
ws=$(sed 's/.*ws=\([^ ]*\) .*/\1/' <<<"$line")
say "test server on $ws (pid $server_pid)"
target/release/examples/hello "ws://$ws/hello"
