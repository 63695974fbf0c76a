#!/usr/bin/env bash
# The demo: builds the web pages' wasm package (pkg/), the chat server and the two native
# clients (terminal and desktop window), starts what the chat needs, and prints how to open
# each client. Ctrl-C stops everything it started (the servers close every client with 1001).
#
#   scripts/demo.sh            one chat-server on http://127.0.0.1:8080/
#   scripts/demo.sh --redis    two chat-servers (8080 and 8081) sharing one chat through a
#                              redis-server started on 127.0.0.1:6379 (TWINSOCK_DEMO_SERVERS=2
#                              does the same)
#
# TWINSOCK_DEMO_HOST (default 127.0.0.1), TWINSOCK_DEMO_PORT (8080; the second server takes the
# next port) and TWINSOCK_DEMO_REDIS_PORT (6379) change the addresses.
#
# Every client reconnects by itself: stop the demo and start it again (or kill one server)
# and the pages, terminals and windows say "reconnecting in N s (attempt K)" and carry on.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

servers=${TWINSOCK_DEMO_SERVERS:-1}
for arg in "$@"; do
    case "$arg" in
        --redis) servers=2 ;;
        -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "demo: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done
case "$servers" in
    1 | 2) ;;
    *) echo "demo: TWINSOCK_DEMO_SERVERS must be 1 or 2, not $servers" >&2; exit 2 ;;
esac
host=${TWINSOCK_DEMO_HOST:-127.0.0.1}
port=${TWINSOCK_DEMO_PORT:-8080}
redis_port=${TWINSOCK_DEMO_REDIS_PORT:-6379}

ensure_rust
build_www
say "building the chat server and the clients (release)"
cargo build --quiet --release -p chat-server -p twinsock-chat -p chat-desktop \
    --bin chat-server --bin chat --bin chat-desktop

pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

logs=target/demo
mkdir -p "$logs"
redis_args=()
if [ "$servers" -eq 2 ]; then
    if ! command -v redis-server >/dev/null; then
        say "installing redis-server (apt)"
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
    fi
    say "starting redis-server on $host:$redis_port (log: $logs/redis.log)"
    redis-server --port "$redis_port" --bind "$host" --save '' --appendonly no >"$logs/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do # until it answers, at most 10 s
        if redis-cli -h "$host" -p "$redis_port" ping 2>/dev/null | grep -q PONG; then break; fi
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$logs/redis.log" >&2; exit 1; }
        sleep 0.1
    done
    redis_args=(--redis "redis://$host:$redis_port/")
fi

# Starts chat-server number $1 on $2 and waits for its "listening" line.
start_server() {
    local n=$1 listen=$2 out="$logs/chat-server-$1.out"
    target/release/chat-server --listen "$listen" ${redis_args[@]+"${redis_args[@]}"} >"$out" 2>"$logs/chat-server-$n.log" &
    pids+=($!)
    for _ in $(seq 100); do # at most 10 s
        grep -q "listening on" "$out" 2>/dev/null && return 0
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then
            echo "demo: chat-server $n did not start:" >&2
            cat "$logs/chat-server-$n.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "demo: chat-server $n did not say it was listening; its log: $logs/chat-server-$n.log" >&2
    exit 1
}

urls=()
for n in $(seq "$servers"); do
    listen="$host:$((port + n - 1))"
    start_server "$n" "$listen"
    urls+=("$listen")
done

say "the chat is up ($servers server$([ "$servers" -eq 2 ] && echo "s sharing one chat through Redis" || true))"
for listen in "${urls[@]}"; do
    echo "  page:      http://$listen/            (hello demo: http://$listen/hello.html)"
    echo "  terminal:  target/release/chat ws://$listen/ws"
    echo "  desktop:   target/release/chat-desktop ws://$listen/ws"
done
echo "  logs:      $logs/"
echo "Every client reconnects by itself when its server goes away and comes back. Ctrl-C stops the demo."
wait "${pids[@]}"
