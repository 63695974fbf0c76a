#!/usr/bin/env bash
# The whole test suite: installs what it needs, then formatting, clippy (native and wasm32),
# docs, every package's native tests (the library's against an in-process test server), the
# library's and the chat's suites in headless Chromium against the test-server binary (the
# parity suite must pass the same tests on both targets, in a page and in a worker; a page
# exchanges compressed messages with a native client, examples/relay_peer.rs), the hello
# example, the native programs behind proxies and with SSL_CERT_FILE, the end-to-end
# chat tests (real browsers and processes), and the Autobahn|Testsuite runs against the native
# client and the chat server. Prints each suite's counts at the end; exits non-zero on any
# failure. With CI=true (as CI runs it) a missing tool or data file is a failure, never a skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
started=$SECONDS

ensure_rust
ensure_wasm_bindgen
ensure_browser
ensure_npm
ensure_redis

logs=target/test-logs
mkdir -p "$logs"
summary=()
# Records a suite's counts for the summary: "name: counts".
count() { summary+=("$1: $2"); }
# The passed and failed totals of the `test result:` lines in a cargo test log.
cargo_counts() {
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i } }
         END { printf "%d passed, %d failed", p, f }' "$1"
}

say "cargo fmt --check"
cargo fmt --all -- --check

say "clippy (native: every package)"
cargo clippy --workspace --all-targets -- -D warnings
say "clippy (wasm32: the library and the chat)"
cargo clippy -p twinsock -p twinsock-chat --all-targets --target wasm32-unknown-unknown -- -D warnings

say "docs (native and wasm32)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p twinsock -p twinsock-chat
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p twinsock -p twinsock-chat --target wasm32-unknown-unknown

say "native tests (every package)"
cargo test --workspace 2>&1 | tee "$logs/native.txt"
count "native tests" "$(cargo_counts "$logs/native.txt")"

say "the URL conformance cases for the browser run"
mkdir -p target/url-conformance
node scripts/url-cases.mjs >target/url-conformance/cases.json

say "starting the test server"
cargo build --quiet -p twinsock-test-server --bin test-server
server_pid=""
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; server_pid=""; }
trap stop_server EXIT
coproc SERVER { exec target/debug/test-server --file url-cases=target/url-conformance/cases.json 2>"$logs/test-server.log"; }
server_pid=$SERVER_PID
if ! read -r -t 30 line <&"${SERVER[0]}"; then
    echo "the test server did not start; its log:" >&2
    cat "$logs/test-server.log" >&2
    exit 1
fi
export TWINSOCK_TEST_SERVER="$line"
say "test server (pid $server_pid): $line"

say "browser tests (headless Chromium): the library and the chat"
browser_tests() {
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    CHROMEDRIVER=$(command -v chromedriver) \
    WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120} \
        cargo test -p twinsock -p twinsock-chat --target wasm32-unknown-unknown "$@"
}
# The native client the page of tests/page_and_native.rs talks to through the relay: started
# once the browser tests are built, so that it waits for the page only while they run.
browser_tests --no-run
cargo build --quiet -p twinsock --example relay_peer
target/debug/examples/relay_peer "$line" >"$logs/relay-peer.txt" 2>&1 &
relay_peer_pid=$!
trap 'kill "$relay_peer_pid" 2>/dev/null || true; stop_server' EXIT
browser_tests 2>&1 | tee "$logs/browser.txt"
count "browser tests" "$(cargo_counts "$logs/browser.txt")"
# The page's test ends the peer's conversation: it exits at once after it, or is still
# waiting if the page never came.
for _ in $(seq 50); do kill -0 "$relay_peer_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$relay_peer_pid" 2>/dev/null || ! wait "$relay_peer_pid"; then
    echo "the native relay peer did not finish its conversation with the page:" >&2
    cat "$logs/relay-peer.txt" >&2
    exit 1
fi
count "page and native client" "$(sed -n 's/^relay peer: //p' "$logs/relay-peer.txt")"

# The parity suite is one file run on both targets: list the tests each run passed (from its
# "Running tests/parity.rs" line to its result line) and require the same list on both.
parity_passed() {
    awk '/Running tests\/parity.rs/{on=1;next} on && /^test result:/{exit} on && /^test .* \.\.\. ok$/{print $2}' "$1" | sort
}
# The same file in a dedicated worker (tests/parity_worker.rs, where it is the module `parity`).
parity_worker_passed() {
    awk '/Running tests\/parity_worker.rs/{on=1;next} on && /^test result:/{exit}
         on && /^test parity::.* \.\.\. ok$/{sub(/^parity::/, "", $2); print $2}' "$1" | sort
}
parity_passed "$logs/native.txt" >"$logs/parity-native.txt"
parity_passed "$logs/browser.txt" >"$logs/parity-browser.txt"
parity_worker_passed "$logs/browser.txt" >"$logs/parity-worker.txt"
native_parity=$(wc -l <"$logs/parity-native.txt")
browser_parity=$(wc -l <"$logs/parity-browser.txt")
worker_parity=$(wc -l <"$logs/parity-worker.txt")
if ! diff "$logs/parity-native.txt" "$logs/parity-browser.txt" ||
    ! diff "$logs/parity-native.txt" "$logs/parity-worker.txt" || [ "$native_parity" -lt 30 ]; then
    echo "the parity suite must pass the same tests (at least 30) natively, in a page and in a worker" >&2
    exit 1
fi
count "parity suite" "$native_parity passed natively, $browser_parity in a Chromium page, $worker_parity in a dedicated worker, the same list"

stop_server
say "the hello example"
scripts/check-hello.sh | tee "$logs/hello.txt"
count "hello example" "$(sed -n 's/^hello example: //p' "$logs/hello.txt")"
say "the hello example and the chat client behind proxies and with SSL_CERT_FILE"
scripts/check-environment.sh | tee "$logs/environment.txt"
count "environment" "$(sed -n 's/^environment checks: //p' "$logs/environment.txt")"

say "end-to-end: the chat in real browsers and processes"
scripts/e2e.sh 2>&1 | tee "$logs/e2e.txt"
count "end-to-end" "$(awk '/^# pass /{p+=$3} /^# fail /{f+=$3} END {printf "%d passed, %d failed", p, f}' "$logs/e2e.txt")"

say "Autobahn|Testsuite: the native client, then the chat server's stack"
scripts/autobahn.sh client | tee "$logs/autobahn-client.txt"
count "Autobahn client" "$(sed -n 's/^autobahn client: \([0-9]* cases, \)/\1/p' "$logs/autobahn-client.txt")"
scripts/autobahn.sh server | tee "$logs/autobahn-server.txt"
count "Autobahn server" "$(sed -n 's/^autobahn server: \([0-9]* cases, \)/\1/p' "$logs/autobahn-server.txt")"

say "all tests passed in $((SECONDS - started)) s"
printf '  %s\n' "${summary[@]}"
