#!/bin/sh
# The cluster path's speed (issue 13): tools/bench/cluster.sh [BUILD_DIR]
#  1. sweep: 1,000 members of a tiny net (2-8-1, 10 steps) end to end, members isolated (the
#     default: worker processes, run/isolate.h) and inline (--no-isolate): wall seconds and ms
#     per member (the whole command's wall time / 1,000: start, data, report included);
#  2. a 24-member sweep of unequal members (2-9 hidden layers of 64, MPI_STEPS steps, 1500)
#     under `mpirun -np 2` against `-np 1`, mpirun's start included: the
#     speed-up of the medians; and the same sweep with 1 step per member (mpirun, MPI_Init, data,
#     report: the fixed cost), so the members' own speed-up shows too;
#  3. data-parallel: the 784-1024-1024-10 net (Fashion-MNIST, batch 256, 40 steps) with 2 ranks
#     x 1 BLAS thread against 1 rank x 2 threads and 1 rank x 1 thread: seconds of training
#     (summary.csv), samples/s, and for 2 ranks the time per step in MPI_Allreduce
#     (FANIN_MPI_STATS) against the step's compute.
# Each is run CLUSTER_REPS times (3), interleaved; RESULT lines, then a table of medians.
# Environment: CLUSTER_REPS, CLUSTER_PARTS ("1 2 3"), OPENBLAS_CORETYPE (Haswell if unset),
# CLUSTER_MPIRUN (extra mpirun options, e.g. "--mca pml ob1": OpenMPI then skips UCX's start,
# ~0.25 s per launch on one node).
# Timings, not tests: nothing is asserted. tools/bench/run.sh calls it for its table.
set -eu
build=${1:-build}
reps=${CLUSTER_REPS:-3}
parts=${CLUSTER_PARTS:-"1 2 3"}
B="$build/bin/fanin"
OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_CORETYPE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
has() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
echo "INFO cluster date=$(date -u +%Y-%m-%dT%H:%MZ) cpu=\"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)\"" \
    "cores=$(nproc) OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE reps=$reps load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""

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
sweep_once() { # rep
    for mode in isolated inline; do
        flag=""
        [ $mode = inline ] && flag=--no-isolate
        t0=$(now)
        if [ -x /usr/bin/time ]; then # CPU seconds too (the workers' included): load-proof
            /usr/bin/time -o "$T/cpu" -f "%U %S" "$B" run "$T/tiny.yaml" --out "$T/tiny-$mode-$1" \
                -q $flag >/dev/null 2>&1
        else
            "$B" run "$T/tiny.yaml" --out "$T/tiny-$mode-$1" -q $flag >/dev/null 2>&1
            echo "" > "$T/cpu"
        fi
        s=$(since "$t0")
        cpu=$(awk 'NF == 2 { printf " cpu_ms_per_member=%.3f", $1 + $2 }' "$T/cpu")
        echo "RESULT bench=sweep mode=$mode members=1000 seconds=$s" \
            "ms_per_member=$(echo "$s" | awk '{printf "%.3f", $1}')$cpu"
    done
}

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
train: {iterations: STEPS, batch: 64, log_every: STEPS}
sweep: {model.layers.1.repeat: [1, 2, 4, 8], seed: [1, 2, 3, 4, 5, 6]}
YAML
# members of unequal cost (2 to 9 hidden layers of 64): a rank that draws the deep ones must not
# leave the other idle. MPI_STEPS (default 1500) sizes the members: at 600 the whole sweep took
# ~1.5 s at -np 1 on this machine, a third of it the fixed cost below.
steps=${MPI_STEPS:-1500}
sed -i "s/STEPS/$steps/g" "$T/sweep.yaml"
sed "s/iterations: $steps/iterations: 1/" "$T/sweep.yaml" > "$T/sweep1.yaml"
mpi_once() { # rep: -np 1 and -np 2, the order alternating; $steps steps, then 1 step per member
    order="1 2"
    [ $(($1 % 2)) -eq 0 ] && order="2 1"
    for cfg in sweep sweep1; do
        for np in $order; do
            t0=$(now)
            # shellcheck disable=SC2086
            mpirun --oversubscribe ${CLUSTER_MPIRUN:-} -np "$np" "$B" run "$T/$cfg.yaml" \
                --out "$T/$cfg-$np-$1" -q >/dev/null 2>&1
            echo "RESULT bench=mpi_sweep ranks=$np members=24 steps=$([ $cfg = sweep ] && echo "$steps" || echo 1)" \
                "seconds=$(since "$t0")"
        done
    done
}

cat > "$T/mlp.yaml" <<'YAML'
name: mlp
seed: 1
data: {source: fashion-mnist, train: 2048, test: 256, normalize: scale255}
model: {defaults: {activation: relu, init: he_normal}, layers: [{units: 1024}, {units: 1024}, {units: 10, activation: linear}]}
loss: cross_entropy
optimizer: {name: sgd, lr: 0.01}
train: {iterations: 40, batch: 256, log_every: 40}
YAML
dp_one() { # rep ranks threads
    out="$T/dp$2$3-$1"
    if [ "$2" -gt 1 ]; then
        FANIN_MPI_STATS=1 mpirun --oversubscribe -x FANIN_MPI_STATS -np "$2" "$B" run \
            "$T/mlp.yaml" --out "$out" -q --threads "$3" --data-parallel >/dev/null 2>"$T/dp.err"
    else
        "$B" run "$T/mlp.yaml" --out "$out" -q --threads "$3" >/dev/null 2>"$T/dp.err"
    fi
    s=$(awk -F, 'END { print $NF }' "$out/summary.csv")
    red=$(sed -n 's/.*rank 0: \([0-9]*\) allreduces.*(\([0-9.]*\) ms each).*/\2/p' "$T/dp.err")
    echo "RESULT bench=data_parallel ranks=$2 threads=$3 steps=40 batch=256 seconds_training=$s" \
        "samples_per_s=$(echo "40 * 256 / $s" | bc -l | awk '{printf "%.0f", $1}')" \
        "step_ms=$(echo "1000 * $s / 40" | bc -l | awk '{printf "%.1f", $1}')${red:+ allreduce_ms=$red}"
}
dp_once() {
    [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || {
        echo "NOTE data-parallel skipped: no Fashion-MNIST in /usr/share/datasets"
        return 0
    }
    dp_one "$1" 2 1
    dp_one "$1" 1 2
    dp_one "$1" 1 1
}

r=1
while [ "$r" -le "$reps" ]; do
    if has 1; then sweep_once "$r"; fi
    if has 2; then mpi_once "$r"; fi
    if has 3; then dp_once "$r"; fi
    r=$((r + 1))
done | tee "$T/results"
echo "INFO cluster end load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""

python3 "$(dirname "$0")/cluster_table.py" "$T/results"
