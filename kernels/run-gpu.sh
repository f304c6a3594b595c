#!/usr/bin/env bash
# kernels/run-gpu.sh - the whole GPU run in one call, sized for a short lease
# (at most 8 minutes on an H100): device facts, build, check-only, measure
# every kernel and the cuBLAS baselines, `opbound validate` and `opbound
# calibrate` on the result, our timings beside the library's at the same
# shapes (compare_library.py), then compute-sanitizer memcheck and racecheck
# (last, so a slow sanitizer cannot cost the measurements).
#
# usage: bash kernels/run-gpu.sh [OUT_DIR]
#   OUT_DIR defaults to $OUT when set, else kernels/measurements/run-<UTC time>.
# Everything lands in OUT_DIR: one log per step, measurements.csv,
# h100-calibrated.yaml, validate-*.txt, steps.txt (step, exit status,
# seconds; a failing step is recorded and the run goes on) and summary.txt.
# Each step runs under `timeout`, never past the overall deadline.
#
# Without libyaml on the GPU machine `opbound` cannot be built there: build
# `make opbound-static` here and carry build/opbound-static (the bench itself
# needs no libyaml). To add a step: one `step` line below.
set -u
cd "$(dirname "$0")/.." || exit 1
OUT_DIR=${1:-${OUT:-kernels/measurements/run-$(date -u +%Y%m%d-%H%M%S)}}
mkdir -p "$OUT_DIR" || exit 1
export PATH="/usr/local/cuda/bin:$PATH" OPBOUND_DATA="$PWD"
TOTAL_S=${RUN_GPU_TOTAL_S:-470}
DEADLINE=$(( $(date +%s) + TOTAL_S ))
STEPS="$OUT_DIR/steps.txt"
: > "$STEPS"
FAILED=0

# step NAME BUDGET_S CMD...: runs CMD with its output in NAME.log, bounded by
# its budget and the overall deadline; records "NAME rc SECONDS" in steps.txt.
step() {
    local name=$1 budget=$2 left t0 rc
    shift 2
    left=$(( DEADLINE - $(date +%s) ))
    if [ "$left" -lt 5 ]; then
        echo "$name SKIPPED (out of time)" | tee -a "$STEPS"
        FAILED=$((FAILED + 1))
        return 1
    fi
    [ "$budget" -gt "$left" ] && budget=$left
    echo "== $name (at most ${budget}s): $*"
    t0=$(date +%s)
    timeout --kill-after=10 "$budget" bash -c '"$@"' _ "$@" > "$OUT_DIR/$name.log" 2>&1
    rc=$?
    [ "$rc" -eq 124 ] && echo "(timed out after ${budget}s)" >> "$OUT_DIR/$name.log"
    echo "$name rc=$rc $(( $(date +%s) - t0 ))s" | tee -a "$STEPS"
    tail -n 4 "$OUT_DIR/$name.log" | sed 's/^/   /'
    [ "$rc" -eq 0 ] || FAILED=$((FAILED + 1))
    return "$rc"
}

device_facts() {
    date -u +"date: %Y-%m-%dT%H:%M:%SZ"
    echo "git: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    nvidia-smi
    nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.draw,power.limit,temperature.gpu --format=csv
    nvcc --version
    command -v compute-sanitizer || echo "compute-sanitizer: not found"
}

build_bench() {
    if make --no-print-directory -j4 NVCC_THREADS=4 kernels; then return 0; fi
    # another host compiler may warn where ours does not: retry without -Werror
    echo "make kernels failed; retrying without -Werror"
    if make --no-print-directory -j4 NVCC_THREADS=4 WARN="-Wall -Wextra" kernels; then return 0; fi
    if [ -x build/kernels/bench ]; then
        echo "make kernels failed; using the carried build/kernels/bench"
        return 0
    fi
    return 1
}

pick_opbound() {
    make --no-print-directory -j4 build/opbound || make --no-print-directory -j4 WARN="-Wall -Wextra" build/opbound || true
    for o in build/opbound build/opbound-static; do
        if [ -x "$o" ] && "$o" --help > /dev/null 2>&1; then
            echo "using $o"
            echo "$o" > "$OUT_DIR/.opbound"
            return 0
        fi
    done
    echo "no runnable opbound (libyaml missing?): carry build/opbound-static, or run validate and calibrate on the host"
    return 1
}

export OUT_DIR
export -f device_facts build_bench pick_opbound
CSV="$OUT_DIR/measurements.csv"
step device 20 device_facts
step build 200 build_bench
step check 150 build/kernels/bench --check-only
step measure 200 build/kernels/bench --all -o "$CSV"
if step opbound 60 pick_opbound; then
    OPBOUND=$(tail -n 1 "$OUT_DIR/.opbound")
    step validate-datasheet 20 "$OPBOUND" validate "$CSV" --hw h100
    step calibrate 30 "$OPBOUND" calibrate "$CSV" --hw h100 -o "$OUT_DIR/h100-calibrated.yaml"
    step validate-calibrated 20 "$OPBOUND" validate "$CSV" --hw "$OUT_DIR/h100-calibrated.yaml"
    for v in validate-datasheet calibrate validate-calibrated; do
        cp "$OUT_DIR/$v.log" "$OUT_DIR/$v.txt" 2>/dev/null
    done
fi
step compare-library 20 python3 kernels/compare_library.py "$CSV"
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$SAN" ]; then
    step memcheck 90 "$SAN" --tool memcheck --error-exitcode 3 build/kernels/bench --check-only --no-large
    step racecheck 90 "$SAN" --tool racecheck --error-exitcode 3 build/kernels/bench --check-only --no-large
else
    echo "sanitize SKIPPED (compute-sanitizer not installed)" | tee -a "$STEPS"
fi

{
    echo "run-gpu.sh: $FAILED step(s) failed; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cat "$STEPS"
    echo
    grep -E "^ceilings|^check" "$OUT_DIR/check.log" "$OUT_DIR/measure.log" 2>/dev/null
    echo
    grep -E "_decode|_prefill|gemm|launch|mla_compose" "$OUT_DIR/measure.log" 2>/dev/null
    echo
    grep -E "^ratio" "$OUT_DIR/measure.log" 2>/dev/null
    echo
    cat "$OUT_DIR/compare-library.log" 2>/dev/null
    echo
    grep -iE "median|held|class" "$OUT_DIR/calibrate.log" 2>/dev/null | head -20
} > "$OUT_DIR/summary.txt"
cat "$OUT_DIR/summary.txt"
[ "$FAILED" -eq 0 ]
