#!/usr/bin/env bash
# Short fuzz run of every cargo-fuzz target in fuzz/src/bin/ (see fuzz/README.md).
#
#   FUZZ_SECONDS=30 bash .ci/fuzz.sh            # every target, 30 s each (the default)
#   FUZZ_SECONDS=300 bash .ci/fuzz.sh amat      # chosen targets only
#
# For each target: the seed corpus (fuzz/corpus/TARGET) must parse (a seed the parser now
# rejects would leave only error paths fuzzed), then the target runs for FUZZ_SECONDS on a
# temporary copy of the corpus (so CI never grows the repository's corpus). Any panic,
# hang (-timeout) or allocation over the limit (-rss_limit_mb, -malloc_limit_mb) fails the
# script; the crashing input is kept in fuzz/artifacts/TARGET/ and printed in base64.
#
# Stable Rust: cargo-fuzz's default address sanitizer needs nightly (-Zsanitizer), so
# targets are built and run with `-s none` (sanitizer-coverage instrumentation alone, which
# works on stable). The parsers are safe Rust, so ASan would add little.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CARGO_FUZZ_VERSION=0.13.2
# Limits that turn bad behaviour into failures: resident memory, any single allocation,
# and seconds per input.
RSS_LIMIT_MB=512
TIMEOUT_S=10

if [[ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

if (($# > 0)); then
    targets=("$@")
else
    targets=()
    for f in fuzz/src/bin/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

echo "== building fuzz targets: ${targets[*]}"
cargo fuzz build -s none

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
# What went wrong, from a libFuzzer log: the panic message or allocation report (the
# backtrace that follows can be long), libFuzzer's verdict, then the log's last lines.
show_failure() {
    local log=$1
    grep -E -A2 'panicked at|pgcnn-fuzz: allocation|ERROR: libFuzzer|^SUMMARY' "$log" |
        head -n 30 || true
    echo "   -- last lines of the log:"
    tail -n 40 "$log"
}
report_artifacts() {
    local t=$1
    for a in fuzz/artifacts/"$t"/*; do
        [[ -f "$a" ]] || continue
        echo "   input $a ($(stat -c %s "$a") bytes), base64:"
        head -c 4096 "$a" | base64 | sed 's/^/     /'
    done
}

for t in "${targets[@]}"; do
    if [[ ! -f "fuzz/src/bin/$t.rs" ]]; then
        echo "no fuzz target $t (fuzz/src/bin/$t.rs)" >&2
        exit 2
    fi
    corpus="$work/$t"
    mkdir -p "$corpus"
    seeds=()
    if [[ -d "fuzz/corpus/$t" ]]; then
        cp fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
        seeds=(fuzz/corpus/"$t"/*)
        [[ -e "${seeds[0]}" ]] || seeds=()
    fi
    log="$work/$t.log"
    rm -rf "fuzz/artifacts/$t"

    if ((${#seeds[@]} == 0)); then
        echo "== $t: WARNING: no seeds in fuzz/corpus/$t, fuzzing from nothing"
    else
        echo "== $t: checking ${#seeds[@]} seeds parse"
        if ! PGCNN_FUZZ_SEEDS_MUST_PARSE=1 cargo fuzz run -s none "$t" "${seeds[@]}" \
            -- -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" >"$log" 2>&1; then
            show_failure "$log"
            echo "== $t: FAILED: a seed was rejected or crashed"
            failed+=("$t (seeds)")
            continue
        fi
    fi

    echo "== $t: fuzzing for ${FUZZ_SECONDS}s"
    if cargo fuzz run -s none "$t" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout="$TIMEOUT_S" -print_final_stats=1 >"$log" 2>&1; then
        # libFuzzer's closing lines: executions, coverage and corpus size.
        grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|Done )' "$log" |
            sed 's/^/   /' || true
    else
        show_failure "$log"
        echo "== $t: FAILED (panic, hang over ${TIMEOUT_S} s, or too much memory)"
        report_artifacts "$t"
        failed+=("$t")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzzing found problems in: ${failed[*]}"
    echo "reproduce: cargo fuzz run -s none TARGET fuzz/artifacts/TARGET/<file>"
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${FUZZ_SECONDS}s each, no crash (${SECONDS}s in all)"
