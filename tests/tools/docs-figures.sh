#!/usr/bin/env bash
# docs-figures.sh - every figure docs/ quotes that the CLI prints is rerun and
# compared as printed (`make docs-check`, part of `make check`).
#
# Reads tests/tools/docs-figures.txt: one figure per line, TAB-separated:
#   DOC  DOC_KEY  DOC_FIGURE  COMMAND  OUT_KEY  [OUT_FIGURE]
# The first line of DOC containing DOC_KEY must contain DOC_FIGURE, and the
# first line printed by `opbound COMMAND` containing OUT_KEY must contain
# OUT_FIGURE (default: DOC_FIGURE). '#' starts a comment line. When the tool's
# output changes, rerun the command and update the doc and that one line.
#
#   bash tests/tools/docs-figures.sh [path/to/opbound]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/build/opbound}
LIST=$ROOT/tests/tools/docs-figures.txt
cd "$ROOT" || exit 2
declare -A CACHE
n=0; bad=0
while IFS=$'\t' read -r doc dkey dfig cmd okey ofig || [ -n "$doc" ]; do
  case "$doc" in ''|'#'*) continue ;; esac
  n=$((n + 1))
  ofig=${ofig:-$dfig}
  dline=$(grep -F -m1 -- "$dkey" "$doc")
  if [ -z "$dline" ]; then
    echo "docs-figures: $doc: no line contains '$dkey'"; bad=$((bad + 1)); continue
  fi
  case "$dline" in
    *"$dfig"*) ;;
    *) echo "docs-figures: $doc: the line with '$dkey' does not quote '$dfig':"; echo "  $dline"
       bad=$((bad + 1)); continue ;;
  esac
  if [ -z "${CACHE[$cmd]+x}" ]; then
    CACHE[$cmd]=$($BIN $cmd 2>&1) || { echo "docs-figures: 'opbound $cmd' failed:"; echo "${CACHE[$cmd]}"; }
  fi
  oline=$(printf '%s\n' "${CACHE[$cmd]}" | grep -F -m1 -- "$okey")
  case "$oline" in
    *"$ofig"*) ;;
    *) echo "docs-figures: $doc quotes '$dfig' ($dkey), but 'opbound $cmd' prints:"
       echo "  ${oline:-(no line containing '$okey')}"; bad=$((bad + 1)) ;;
  esac
done <"$LIST"
if [ "$bad" -gt 0 ]; then
  echo "docs-figures: $bad of $n figures differ from what the tool prints (tests/tools/docs-figures.txt)"
  exit 1
fi
echo "docs-figures: all $n figures quoted in docs/ match the tool's output"
