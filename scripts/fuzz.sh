#!/usr/bin/env bash
# Fuzzes twinsock with cargo-fuzz (libFuzzer): every target in fuzz/fuzz_targets for SECONDS
# seconds each (default 60).
#
#   scripts/fuzz.sh [SECONDS]          FUZZ_TARGETS="url close" scripts/fuzz.sh 30
#
# Each target starts from its committed seeds (fuzz/corpus/TARGET), copied to
# target/fuzz-corpus/TARGET, where the grown corpus stays between runs (the committed corpus
# is never written to). Full logs: target/fuzz-logs/TARGET.log. Crash inputs: fuzz/artifacts/.
# Prints a line per target and a table at the end; exits non-zero if any target crashed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]  (SECONDS: a positive whole number, default 60)" >&2
  exit 2
fi

# The tools: cargo-fuzz and a nightly toolchain (libFuzzer's instrumentation needs -Z flags).
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "== installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi

targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
logs=$root/target/fuzz-logs
mkdir -p "$logs"

echo "== building the fuzz targets"
build_started=$SECONDS
cargo +nightly fuzz build >"$logs/build.log" 2>&1 || {
  tail -n 40 "$logs/build.log" >&2
  echo "the fuzz targets do not build (full log: $logs/build.log)" >&2
  exit 1
}
echo "   built in $((SECONDS - build_started)) s"

declare -a rows=()
failed=0
for target in $targets; do
  corpus=$root/target/fuzz-corpus/$target
  artifacts=$root/fuzz/artifacts/$target
  log=$logs/$target.log
  mkdir -p "$corpus" "$artifacts"
  if [[ -d fuzz/corpus/$target ]]; then
    cp -n fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  fi
  before=$(find "$artifacts" -type f | wc -l)

  echo "== fuzzing $target for $seconds s"
  started=$SECONDS
  status=0
  # Bounded twice: libFuzzer's own total time, and a hard stop well past it. An input that
  # takes over 10 s counts as a crash (a hang), as does one needing over 2 GB.
  timeout --kill-after=30 $((seconds + 120)) \
    cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  elapsed=$((SECONDS - started))

  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  took=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -n 1)
  if [[ -z $runs ]]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  if [[ -z $runs ]]; then
    runs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  runs=${runs:-?}
  took=${took:-$elapsed}
  size=$(find "$corpus" -type f | wc -l)

  crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  after=$(find "$artifacts" -type f | wc -l)
  if [[ -z $crash && $status -ne 0 ]]; then
    crash="exit status $status, no artifact (see $log)"
  elif [[ -z $crash && $after -gt $before ]]; then
    crash=$(ls -t "$artifacts" | head -n 1)
  fi
  if [[ -n $crash ]]; then
    failed=1
    echo "$target: $runs runs in $took s, corpus $size, CRASH: $crash"
    grep -m 3 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | sed 's/^/   /' || true
    rows+=("$target|$took|$runs|1 ($crash)")
  else
    echo "$target: $runs runs in $took s, corpus $size, crashes 0"
    rows+=("$target|$took|$runs|0")
  fi
done

echo
printf '%-14s | %7s | %12s | %s\n' target seconds runs crashes
printf '%-14s-+-%7s-+-%12s-+-%s\n' -------------- ------- ------------ -------
for row in "${rows[@]}"; do
  IFS='|' read -r t s r c <<<"$row"
  printf '%-14s | %7s | %12s | %s\n' "$t" "$s" "$r" "$c"
done
echo "logs: $logs"
exit "$failed"
