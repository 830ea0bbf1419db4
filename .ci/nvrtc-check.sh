#!/usr/bin/env bash
# Compiles every CUDA kernel source with NVRTC on a machine without a GPU or a CUDA
# install: NVRTC comes from the nvidia-cuda-nvrtc wheel on PyPI (libnvrtc.so.13 under
# nvidia/cu13/lib), installed into target/nvrtc-wheel. cudarc dlopens "libnvrtc.so.13" by
# name, so LD_LIBRARY_PATH is all it needs. PGCNN_REQUIRE_NVRTC=1 turns the test's
# "skipped" into a failure, so this check cannot pass without compiling.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="target/nvrtc-wheel"
lib="$dir/nvidia/cu13/lib"
if [[ ! -e "$lib/libnvrtc.so.13" ]]; then
    echo "== installing nvidia-cuda-nvrtc (CUDA 13) into $dir"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$dir" "nvidia-cuda-nvrtc>=13,<14"
fi
[[ -e "$lib/libnvrtc.so.13" ]] || { echo "libnvrtc.so.13 not found under $lib" >&2; exit 1; }

echo "== NVRTC compile of every kernel source"
LD_LIBRARY_PATH="$PWD/$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PGCNN_REQUIRE_NVRTC=1 \
    cargo test --release -p pgcnn-cuda --test nvrtc_compile -- --nocapture
