#!/usr/bin/env bash
# run.sh - the mutation check behind `make mutants` (docs/testing.md).
#
# Reads tests/mutants/list.txt: one mutant per line, four tab-separated
# fields: FILE, ORIGINAL (exact text, must occur exactly once in FILE),
# REPLACEMENT, DESCRIPTION; '#' starts a comment line. For each mutant, in a
# copy of the tree (never the tree itself): apply it, rebuild the library
# incrementally (one object recompiled, the tests relinked, not recompiled),
# run the non-sanitized test programs (fastest first, and the program that
# killed the previous mutant before them) and stop at the first that fails. A
# mutant is killed when a test program fails (or the build breaks: reported
# apart, not counted), survived when every program passes. A mutant whose
# ORIGINAL text is no longer in FILE (or not unique) is skipped with a notice,
# so the list stays usable while the code around it changes.
#
#   bash tests/mutants/run.sh [LIST] [FILTER]   FILTER: only descriptions/files matching it
# Exit status: 0 when no mutant survived, 1 otherwise, 2 on bad usage.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIST=${1:-$ROOT/tests/mutants/list.txt}
FILTER=${2:-}
JOBS=${MUTANT_JOBS:-2}
[ -f "$LIST" ] || { echo "mutants: no list $LIST" >&2; exit 2; }

WORK=$(mktemp -d /tmp/opbound-mutants-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TREE=$WORK/tree
mkdir -p "$TREE"
# the tracked files plus the untracked ones git does not ignore (work in progress)
(cd "$ROOT" && git ls-files -z -co --exclude-standard) | (cd "$ROOT" && xargs -0 cp --parents -t "$TREE" 2>/dev/null)
start=$(date +%s)
echo "mutants: building the copy in $TREE"
TESTS=$(cd "$TREE" && ls tests/test_*.c | sed 's|tests/\(.*\)\.c|build/tests/\1|')
# -O0 -g0: each mutant recompiles one file, and that compile dominates; the
# cost figures do not depend on the optimisation level (no fast-math).
MK="make -C $TREE -s CFLAGS=-O0"
if ! $MK -j"$JOBS" all $TESTS >"$WORK/build.log" 2>&1; then
  cat "$WORK/build.log"; echo "mutants: the unmutated tree does not build"; exit 2
fi
# fastest programs first (a mutant dies sooner), timed on the unmutated tree
ORDER=""
for t in $TESTS; do
  s=$(date +%s%N)
  if ! (cd "$TREE" && timeout 120 "./$t" >/dev/null 2>&1); then
    echo "mutants: $t fails on the unmutated tree; fix it first"; exit 2
  fi
  ORDER="$ORDER$(( ($(date +%s%N) - s) / 1000000 )) $t"$'\n'
done
ORDER=$(printf '%s' "$ORDER" | sort -n | awk '{print $2}')

total=0; killed=0; survived=0; skipped=0; broken=0
SURV=""
while IFS=$'\t' read -r file orig repl desc || [ -n "$file" ]; do
  case "$file" in ''|'#'*) continue ;; esac
  if [ -n "$FILTER" ] && ! printf '%s %s\n' "$file" "$desc" | grep -q -- "$FILTER"; then continue; fi
  src=$TREE/$file
  if [ ! -f "$src" ]; then
    echo "SKIP     $file: no such file ($desc)"; skipped=$((skipped + 1)); continue
  fi
  n=$(ORIG="$orig" python3 -c 'import os,sys; print(open(sys.argv[1]).read().count(os.environ["ORIG"]))' "$src")
  if [ "$n" != 1 ]; then
    echo "SKIP     $file: original text found $n times, not once: $orig ($desc)"
    skipped=$((skipped + 1)); continue
  fi
  total=$((total + 1))
  obj=$TREE/build/obj/${file%.c}.o
  cp -p "$src" "$WORK/orig.c"
  [ -f "$obj" ] && cp -p "$obj" "$WORK/orig.o"
  ORIG="$orig" REPL="$repl" python3 -c '
import os, sys
p = sys.argv[1]; s = open(p).read()
open(p, "w").write(s.replace(os.environ["ORIG"], os.environ["REPL"], 1))' "$src"
  verdict=survived; by=""
  # the library and the CLI, then each test program linked just before it runs
  # (a mutant killed early is not linked into the rest)
  if ! $MK -j"$JOBS" all >"$WORK/m.log" 2>&1; then
    verdict=broken
  else
    for t in $ORDER; do
      $MK "$t" >>"$WORK/m.log" 2>&1 || { verdict=broken; break; }
      if ! (cd "$TREE" && timeout 120 "./$t" >/dev/null 2>&1); then verdict=killed; by=${t#build/tests/}; break; fi
    done
  fi
  # restore the source (old time stamp) and its object, made newer than the
  # library so the next build re-archives it
  cp -p "$WORK/orig.c" "$src"
  if [ -f "$WORK/orig.o" ]; then cp "$WORK/orig.o" "$obj"; touch "$obj"; rm -f "$WORK/orig.o"; fi
  case $verdict in
    killed) killed=$((killed + 1))
            # move the killer to the front: neighbouring mutants tend to die by the same program
            ORDER="build/tests/$by"$'\n'"$(printf '%s\n' "$ORDER" | grep -vx "build/tests/$by")"
            printf 'killed   %-28s by %-16s %s\n' "$file" "$by" "$desc" ;;
    survived) survived=$((survived + 1)); SURV="$SURV  $file: $desc"$'\n'
              printf 'SURVIVED %-28s %s\n' "$file" "$desc" ;;
    broken) broken=$((broken + 1)); total=$((total - 1))
            printf 'BROKEN   %-28s %s (does not build; not counted)\n' "$file" "$desc" ;;
  esac
done <"$LIST"

el=$(( $(date +%s) - start ))
echo
echo "mutants: $total applied, $killed killed, $survived survived, $skipped skipped, $broken did not build ($((el / 60)) min $((el % 60)) s)"
if [ "$total" -gt 0 ]; then
  awk -v k="$killed" -v t="$total" 'BEGIN { printf "mutants: kill rate %.1f%% (%d of %d)\n", 100 * k / t, k, t }'
fi
if [ "$survived" -gt 0 ]; then printf 'survivors:\n%s' "$SURV"; exit 1; fi
exit 0
