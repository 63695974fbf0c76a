#!/usr/bin/env bash
# The end-to-end tests: real headless Chromium (Debian's, driven by playwright-core) on the
# www/ pages, the native `chat` client, chat-server and the tutorial's Node server
# (e2e/tutorial-server.mjs), all on 127.0.0.1. Builds what they need first (pkg/ with
# wasm-pack, the chat-server and chat binaries), then runs `node --test` on e2e/*.test.mjs,
# one file at a time. Exits with the tests' status. A screenshot of the chat is left in
# target/e2e/chat.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

ensure_browser
ensure_npm
build_www
say "building chat-server and chat"
cargo build --quiet -p chat-server -p twinsock-chat --bin chat-server --bin chat

say "end-to-end tests (e2e/*.test.mjs)"
mkdir -p target/e2e
status=0
TWINSOCK_E2E_PROFILE=debug node --test --test-concurrency=1 e2e/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
    echo "end-to-end tests failed (status $status)" >&2
fi
exit "$status"
