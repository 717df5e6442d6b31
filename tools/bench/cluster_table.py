"""The cluster rows of the bench table (tools/bench/cluster.sh, tools/bench/run.sh): medians of
the RESULT lines with bench=sweep, mpi_sweep and data_parallel in the files given.
Usage: python3 cluster_table.py RESULTS..."""
import statistics as st
import sys


def main(paths):
    rows = [dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            for p in paths for line in open(p) if line.startswith("RESULT ")]
    rows = [r for r in rows if r.get("bench") in ("sweep", "mpi_sweep", "data_parallel")]
    if not rows:
        return

    def med(key, **match):
        v = [float(r[key]) for r in rows
             if key in r and all(r.get(k) == w for k, w in match.items())]
        return st.median(v) if v else None

    n = max(sum(r.get("bench") == "sweep" and r.get("mode") == "isolated" for r in rows),
            sum(r.get("bench") == "mpi_sweep" and r.get("ranks") == "1" and
                r.get("steps") != "1" for r in rows),
            sum(r.get("bench") == "data_parallel" and r.get("ranks") == "2" for r in rows), 1)
    print("\n{:<62} {:>10} {:>10}".format("cluster (medians of %d)" % n, "value", "unit"))

    def line(label, v, unit, f="%.2f"):
        if v is not None:
            print("{:<62} {:>10} {:>10}".format(label, f % v, unit))

    for mode in ("isolated", "inline"):
        line("sweep, 1,000 tiny members end to end, %s: wall" % mode,
             med("seconds", bench="sweep", mode=mode), "s")
        line("sweep, %s: per member" % mode, med("ms_per_member", bench="sweep", mode=mode),
             "ms")
        line("sweep, %s: CPU per member (the workers' included)" % mode,
             med("cpu_ms_per_member", bench="sweep", mode=mode), "ms")
    steps = next((r["steps"] for r in rows
                  if r.get("bench") == "mpi_sweep" and r.get("steps", "1") != "1"), "1")
    s1 = med("seconds", bench="mpi_sweep", ranks="1", steps=steps)
    s2 = med("seconds", bench="mpi_sweep", ranks="2", steps=steps)
    f1 = med("seconds", bench="mpi_sweep", ranks="1", steps="1")
    f2 = med("seconds", bench="mpi_sweep", ranks="2", steps="1")
    line("24-member sweep (2-9 layers, %s steps each), mpirun -np 1" % steps, s1, "s")
    line("24-member sweep, mpirun -np 2", s2, "s")
    line("mpirun -np 2 vs 1: speed-up", s1 / s2 if s1 and s2 else None, "x")
    line("  fixed cost (1 step per member), -np 1", f1, "s")
    line("  fixed cost, -np 2", f2, "s")
    line("  the members' own speed-up: (T1 - fixed1) / (T2 - fixed2)",
         (s1 - f1) / (s2 - f2) if s1 and s2 and f1 and f2 and s2 > f2 else None, "x")
    for ranks, threads in (("2", "1"), ("1", "2"), ("1", "1")):
        match = dict(bench="data_parallel", ranks=ranks, threads=threads)
        line("data-parallel 784-1024-1024-10, %s rank(s) x %s BLAS thread(s)" % (ranks, threads),
             med("samples_per_s", **match), "samples/s", "%.0f")
        line("  its step (batch 256)", med("step_ms", **match), "ms", "%.1f")
    line("  2 ranks: of the step, in MPI_Allreduce",
         med("allreduce_ms", bench="data_parallel", ranks="2", threads="1"), "ms", "%.1f")


main(sys.argv[1:])
