# Shared by the scripts/bench-*.sh scripts (sourced, from the repository root): their options,
# the tools they need, and the open-files limit.
source scripts/setup.sh

# Reads the script's options into the array `args`: `--quick` is kept (a smoke test), `--help`
# prints the script's header comment, anything else is an error. Then makes sure Rust and the
# npm packages are there.
bench_options() {
    args=()
    local arg
    for arg in "$@"; do
        case "$arg" in
            --quick) args+=(--quick) ;;
            -h | --help)
                awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
                exit 0
                ;;
            *)
                echo "$(basename "$0"): unknown argument $arg (try --help)" >&2
                exit 2
                ;;
        esac
    done
    ensure_rust
    ensure_npm
}

# Raises the open-files limit to the hard limit; warns when it stays under $1 (what the
# measurement $2 needs).
raise_open_files() {
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ]; then hard=1048576; fi
    ulimit -n "$hard" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$1" ]; then
        echo "$(basename "$0"): open-files limit is $(ulimit -n) (hard $hard); $2 may fail" >&2
    fi
}

# wasm-bindgen --target web of $1 into directory $2, then wasm-opt -Oz (binaryen from npm) in
# place; the module before wasm-opt is kept as NAME_bg.pre-opt.wasm.
bindgen_opt() {
    local wasm=$1 dir=$2 name
    name=$(basename "$wasm" .wasm)
    rm -rf "$dir"
    wasm-bindgen --target web --no-typescript --out-dir "$dir" "$wasm"
    cp "$dir/${name}_bg.wasm" "$dir/${name}_bg.pre-opt.wasm"
    node_modules/.bin/wasm-opt -Oz "$dir/${name}_bg.pre-opt.wasm" -o "$dir/${name}_bg.wasm"
}

# Waits (at most 10 s) until the log file $1 of the server process $3 has a line that the sed
# expression $2 (with `p`) prints, and prints that; fails with the log when the server exits or
# the time is up.
wait_for_line() {
    local log=$1 expr=$2 pid=$3 found="" _
    for _ in $(seq 100); do
        found=$(sed -n "$expr" "$log" | head -1)
        [ -n "$found" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$found" ]; then
        echo "$(basename "$0"): the server (PID $pid) did not start:" >&2
        cat "$log" >&2
        return 1
    fi
    echo "$found"
}

# The browser benchmarks' machine facts as JSON: nproc, CPU, Chromium, rustc, node,
# wasm-bindgen, wasm-opt.
web_facts() {
    node -e '
const [nproc, cpu, chromium, rustc, node, wb, wo] = process.argv.slice(1);
console.log(JSON.stringify({ nproc: Number(nproc), cpu, chromium, rustc, node, wasm_bindgen: wb, wasm_opt: wo }));
' "$(nproc)" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
        "$(chromium --version 2>/dev/null | head -1)" "$(rustc --version)" "$(node --version)" \
        "$(wasm-bindgen --version)" "$(node_modules/.bin/wasm-opt --version)"
}
