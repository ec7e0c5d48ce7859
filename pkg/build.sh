#!/usr/bin/env bash
# Builds the npm package's wasm into pkg/wasm/: `sender` (RemoteWriter only, small, for
# browsers) and `full` (plus encode/decode, for Node, the CLI and `edgewrite/codec`).
# Needs what .ci/setup installs (wasm32 target, wasm-bindgen-cli, npm packages for wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."
build() {
  local features=$1 out=pkg/wasm/$2
  cargo build --quiet --target wasm32-unknown-unknown --profile wasm --no-default-features --features "$features"
  rm -rf "$out"
  wasm-bindgen --target web --out-dir "$out" --out-name edgewrite target/wasm32-unknown-unknown/wasm/edgewrite.wasm
  node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers --enable-bulk-memory \
    --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$out/edgewrite_bg.wasm" -o "$out/edgewrite_bg.wasm"
}
build js sender
build js-codec full
printf 'pkg/wasm: sender %s bytes, full %s bytes\n' \
  "$(wc -c < pkg/wasm/sender/edgewrite_bg.wasm)" "$(wc -c < pkg/wasm/full/edgewrite_bg.wasm)"
