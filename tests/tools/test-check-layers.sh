#!/bin/sh
# test-check-layers.sh - the layer check passes on this tree and fails, naming
# the file, the line and the reason, on copies with one bad include injected:
# upward, sideways (models <-> hw), a module cycle, and a missing file.
#   tests/tools/test-check-layers.sh      (from the repository root; exit 0 = all passed)
set -u
here=$(cd "$(dirname "$0")" && pwd)
check="$here/check-layers.sh"
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fails=0
sh "$check" . >"$tmp/out" 2>&1 || { echo "FAIL: the tree itself: $(cat "$tmp/out")"; fails=$((fails + 1)); }

# case NAME FILE TEXT EXPECT...: a fresh copy, TEXT appended to FILE as a new
# last line; the check must exit 1 and print every EXPECT (fixed strings).
case_() {
    name=$1; file=$2; text=$3; shift 3
    rm -rf "$tmp/t"; mkdir -p "$tmp/t/sim"
    cp -r sim/core sim/cli "$tmp/t/sim/" && cp sim/*.[ch] "$tmp/t/sim/" &&
        cp -r models hw reports kernels "$tmp/t/" || exit 2
    printf '%s\n' "$text" >>"$tmp/t/$file"
    line=$(wc -l <"$tmp/t/$file" | tr -d ' ')
    sh "$check" "$tmp/t" >"$tmp/out" 2>&1; rc=$?
    ok=1
    [ $rc -eq 1 ] || ok=0
    grep -qF "$file:$line: includes" "$tmp/out" || ok=0  # where, as FILE:LINE
    for want in "$@"; do grep -qF "$want" "$tmp/out" || ok=0; done
    if [ $ok = 1 ]; then echo "ok: $name"; else
        echo "FAIL: $name (exit $rc):"; cat "$tmp/out"; fails=$((fails + 1)); fi
}
case_ "upward: models includes the engine" models/model.c '#include "../sim/analyze.h"' \
    "upward include: models/model.c (models) may not include sim/analyze.h (engine)"
case_ "upward: core includes models" sim/core/graph.h '#include "../../models/model.h"' \
    "upward include: sim/core/graph.h (core) may not include models/model.h (models)"
case_ "upward: engine includes reports" sim/serve.c '#include "../reports/fmt.h"' \
    "may not include reports/fmt.h (reports)"
case_ "upward: reports include a command" reports/fmt.c '#include "../sim/cli/cli.h"' \
    "may not include sim/cli/cli.h (commands)"
case_ "sideways: hw includes models" hw/device.c '#include "../models/model.h"' \
    "sideways include: hw and models are sibling layers"
case_ "cycle: dtype.h includes graph.h" sim/core/dtype.h '#include "graph.h"' \
    "include cycle between modules: sim/core/dtype -> sim/core/graph -> sim/core/dtype"
case_ "missing file" reports/plot.c '#include "nonexistent.h"' "no such file"
[ $fails -eq 0 ] && echo "test-check-layers: all passed" || { echo "test-check-layers: $fails failed"; exit 1; }
