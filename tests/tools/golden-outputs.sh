#!/usr/bin/env bash
# Runs the CLI over every bundled model, device and example and writes each
# command's stdout+stderr and exit status to one file per command in OUTDIR.
# Used to show that a refactor changes no output:
#   tests/tools/golden-outputs.sh OLD/build/opbound /tmp/a
#   tests/tools/golden-outputs.sh build/opbound /tmp/b && diff -r /tmp/a /tmp/b
# Run from the repository root (bundled names resolve through it).
set -u
bin=$1; out=$2
mkdir -p "$out"
n=0
root=$(pwd)
run() {  # run NAME ARGS...
  local name=$1; shift
  n=$((n + 1))
  "$bin" "$@" >"$out/$name.txt" 2>&1
  echo "exit $?" >>"$out/$name.txt"
  sed -i "s#$root#ROOT#g" "$out/$name.txt"   # outputs name the clone's path
}
run list-models list models
run list-hw list hw
run list-kinds list kinds
run schema schema
models=$(ls models/*.yaml | sed 's#models/##; s#\.yaml$##')
devs=$(ls hw/*.yaml | sed 's#hw/##; s#\.yaml$##')
for m in $models; do
  run "an-$m-h100-prefill" analyze "$m" --hw h100 --phase prefill --seq 2048 --per-op
  run "an-$m-h100-decode" analyze "$m" --hw h100 --phase decode --batch 16 --context 8192 --per-op
  run "an-$m-json" analyze "$m" --hw h200 --phase decode --batch 4 --context 4096 --format json
done
for d in $devs; do
  run "dev-$d" analyze llama-3-8b --hw "hw/$d.yaml" --phase decode --batch 8 --context 4096 --per-op
  run "dev-$d-csv" analyze mixtral-8x7b --hw "hw/$d.yaml" --phase prefill --seq 1024 --format csv
done
for e in examples/*.yaml; do
  b=$(basename "$e" .yaml)
  case $b in
    serve-*) run "ex-$b" serve "$e" --hw h100 ;;
    study-*|duplex-*) run "ex-$b" compare "$e" ;;
    *) run "ex-$b-decode" analyze "$e" --hw h100 --phase decode --batch 8 --context 16384 --per-op
       run "ex-$b-prefill" analyze "$e" --hw h100 --phase prefill --seq 4096 --format json ;;
  esac
done
run tp-llama70 analyze llama-3-70b --hw h100 --phase decode --batch 16 --context 8k --tp 4 --per-op
run cmp-three compare llama-3-8b mixtral-8x7b deepseek-v3 --hw h100 --phase decode --context 8k
echo "$n commands written to $out"
