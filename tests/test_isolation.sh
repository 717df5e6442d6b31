#!/bin/sh
# Members isolated from each other (issue 13, docs/cluster.md "Members isolated"): in one
# process, with --jobs and under mpirun, a member whose initializer crashes (SIGSEGV) is
# recorded `crashed` with the signal and the plugin call in flight ("SIGSEGV in initializer
# misbehave_init (fill), layer 0"), one whose activation hangs past --timeout or train.timeout
# is `timeout` (the flag overrides the key), the rest of the sweep finishes, the summary is written and the exit code is 1.
# A full disk (a 1 MB tmpfs; skipped when mount is not allowed) marks the members that cannot
# write `failed` naming the file, keeps every earlier file, and --resume after space is freed
# completes the sweep. A data error before any member ran prints no "results in DIR".
# Usage: test_isolation.sh BUILD_DIR
set -u
BUILD="$1"
B="$BUILD/bin/fanin"
FIX="$BUILD/tests/fixtures"
T=$(mktemp -d)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$T/crash" "$T/hang"
cp "$FIX/mis_crash_fill.so" "$T/crash/" && cp "$FIX/mis_hang.so" "$T/hang/" || fail "fixtures missing"
cat > "$T/sw.yaml" <<'YAML'
name: sw
seed: 1
data: {source: synthetic, kind: moons, n: 200, noise: 0.1}
model:
  defaults: {activation: tanh, init: xavier_normal}
  layers: [{units: 8}, {units: 1, activation: sigmoid}]
loss: bce
optimizer: {name: sgd, lr: 0.5}
train: {iterations: 200, batch: 32, log_every: 50}
YAML
INITS='sweep.model.defaults.init=[xavier_normal, misbehave_init, he_normal, lecun_normal]'
INITS2='sweep.model.defaults.init=[xavier_normal, he_normal]'
for mode in "" "--jobs 2"; do
    out="$T/crash-out-${mode#--jobs }"
    FANIN_PLUGIN_PATH="$T/crash" "$B" run "$T/sw.yaml" --out "$out" -q $mode --set "$INITS" \
        > "$T/log" 2>&1
    code=$?
    [ $code -eq 1 ] || { cat "$T/log"; fail "crash ($mode): exit $code, not 1"; }
    grep -q '^01-misbehave_init,crashed,' "$out/summary.csv" || fail "crash ($mode): no crashed row"
    [ "$(grep -c ',done,' "$out/summary.csv")" -eq 3 ] || fail "crash ($mode): the others did not finish"
    grep -q "SIGSEGV in initializer misbehave_init (fill), layer 0$" "$out/01-misbehave_init/failed.txt" ||
        { cat "$out/01-misbehave_init/failed.txt"; fail "crash ($mode): failed.txt does not name the signal, the plugin call and the layer"; }
    grep -q "crashed: SIGSEGV" "$T/log" || fail "crash ($mode): not said on stderr"
    [ -s "$out/report.html" ] || fail "crash ($mode): no report"
done

# a data error before any member ran (with and without --jobs): exit 2, and no "results in DIR"
printf 'a,b,y\n1,2,0\n3,x,1\n4,5,0\n' > "$T/bad.csv"
sed 's|data: {source: synthetic, kind: moons, n: 200, noise: 0.1}|data: {source: csv, path: bad.csv, target: y}|' \
    "$T/sw.yaml" > "$T/bad.yaml"
for mode in "" "--jobs 2"; do
    "$B" run "$T/bad.yaml" --out "$T/bad-out" --overwrite $mode > "$T/log" 2>&1
    code=$?
    [ $code -eq 2 ] || { cat "$T/log"; fail "data error ($mode): exit $code, not 2"; }
    grep -q "bad.csv:3:2: 'x' is not a number" "$T/log" || fail "data error ($mode): no message"
    ! grep -q "results in" "$T/log" || fail "data error ($mode): says 'results in' with no results"
done

# a hanging activation: killed at the time limit (--timeout 1 overriding train.timeout: 100),
# the rest finishes
FANIN_PLUGIN_PATH="$T/hang" "$B" run "$T/sw.yaml" --out "$T/hang-out" -q --timeout 1 \
    --set train.timeout=100 \
    --set 'sweep.model.defaults.activation=[tanh, misbehave_act, relu]' > "$T/log" 2>&1
code=$?
[ $code -eq 1 ] || { cat "$T/log"; fail "hang: exit $code, not 1"; }
grep -q '^01-misbehave_act,timeout,' "$T/hang-out/summary.csv" || fail "hang: no timeout row"
[ "$(grep -c ',done,' "$T/hang-out/summary.csv")" -eq 2 ] || fail "hang: the others did not finish"
grep -q "killed after 1 s .* in activation misbehave_act (forward), layer 0$" \
    "$T/hang-out/01-misbehave_act/failed.txt" || { cat "$T/hang-out/01-misbehave_act/failed.txt"; fail "hang: failed.txt"; }
# the same limit from the experiment file alone (train.timeout), no flag
FANIN_PLUGIN_PATH="$T/hang" "$B" run "$T/sw.yaml" --out "$T/hang-key" -q \
    --set train.timeout=1 --set model.defaults.activation=misbehave_act > "$T/log" 2>&1
