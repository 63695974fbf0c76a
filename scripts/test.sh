#!/usr/bin/env bash
# The whole test suite: installs what it needs, then formatting, clippy (native and wasm32),
# the behaviour suite natively and in headless Chromium against the test server, the chat
# code and servers, the hello example, the end-to-end chat tests (real browsers and
# processes), and the Autobahn|Testsuite run against the native client. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

ensure_rust
ensure_wasm_bindgen
ensure_browser
ensure_npm

say "cargo fmt --check"
cargo fmt --all -- --check

say "clippy (native)"
cargo clippy --all-targets --features test-server,chat-server -- -D warnings
say "clippy (wasm32)"
cargo clippy --all-targets --target wasm32-unknown-unknown --features www -- -D warnings

say "docs (native and wasm32)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --target wasm32-unknown-unknown --features www

say "the library alone depends on no server stack"
for target in "" "--target wasm32-unknown-unknown"; do
    # shellcheck disable=SC2086
    if cargo tree -e normal --prefix none $target | grep -E '^(axum|tokio|tower|hyper) '; then
        echo "the library's default build pulls in a server stack ($target)" >&2
        exit 1
    fi
done

say "starting the test server"
cargo build --quiet --features test-server --bin test-server
logs=target/test-logs
mkdir -p "$logs"
server_pid=""
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; }
trap stop_server EXIT
coproc SERVER { exec target/debug/test-server 2>"$logs/test-server.log"; }
server_pid=$SERVER_PID
if ! read -r -t 30 line <&"${SERVER[0]}"; then
    echo "the test server did not start; its log:" >&2
    cat "$logs/test-server.log" >&2
    exit 1
fi
export TWINSOCK_TEST_SERVER="$line"
say "test server (pid $server_pid): $line"

say "native tests"
cargo test --features test-server,chat-server 2>&1 | tee "$logs/native.txt"

say "browser tests (headless Chromium)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=$(command -v chromedriver) \
WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120} \
    cargo test --target wasm32-unknown-unknown 2>&1 | tee "$logs/browser.txt"

# The parity suite is one file run on both targets: list the tests each run passed (from its
# "Running tests/parity.rs" line to its result line) and require the same list on both.
parity_passed() {
    awk '/Running tests\/parity.rs/{on=1;next} on && /^test result:/{exit} on && /^test .* \.\.\. ok$/{print $2}' "$1" | sort
}
parity_passed "$logs/native.txt" >"$logs/parity-native.txt"
parity_passed "$logs/browser.txt" >"$logs/parity-browser.txt"
native_parity=$(wc -l <"$logs/parity-native.txt")
browser_parity=$(wc -l <"$logs/parity-browser.txt")
say "parity suite: $native_parity passed natively, $browser_parity passed in Chromium"
if ! diff "$logs/parity-native.txt" "$logs/parity-browser.txt" || [ "$native_parity" -lt 30 ]; then
    echo "the parity suite must pass the same tests (at least 30) on both targets" >&2
    exit 1
fi

stop_server
say "the hello example"
scripts/check-hello.sh

say "end-to-end: the chat in real browsers and processes"
scripts/e2e.sh

say "Autobahn|Testsuite: the native client, then the chat server's stack"
scripts/autobahn.sh client
scripts/autobahn.sh server

say "all tests passed"
