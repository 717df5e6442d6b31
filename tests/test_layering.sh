#!/bin/sh
# tools/check-layering.sh: passes on the real core/ (checked on a copy), and fails, naming
# them, on copies with a deliberate back-include, an include cycle, a file directly in core/
# and an include of a folder that is not a layer; passes on a small tree that keeps the rules.
# usage: tests/test_layering.sh BUILD_OR_SRC   (the build folder, whose CMakeCache.txt names
#        the sources, or the source tree itself; without either, the checkout this file is in)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
SRC=$here
if [ $# -ge 1 ]; then
    if [ -d "$1/core" ]; then
        SRC=$(cd "$1" && pwd)
    elif [ -f "$1/CMakeCache.txt" ]; then
        home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt")
        [ -n "$home" ] && [ -d "$home/core" ] && SRC=$home
    fi
fi
CHECK=$SRC/tools/check-layering.sh
[ -d "$SRC/core" ] || { echo "test_layering: no core/ in $SRC" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/fanin-layering.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ ! -s "$T/out" ] || sed 's/^/    # /' "$T/out"; }

# a fresh copy of the real core/ in $T/NAME; prints its path
copy() { rm -rf "${T:?}/$1"; mkdir -p "$T/$1"; cp -R "$SRC/core" "$T/$1/core"; echo "$T/$1"; }
# run the check on ROOT into $T/out; its exit code into $rc
check() { rc=0; sh "$CHECK" "$1" >"$T/out" 2>&1 || rc=$?; }
# expect_fail NAME ROOT PATTERN...: exit 1 and every fixed-string PATTERN in the output
expect_fail() {
    name=$1; root=$2; shift 2
    check "$root"
    if [ "$rc" -ne 1 ]; then not_ok "$name (exit $rc, want 1)"; return; fi
    for p in "$@"; do
        if ! grep -qF -- "$p" "$T/out"; then not_ok "$name (no line with: $p)"; return; fi
    done
    ok "$name"
}
# append LINE to FILE as a line of its own; prints the line's number
append() {
    [ -z "$(tail -c 1 "$1")" ] || echo >>"$1"
    printf '%s\n' "$2" >>"$1"
    wc -l <"$1" | tr -d ' '
}
# the first .c (else .h) in core/FOLDER of ROOT, relative to ROOT/core
first_in() {
    f=$(cd "$1/core" && find "$2" -maxdepth 1 -type f -name '*.c' 2>/dev/null | LC_ALL=C sort | head -n 1)
    [ -n "$f" ] || f=$(cd "$1/core" && find "$2" -maxdepth 1 -type f -name '*.h' 2>/dev/null | LC_ALL=C sort | head -n 1)
    echo "$f"
}

# 1. --order: the eight layers, lowest first
if [ "$(sh "$CHECK" --order)" = "base plugin config data io engine run api" ]; then ok "--order"
else not_ok "--order prints '$(sh "$CHECK" --order)'"; fi

# 2. a small tree that keeps the rules passes: same folder (bare and named), lower layers,
#    public and system headers
S=$T/synthetic
mkdir -p "$S/core/base" "$S/core/engine" "$S/core/run"
printf '#include "a.h"\n#include "base/a.h"\n#include <stdio.h>\n#include <fanin/fanin.h>\n' >"$S/core/base/a.c"
printf '#ifndef A_H\n#define A_H\n#include <stddef.h>\n#endif\n' >"$S/core/base/a.h"
printf '#include "engine/e.h"\n#include "base/a.h"\n#include "fanin/plugin.h"\n' >"$S/core/engine/e.c"
printf '#include "base/a.h"\n' >"$S/core/engine/e.h"
printf '#include "run/r.h"\n#include "engine/e.h"\n#include "base/a.h"\n' >"$S/core/run/r.c"
printf '#include "engine/e.h"\n' >"$S/core/run/r.h"
check "$S"
if [ "$rc" -eq 0 ] && grep -qx 'layering: 6 files, 0 violations' "$T/out"; then ok "a tree that keeps the rules passes"
else not_ok "a tree that keeps the rules passes (exit $rc)"; fi

# 3. the same tree with a back-include from base into run
printf '#include "run/r.h"\n' >>"$S/core/base/a.c"
expect_fail "synthetic back-include base -> run" "$S" "core/base/a.c:5: includes run/r.h (run is above base)"

# 4. the real core/ passes
check "$SRC"
if [ "$rc" -eq 0 ] && grep -q '^layering: [0-9][0-9]* files, 0 violations$' "$T/out"; then
    ok "the real core/ passes ($(cat "$T/out"))"
else
    not_ok "the real core/ passes (exit $rc)"
fi

# 5. a back-include into the real tree: a core/base file including run/run.h
R=$(copy back)
f=$(first_in "$R" base)
if [ -z "$f" ]; then
    not_ok "back-include: no file in core/base/"
else
    n=$(append "$R/core/$f" '#include "run/run.h"')
    expect_fail "back-include core/$f -> run/run.h" "$R" \
        "core/$f:$n: includes run/run.h (run is above base)"
fi

# 6. a mutual include pair in the real tree's core/base (one bare, one named)
R=$(copy mutual)
printf '#include "zz_mutual_b.h"\n' >"$R/core/base/zz_mutual_a.h"
printf '#include "base/zz_mutual_a.h"\n' >"$R/core/base/zz_mutual_b.h"
expect_fail "mutual include a.h <-> b.h" "$R" "include cycle: base/zz_mutual_a.h -> base/zz_mutual_b.h -> base/zz_mutual_a.h"

# 7. a longer cycle across folders (engine -> config -> engine is also a back-include)
R=$(copy cycle3)
mkdir -p "$R/core/config" "$R/core/engine"
printf '#include "engine/zz_cyc_2.h"\n' >"$R/core/engine/zz_cyc_1.h"
printf '#include "config/zz_cyc_3.h"\n' >"$R/core/engine/zz_cyc_2.h"
printf '#include "engine/zz_cyc_1.h"\n' >"$R/core/config/zz_cyc_3.h"
expect_fail "three-header cycle" "$R" \
    "include cycle: config/zz_cyc_3.h -> engine/zz_cyc_1.h -> engine/zz_cyc_2.h -> config/zz_cyc_3.h" \
    "core/config/zz_cyc_3.h:1: includes engine/zz_cyc_1.h (engine is above config)"

# 8. a .c directly in core/
R=$(copy stray)
printf 'int zz_stray;\n' >"$R/core/zz_stray.c"
expect_fail "a file directly in core/" "$R" "core/zz_stray.c: lies directly in core/"

# 9. an include of a folder that is not a layer, and a file in such a folder
R=$(copy unknown)
mkdir -p "$R/core/util"
printf 'int zz_util;\n' >"$R/core/util/zz_util.h"
f=$(first_in "$R" engine)
if [ -z "$f" ]; then
    not_ok "unknown folder: no file in core/engine/"
else
    n=$(append "$R/core/$f" '#include "util/zz_util.h"')
    expect_fail "an include of a folder that is not a layer" "$R" \
        "core/$f:$n: includes util/zz_util.h (util is not a layer" \
        "core/util/zz_util.h: folder util/ is not a layer"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