code=$?
[ $code -eq 1 ] || { cat "$T/log"; fail "train.timeout: exit $code, not 1"; }
grep -q '^sw,timeout,\|,timeout,' "$T/hang-key/summary.csv" || { cat "$T/hang-key/summary.csv"; fail "train.timeout: no timeout row"; }
grep -q "killed after 1 s" "$T/hang-key/failed.txt" "$T/hang-key"/*/failed.txt 2>/dev/null ||
    fail "train.timeout: failed.txt"

# under mpirun (when present): the crash is one member's row there too
if command -v mpirun >/dev/null 2>&1; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    FANIN_PLUGIN_PATH="$T/crash" mpirun --oversubscribe -x FANIN_PLUGIN_PATH -np 2 "$B" run \
        "$T/sw.yaml" --out "$T/mpi-out" -q --set "$INITS" > "$T/log" 2>&1
    code=$?
    if ! grep -q "built without MPI" "$T/log"; then
        [ $code -ne 0 ] || fail "mpi crash: exit 0"
        grep -q '^01-misbehave_init,crashed,' "$T/mpi-out/summary.csv" || { cat "$T/log"; fail "mpi: no crashed row"; }
        [ "$(grep -c ',done,' "$T/mpi-out/summary.csv")" -eq 3 ] || fail "mpi: the others did not finish"
    fi
fi

# members share a worker process (32 by default, FANIN_MEMBERS_PER_PROCESS): the figures and
# files equal a fresh process per member (=1), a worker replaced every 2 members, and
# --no-isolate; after a crash the rest runs in a fresh worker with the same results
figures() { # summary.csv without its seconds column
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") s = i } { $s = ""; print }' "$1"
}
same_run() { # RUN_A RUN_B what
    [ -s "$1/summary.csv" ] && [ -s "$2/summary.csv" ] || fail "$3: no summary"
    [ "$(figures "$1/summary.csv")" = "$(figures "$2/summary.csv")" ] || fail "$3: summary differs"
    for m in "$1"/*/model.safetensors; do
        d=$(basename "$(dirname "$m")")
        cmp -s "$m" "$2/$d/model.safetensors" || fail "$3: $d/model.safetensors differs"
        cmp -s "$1/$d/layers.csv" "$2/$d/layers.csv" || fail "$3: $d/layers.csv differs"
    done
}
SEEDS='sweep.seed=[1, 2, 3]'
"$B" run "$T/sw.yaml" --out "$T/w-32" -q --set "$SEEDS" --set "$INITS2" >/dev/null 2>&1 ||
    fail "worker: the sweep failed"
for alt in 1 2 inline; do
    if [ $alt = inline ]; then
        "$B" run "$T/sw.yaml" --out "$T/w-$alt" -q --no-isolate --set "$SEEDS" --set "$INITS2" >/dev/null 2>&1
    else
        FANIN_MEMBERS_PER_PROCESS=$alt "$B" run "$T/sw.yaml" --out "$T/w-$alt" -q --set "$SEEDS" \
            --set "$INITS2" >/dev/null 2>&1
    fi || fail "worker ($alt): the sweep failed"
    same_run "$T/w-32" "$T/w-$alt" "worker against $alt"
done
# a member's files are not fsync'd: after a power loss its row may say done and its model be
# empty; --resume runs such a member again (the others are kept: their folders untouched)
: > "$T/w-32/01-1-he_normal/model.safetensors"
touch -d '2000-01-01' "$T/w-32/00-1-xavier_normal/metrics.csv"
"$B" run --resume "$T/w-32" -q > "$T/log" 2>&1 || { cat "$T/log"; fail "resume after an empty model"; }
same_run "$T/w-32" "$T/w-1" "resume of an empty model"
[ -n "$(find "$T/w-32/00-1-xavier_normal/metrics.csv" ! -newermt '2001-01-01')" ] ||
    fail "resume of an empty model: a whole member was run again"
FANIN_PLUGIN_PATH="$T/crash" FANIN_MEMBERS_PER_PROCESS=1 "$B" run "$T/sw.yaml" --out "$T/crash-1" \
    -q --set "$INITS" > "$T/log" 2>&1
same_run "$T/crash-out-" "$T/crash-1" "crash, a process per member"

# a full disk
MNT="$T/small"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=1m tmpfs "$MNT" 2>"$T/mount.err"; then
    echo "ok (crash, timeout, worker); SKIP the full-disk part: $(cat "$T/mount.err")"
    MNT=""
    exit 0
fi
cat >> "$T/sw.yaml" <<'YAML'
sweep:
  seed: [1, 2, 3, 4]
YAML
# members long enough (~0.7 s each: a step of this net takes ~3 us) that member 1 is still training
# when the disk fills right after member 0's model appears; 20,000 steps lost that race
sed -i 's/iterations: 200/iterations: 200000/; s/log_every: 50/log_every: 100000/' "$T/sw.yaml"
"$B" run "$T/sw.yaml" --out "$MNT/run" -q > "$T/log" 2>&1 &
pid=$!
for _ in $(seq 3000); do [ -f "$MNT"/run/00-1/model.safetensors ] && break; sleep 0.01; done
dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null # the disk is full from here
wait $pid
code=$?
[ $code -eq 1 ] || { cat "$T/log"; fail "full disk: exit $code, not 1"; }
grep -q ',failed,' "$MNT/run/summary.csv" || { cat "$T/log"; fail "full disk: no failed row"; }
grep -q "failed: .*$MNT/run/0[1-3]-[0-9]/.*No space left on device" "$T/log" ||
    { cat "$T/log"; fail "full disk: the message does not name the file"; }
cp "$MNT/run/00-1/model.safetensors" "$T/kept.safetensors"
rm -f "$MNT/fill"
"$B" run --resume "$MNT/run" -q > "$T/log" 2>&1 || { cat "$T/log"; fail "resume after the full disk"; }
[ "$(grep -c ',done,' "$MNT/run/summary.csv")" -eq 4 ] || fail "resume did not complete the sweep"
cmp -s "$T/kept.safetensors" "$MNT/run/00-1/model.safetensors" || fail "member 0 was rewritten"
echo "ok: crash, timeout, mpirun crash, a worker for several members, full disk and resume"
