#!/usr/bin/env bash
# Builds the npm package's wasm into pkg/wasm/: `sender` (RemoteWriter only, small, for
# browsers), `full` (plus encode/decode, for Node, the CLI and `edgewrite/codec`) and `rum`
# (the page's RUM recorder alone, for `edgewrite/rum`).
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
# `bash pkg/build.sh rum` builds only the RUM wasm (the Worker's build does, for www/).
for which in "${@:-sender full rum}"; do
  for w in $which; do
    case $w in
      sender) build js sender ;;
      full) build js-codec full ;;
      rum) build js-rum,small-alloc rum ;;
      *) echo "pkg/build.sh: no build called $w (sender, full, rum)" >&2; exit 2 ;;
    esac
    printf 'pkg/wasm: %s %s bytes\n' "$w" "$(wc -c < "pkg/wasm/$w/edgewrite_bg.wasm")"
  done
done
