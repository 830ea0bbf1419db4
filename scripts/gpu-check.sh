#!/usr/bin/env bash
# Checks pgcnn's CUDA backend on a GPU machine that has CUDA 13 under /usr/local/cuda
# (libcuda, libnvrtc, libcublas) but no Rust toolchain and no network. Two steps:
#
#   scripts/gpu-check.sh build   # on the development machine: the release binary and the
#                                # comparison-test executables, into target/gpu-check/
#   scripts/gpu-check.sh run     # on the GPU machine, from the repository root, with
#                                # target/gpu-check/ copied along (a few minutes)
#
# `run` does, in order: the comparison tests against the reference on the GPU — every
# primitive, the fused normalisation, a small network, and training steps of small partial
# G-CNNs (PGCNN_REQUIRE_CUDA=1: no silent skip); a short
# training run on CUDA and on the CPU, to compare their losses; `pgcnn bench` on the
# BENCHMARKS.md configs; and prints a table of training-step times against the reference
# implementation's H100 figures last. It exits non-zero when a test fails or a bench
# cannot run.
#
# The trainer's command lines are variables, overridable from the environment:
#   PGCNN_TRAIN_ARGS  arguments of the short run, without --device
#   PGCNN_BENCH_ARGS  arguments of each bench, without --device and --config
#   PGCNN_CONFIGS     which configs to bench (names from BENCHMARKS.md)
# `pgcnn bench` must print its median training-step time as `train_step_ms=<ms>` (or a
# JSON field "train_step_ms"), and `eval_forward_ms`, `launches_per_step` and
# `host_waits_per_step` likewise if it measures them.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=${PGCNN_GPU_BUNDLE:-target/gpu-check}
TRAIN_ARGS=${PGCNN_TRAIN_ARGS:-train --preset small_se2_partial --set dataset=rotmnist-synthetic --epochs 1 --max-steps 60 --seed 0 --no-progress --out target/gpu-check-run}
BENCH_ARGS=${PGCNN_BENCH_ARGS:-bench --batch 64 --warmup 5 --steps 20}
CONFIGS=${PGCNN_CONFIGS:-small_se2_partial rotmnist_se2_partial rotmnist_t2 rotmnist_se2_full rotmnist_e2_partial cifar10_se2_partial mnist6_180_se2_partial}

# Training-step medians of the reference implementation on the H100 (BENCHMARKS.md).
declare -A REFERENCE_MS=(
    [rotmnist_t2]=19.1 [rotmnist_se2_full]=23.5 [rotmnist_se2_partial]=29.0
    [rotmnist_e2_partial]=50.4 [mnist6_180_se2_partial]=82.3
    [cifar10_se2_partial]=44.5 [small_se2_partial]=30.9
)

