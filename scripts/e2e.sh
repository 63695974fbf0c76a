#!/usr/bin/env bash
# The end-to-end tests: real headless Chromium (Debian's, driven by playwright-core) on the
# www/ pages, the native `chat` client, the `chat-desktop` window (under Xvfb), chat-server
# and the tutorial's Node server (e2e/tutorial-server.mjs), all on 127.0.0.1. Builds what they
# need first (pkg/ with wasm-pack, the chat-server, chat and chat-desktop binaries), then runs
# `node --test` on e2e/*.test.mjs, one file at a time. Exits with the tests' status.
# Screenshots are left in target/e2e/ (chat.png, desktop.png, chat-reconnected.png).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

ensure_browser
ensure_desktop_tools
ensure_npm
build_www
say "building chat-server, chat and chat-desktop"
cargo build --quiet -p chat-server -p twinsock-chat -p chat-desktop --bin chat-server --bin chat --bin chat-desktop

say "end-to-end tests (e2e/*.test.mjs)"
mkdir -p target/e2e
status=0
TWINSOCK_E2E_PROFILE=debug node --test --test-concurrency=1 e2e/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
    echo "end-to-end tests failed (status $status)" >&2
fi
exit "$status"
