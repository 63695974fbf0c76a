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
