#!/bin/sh
# fanin's training loop beside numpy, PyTorch and FANN: tools/bench/run.sh [BUILD_DIR]
# Runs fanin_bench and peers.py in fresh processes, interleaved (the order alternates each
# repetition), at each BLAS thread count; prints every RESULT line, then a table of medians.
# Environment: BENCH_REPS (5), BENCH_THREADS ("1 2"), BENCH_SECONDS (1.5, per benchmark run),
# PYTHON (a python3 with numpy, and torch if available), OPENBLAS_CORETYPE (Haswell if unset),
# BENCH_CLUSTER (1: then tools/bench/cluster.sh adds the sweep, mpirun and data-parallel rows,
# CLUSTER_REPS times, 3; 0: not).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
reps=${BENCH_REPS:-5}
threads=${BENCH_THREADS:-"1 2"}
seconds=${BENCH_SECONDS:-1.5}
bench="$build/bin/fanin_bench"

# The kernels the peer baselines were measured with; OpenBLAS 0.3.21's own detection picks
# much slower ones on these virtual CPUs. A value already set is kept.
OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_CORETYPE

if [ ! -x "$bench" ] || [ ! -x "$build/bin/fanin" ]; then
    cmake --build "$build" --target fanin_bench fanin_cli initializers activations optimizers >&2
fi

# A python3 with numpy and torch, else one with numpy (pyenv's python3 may lack Debian's).
pick_python() {
    for mods in "numpy, torch" "numpy"; do
        for p in ${PYTHON:-} python3 /usr/bin/python3; do
            if "$p" -c "import $mods" >/dev/null 2>&1; then echo "$p"; return; fi
        done
    done
}
py=$(pick_python)

out="$build/bench-results.txt"
: >"$out"
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "INFO date=$(date -u +%Y-%m-%dT%H:%MZ) cpu=\"$cpu\" cores=$(nproc)" \
    "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE reps=$reps seconds=$seconds python=${py:-none}" \
    "load=\"$load\"" | tee -a "$out"
[ -n "$py" ] || echo "NOTE no python3 with numpy found: fanin figures only" | tee -a "$out"

run_fanin() { "$bench" --threads "$1" --seconds "$seconds" | tee -a "$out"; }
run_peers() {
    [ -n "$py" ] || return 0
    OPENBLAS_NUM_THREADS=$1 "$py" "$here/peers.py" --threads "$1" --seconds "$seconds" |
        tee -a "$out"
}

# FANN (tools/bench/fann_bench.c, built when libfann-dev is installed) is single-threaded: it
# runs with the 1-thread round only.
run_fann() {
    [ "$1" = 1 ] && [ -x "$build/bin/fann_bench" ] || return 0
    "$build/bin/fann_bench" --seconds "$seconds" | tee -a "$out"
}

r=1
while [ "$r" -le "$reps" ]; do
    for t in $threads; do
        if [ $((r % 2)) -eq 1 ]; then run_fanin "$t"; run_peers "$t"; run_fann "$t"
        else run_fann "$t"; run_peers "$t"; run_fanin "$t"; fi
    done
    r=$((r + 1))
done

# Other processes skew the 2-thread figures most: say how busy the machine was.
echo "INFO end load=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" | tee -a "$out"

# The cluster rows (issue 13): a sweep's per-member cost, mpirun -np 2 against 1, data-parallel.
if [ "${BENCH_CLUSTER:-1}" != 0 ]; then
    sh "$here/cluster.sh" "$build" | grep -E '^(RESULT|INFO|NOTE)' | tee -a "$out"
fi
echo
"${py:-python3}" - "$out" <<'EOF'
import sys, statistics as st
def parse(path):
    rows = []
    for line in open(path):
        if line.startswith("RESULT "):
            rows.append(dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv))
    return rows
def table(rows):
    rows = [r for r in rows if "impl" in r]  # the cluster rows: cluster_table.py
    med = {}
    for r in rows:
        med.setdefault((r["impl"], r["bench"], r["threads"]), []).append(r)
    def m(impl, bench, t, key):
        v = [float(r[key]) for r in med.get((impl, bench, t), []) if key in r]
        return st.median(v) if v else None
    def peak_share(impl, bench, t):
        s, p = m(impl, bench, t, "gflops"), m("fanin", "sgemm", t, "gflops")
        return 100 * s / p if s and p else None
    lines = [  # label, bench, key, lower is better
        ("seed 784-20-7-5-1, batch 2000: it/s", "seed", "it_per_s", False),
        ("seed: samples/s", "seed", "samples_per_s", False),
        ("mlp 784-1024-1024-10, batch 256: samples/s", "mlp", "samples_per_s", False),
        ("mlp: % of fanin's sgemm peak", "mlp", None, False),
        ("tiny 2-16-16-1 tanh, batch 32: us/step", "tiny", "us_per_step", True),
        ("course 12288-20-7-5-1, 209 rows: it/s", "course", "it_per_s", False),
        ("course: % of fanin's sgemm peak", "course", None, False),
        ("cnn 32c-64c-pool-128-10, batch 128: samples/s", "cnn", "samples_per_s", False),
        ("cnn: % of fanin's sgemm peak", "cnn", None, False),
        ("resmlp 784-256-16 ReZero blocks-10, batch 128: samples/s", "resmlp", "samples_per_s",
         False),
        ("resmlp: % of fanin's sgemm peak", "resmlp", None, False),
        ("sgemm N=2048: GF/s", "sgemm", "gflops", False),
    ]
    fmt = "{:<3} {:<58} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}"
    print(fmt.format("thr", "benchmark (medians)", "fanin", "numpy", "torch", "fann",
                     "fanin/numpy", "fanin/torch", "fanin/fann"))
    for t in sorted({r["threads"] for r in rows}, key=int):
        for label, bench, key, lower in lines:
            v = {i: peak_share(i, bench, t) if key is None else m(i, bench, t, key)
                 for i in ("fanin", "numpy", "torch", "fann")}
            def ratio(p):
                if not v["fanin"] or not v[p]:
                    return "-"
                return "%.2f" % (v[p] / v["fanin"] if lower else v["fanin"] / v[p])
            cell = lambda x: "-" if x is None else ("%.1f" % x if x < 1000 else "%.0f" % x)
            print(fmt.format(t, label, cell(v["fanin"]), cell(v["numpy"]), cell(v["torch"]),
                             cell(v["fann"]), ratio("numpy"), ratio("torch"), ratio("fann")))
    cores = sorted({r.get("core", "?") for r in rows})
    tt = sorted({r.get("torch_threads") for r in rows if r.get("torch_threads")})
    print("\nRatios compare speed: > 1 means fanin is faster (for us/step, peer / fanin).")
    print("OpenBLAS core: %s; torch.set_num_threads chosen (best per run): %s; reps per cell: %s"
          % (",".join(cores), ",".join(tt) or "-",
             max((len(x) for x in med.values()), default=0)))
table(parse(sys.argv[1]))
EOF
"${py:-python3}" "$here/cluster_table.py" "$out"
echo "results: $out"
