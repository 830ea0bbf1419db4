#!/usr/bin/env bash
# Builds a runnable copy of the reference implementation (merlresearch/partial_gcnn, PyTorch,
# AGPL-3.0) OUTSIDE the project, for side-by-side benchmarks only. Never copy its code into
# the project.
#
#   1. get a git copy of github:merlresearch/partial_gcnn (a clone or a bare mirror);
#      GIT_DIR is its git directory.
#   2. bash scripts/refbench/setup.sh GIT_DIR [DEST]      (DEST default: /tmp/refbench)
#
# For a GPU machine whose python3 has torch but which has no network, prepare a copy to
# take along with NO_VENV=1: the same tree without the venv (a few MB), run there as
#   cd DEST && python3 bench_ref.py cuda CONFIGS 64 20 5
#
# DEST then holds the reference's tree, bench_ref.py, stubs for the two packages it imports but
# does not need here (omegaconf, wandb), and a venv with torch, torchvision and numpy from PyPI
# (about 3 GB; the wheels bring CUDA libraries but import fine without a GPU).
# The released reference does not import as published: it imports a missing
# general/utils/params.py, flatten_configdict needs pandas, and models <-> general/nn/loss.py
# import each other in a circle. This script mends those three things and nothing else.
set -euo pipefail
GIT_DIR=${1:?usage: setup.sh GIT_DIR [DEST]}
DEST=${2:-/tmp/refbench}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DEST"
git --git-dir="$GIT_DIR" archive HEAD | tar -x -C "$DEST"
cp "$HERE/bench_ref.py" "$HERE/side_by_side.sh" "$DEST/"
mkdir -p "$DEST/stubs/omegaconf" "$DEST/stubs/wandb"
echo "class OmegaConf: pass" > "$DEST/stubs/omegaconf/__init__.py"
: > "$DEST/stubs/wandb/__init__.py"
python3 - "$DEST" <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
loss = root / "partial_equiv/general/nn/loss.py"
s = loss.read_bytes().decode().replace("\r\n", "\n")
s = s.replace("from models import CKResNet\n", "", 1)
s = s.replace("        if not isinstance(model.module, CKResNet):",
              "        from models import CKResNet\n\n        if not isinstance(model.module, CKResNet):", 1)
loss.write_text(s)
init = root / "partial_equiv/general/utils/__init__.py"
s = init.read_bytes().decode().replace("\r\n", "\n")
init.write_text(s.replace("from .flatten_configdict import flatten_configdict\n", ""))
(root / "partial_equiv/general/utils/params.py").write_text(
    "def num_params(model):\n    return sum(p.numel() for p in model.parameters() if p.requires_grad)\n")
PY
if [ "${NO_VENV:-0}" = 1 ]; then
    echo "reference tree ready in $DEST (no venv: run it with a python that has torch)"
    exit 0
fi
if [ ! -x "$DEST/venv/bin/python" ]; then
    python3 -m venv "$DEST/venv"
    "$DEST/venv/bin/pip" install -q torch torchvision numpy
fi
cd "$DEST" && PYTHONPATH=. venv/bin/python -c "import sys; sys.path[:0]=['stubs']; import torch, models; print('reference ready: torch', torch.__version__)"
