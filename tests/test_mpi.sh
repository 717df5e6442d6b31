#!/bin/sh
# Sweeps under mpirun (issue 13, docs/cluster.md): `mpirun -np 3 fanin run` gives member by
# member the files of a one-process run (summary figures, models, metrics but the seconds);
# Ctrl-C to mpirun checkpoints every rank's member, and `--resume` with another rank count
# finishes only the unfinished members. Usage: test_mpi.sh BUILD_DIR. Exit 77 (skipped) when
# OpenMPI's mpirun is missing (tools/deps.sh installs openmpi-bin) or fanin was built without it.
set -u
B="$1/bin/fanin"
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: no mpirun (apt-get install openmpi-bin)"; exit 77; }
# OpenMPI refuses root unless told; CI runs as root
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat > "$T/sw.yaml" <<'YAML'
name: sw
seed: 1
data: {source: synthetic, kind: moons, n: 400, noise: 0.1}
model:
  defaults: {activation: tanh, init: xavier_normal}
  layers: [{units: 16}, {units: 16}, {units: 1, activation: sigmoid}]
loss: bce
optimizer: {name: sgd, lr: 0.5, momentum: 0.9}
train: {iterations: 300, batch: 32, log_every: 50}
sweep:
  seed: [1, 2, 3, 4, 5]
  model.defaults.init: [xavier_normal, he_normal]
YAML
MPI="mpirun --oversubscribe"
"$B" run "$T/sw.yaml" --out "$T/one" -q >/dev/null 2>&1 || fail "one-process run"
$MPI -np 1 true >/dev/null 2>&1 || { echo "SKIP: mpirun cannot start a process here"; exit 77; }
$MPI -np 3 "$B" run "$T/sw.yaml" --out "$T/mpi" -q > "$T/mpi.txt" 2>&1 ||
    { cat "$T/mpi.txt"; fail "mpirun -np 3 fanin run"; }
grep -q "built without MPI" "$T/mpi.txt" && { echo "SKIP: fanin built without MPI"; exit 77; }
# the summary (all but the seconds), row for row in member order
cut -d, -f1-8 "$T/one/summary.csv" > "$T/a"
cut -d, -f1-8 "$T/mpi/summary.csv" > "$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b"; fail "summary differs from the one-process run"; }
[ "$(wc -l < "$T/b")" -eq 11 ] || fail "expected 10 rows"
for d in "$T"/one/[0-9]*/; do
    m=$(basename "$d")
    cmp -s "$d/model.safetensors" "$T/mpi/$m/model.safetensors" || fail "$m: model differs"
    cmp -s "$d/config.yaml" "$T/mpi/$m/config.yaml" || fail "$m: config.yaml differs"
    cut -d, -f1-7 "$d/metrics.csv" > "$T/a"
    cut -d, -f1-7 "$T/mpi/$m/metrics.csv" > "$T/b"
    cmp -s "$T/a" "$T/b" || fail "$m: metrics differ"
done
[ -s "$T/mpi/report.html" ] && [ -s "$T/mpi/summary.json" ] || fail "rank 0 wrote no report"
grep -q "results in" "$T/mpi.txt" || fail "no table from rank 0"

# Ctrl-C to mpirun: members checkpoint (interrupted rows), then --resume with 2 ranks finishes.
# mpirun passes a Ctrl-C on as SIGCONT, then SIGTERM a second later: members of 100,000 steps
# (~1.5 s) are still running then; at 20,000 steps (~0.3 s) the sweep could end first
$MPI -np 3 "$B" run "$T/sw.yaml" --out "$T/int" -q --set train.iterations=100000 \
    --set train.checkpoint_every=200 > "$T/int.txt" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -n "$(ls "$T"/int/*/checkpoint.bin 2>/dev/null)" ] && break; sleep 0.1; done
sleep 0.3
kill -INT $pid
wait $pid
grep -q interrupted "$T/int/summary.csv" || { cat "$T/int.txt"; fail "no interrupted member"; }
ls "$T"/int/*/checkpoint.bin >/dev/null 2>&1 || fail "no checkpoint after Ctrl-C"
finished=$(grep -c ",done," "$T/int/summary.csv")
$MPI -np 2 "$B" run --resume "$T/int" -q > "$T/res.txt" 2>&1 || { cat "$T/res.txt"; fail "resume"; }
[ "$(grep -c ",done," "$T/int/summary.csv")" -eq 10 ] || fail "resume left members unfinished"

# data-parallel: each step's batch split over 2 ranks, gradients summed by one MPI_Allreduce;
# the losses equal the one-process run's to float tolerance, and two runs are bit-identical
cat > "$T/dp.yaml" <<'YAML'
name: dp
seed: 1
data: {source: synthetic, kind: moons, n: 1000, noise: 0.1}
model:
  defaults: {activation: tanh, init: xavier_normal}
  layers: [{units: 32}, {units: 32}, {units: 1, activation: sigmoid}]
loss: bce
optimizer: {name: sgd, lr: 0.2}
train: {iterations: 300, batch: 64, log_every: 50}
sweep:
  model.defaults.init: [xavier_normal, he_normal]
YAML
"$B" run "$T/dp.yaml" --out "$T/dp1" -q --threads 1 >/dev/null 2>&1 || fail "dp: one process"
for o in dpa dpb; do
    $MPI -np 2 "$B" run "$T/dp.yaml" --out "$T/$o" -q --threads 1 --data-parallel > "$T/$o.txt" 2>&1 ||
        { cat "$T/$o.txt"; fail "dp: mpirun -np 2 --data-parallel"; }
done
for m in 00-xavier_normal 01-he_normal; do
    cmp -s "$T/dpa/$m/model.safetensors" "$T/dpb/$m/model.safetensors" || fail "dp: $m not bit-identical"
    [ ! -e "$T/dpa/$m/checkpoint.bin" ] || fail "dp: checkpoint left"
    paste -d, "$T/dp1/$m/metrics.csv" "$T/dpa/$m/metrics.csv" | awk -F, -v m=$m '
        NR > 1 { n = NF / 2; d = $3 - $(n + 3); if (d < 0) d = -d;
                 if (d > 1e-5 * ($3 < 0 ? -$3 : $3) + 1e-7) { print m ": loss " $3 " vs " $(n + 3); bad = 1 } }
        END { exit bad }' || fail "dp: losses differ beyond float tolerance"
done
cut -d, -f1-3,7 "$T/dp1/summary.csv" > "$T/a"
cut -d, -f1-3,7 "$T/dpa/summary.csv" > "$T/b"
cmp -s "$T/a" "$T/b" || fail "dp: summary rows differ"
echo "ok: 10 members under mpirun equal the one-process run; interrupted ($finished done) and resumed; data-parallel losses within float tolerance, bit-identical for 2 ranks"
