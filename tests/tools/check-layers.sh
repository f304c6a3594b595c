#!/bin/sh
# check-layers.sh - the include arrows run one way (docs/architecture.md).
#
#   tests/tools/check-layers.sh [ROOT]     (ROOT: a source tree, default .)
#
# Reads every `#include "..."` line of the C/CUDA files in the layer folders
# and fails (exit 1) when a file includes upward or sideways, or when modules
# include each other in a cycle. Layers, lowest first (a file may include its
# own layer and any lower one):
#   0 core      sim/core/   foundations: graph, yml, err, dtype, tiles, opcost, catalog
#   1 models    models/     model descriptions and their lowering to op graphs
#   1 hw        hw/         device descriptions
#   2 engine    sim/*.c,h   analyze, eval, placement, calibrate, measure, serve, study
#   2 kernels   kernels/    CUDA kernels and their bench (use core's op costs only)
#   3 reports   reports/    tables, csv/json, gnuplot
#   4 commands  sim/cli/    argument parsing, one file per command, main
# models and hw are siblings: neither includes the other. A module is name.h +
# name.c in one folder (a header alone is a module too); an include between
# two modules is an arrow, and no arrows may form a cycle. tests/ may include
# anything and is not checked. Each finding is one line:
#   FILE:LINE: includes "X" (PATH): why that is wrong
set -u
root=${1:-.}
cd "$root" || exit 2
files=$(ls sim/core/*.[ch] sim/*.[ch] sim/cli/*.[ch] models/*.[ch] hw/*.[ch] reports/*.[ch] \
           kernels/*.cu kernels/*.h 2>/dev/null)
[ -n "$files" ] || { echo "check-layers: no sources under $root" >&2; exit 2; }
# shellcheck disable=SC2086
grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files /dev/null | awk '
function layer(p) {
    if (p ~ /^sim\/core\/[^\/]*$/) return "core"
    if (p ~ /^sim\/cli\/[^\/]*$/) return "commands"
    if (p ~ /^sim\/[^\/]*$/) return "engine"
    if (p ~ /^models\/[^\/]*$/) return "models"
    if (p ~ /^hw\/[^\/]*$/) return "hw"
    if (p ~ /^reports\/[^\/]*$/) return "reports"
    if (p ~ /^kernels\/[^\/]*$/) return "kernels"
    return ""
}
# "dir/../x/./y.h" -> "x/y.h"; "" when it climbs out of the tree
function norm(p,    n, i, k, a, out, s) {
    n = split(p, a, "/"); k = 0
    for (i = 1; i <= n; i++) {
        if (a[i] == "" || a[i] == ".") continue
        if (a[i] == "..") { if (k == 0) return ""; k--; continue }
        s[++k] = a[i]
    }
    out = ""
    for (i = 1; i <= k; i++) out = out (i > 1 ? "/" : "") s[i]
    return out
}
function module(p) { sub(/\.(c|h|cu)$/, "", p); return p }
BEGIN {
    rank["core"] = 0; rank["models"] = 1; rank["hw"] = 1; rank["engine"] = 2
    rank["kernels"] = 2; rank["reports"] = 3; rank["commands"] = 4
    order = "core < models, hw < engine < reports < commands (kernels: beside engine)"
    bad = 0; n_inc = 0
}
{
    # FILE:LINE:text
    file = $0; sub(/:.*/, "", file)
    rest = substr($0, length(file) + 2)
    line = rest; sub(/:.*/, "", line)
    inc = rest; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
    dir = file; if (dir ~ /\//) sub(/\/[^\/]*$/, "", dir); else dir = "."
    target = norm(dir "/" inc)
    n_inc++
    seen_file[file] = 1
    lf = layer(file); lt = layer(target)
    where = file ":" line ": includes \"" inc "\""
    if (target == "" || lt == "") {
        if (system("test -f \"" dir "/" inc "\"") == 0) next  # e.g. a kernel-local header
        printf "%s: no such file in the layer folders\n", where; bad++; next
    }
    if (system("test -f \"" target "\"") != 0) {
        printf "%s (%s): no such file\n", where, target; bad++; next
    }
    if (rank[lt] > rank[lf]) {
        printf "%s (%s): upward include: %s (%s) may not include %s (%s); the layers run %s\n",
               where, target, file, lf, target, lt, order
        bad++
    } else if (lt != lf && rank[lt] == rank[lf]) {
        printf "%s (%s): sideways include: %s and %s are sibling layers and neither includes " \
               "the other; move what both need down a layer\n", where, target, lf, lt
        bad++
    }
    a = module(file); b = module(target)
    if (a != b && !((a, b) in edge)) {
        edge[a, b] = file ":" line ": includes " target
        ewhere[a, b] = where " (" target ")"
        adj[a] = adj[a] " " b
        mods[a] = 1; mods[b] = 1
    }
}
END {
    # A cycle through the arrow a -> b exists when b reaches a: breadth-first
    # from b with parents, then the path is printed with the include behind
    # every arrow. Each cycle is reported once (keyed by its sorted modules).
    for (e in edge) {
        split(e, ab, SUBSEP); a = ab[1]; b = ab[2]
        delete par; delete vis
        qh = 1; qt = 1; q[1] = b; vis[b] = 1; found = 0
        while (qh <= qt && !found) {
            u = q[qh++]
            nn = split(adj[u], nb, " ")
            for (i = 1; i <= nn; i++) {
                v = nb[i]
                if (v in vis) continue
                vis[v] = 1; par[v] = u; q[++qt] = v
                if (v == a) { found = 1; break }
            }
        }
        if (!found) continue
        # path b .. a, reversed from the parents
        k = 0; v = a
        while (v != b) { path[++k] = v; v = par[v] }
        path[++k] = b
        cyc[1] = a; m = 1
        for (i = k; i >= 1; i--) cyc[++m] = path[i]   # a b ... a
        # key: the modules sorted
        delete srt; ns = 0
        for (i = 1; i < m; i++) srt[++ns] = cyc[i]
        for (i = 2; i <= ns; i++) for (j = i; j > 1 && srt[j] < srt[j - 1]; j--) {
            t = srt[j]; srt[j] = srt[j - 1]; srt[j - 1] = t }
        key = ""; for (i = 1; i <= ns; i++) key = key " " srt[i]
        if (key in reported) continue
        reported[key] = 1
        txt = cyc[1]; for (i = 2; i <= m; i++) txt = txt " -> " cyc[i]
        printf "%s: include cycle between modules: %s (", ewhere[cyc[1], cyc[2]], txt
        for (i = 1; i < m; i++) printf "%s%s", (i > 1 ? "; " : ""), edge[cyc[i], cyc[i + 1]]
        printf "); a module may not depend on itself: move the shared part into a lower module\n"
        bad++
    }
    nf = 0; for (f in seen_file) nf++
    if (bad) { printf "check-layers: %d problem(s) in %d includes\n", bad, n_inc; exit 1 }
    printf "check-layers: %d includes in %d files run one way, no module cycles (%s)\n", n_inc, nf, order
}'
