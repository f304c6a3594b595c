#!/usr/bin/env bash
# tests/malformed/run.sh OPBOUND: runs every case of tests/malformed/cases.txt
# (written by gen.py) with the given binary, each in an empty scratch folder,
# and checks that it
#   - exits with status 2 within 20 s (no crash, no hang),
#   - prints as its first stderr line FILE:LINE:COL: (or the command's prefix
#     for command-line cases) followed by a message holding the expected words,
#   - leaves the scratch folder empty (no output or temporary file).
# {} in a command is the case file, {R} the repository. Prints one line per
# failure and the count; exit status 0 only when every case passed.
set -u
set -f
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/opbound-malformed-XXXXXX")
trap 'rm -rf "$work"' EXIT
n=0 failed=0
while IFS= read -r line; do
  case "$line" in '#'*|'') continue ;; esac
  rel=${line%% | *}; rest=${line#* | }
  cmd=${rest%% | *}; rest=${rest#* | }
  prefix=${rest%% | *}; want=${rest#* | }
  [ "$want" = "$rest" ] && want=""
  file="$root/tests/malformed/$rel"
  cmd=${cmd//\{\}/$file}; cmd=${cmd//\{R\}/$root}
  prefix=${prefix//\{\}/$file}; prefix=${prefix//\{R\}/$root}
  n=$((n + 1))
  scratch="$work/case"
  rm -rf "$scratch"; mkdir "$scratch"
  (cd "$scratch" && exec timeout 20 "$bin" $cmd >"$work/out" 2>"$work/err" </dev/null)
  rc=$?
  first=$(head -n 1 "$work/err")
  left=$(ls -A "$scratch")
  why=""
  if [ $rc -ne 2 ]; then why="exit status $rc, want 2"
  elif [ "${first#"$prefix"}" = "$first" ] && [ -n "$prefix" ]; then why="first line does not start with '$prefix'"
  elif [ -n "$want" ] && [ "${first#*"$want"}" = "$first" ]; then why="first line does not hold '$want'"
  elif [ -n "$left" ]; then why="left behind: $left"
  fi
  if [ -n "$why" ]; then
    failed=$((failed + 1))
    echo "FAIL $rel: $why"
    echo "     got: $first"
  fi
done < "$root/tests/malformed/cases.txt"
echo "malformed corpus: $n cases, $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
