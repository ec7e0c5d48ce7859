#!/usr/bin/env bash
# Builds the Worker with worker-build, pointing it at local tools (it would otherwise try to
# download wasm-bindgen, esbuild and wasm-opt, which fails without internet).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$root/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
# The page in www/ draws with uPlot, from the npm package (kept out of git).
mkdir -p "$root/www/vendor"
cp "$root/node_modules/uplot/dist/uPlot.iife.min.js" "$root/node_modules/uplot/dist/uPlot.min.css" "$root/www/vendor/"
cd "$root/worker"
exec worker-build --release
