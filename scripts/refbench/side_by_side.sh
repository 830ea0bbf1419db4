#!/usr/bin/env bash
# Training-step and evaluation-forward times of the reference (PyTorch, CPU) and of pgcnn,
# measured alternately in one run with the same thread count, so that the ratio holds on a
# noisy shared machine. Run from the refbench folder that setup.sh made:
#
#   ./side_by_side.sh PGCNN_BINARY [CONFIGS] [THREADS] [ROUNDS]
#
# CONFIGS: comma-separated benchmark config names (docs/benchmarks.md) (default small_se2_partial,rotmnist_t2,
# rotmnist_se2_partial). Prints one line per config and round, then the median ratios
# (reference time / pgcnn time: above 1 means pgcnn is faster) and both peak RSS figures.
# It reads `pgcnn bench --json FILE`: a list (or one object) with train_step_ms and
# eval_forward_ms per config; keep those two keys.
set -euo pipefail
BIN=${1:?usage: side_by_side.sh PGCNN_BINARY [CONFIGS] [THREADS] [ROUNDS]}
CONFIGS=${2:-small_se2_partial,rotmnist_t2,rotmnist_se2_partial}
THREADS=${3:-2}
ROUNDS=${4:-2}
cd "$(dirname "$0")"
OUT=$(mktemp -d)
steps_for() { case $1 in rotmnist_se2_partial|rotmnist_e2_partial|mnist6_180_se2_partial|cifar10_se2_partial) echo "4 1";; small_se2_partial) echo "20 3";; *) echo "10 2";; esac; }
for round in $(seq "$ROUNDS"); do
  for c in ${CONFIGS//,/ }; do
    read -r steps warm <<<"$(steps_for "$c")"
    /usr/bin/time -f "%M" -o "$OUT/ref_rss" env PYTHONPATH=. venv/bin/python bench_ref.py cpu "$c" 64 "$steps" "$warm" "$THREADS" 2>/dev/null > "$OUT/ref.json"
    /usr/bin/time -f "%M" -o "$OUT/pg_rss" env RAYON_NUM_THREADS="$THREADS" "$BIN" bench --device cpu --threads "$THREADS" --config "$c" --batch 64 --steps "$steps" --json "$OUT/pg.json" > /dev/null 2>&1
    python3 - "$c" "$round" "$OUT" <<'PY' | tee -a "$OUT/lines"
import json, sys, pathlib
c, r, out = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
ref = json.loads(out.joinpath("ref.json").read_text().strip().splitlines()[-1])
pg = json.loads(out.joinpath("pg.json").read_text())
pg = pg[0] if isinstance(pg, list) else pg
pt = pg.get("train_step_ms") / 1e3; pe = pg.get("eval_forward_ms") / 1e3
rt = ref["train_step_s_median"]; re_ = ref["eval_fwd_s_median"]
rr = int(out.joinpath("ref_rss").read_text().split()[-1]) / 1024
pr = int(out.joinpath("pg_rss").read_text().split()[-1]) / 1024
print(json.dumps(dict(config=c, round=int(r), ref_train_s=round(rt, 4), pgcnn_train_s=round(pt, 4),
      train_ratio=round(rt / pt, 3), ref_eval_s=round(re_, 4), pgcnn_eval_s=round(pe, 4),
      eval_ratio=round(re_ / pe, 3), ref_rss_mb=round(rr), pgcnn_rss_mb=round(pr))))
PY
  done
done
python3 - "$OUT/lines" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
for c in dict.fromkeys(r["config"] for r in rows):
    rs = [r for r in rows if r["config"] == c]
    print(f"{c}: train ratio {statistics.median(r['train_ratio'] for r in rs):.2f}x, "
          f"eval ratio {statistics.median(r['eval_ratio'] for r in rs):.2f}x (reference time / pgcnn time), "
          f"peak RSS reference {max(r['ref_rss_mb'] for r in rs)} MB, pgcnn {max(r['pgcnn_rss_mb'] for r in rs)} MB")
PY
