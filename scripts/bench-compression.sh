#!/usr/bin/env bash
# The compression benchmark (issue 10): permessage-deflate on and off, for a compressible JSON
# market-data feed and for random bytes of the same sizes, in both directions (the server's
# feed, which the client inflates; the client's upload, which it deflates): bytes on the wire,
# messages per second, CPU per message of the client and of the server.
#  1. natively (bench/native, `bench-native compression`): twinsock with deflate on and with
#     `permessage_deflate(false)`, next to yawc 0.3 with `with_balanced_compression()` and
#     without compression;
#  2. in headless Chromium (bench/web/page/compression.html, bench/web/run-compression.mjs):
#     twinsock's browser backend, yawc's wasm build and plain JS, all on Chromium's own deflate
#     (off: the server declines it).
# Both against bench/native's compression server (`bench-native --serve compression`), in a
# process of its own; the page is served by bench/web/server.mjs. Writes
# target/bench/compression.json and target/bench/web-compression.json, then updates the
# compression section of BENCHMARKS.md and bench/results/compression.json (the other sections
# are left as they are).
#
#   scripts/bench-compression.sh [--quick]     (--quick: 2 short rounds, a smoke test)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bench-common.sh
bench_options "$@"

started=$SECONDS
ensure_browser
ensure_wasm_bindgen

root=$PWD
build=$root/target/bench-web # cargo target dir of bench/web/
out=$root/target/bench
native=$root/target/bench-native-build/release/bench-native
mkdir -p "$out" "$build"

# The servers, stopped by PID on exit.
pids=()
cleanup() {
    local pid
    for pid in ${pids[@]+"${pids[@]}"}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

say "building bench/native"
cargo build --release --manifest-path bench/native/Cargo.toml --target-dir target/bench-native-build

status=0
say "native: twinsock and yawc, permessage-deflate on and off${args[*]:+ (quick)}"
"$native" compression ${args[@]+"${args[@]}"} --json "$out/compression.json" || status=$?

say "building the page (bench/web/page/compression-bench; the main crate's release settings)"
CARGO_TARGET_DIR=$build cargo build --quiet --manifest-path bench/web/Cargo.toml --target wasm32-unknown-unknown \
    --profile speed -p compression-bench
bindgen_opt "$build/wasm32-unknown-unknown/speed/compression_bench.wasm" "$build/compression-pkg/compression"

say "starting the compression server and the page's server"
# The compression server runs until its standard input closes: a FIFO this shell holds open.
fifo=$build/compression-server.stdin
rm -f "$fifo"
mkfifo "$fifo"
exec 3<>"$fifo"
"$native" --serve compression <&3 >"$build/compression-server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
addr=$(wait_for_line "$build/compression-server.log" 's/^LISTENING \(.*\)$/\1/p' "$server_pid")
mkdir -p "$build/compression-no-size"
node bench/web/server.mjs --page bench/web/page --pkg "$build/compression-pkg" --size "$build/compression-no-size" \
    >"$build/compression-page.log" 2>&1 &
pids+=("$!")
url=$(wait_for_line "$build/compression-page.log" 's/^bench-server listening on \(http:[^ ]*\)$/\1/p' "$!")

say "page: twinsock, yawc and plain JS in Chromium, against ws://$addr/${args[*]:+ (quick)}"
node bench/web/run-compression.mjs --url "$url" --server "ws://$addr/" --out "$out/web-compression.json" \
    --facts "$(web_facts)" ${args[@]+"${args[@]}"} || status=$?

python3 scripts/bench_report.py --section compression "scripts/bench-compression.sh${args[*]:+ ${args[*]}}" || status=$?
say "done in $((SECONDS - started)) s: $out/compression.json, $out/web-compression.json"
exit "$status"
