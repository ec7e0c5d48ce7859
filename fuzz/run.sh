#!/usr/bin/env bash
# Runs every fuzz target under libFuzzer (cargo-fuzz, nightly Rust) for SECONDS each (default
# 60), from its corpus (fuzz/corpus/<target>, kept between runs, not committed) and its seeds
# (fuzz/seeds/<target>), and prints each target's executions. A failing input stops the run:
# libFuzzer writes it to fuzz/artifacts/<target>/; minimize it (`cargo +nightly fuzz tmin`),
# copy it to fuzz/regressions/<target>/, fix, and `cargo test --manifest-path fuzz/Cargo.toml`
# keeps it fixed. The test command runs this for 10 s a target; RELIABILITY.md records the
# long runs. With RUNS=N each target stops after N executions instead (SECONDS still caps it):
# `RUNS=10000000 bash fuzz/run.sh 100000` is the goal of 10^7 a target.
#
#   [RUNS=N] bash fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
cargo +nightly fuzz build -O -a
total=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  dirs=("fuzz/corpus/$t")
  [ -d "fuzz/seeds/$t" ] && dirs+=("fuzz/seeds/$t")
  log=$(mktemp)
  limit=(-max_total_time="$secs")
  [ -n "${RUNS:-}" ] && limit+=(-runs="$RUNS")
  start=$SECONDS
  if ! cargo +nightly fuzz run -O -a "$t" "${dirs[@]}" -- "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $t FAILED: the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  printf '%-14s %12s executions in %s s, corpus %s inputs\n' "$t" "$runs" "$((SECONDS - start))" \
    "$(ls "fuzz/corpus/$t" | wc -l)"
  total=$((total + runs))
  rm -f "$log"
done
printf '%-14s %12s executions\n' total "$total"
