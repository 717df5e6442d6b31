#!/bin/sh
# The two Slurm recipes of docs/cluster.md, run for real on a one-node cluster this test starts
# and stops itself (issue 13): munged, slurmctld and slurmd as root with a generated slurm.conf
# (this host's `hostname -s`, proctrack/linuxproc, task/none, state and spool under a temporary
# folder, ports 16917-16918 unless FANIN_SLURM_PORT is set). Recipe 1: a job array running
# `fanin run --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT` and a dependent
# `fanin merge`; recipe 2: an sbatch job running `mpirun fanin run`. Both must equal a local run
# (summary figures but the seconds, every model). The daemons are stopped by their pids.
# Usage: test_slurm.sh BUILD_DIR. Exit 77 (skipped, saying why) when the packages are missing
# (tools/deps.sh installs slurm-wlm and munge), when not root, or when a daemon cannot start.
set -u
B=$(cd "$1/bin" && pwd)/fanin
skip() { echo "SKIP: $*"; exit 77; }
for c in munged slurmctld slurmd sbatch squeue; do
    command -v $c >/dev/null 2>&1 || skip "no $c (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs; run as root (CI does)"
T=$(mktemp -d /tmp/fanin-slurm.XXXXXX)
chmod 755 "$T"
PIDS=""
stop() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
    rm -rf "$T"
}
trap stop EXIT
fail() {
    echo "FAIL: $*"
    for f in "$T"/*.log "$T"/*.out; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done
    exit 1
}
H=$(hostname -s)
PORT=${FANIN_SLURM_PORT:-16917}

# munge: a key of our own, its socket under $T
mkdir -m 700 "$T/munge"
dd if=/dev/urandom of="$T/munge/key" bs=1024 count=1 2>/dev/null
chmod 600 "$T/munge/key"
munged --force -F --key-file="$T/munge/key" --socket="$T/munge/sock" \
    --pid-file="$T/munge/pid" --log-file="$T/munge.log" --seed-file="$T/munge/seed" \
    > "$T/munged.out" 2>&1 &
PIDS="$!"
for _ in $(seq 50); do [ -S "$T/munge/sock" ] && break; sleep 0.1; done
[ -S "$T/munge/sock" ] || skip "munged did not start: $(tail -1 "$T/munged.out")"

mkdir -p "$T/state" "$T/spool"
cat > "$T/slurm.conf" <<CONF
ClusterName=fanintest
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
CredType=cred/munge
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$H CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -D -i > "$T/slurmctld.out" 2>&1 &
PIDS="$PIDS $!"
slurmd -D > "$T/slurmd.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.1; done
sinfo -h -o %t 2>/dev/null | grep -q idle ||
    skip "the one-node cluster did not come up: $(tail -2 "$T/slurmctld.out" "$T/slurmd.out" | tr '\n' ' ')"

cat > "$T/sw.yaml" <<'YAML'
name: sw
seed: 1
data: {source: synthetic, kind: moons, n: 400, noise: 0.1}
model:
  defaults: {activation: tanh, init: xavier_normal}
  layers: [{units: 16}, {units: 1, activation: sigmoid}]
loss: bce
optimizer: {name: sgd, lr: 0.5}
train: {iterations: 300, batch: 32, log_every: 50}
sweep:
  seed: [1, 2, 3]
  model.defaults.init: [xavier_normal, he_normal]
YAML
"$B" run "$T/sw.yaml" --out "$T/local" -q --threads 1 > /dev/null 2>&1 || fail "local run"

# wait until job $1 has left the queue; its state must be COMPLETED
wait_job() {
    for _ in $(seq 600); do [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0; sleep 0.1; done
    fail "job $1 still queued after 60 s"
}
same() { # same FOLDER: the summary figures (not the seconds) and every model equal the local run's
    cut -d, -f1-8 "$T/local/summary.csv" > "$T/a"
    cut -d, -f1-8 "$1/summary.csv" > "$T/b" 2>/dev/null
    cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b"; fail "$1: summary differs from the local run"; }
    for d in "$T"/local/[0-9]*/; do
        cmp -s "$d/model.safetensors" "$1/$(basename "$d")/model.safetensors" ||
            fail "$1: $(basename "$d") differs"
    done
}

# recipe 1: an array of shards, then a merge that waits for all of them
arr=$(sbatch --parsable --array=1-3 -o "$T/array-%a.out" --chdir="$T" \
    --wrap "\"$B\" run \"$T/sw.yaml\" --out \"$T/arr\" -q --threads 1 --shard \$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT") ||
    fail "sbatch --array"
mrg=$(sbatch --parsable --dependency=afterok:"$arr" -o "$T/merge.out" --chdir="$T" \
    --wrap "\"$B\" merge \"$T/arr\"") || fail "sbatch merge"
wait_job "$arr"
wait_job "$mrg"
[ -s "$T/arr/report.html" ] || fail "the merge job wrote no report"
same "$T/arr"

# recipe 2: one job of 2 tasks running mpirun (OpenMPI reads the allocation from Slurm)
if command -v mpirun >/dev/null 2>&1; then
    mpi=$(sbatch --parsable -n 2 -o "$T/mpi.out" --chdir="$T" \
        --export=ALL,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        --wrap "mpirun \"$B\" run \"$T/sw.yaml\" --out \"$T/mpi\" -q --threads 1") || fail "sbatch mpirun"
    wait_job "$mpi"
    grep -q "built without MPI" "$T/mpi.out" || same "$T/mpi"
fi
echo "ok: a job array + merge and an mpirun job on a one-node Slurm cluster equal the local run"
