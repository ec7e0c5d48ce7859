#!/usr/bin/env bash
# Builds the Worker with worker-build, pointing it at local tools (it would otherwise try to
# download wasm-bindgen, esbuild and wasm-opt, which fails without internet).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# wrangler runs this at every start: when nothing it builds from changed since the last build
# (the stamp), the last build stands (a restart in the tests then takes seconds, not a minute).
stamp="$root/target/.worker-built-from"
inputs=("$root/src" "$root/worker/src" "$root/proto" "$root/Cargo.toml" "$root/Cargo.lock" "$root/worker/Cargo.toml"
  "$root/worker/build.sh" "$root/pkg/build.sh" "$root/pkg/rum.js" "$root/package-lock.json" "$root/.cargo")
if [ -f "$stamp" ] && [ -f "$root/worker/build/index.js" ] && [ -f "$root/www/vendor/edgewrite/rum.js" ] \
  && [ -z "$(find "${inputs[@]}" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  echo "worker/build.sh: up to date (nothing changed since $(date -r "$stamp" +%T))"
  exit 0
fi
# (Stamped as of the start: a file changed while this builds is newer, and builds next time.)
rm -f "$stamp"
mkdir -p "$root/target"
touch "$stamp.next"
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
worker-build --release
mv "$stamp.next" "$stamp"
