#!/usr/bin/env bash
# Installs what the tests and the demo need, skipping what is already present:
# the wasm32 target, rustfmt and clippy, wasm-bindgen-cli at the exact version Cargo.lock
# holds, wasm-pack, the npm packages of package-lock.json, and Debian's packages for the tests
# and the demo (chromium and chromedriver; redis-server; tinyproxy and microsocks; Xvfb, Mesa,
# ImageMagick and xdotool for the desktop client). A failed install stops the script (in CI a
# missing tool is a failure).
# Sourced by the other scripts (`source scripts/setup.sh`), or run on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_rust() {
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
    rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
}

# The wasm-bindgen version Cargo.lock holds: the CLI must match it to the patch version.
locked_wasm_bindgen() {
    awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_bindgen() {
    local want have
    want=$(locked_wasm_bindgen)
    [ -n "$want" ] || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }
    have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
    if [ "$have" != "$want" ] || ! command -v wasm-bindgen-test-runner >/dev/null; then
        say "installing wasm-bindgen-cli $want (have: ${have:-none}; takes a few minutes)"
        # No --locked: its lock file pins a crate version this registry does not have.
        cargo install wasm-bindgen-cli --version "$want" --force
    fi
}

# Installs the Debian packages among "$@" that are not installed yet (apt), in one go.
apt_install_missing() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} (apt)"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_browser() {
    apt_install_missing chromium chromium-driver
}

# Debian's redis-server: the chat server's tests start one per test (--redis).
ensure_redis() {
    apt_install_missing redis-server
}

# The desktop client's end-to-end test: a virtual X display (Xvfb), OpenGL in software (Mesa's
# DRI drivers), ImageMagick for the screenshot, xdotool (and xwininfo) to type into the window.
ensure_desktop_tools() {
    apt_install_missing xvfb libgl1-mesa-dri imagemagick xdotool x11-utils
}

# Debian's tinyproxy (an HTTP CONNECT proxy) and microsocks (a SOCKS5 proxy): independent
# proxies that the native client must get through as it gets through the test server's own.
ensure_proxies() {
    apt_install_missing tinyproxy microsocks
}

ensure_wasm_pack() {
    if ! command -v wasm-pack >/dev/null; then
        say "installing wasm-pack (takes a few minutes)"
        cargo install wasm-pack --locked
    fi
}

# npm packages from package-lock.json: binaryen (a wasm-opt that works with current
# wasm-bindgen; Debian's does not), playwright-core and ws. Reinstalled when the lock changes.
ensure_npm() {
    if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.twinsock-lock; then
        say "installing npm packages"
        npm ci --no-audit --no-fund --loglevel=error
        cp package-lock.json node_modules/.twinsock-lock
    fi
    export PATH="$PWD/node_modules/.bin:$PATH"
}

# Builds the web pages' wasm package (the chat member, a cdylib) into pkg/ (wasm-pack, release,
# wasm-opt -Oz from chat/Cargo.toml's [package.metadata.wasm-pack]).
build_www() {
    ensure_wasm_pack
    ensure_wasm_bindgen
    ensure_npm
    say "building the wasm package (pkg/)"
    wasm-pack build chat --target web --release --no-typescript --no-pack --mode no-install --out-dir ../pkg
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    ensure_rust
    ensure_wasm_bindgen
    [ "${1:-}" = "--browser" ] && ensure_browser
    say "tools ready"
fi
