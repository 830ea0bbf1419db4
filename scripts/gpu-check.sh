#!/usr/bin/env bash
# Checks pgcnn's CUDA backend on a GPU machine that has CUDA 13 under /usr/local/cuda
# (libcuda, libnvrtc, libcublas) but no Rust toolchain and no network. Two steps:
#
#   scripts/gpu-check.sh build   # on the development machine: the release binary and the
#                                # comparison-test executables, into target/gpu-check/
#   scripts/gpu-check.sh run     # on the GPU machine, from the repository root, with
#                                # target/gpu-check/ copied along (a few minutes)
#
# `run` does, in order: the comparison tests against the reference on the GPU — the
# conformance suite (every primitive), a small network, and training steps of small partial
# G-CNNs (PGCNN_REQUIRE_CUDA=1: no silent skip); a short training run on CUDA and on the
# CPU, whose per-epoch losses it sets side by side; `pgcnn bench` on the benchmark configs
# (docs/benchmarks.md); and prints a table of training-step times against the reference
# implementation's H100 figures last (figures from another machine: a hint, not a
# comparison; docs/benchmarks.md §3 says how speed is compared). It exits non-zero when a
# test fails, a loss does not fall, or a bench cannot run.
#
# The whole run keeps to a deadline (PGCNN_GPU_CHECK_SECONDS, default 520 s: a lent GPU
# machine runs one command for at most 600 s), each step's time limit shrinking to what is
# left, so that a hang in one step still leaves the summary. Where $OUT names a folder
# (the lent machine's way of returning files), every step's full output is written there
# as well (at most 8 files come back from it: the logs are grouped into 4).
#
# The trainer's command lines are variables, overridable from the environment:
#   PGCNN_TRAIN_ARGS  arguments of the short run, without --device and --out
#   PGCNN_BENCH_ARGS  arguments of each bench, without --device and --config
#   PGCNN_CONFIGS     which configs to bench (names from docs/benchmarks.md; NAME:strict
#                     benches NAME with --gpu-math strict, to see what TF32 gains)
# `pgcnn bench` must print its median training-step time as `train_step_ms=<ms>` (or a
# JSON field "train_step_ms"), and `eval_forward_ms`, `peak_memory_mb`,
# `launches_per_step`, `profiled_device_ms_per_step` and `host_waits_per_step` likewise if
# it measures them.
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE=${PGCNN_GPU_BUNDLE:-target/gpu-check}
TRAIN_ARGS=${PGCNN_TRAIN_ARGS:-train --preset small_se2_partial --set dataset=rotmnist-synthetic --epochs 3 --max-steps 20 --seed 0 --no-progress}
DEADLINE_S=${PGCNN_GPU_CHECK_SECONDS:-520}
BENCH_ARGS=${PGCNN_BENCH_ARGS:-bench --batch 64 --warmup 5 --steps 20 --profile}
# The comparison tests against the reference (pgcnn-tests executables), run in this order.
TESTS="conformance_cuda cuda_network cuda_models"
CONFIGS=${PGCNN_CONFIGS:-small_se2_partial rotmnist_se2_partial rotmnist_t2 rotmnist_se2_full rotmnist_e2_partial cifar10_se2_partial mnist6_180_se2_partial rotmnist_se2_partial:strict}

# Training-step medians and peak GPU memory of the reference implementation on an H100,
# measured with the authors' model code on 2026-11-26 on another machine: a hint only.
declare -A REFERENCE_MS=(
    [rotmnist_t2]=19.1 [rotmnist_se2_full]=23.5 [rotmnist_se2_partial]=29.0
    [rotmnist_e2_partial]=50.4 [mnist6_180_se2_partial]=82.3
    [cifar10_se2_partial]=44.5 [small_se2_partial]=30.9
)
declare -A REFERENCE_MB=(
    [rotmnist_t2]=182 [rotmnist_se2_full]=656 [rotmnist_se2_partial]=688
    [rotmnist_e2_partial]=689 [mnist6_180_se2_partial]=6734
    [cifar10_se2_partial]=1210 [small_se2_partial]=127
)

