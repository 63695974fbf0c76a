#!/usr/bin/env bash
# The demo: builds the web pages' wasm package (pkg/) and the chat server, then runs the
# server on http://127.0.0.1:8080/ (set TWINSOCK_DEMO_LISTEN to change it). Open the printed
# URL in two browser tabs and run the printed terminal client: all three talk.
# Ctrl-C stops the server (it closes every client with 1001).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ensure_rust
build_www
say "building the chat server and the terminal client"
cargo build --quiet --release -p chat-server -p twinsock-chat --bin chat-server --bin chat
listen=${TWINSOCK_DEMO_LISTEN:-127.0.0.1:8080}
say "chat page:  http://$listen/   (hello demo: http://$listen/hello.html)"
say "terminal:   target/release/chat ws://$listen/ws"
exec target/release/chat-server --listen "$listen"
