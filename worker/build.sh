#!/usr/bin/env bash
# Builds the Worker with worker-build, pointing it at local tools (it would otherwise try to
# download wasm-bindgen, esbuild and wasm-opt, which fails without internet).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$root/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
# The pages in www/ draw with uPlot, and the RUM demo runs the npm package's RUM client with
# web-vitals: copied from node_modules and pkg/ (kept out of git).
mkdir -p "$root/www/vendor/edgewrite/wasm"
cp "$root/node_modules/uplot/dist/uPlot.iife.min.js" "$root/node_modules/uplot/dist/uPlot.min.css" "$root/www/vendor/"
cp "$root/node_modules/web-vitals/dist/web-vitals.js" "$root/www/vendor/"
(cd "$root" && bash pkg/build.sh rum)
cp "$root/pkg/rum.js" "$root/www/vendor/edgewrite/"
rm -rf "$root/www/vendor/edgewrite/wasm/rum"
cp -r "$root/pkg/wasm/rum" "$root/www/vendor/edgewrite/wasm/"
cd "$root/worker"
exec worker-build --release
