#!/bin/sh
# The end-to-end run (a small sweep through `fanin run`, then `fanin predict` on its model)
# under valgrind memcheck: any invalid access, and any definitely or indirectly lost block, fails.
# .ci/valgrind.supp suppresses only OpenBLAS's and the dynamic loader's own one-time
# allocations (thread pools, TLS), never a libfanin frame. Usage: .ci/valgrind-e2e.sh BUILD_DIR
set -eu
build=${1:-build}
dir=$(mktemp -d /tmp/fanin-valgrind-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/e2e.yaml" <<'YAML'
name: e2e
seed: 1
data: {source: synthetic, kind: moons, n: 200, noise: 0.1}
model:
  defaults: {activation: tanh, init: xavier_normal}
  layers: [{units: 8}, {units: 1, activation: sigmoid}]
loss: bce
optimizer: {name: sgd, lr: 0.5, momentum: 0.9}
train: {iterations: 40, batch: 32, log_every: 10, checkpoint_every: 10}
diagnostics: {layer_stats_every: 10}
sweep: {seed: [1, 2]}
YAML
vg="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=no
    --suppressions=$(dirname "$0")/valgrind.supp"
export OPENBLAS_NUM_THREADS=1
# shellcheck disable=SC2086
$vg "$build/bin/fanin" run "$dir/e2e.yaml" --out "$dir/out" --quiet --threads 1 > "$dir/log" 2>&1 ||
    { cat "$dir/log"; echo "valgrind: fanin run failed"; exit 1; }
# shellcheck disable=SC2086
$vg "$build/bin/fanin" predict "$dir/out/00-1/model.safetensors" "$dir/e2e.yaml" \
    --out "$dir/pred.csv" > "$dir/log2" 2>&1 ||
    { cat "$dir/log2"; echo "valgrind: fanin predict failed"; exit 1; }
grep -h "ERROR SUMMARY\|definitely lost\|indirectly lost" "$dir/log" "$dir/log2"
echo "valgrind: no errors, no leaks"
