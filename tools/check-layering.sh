#!/bin/sh
# The layering of core/: its folders, lowest first, and what each may include.
#   usage: tools/check-layering.sh [ROOT]    check ROOT/core (ROOT: the checkout, default .)
#          tools/check-layering.sh --order   print the folders, lowest first
# A file in core/F/ may `#include "G/name.h"` (written relative to core/) only when G is F or a
# folder below F in ORDER; a bare `#include "name.h"` means core/F/name.h and must exist there.
# Public headers (<fanin/...>, also "fanin/..."), system headers and <...> includes are always
# allowed. It also fails when headers include each other (a.h -> b.h -> a.h, or a longer
# cycle), when a file includes a folder that is not in ORDER or a path outside core/ ("../"),
# and when a .c or .h lies directly in core/ or in a folder that is not in ORDER.
# Prints one line per violation, `core/engine/x.c:12: includes run/report.h (run is above
# engine)`, and exits 1; else prints `layering: N files, 0 violations` and exits 0 (2: usage).
set -eu

# THE order, lowest first: the one place it is written.
ORDER="base plugin config data io engine run api"

case "${1:-}" in
--order)
    echo "$ORDER"
    exit 0
    ;;
-h | --help)
    sed -n '2,12s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
-*)
    echo "check-layering: unknown option '$1' (usage: $0 [--order] [ROOT])" >&2
    exit 2
    ;;
esac
[ $# -le 1 ] || { echo "usage: $0 [--order] [ROOT]" >&2; exit 2; }
ROOT=${1:-.}
[ -d "$ROOT/core" ] || { echo "check-layering: no core/ folder in '$ROOT'" >&2; exit 2; }

LIST=$(mktemp "${TMPDIR:-/tmp}/check-layering.XXXXXX")
trap 'rm -f "$LIST"' EXIT INT TERM
# paths relative to core/, sorted so that the output is stable
(cd "$ROOT/core" && find . -type f \( -name '*.c' -o -name '*.h' \) | sed 's|^\./||' | LC_ALL=C sort) >"$LIST"

LC_ALL=C awk -v order="$ORDER" -v core="$ROOT/core" -v list="$LIST" '
function say(msg) { print msg; bad++ }
function folder(p) { return index(p, "/") ? substr(p, 1, index(p, "/") - 1) : "" }
function exists(p) { return (p in isfile) }
# depth-first search for include cycles; color 1 = on the current path, 2 = done
function dfs(u, depth,    i, v, k, cyc, key, start) {
    color[u] = 1; path[depth] = u; pos[u] = depth
    for (i = 1; i <= nadj[u]; i++) {
        v = adj[u, i]
        if (color[v] == 1) {
            start = pos[v]; cyc = ""
            for (k = start; k <= depth; k++) cyc = cyc path[k] " -> "
            cyc = cyc v
            # one report per cycle, whichever node the search entered it by
            key = canon(start, depth)
            if (!(key in seen)) {
                seen[key] = 1
                say("core/" u ":" adjline[u, i] ": includes " adjinc[u, i] " (include cycle: " cyc ")")
            }
        } else if (color[v] == 0) dfs(v, depth + 1)
    }
    color[u] = 2
}
# the cycle path[a..b] as the sorted list of its members (cycles with the same members count once)
function canon(a, b,    n, k, j, t, arr, s) {
    n = 0
    for (k = a; k <= b; k++) arr[++n] = path[k]
    for (k = 2; k <= n; k++) { t = arr[k]; for (j = k - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
    s = ""; for (k = 1; k <= n; k++) s = s "|" arr[k]
    return s
}
BEGIN {
    nl = split(order, layers, " ")
    for (i = 1; i <= nl; i++) rank[layers[i]] = i
    nfiles = 0; bad = 0
    while ((getline f < list) > 0) { files[++nfiles] = f; isfile[f] = 1 }
    close(list)
    for (n = 1; n <= nfiles; n++) {
        f = files[n]; F = folder(f)
        if (F == "") {
            say("core/" f ": lies directly in core/ (move it into one of: " order ")")
        } else if (!(F in rank)) {
            say("core/" f ": folder " F "/ is not a layer (the layers: " order ")")
        }
        line = 0; src = core "/" f
        while ((getline text < src) > 0) {
            line++
            if (text !~ /^[ \t]*#[ \t]*include[ \t]*"/) continue
            inc = text; sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", inc)
            if (index(inc, "\"") == 0) continue
            inc = substr(inc, 1, index(inc, "\"") - 1)
            if (inc ~ /^fanin\//) continue                     # public header, quoted
            at = "core/" f ":" line ": includes " inc
            if (inc ~ /^\// || inc ~ /(^|\/)\.\.?\//) {
                say(at " (write it as \"folder/name.h\" relative to core/)"); continue
            }
            G = folder(inc)
            if (G == "") {                                     # bare: the same folder
                if (F == "") continue                          # reported above
                target = F "/" inc
                if (!exists(target)) {
                    say(at " (no core/" target "; name its folder: \"folder/" inc "\")"); continue
                }
                G = F
            } else {
                target = inc
                if (!(G in rank)) {
                    say(at " (" G " is not a layer: " order ")"); continue
                }
            }
            if ((F in rank) && rank[G] > rank[F]) {
                say(at " (" G " is above " F ")")
            }
            if (exists(target) && target != f) {
                adj[f, ++nadj[f]] = target; adjline[f, nadj[f]] = line; adjinc[f, nadj[f]] = inc
            } else if (target == f) {
                say(at " (includes itself)")
            }
        }
        close(src)
    }
    for (n = 1; n <= nfiles; n++) if (color[files[n]] == 0) dfs(files[n], 1)
    if (bad) {
        printf "layering: %d files, %d violations\n", nfiles, bad > "/dev/stderr"
        exit 1
    }
    printf "layering: %d files, 0 violations\n", nfiles
}
'
