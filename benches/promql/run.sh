#!/usr/bin/env bash
# Size and parse time of the two PromQL parsers in wasm: bash benches/promql/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
bash .ci/setup >/dev/null
printf '| parser | wasm after wasm-opt -Oz | gzip -9 | load | first parse | parse (median) |\n|---|---|---|---|---|---|\n'
for which in ours reference; do
  cargo build --quiet --release --target wasm32-unknown-unknown --manifest-path benches/promql/Cargo.toml \
    --no-default-features --features "$which" --target-dir "benches/promql/target/$which"
  out="benches/promql/pkg/$which"
  rm -rf "$out"
  wasm-bindgen --target nodejs --out-dir "$out" \
    "benches/promql/target/$which/wasm32-unknown-unknown/release/edgewrite_promql_bench.wasm"
  echo '{"type":"commonjs"}' > "$out/package.json"   # wasm-bindgen writes CommonJS here
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types "$out/edgewrite_promql_bench_bg.wasm" -o "$out/edgewrite_promql_bench_bg.wasm"
  size=$(wc -c < "$out/edgewrite_promql_bench_bg.wasm")
  gz=$(gzip -9 -c "$out/edgewrite_promql_bench_bg.wasm" | wc -c)
  t=$(node benches/promql/bench.mjs "$PWD/$out")
  node -e "const t = JSON.parse(process.argv[1]); const k = (n) => (n / 1024).toFixed(1) + ' KiB';
    console.log('| ' + process.argv[2] + ' | ' + k(+process.argv[3]) + ' | ' + k(+process.argv[4]) + ' | ' +
      t.loadMs.toFixed(1) + ' ms | ' + t.firstParseMs.toFixed(2) + ' ms | ' + (t.medianParseMs * 1000).toFixed(1) + ' µs |')" \
    "$t" "$which" "$size" "$gz"
done
