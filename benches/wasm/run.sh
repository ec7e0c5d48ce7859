#!/usr/bin/env bash
# Builds the wasm benchmark and runs it under Node: bash benches/wasm/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
bash .ci/setup >/dev/null
cargo build --release --target wasm32-unknown-unknown --manifest-path benches/wasm/Cargo.toml
wasm-bindgen --target web --out-dir benches/wasm/pkg \
  benches/wasm/target/wasm32-unknown-unknown/release/edgewrite_wasm_bench.wasm
node benches/wasm/bench.mjs