build() {
    echo "== building the release binary and the comparison tests"
    cargo build --release -p pgcnn
    local tests args=() t
    for t in $TESTS; do args+=(--test "$t"); done
    tests=$(cargo test --release -p pgcnn-tests "${args[@]}" --no-run --message-format=json |
        TESTS="$TESTS" python3 -c '
import json, os, sys
names = os.environ["TESTS"].split()
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in names:
        print(m["target"]["name"], m["executable"])')
    [[ $(wc -l <<<"$tests") -eq $(wc -w <<<"$TESTS") ]] ||
        { echo "expected the test executables $TESTS, got: $tests" >&2; exit 1; }
    rm -rf "$BUNDLE" && mkdir -p "$BUNDLE"
    cp target/release/pgcnn "$BUNDLE/pgcnn"
    local name exe
    while read -r name exe; do cp "$exe" "$BUNDLE/$name"; done <<<"$tests"
    # Line tables stay out: the bundle travels with a 64 MiB limit. Symbols stay, for
    # readable backtraces.
    # shellcheck disable=SC2086 # one path per test
    (cd "$BUNDLE" && strip --strip-debug pgcnn $TESTS)
    git rev-parse HEAD >"$BUNDLE/commit" 2>/dev/null || true
    du -sh "$BUNDLE"/*
    echo "now: scripts/gpu-check.sh run (on the GPU machine, with $BUNDLE copied along)"
}

# The value of `key` in a bench's output (key=1.5, key: 1.5 or "key": 1.5), or "-".
field() {
    grep -oE "\"?$1\"?[[:space:]]*[=:][[:space:]]*[0-9.]+" <<<"$2" | tail -1 | grep -oE '[0-9.]+$' || echo "-"
}

# The time limit for a step that would take at most $1 seconds: $1, or what is left of the
# deadline if that is less (0 when nothing is).
limit() {
    local left=$((DEADLINE_S - SECONDS))
    ((left > 0)) || left=0
    echo $(($1 < left ? $1 : left))
}

# Copies standard input to standard output and, where $OUT is set, appends it to $OUT/$1.
keep() {
    if [[ -n "${OUT:-}" && -d "${OUT:-}" ]]; then tee -a "$OUT/$1"; else cat; fi
}

# The train_loss of each epoch in a run directory's metrics.jsonl, space-separated
# (nothing, and success, when the run wrote none).
epoch_losses() {
    { grep -oE '"train_loss":[^,}]+' "$1/metrics.jsonl" 2>/dev/null || true; } | cut -d: -f2 | tr '\n' ' '
}

run() {
    export LD_LIBRARY_PATH="/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export RUST_BACKTRACE=1
    # Compiled kernels are kept here: the first process compiles, the others read them.
    export PGCNN_KERNEL_CACHE="${PGCNN_KERNEL_CACHE:-$PWD/$BUNDLE/kernel-cache}"
    local pgcnn="$BUNDLE/pgcnn" failed=0 lim
    local t
    for t in pgcnn $TESTS; do
        [[ -x "$BUNDLE/$t" ]] ||
            { echo "no bundle in $BUNDLE: run 'scripts/gpu-check.sh build' first" >&2; exit 1; }
    done
    {
        echo "== bundle of commit $(cat "$BUNDLE/commit" 2>/dev/null || echo unknown), deadline ${DEADLINE_S} s"
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    } 2>&1 | keep summary.log

    echo "== comparison tests (GPU against the reference)"
    local tests="passed"
    for t in $TESTS; do
        lim=$(limit 240)
        if ((lim < 5)); then
            echo "(no time left for $t)" | keep tests.log
            tests="NOT ALL RUN"
            failed=1
            continue
        fi
        # Only the GPU tests (and the missing-device check): the emulator's need g++.
        PGCNN_REQUIRE_CUDA=1 timeout "$lim" "$BUNDLE/$t" gpu_ missing_devices --test-threads 1 --nocapture 2>&1 |
            keep tests.log || { tests="FAILED"; failed=1; }
    done

    echo "== short training run: CUDA, then CPU"
    local device losses_cuda="" losses_cpu="" training="-"
    for device in cuda cpu; do
        lim=$(limit 150)
        ((lim >= 5)) || { echo "(no time left for training on $device)"; failed=1; continue; }
        rm -rf "$BUNDLE/run-$device"
        echo "-- $device: pgcnn $TRAIN_ARGS --device $device --out $BUNDLE/run-$device"
        # shellcheck disable=SC2086 # the arguments are meant to split
        timeout "$lim" "$pgcnn" $TRAIN_ARGS --device "$device" --out "$BUNDLE/run-$device" 2>&1 |
            keep train.log | tail -8 || { echo "(training on $device failed)"; failed=1; }
    done
    losses_cuda=$(epoch_losses "$BUNDLE/run-cuda")
    losses_cpu=$(epoch_losses "$BUNDLE/run-cpu")
    {
        echo "-- train loss per epoch"
        echo "   cuda: ${losses_cuda:-(none)}"
        echo "   cpu:  ${losses_cpu:-(none)}"
    } | keep summary.log
    # The loss falls when the last epoch's is below the first's; NaN or a single epoch fails.
    training=$(awk -v a="$losses_cuda" -v b="$losses_cpu" 'BEGIN {
        n = split(a, x, " "); m = split(b, y, " ")
        if (n < 2) { print "the CUDA run logged " n " epoch losses (2 or more needed)"; exit }
        if (x[n] != x[n] + 0 || !(x[n] < x[1])) { print "the CUDA loss did not fall"; exit }
        if (m < 2 || !(y[m] < y[1])) { print "the CUDA loss falls; the CPU run'"'"'s did not"; exit }
        printf "falls on both: CUDA %.4f -> %.4f, CPU %.4f -> %.4f (last epochs differ by %.1f%%)",
            x[1], x[n], y[1], y[m], 100 * (x[n] - y[m]) / y[m]
    }')
    [[ "$training" == falls* ]] || failed=1

    echo "== pgcnn bench"
    local entry cfg math out rows=()
    for entry in $CONFIGS; do
        cfg=${entry%%:*}
        math=tf32
        [[ "$entry" != *:strict ]] || math=strict
        lim=$(limit 120)
        if ((lim < 5)); then
            echo "(no time left for the bench of $entry)"
            rows+=("$entry - - - - - -")
            failed=1
            continue
        fi
        echo "-- $entry: pgcnn $BENCH_ARGS --device cuda --gpu-math $math --config $cfg"
        # shellcheck disable=SC2086
        if out=$(timeout "$lim" "$pgcnn" $BENCH_ARGS --device cuda --gpu-math "$math" --config "$cfg" 2>&1); then
            echo "$out" | keep bench.log | tail -8
        else
            echo "$out" | keep bench.log | tail -8
            echo "(bench of $entry failed)"
            failed=1
        fi
        rows+=("$entry $(field train_step_ms "$out") $(field eval_forward_ms "$out") $(field profiled_device_ms_per_step "$out") $(field launches_per_step "$out") $(field host_waits_per_step "$out") $(field peak_memory_mb "$out")")
        [[ "$(field train_step_ms "$out")" != "-" ]] || { echo "(no train_step_ms in the output)"; failed=1; }
    done

    {
        echo
        echo "== summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo GPU), ${SECONDS} s)"
        echo "comparison tests: $tests"
        echo "kernel cache: $(find "$PGCNN_KERNEL_CACHE" -name 'kernels-*.bin' 2>/dev/null | wc -l) entries in $PGCNN_KERNEL_CACHE"
        echo "short training run: $training"
        printf '%-24s %10s %10s %10s %10s %7s %9s %6s %9s %9s\n' config "step (ms)" "eval (ms)" \
            "GPU (ms)" "ref. (ms)" faster launches waits "peak (MB)" "ref. (MB)"
        local row name step eval busy launches waits peak ref faster
        for row in "${rows[@]}"; do
            read -r name step eval busy launches waits peak <<<"$row"
            ref=${REFERENCE_MS[${name%%:*}]:-"-"}
            faster="?"
            if [[ "$step" != "-" && "$ref" != "-" ]]; then
                faster=$(awk -v a="$step" -v b="$ref" 'BEGIN { print (a < b) ? "yes" : "NO" }')
            fi
            printf '%-24s %10s %10s %10s %10s %7s %9s %6s %9s %9s\n' "$name" "$step" "$eval" "$busy" \
                "$ref" "$faster" "$launches" "$waits" "$peak" "${REFERENCE_MB[${name%%:*}]:-"-"}"
        done
        echo "step: median training step; GPU: device time of a profiled step (--profile); ref.:"
        echo "the reference implementation on an H100, measured elsewhere (a hint, not a side-by-side"
        echo "comparison: docs/benchmarks.md §3); launches, waits: per step;"
        echo "peak: the CUDA pool's peak (in use + cached) during the training steps"
    } | keep summary.log
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
