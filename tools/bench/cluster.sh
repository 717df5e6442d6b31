#!/bin/sh
# The cluster path's speed (issue 13): tools/bench/cluster.sh [BUILD_DIR]
#  1. per-member overhead: 1,000 members of a tiny net (2-8-1, 10 steps), one process, each
#     member in its own child process (the default) and inline (--no-isolate): ms per member;
#  2. a 24-member sweep under `mpirun -np 2` against `-np 1` (members of unequal cost): the
#     speed-up;
#  3. data-parallel: the 784-1024-1024-10 net (Fashion-MNIST, batch 256, 40 steps) with 2 ranks
#     x 1 BLAS thread against 1 rank x 2 threads and 1 rank x 1 thread: seconds of training.
# Prints RESULT lines and a table with openblas_get_corename()'s core (via fanin_bench's line).
# Timings, not tests: nothing is asserted.
set -eu
build=${1:-build}
B="$build/bin/fanin"
OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_CORETYPE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
now() { date +%s.%N; }
core=$("$build/bin/fanin_bench" --threads 1 --seconds 0.1 --only sgemm 2>/dev/null |
    sed -n 's/.*core=\([^ ]*\).*/\1/p' | head -1)
echo "INFO cpu=\"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)\" cores=$(nproc) core=${core:-?}"

seeds=$(seq -s, 1 500)
cat > "$T/tiny.yaml" <<YAML
name: tiny
seed: 1
data: {source: synthetic, kind: moons, n: 200, noise: 0.1}
model: {defaults: {activation: tanh, init: xavier_normal}, layers: [{units: 8}, {units: 1, activation: sigmoid}]}
loss: bce
optimizer: {name: sgd, lr: 0.1}
threads: 1
train: {iterations: 10, batch: 32, log_every: 10}
sweep: {seed: [$seeds], model.defaults.init: [xavier_normal, he_normal]}
YAML
for mode in isolated inline; do
    flag=""; [ $mode = inline ] && flag=--no-isolate
    t0=$(now); "$B" run "$T/tiny.yaml" --out "$T/tiny-$mode" -q $flag >/dev/null 2>&1; t1=$(now)
    echo "RESULT bench=member_overhead mode=$mode members=1000 seconds=$(echo "$t1 - $t0" | bc)" \
        "ms_per_member=$(echo "($t1 - $t0)" | bc -l | awk '{printf "%.2f", $1}')"
done

cat > "$T/sweep.yaml" <<'YAML'
name: sweep
seed: 1
data: {source: synthetic, kind: moons, n: 2000, noise: 0.1}
model:
  defaults: {activation: tanh, init: xavier_normal}
  layers: [{units: 64}, {units: 64, repeat: 2}, {units: 1, activation: sigmoid}]
loss: bce
optimizer: {name: sgd, lr: 0.1}
threads: 1
train: {iterations: 600, batch: 64, log_every: 600}
sweep: {seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], model.defaults.init: [xavier_normal, he_normal]}
YAML
for np in 1 2; do
    t0=$(now); mpirun --oversubscribe -np $np "$B" run "$T/sweep.yaml" --out "$T/sw$np" -q >/dev/null 2>&1; t1=$(now)
    eval "s$np=$(echo "$t1 - $t0" | bc)"
    echo "RESULT bench=mpi_sweep ranks=$np members=24 seconds=$(eval echo \$s$np)"
done
echo "RESULT bench=mpi_sweep speedup_2_over_1=$(echo "$s1 / $s2" | bc -l | awk '{printf "%.2f", $1}')"

if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
cat > "$T/mlp.yaml" <<'YAML'
name: mlp
seed: 1
data: {source: fashion-mnist, train: 2048, test: 256, normalize: scale255}
model: {defaults: {activation: relu, init: he_normal}, layers: [{units: 1024}, {units: 1024}, {units: 10, activation: linear}]}
loss: cross_entropy
optimizer: {name: sgd, lr: 0.01}
train: {iterations: 40, batch: 256, log_every: 40}
YAML
run_dp() { # label ranks threads
    t0=$(now)
    if [ "$2" -gt 1 ]; then
        mpirun --oversubscribe -np "$2" "$B" run "$T/mlp.yaml" --out "$T/$1" -q --threads "$3" --data-parallel >/dev/null 2>&1
    else
        "$B" run "$T/mlp.yaml" --out "$T/$1" -q --threads "$3" >/dev/null 2>&1
    fi
    t1=$(now)
    echo "RESULT bench=data_parallel ranks=$2 threads=$3 seconds_total=$(echo "$t1 - $t0" | bc)" \
        "seconds_training=$(awk -F, 'END { print $NF }' "$T/$1/summary.csv")"
}
run_dp dp21 2 1
run_dp dp12 1 2
run_dp dp11 1 1
fi
