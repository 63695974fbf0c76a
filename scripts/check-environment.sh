#!/usr/bin/env bash
# Checks that the native programs read the environment as a browser reads the system's
# settings, running them as a person would: the hello example (chat/examples/hello.rs) and the
# `chat` terminal client, against the test-server binary, with the proxy variables
# (HTTPS_PROXY, ALL_PROXY with socks5:// and socks5h://, NO_PROXY, credentials in the URL) and
# SSL_CERT_FILE. The test server's own proxies log each tunnel they open to its stderr: a
# proxied run must add its CONNECT line there, a bypassed one must not. Also the failures a
# person sees: a proxy that wants credentials (407), a dead proxy, an untrusted certificate.
# Then the same through independent proxies: Debian's tinyproxy (HTTP CONNECT, Basic
# credentials) and microsocks (SOCKS5, user name and password). Every variable the checks
# set is removed from the programs' environment first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ensure_proxies
cargo build --quiet -p twinsock-test-server --bin test-server
cargo build --quiet -p twinsock-chat --example hello --bin chat
out=target/test-logs/environment
mkdir -p "$out"
rm -f "$out"/*
server_pid=""
chat_pid=""
peer_pids=()
cleanup() {
    [ -n "$chat_pid" ] && kill "$chat_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    for pid in "${peer_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

coproc SERVER { exec target/debug/test-server 2>"$out/test-server.log"; }
server_pid=$SERVER_PID
read -r -t 30 line <&"${SERVER[0]}" || { echo "the test server did not start" >&2; cat "$out/test-server.log" >&2; exit 1; }
field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
ws=$(field ws)
ws_port=${ws##*:}
cawss_port=$(field cawss)
cawss_port=${cawss_port##*:}
ca=$(field ca)
closed=$(field closed)
http_proxy_at=$(field httpproxy)
auth_proxy_at=$(field authproxy)
socks_at=$(field socks)
userinfo=$(field proxyuserinfo)

clean=(env -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY -u all_proxy -u ALL_PROXY
       -u no_proxy -u NO_PROXY -u SSL_CERT_FILE -u SSL_CERT_DIR)
passed=0

fail() { echo "environment: $*" >&2; exit 1; }

# The number of tunnel lines the test server has logged that contain `text`.
tunnels() { grep -cF -- "$1" "$out/test-server.log" || true; }

expect_lines() { # file, lines...
    local file=$1; shift
    for want in "$@"; do
        grep -qxF -- "$want" "$file" || { echo "missing line '$want' in $file:" >&2; cat "$file" >&2; exit 1; }
    done
}

# Waits (at most 10 s) until `file` holds `text`.
wait_for() {
    for _ in $(seq 200); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "'$2' never appeared in $1: $(cat "$1")"
}

# hello NAME URL STATUS [VAR=VALUE...]: runs the hello example with exactly those variables and
# expects its exit status.
hello() {
    local name=$1 url=$2 want=$3 status=0
    shift 3
    "${clean[@]}" "$@" target/debug/examples/hello "$url" >"$out/hello-$name.txt" 2>&1 || status=$?
    [ "$status" -eq "$want" ] || fail "hello $name: exit status $status, expected $want: $(cat "$out/hello-$name.txt")"
}

clean_close=("[open] Connection established" "Sending to server"
             "[message] Data received from server: Hello from server, John!"
             "[close] Connection closed cleanly, code=1000 reason=")

# A proxied run adds exactly one tunnel line with `connect` to the log.
proxied() { # name, log text, then hello's arguments
    local name=$1 connect=$2 before
    shift 2
    before=$(tunnels "$connect")
    hello "$name" "$@"
    [ "$(tunnels "$connect")" -eq $((before + 1)) ] || fail "$name: the proxy's log has no new '$connect'"
}

# HTTPS_PROXY takes ws:// through the HTTP proxy: its log shows the CONNECT.
proxied https-proxy "http-proxy" ws://127.0.0.1:$ws_port/hello 0 HTTPS_PROXY="http://$http_proxy_at"
expect_lines "$out/hello-https-proxy.txt" "${clean_close[@]}"
grep -qF -- "CONNECT 127.0.0.1:$ws_port -> 200" "$out/test-server.log" || fail "no CONNECT 127.0.0.1:$ws_port"
passed=$((passed + 1))

# NO_PROXY bypasses it: no new tunnel.
before=$(tunnels "CONNECT 127.0.0.1:$ws_port")
hello no-proxy ws://127.0.0.1:$ws_port/hello 0 HTTPS_PROXY="http://$http_proxy_at" NO_PROXY=127.0.0.1,localhost
expect_lines "$out/hello-no-proxy.txt" "${clean_close[@]}"
[ "$(tunnels "CONNECT 127.0.0.1:$ws_port")" -eq "$before" ] || fail "NO_PROXY did not bypass the proxy"
passed=$((passed + 1))

# SOCKS5 the same way, with the address (socks5://) or the name (socks5h://).
proxied socks5 "socks5-proxy" ws://127.0.0.1:$ws_port/hello 0 ALL_PROXY="socks5://$socks_at"
expect_lines "$out/hello-socks5.txt" "${clean_close[@]}"
proxied socks5h "CONNECT localhost:$ws_port -> reply 0" ws://localhost:$ws_port/hello 0 all_proxy="socks5h://$socks_at"
expect_lines "$out/hello-socks5h.txt" "${clean_close[@]}"
passed=$((passed + 2))

# Credentials in the proxy URL; without them the proxy answers 407 and the example says so.
proxied credentials "(user twinsock) -> 200" ws://127.0.0.1:$ws_port/hello 0 HTTPS_PROXY="http://$userinfo@$auth_proxy_at"
expect_lines "$out/hello-credentials.txt" "${clean_close[@]}"
hello no-credentials ws://127.0.0.1:$ws_port/hello 1 HTTPS_PROXY="http://$auth_proxy_at"
expect_lines "$out/hello-no-credentials.txt" \
    "[error] the proxy http://$auth_proxy_at refused the tunnel: HTTP 407 Proxy Authentication Required" \
    "[close] Connection died, code=1006"
passed=$((passed + 2))

# A dead proxy.
hello dead-proxy ws://127.0.0.1:$ws_port/hello 1 HTTPS_PROXY="http://$closed"
grep -qF -- "[error] could not reach the proxy http://$closed: " "$out/hello-dead-proxy.txt" ||
    fail "dead proxy: $(cat "$out/hello-dead-proxy.txt")"
expect_lines "$out/hello-dead-proxy.txt" "[close] Connection died, code=1006"
passed=$((passed + 1))

# SSL_CERT_FILE alone makes the test CA trusted (no option in the program); without it the
# certificate is not trusted. Through the proxy too.
hello ssl-cert-file wss://localhost:$cawss_port/hello 0 SSL_CERT_FILE="$ca"
expect_lines "$out/hello-ssl-cert-file.txt" "${clean_close[@]}"
hello untrusted wss://localhost:$cawss_port/hello 1
expect_lines "$out/hello-untrusted.txt" "[error] TLS failed: invalid peer certificate: UnknownIssuer" \
    "[close] Connection died, code=1006"
proxied wss-proxy "CONNECT localhost:$cawss_port -> 200" wss://localhost:$cawss_port/hello 0 \
    SSL_CERT_FILE="$ca" HTTPS_PROXY="http://$http_proxy_at"
expect_lines "$out/hello-wss-proxy.txt" "${clean_close[@]}"
passed=$((passed + 3))

# chat NAME LOG-TEXT-OR-"" [VAR=VALUE...]: the chat client against /echo: once connected, one
# line goes out and must come back, then the end of input leaves the chat (exit 0). With a log
# text, the run must add one tunnel line holding it; with "", none to the HTTP proxy.
chat() {
    local name=$1 connect=$2 before status=0 input
    shift 2
    before=$(tunnels "${connect:-http-proxy}")
    input="$out/chat-$name.in"
    mkfifo "$input"
    "${clean[@]}" "$@" target/debug/chat "ws://127.0.0.1:$ws_port/echo" <"$input" \
        >"$out/chat-$name.out" 2>"$out/chat-$name.err" &
    chat_pid=$!
    exec {to_chat}>"$input"
    wait_for "$out/chat-$name.err" "chat: connected"
    echo "$name line" >&"$to_chat"
    wait_for "$out/chat-$name.out" "$name line"
    exec {to_chat}>&-
    wait "$chat_pid" || status=$?
    chat_pid=""
    [ "$status" -eq 0 ] || fail "chat $name: exit status $status: $(cat "$out/chat-$name.err")"
    if [ -n "$connect" ]; then
        [ "$(tunnels "$connect")" -eq $((before + 1)) ] || fail "chat $name: no new '$connect' in the proxy's log"
    else
        [ "$(tunnels http-proxy)" -eq "$before" ] || fail "chat $name: NO_PROXY did not bypass the proxy"
    fi
}
chat https-proxy "http-proxy" HTTPS_PROXY="http://$http_proxy_at"
chat socks5h "socks5-proxy" ALL_PROXY="socks5h://$socks_at"
chat no-proxy "" HTTPS_PROXY="http://$http_proxy_at" no_proxy=127.0.0.0/8
passed=$((passed + 3))

# Independent proxies. A free loopback port for each (tinyproxy's configuration needs a number).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits (at most 10 s) until something listens on 127.0.0.1:$1.
wait_listening() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    fail "nothing listens on port $1"
}
tinyproxy_port=$(free_port)
printf '%s\n' "Port $tinyproxy_port" "Listen 127.0.0.1" "Allow 127.0.0.1" "Timeout 60" "MaxClients 20" \
    "LogLevel Connect" "BasicAuth twinsock s3cret" >"$out/tinyproxy.conf"
tinyproxy -d -c "$out/tinyproxy.conf" >"$out/tinyproxy.log" 2>&1 &
peer_pids+=($!)
microsocks_port=$(free_port)
microsocks -i 127.0.0.1 -p "$microsocks_port" -u twinsock -P s3cret >"$out/microsocks.log" 2>&1 &
peer_pids+=($!)
wait_listening "$tinyproxy_port"
wait_listening "$microsocks_port"
hello tinyproxy ws://127.0.0.1:$ws_port/hello 0 HTTPS_PROXY="http://twinsock:s3cret@127.0.0.1:$tinyproxy_port"
expect_lines "$out/hello-tinyproxy.txt" "${clean_close[@]}"
grep -qF -- "CONNECT 127.0.0.1:$ws_port HTTP/1.1" "$out/tinyproxy.log" ||
    fail "tinyproxy logged no CONNECT: $(cat "$out/tinyproxy.log")"
hello tinyproxy-wss wss://localhost:$cawss_port/hello 0 SSL_CERT_FILE="$ca" \
    HTTPS_PROXY="http://twinsock:s3cret@127.0.0.1:$tinyproxy_port"
expect_lines "$out/hello-tinyproxy-wss.txt" "${clean_close[@]}"
hello tinyproxy-407 ws://127.0.0.1:$ws_port/hello 1 HTTPS_PROXY="http://127.0.0.1:$tinyproxy_port"
expect_lines "$out/hello-tinyproxy-407.txt" \
    "[error] the proxy http://127.0.0.1:$tinyproxy_port refused the tunnel: HTTP 407 Proxy Authentication Required"
hello microsocks ws://localhost:$ws_port/hello 0 ALL_PROXY="socks5h://twinsock:s3cret@127.0.0.1:$microsocks_port"
expect_lines "$out/hello-microsocks.txt" "${clean_close[@]}"
hello microsocks-rejected ws://127.0.0.1:$ws_port/hello 1 ALL_PROXY="socks5://twinsock:wrong@127.0.0.1:$microsocks_port"
expect_lines "$out/hello-microsocks-rejected.txt" \
    "[error] the proxy socks5://127.0.0.1:$microsocks_port rejected the user name and password"
chat microsocks "" ALL_PROXY="socks5://twinsock:s3cret@127.0.0.1:$microsocks_port"
passed=$((passed + 6))

echo "environment checks: $passed passed, 0 failed"
