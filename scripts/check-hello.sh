#!/usr/bin/env bash
# Checks the chat package's hello example (chat/examples/hello.rs) as a person would run it: against the tutorial's /hello server it
# prints the article's lines and a clean close (code 1000); against a server that is killed
# while connected it prints "Connection died" with code 1006.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet -p twinsock-test-server --bin test-server
cargo build --quiet -p twinsock-chat --example hello
out=target/test-logs
mkdir -p "$out"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT

start_server() {
    coproc SERVER { exec target/debug/test-server 2>/dev/null; }
    server_pid=$SERVER_PID
    read -r -t 30 line <&"${SERVER[0]}"
    ws=$(sed 's/.*ws=\([^ ]*\) .*/\1/' <<<"$line")
}

expect_lines() { # file, lines...
    local file=$1; shift
    for want in "$@"; do
        grep -qxF -- "$want" "$file" || { echo "hello: missing line '$want' in:" >&2; cat "$file" >&2; exit 1; }
    done
}

start_server
target/debug/examples/hello "ws://$ws/hello" >"$out/hello-clean.txt"
expect_lines "$out/hello-clean.txt" \
    "[open] Connection established" \
    "Sending to server" \
    "[message] Data received from server: Hello from server, John!" \
    "[close] Connection closed cleanly, code=1000 reason="

# Against /echo the example stays connected; kill the server once it has its echo.
target/debug/examples/hello "ws://$ws/echo" >"$out/hello-died.txt" &
hello_pid=$!
for _ in $(seq 100); do
    grep -q "My name is John" "$out/hello-died.txt" 2>/dev/null && break
    sleep 0.1
done
kill "$server_pid"; server_pid=""
status=0
wait "$hello_pid" || status=$?
expect_lines "$out/hello-died.txt" "[close] Connection died, code=1006"
[ "$status" -eq 1 ] || { echo "hello: exit status $status after the server died, expected 1" >&2; exit 1; }
echo "hello example: 2 passed, 0 failed"
