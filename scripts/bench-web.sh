#!/usr/bin/env bash
# The browser benchmarks, both parts of the issue:
#  1. bundle size: the tutorial's first demo (hello) built on twinsock, on gloo-net and on
#     ws_stream_wasm (bench/web/size/, one size profile for all three: opt-level "z", fat LTO,
#     codegen-units 1, panic abort; wasm-bindgen --target web; wasm-opt -Oz), and the chat
#     demo's pkg/twinsock_chat_bg.wasm as build_www makes it plus the same build with the size
#     profile; raw and gzip -9 bytes, JS glue apart. Each hello build is run in Chromium first.
#  2. throughput and latency in headless Chromium: twinsock's wasm build (bench/web/page/
#     twinsock-bench, on the Socket trait) next to the browser's WebSocket from plain JS in the
#     same page against the same local echo server (bench/web/server.mjs, Node ws), alternated
#     in each round: echo round trips, pipelined throughput, and the per-message cost of the
#     send and the receive paths alone.
# Prints both tables and writes target/bench/web-size.json and target/bench/web.json.
#
#   scripts/bench-web.sh [--quick]     (--quick: fewer and shorter rounds, a smoke test)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bench-common.sh
bench_options "$@"

started=$SECONDS
ensure_browser
ensure_wasm_bindgen

root=$PWD
build=$root/target/bench-web # cargo target dir of bench/web/ and of the size-profile chat build
out=$root/target/bench
mkdir -p "$out" "$build"
wasm_opt=$root/node_modules/.bin/wasm-opt
wasm_target=wasm32-unknown-unknown

# The server, stopped by PID on exit.
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

facts=$(web_facts)

# ---- 1. bundle size ----------------------------------------------------------------------------

build_www # pkg/twinsock_chat_bg.wasm: wasm-pack, the workspace's release profile, wasm-opt -Oz
# The same steps by hand from wasm-pack's cargo output, for its size before wasm-opt.
bindgen_opt "target/$wasm_target/release/twinsock_chat.wasm" "$build/size/twinsock_chat_pkg"

say "building the three hello crates (bench/web/size/, size profile)"
CARGO_TARGET_DIR=$build cargo build --quiet --manifest-path bench/web/Cargo.toml --target $wasm_target \
    --release -p twinsock-hello -p gloo-hello -p ws-stream-wasm-hello
for crate in twinsock_hello gloo_hello ws_stream_wasm_hello; do
    bindgen_opt "$build/$wasm_target/release/$crate.wasm" "$build/size/$crate"
done

say "building the chat demo with the size profile"
CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    CARGO_PROFILE_RELEASE_PANIC=abort CARGO_TARGET_DIR=$build/chat-size \
    cargo build --quiet -p twinsock-chat --lib --target $wasm_target --release
bindgen_opt "$build/chat-size/$wasm_target/release/twinsock_chat.wasm" "$build/size/twinsock_chat_size"

say "building the benchmark page (bench/web/page/twinsock-bench; the main crate's release settings)"
CARGO_TARGET_DIR=$build cargo build --quiet --manifest-path bench/web/Cargo.toml --target $wasm_target \
    --profile speed -p twinsock-bench
bindgen_opt "$build/$wasm_target/speed/twinsock_bench.wasm" "$build/page-pkg"

say "starting the benchmark server"
log=$build/server.log
node bench/web/server.mjs --page bench/web/page --pkg "$build/page-pkg" --size "$build/size" >"$log" 2>&1 &
server_pid=$!
url=$(wait_for_line "$log" 's/^bench-server listening on \(http:[^ ]*\)$/\1/p' "$server_pid")

say "checking that each hello build runs the demo (Chromium, ${url}hello)"
node bench/web/run.mjs hello --url "$url" --libs twinsock_hello,gloo_hello,ws_stream_wasm_hello

say "bundle size"
node bench/web/size.mjs --out "$out/web-size.json" --facts "$facts" \
    --notes '{"hello_profile":"opt-level=z, lto=true, codegen-units=1, panic=abort (bench/web/Cargo.toml)","chat_pkg_profile":"the main crate release profile: opt-level=3, lto=thin (wasm-pack; its before-wasm-opt column is wasm-bindgen run by hand on the cargo output of wasm-pack)","chat_size_profile":"the hello profile through CARGO_PROFILE_RELEASE_* overrides","wasm_opt":"-Oz"}' \
    --entry "twinsock-hello|hello, twinsock|$build/size/twinsock_hello/twinsock_hello_bg.wasm|$build/size/twinsock_hello/twinsock_hello_bg.pre-opt.wasm|$build/size/twinsock_hello/twinsock_hello.js" \
    --entry "gloo-hello|hello, gloo-net 0.6|$build/size/gloo_hello/gloo_hello_bg.wasm|$build/size/gloo_hello/gloo_hello_bg.pre-opt.wasm|$build/size/gloo_hello/gloo_hello.js" \
    --entry "ws-stream-wasm-hello|hello, ws_stream_wasm 0.7|$build/size/ws_stream_wasm_hello/ws_stream_wasm_hello_bg.wasm|$build/size/ws_stream_wasm_hello/ws_stream_wasm_hello_bg.pre-opt.wasm|$build/size/ws_stream_wasm_hello/ws_stream_wasm_hello.js" \
    --entry "chat-pkg|chat demo, pkg/ (build_www)|pkg/twinsock_chat_bg.wasm|$build/size/twinsock_chat_pkg/twinsock_chat_bg.pre-opt.wasm|pkg/twinsock_chat.js" \
    --entry "chat-size-profile|chat demo, size profile|$build/size/twinsock_chat_size/twinsock_chat_bg.wasm|$build/size/twinsock_chat_size/twinsock_chat_bg.pre-opt.wasm|$build/size/twinsock_chat_size/twinsock_chat.js" \
    | tee "$build/size-table.txt"

if command -v twiggy >/dev/null; then
    say "largest items of the twinsock hello (twiggy top; names kept with wasm-opt -Oz -g)"
    named=$build/size/twinsock_hello/twinsock_hello_bg.named.wasm
    "$wasm_opt" -Oz -g "$build/size/twinsock_hello/twinsock_hello_bg.pre-opt.wasm" -o "$named"
    twiggy top -n 15 "$named" | cut -c1-150
else
    echo "(twiggy is not installed: 'cargo install twiggy' for the list of the largest functions)"
fi

# ---- 2. throughput and latency ---------------------------------------------------------------

say "browser throughput and latency (twinsock vs plain JS, same page, same server)${args[*]:+ (quick)}"
node bench/web/run.mjs bench --url "$url" --out "$out/web.json" --facts "$facts" ${args[@]+"${args[@]}"} | tee "$build/web-table.txt"

say "bundle size (bytes)"
cat "$build/size-table.txt"
say "browser throughput and latency"
cat "$build/web-table.txt"

say "done in $((SECONDS - started)) s: $out/web-size.json, $out/web.json"
