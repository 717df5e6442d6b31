#!/bin/sh
# Compares two run folders of the same experiment, for refactors that must not change results:
# summary.csv without its seconds column, and each member's model.safetensors, layers.csv,
# histograms.csv and config.yaml byte for byte, metrics.csv without seconds.
# Usage: tools/compare-runs.sh RUN_A RUN_B   (exit 1 and a DIFF line per difference)
set -eu
a=$1 b=$2 bad=0
no_seconds() {
    python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
drop = [i for i, c in enumerate(rows[0]) if c == "seconds"]
for r in rows:
    print(",".join(c for i, c in enumerate(r) if i not in drop))' "$1"
}
if [ "$(no_seconds "$a/summary.csv")" = "$(no_seconds "$b/summary.csv")" ]; then
    echo "summary.csv figures identical"
else
    echo "DIFF summary.csv"; bad=1
fi
for d in "$a"/*/; do
    m=$(basename "$d")
    for f in model.safetensors layers.csv histograms.csv config.yaml; do
        cmp -s "$d/$f" "$b/$m/$f" || { echo "DIFF $m/$f"; bad=1; }
    done
    [ "$(no_seconds "$d/metrics.csv")" = "$(no_seconds "$b/$m/metrics.csv")" ] ||
        { echo "DIFF $m/metrics.csv"; bad=1; }
done
exit $bad
