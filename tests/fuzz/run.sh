#!/usr/bin/env bash
# tests/fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]: runs
# build-fuzz/fuzz_TARGET for SECONDS on a scratch corpus seeded from the
# bundled files (Makefile FUZZ_SEEDS_TARGET), with its dictionary. Crashes go
# to build-fuzz/artifacts/. Exit status: libFuzzer's (0 = nothing found).
# docs/reliability.md says how the long runs were made.
set -u
cd "$(dirname "$0")/../.."
t=$1 secs=$2
shift 2
bin=build-fuzz/fuzz_$t
corpus=build-fuzz/corpus/$t
mkdir -p "$corpus" build-fuzz/artifacts
for f in $(make --no-print-directory -s fuzz-seeds-$t); do cp -n "$f" "$corpus"/ 2>/dev/null; done
dict=$(make --no-print-directory -s fuzz-dict-$t)
log=build-fuzz/fuzz_$t.log
"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$dict" -artifact_prefix=build-fuzz/artifacts/$t- -print_final_stats=1 "$@" \
    "$corpus" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
if [ $rc -eq 0 ]; then
  echo "fuzz $t: ${secs} s, ${execs:-?} executions, ${cov:-cov: ?}, no finding"
else
  echo "fuzz $t: FAILED (exit $rc); the log is $log, the input in build-fuzz/artifacts/"
  tail -40 "$log"
fi
exit $rc