build() {
    echo "== building the release binary and the comparison tests"
    cargo build --release -p pgcnn
    local tests
    tests=$(cargo test --release -p pgcnn-tests --test cuda_primitives --test cuda_network \
        --test cuda_norm --test cuda_models --no-run --message-format=json |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"].startswith("cuda_"):
        print(m["target"]["name"], m["executable"])')
    [[ $(wc -l <<<"$tests") -eq 4 ]] || { echo "expected four test executables, got: $tests" >&2; exit 1; }
    rm -rf "$BUNDLE" && mkdir -p "$BUNDLE"
    cp target/release/pgcnn "$BUNDLE/pgcnn"
    local name exe
    while read -r name exe; do cp "$exe" "$BUNDLE/$name"; done <<<"$tests"
    # Line tables stay out: the bundle travels with a 64 MiB limit. Symbols stay, for
    # readable backtraces.
    strip --strip-debug "$BUNDLE/pgcnn" "$BUNDLE/cuda_primitives" "$BUNDLE/cuda_network" "$BUNDLE/cuda_norm" "$BUNDLE/cuda_models"
    git rev-parse HEAD >"$BUNDLE/commit" 2>/dev/null || true
    du -sh "$BUNDLE"/*
    echo "now: scripts/gpu-check.sh run (on the GPU machine, with $BUNDLE copied along)"
}

# The value of `key` in a bench's output (key=1.5, key: 1.5 or "key": 1.5), or "-".
field() {
    grep -oE "\"?$1\"?[[:space:]]*[=:][[:space:]]*[0-9.]+" <<<"$2" | tail -1 | grep -oE '[0-9.]+$' || echo "-"
}

run() {
    export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export RUST_BACKTRACE=1
    local pgcnn="$BUNDLE/pgcnn" failed=0
    [[ -x "$pgcnn" && -x "$BUNDLE/cuda_primitives" && -x "$BUNDLE/cuda_network" && -x "$BUNDLE/cuda_norm" && -x "$BUNDLE/cuda_models" ]] ||
        { echo "no bundle in $BUNDLE: run 'scripts/gpu-check.sh build' first" >&2; exit 1; }
    echo "== bundle of commit $(cat "$BUNDLE/commit" 2>/dev/null || echo unknown)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

    echo "== comparison tests (GPU against the reference)"
    tests="passed"
    local t
    for t in cuda_primitives cuda_network cuda_norm cuda_models; do
        # Only the GPU tests (and the missing-device check): the emulator's need g++.
        PGCNN_REQUIRE_CUDA=1 timeout 240 "$BUNDLE/$t" gpu_ missing_devices --test-threads 1 --nocapture ||
            { tests="FAILED"; failed=1; }
    done

    echo "== short training run: CUDA, then CPU"
    local device
    for device in cuda cpu; do
        echo "-- $device: pgcnn $TRAIN_ARGS --device $device"
        # shellcheck disable=SC2086 # the arguments are meant to split
        timeout 240 "$pgcnn" $TRAIN_ARGS --device "$device" 2>&1 | tee "$BUNDLE/train-$device.log" | tail -15 ||
            { echo "(training on $device failed)"; failed=1; }
    done
    echo "-- losses (first and last lines that mention one):"
    for device in cuda cpu; do
        echo "   $device: $(grep -i loss "$BUNDLE/train-$device.log" | head -1)"
        echo "   $device: $(grep -i loss "$BUNDLE/train-$device.log" | tail -1)"
    done

    echo "== pgcnn bench"
    local cfg out rows=()
    for cfg in $CONFIGS; do
        echo "-- $cfg: pgcnn $BENCH_ARGS --device cuda --config $cfg"
        # shellcheck disable=SC2086
        if out=$(timeout 180 "$pgcnn" $BENCH_ARGS --device cuda --config "$cfg" 2>&1); then
            echo "$out" | tail -8
        else
            echo "$out" | tail -8
            echo "(bench of $cfg failed)"
            failed=1
        fi
        rows+=("$cfg $(field train_step_ms "$out") $(field eval_forward_ms "$out") $(field launches_per_step "$out") $(field host_waits_per_step "$out")")
        [[ "$(field train_step_ms "$out")" != "-" ]] || { echo "(no train_step_ms in the output)"; failed=1; }
    done

    echo
    echo "== summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo GPU))"
    echo "comparison tests: $tests"
    printf '%-24s %12s %12s %14s %8s %10s %6s\n' config "step (ms)" "eval (ms)" "reference (ms)" faster \
        launches waits
    local row name step eval launches waits ref faster
    for row in "${rows[@]}"; do
        read -r name step eval launches waits <<<"$row"
        ref=${REFERENCE_MS[$name]:-"-"}
        faster="?"
        if [[ "$step" != "-" && "$ref" != "-" ]]; then
            faster=$(awk -v a="$step" -v b="$ref" 'BEGIN { print (a < b) ? "yes" : "NO" }')
        fi
        printf '%-24s %12s %12s %14s %8s %10s %6s\n' "$name" "$step" "$eval" "$ref" "$faster" \
            "$launches" "$waits"
    done
    return "$failed"
}

case "${1:-}" in
    build) build ;;
    run) run ;;
    *)
        echo "usage: scripts/gpu-check.sh build|run" >&2
        exit 2
        ;;
esac
