"""Writes the two tiny PCam-shaped files of this folder with h5py (libhdf5), as PCam's
own files are laid out: dataset `x` uint8 [5, 96, 96, 3] and dataset `y` uint8
[5, 1, 1, 1], both chunked and gzip-compressed (so the test proves that pgcnn reads what
libhdf5 writes, filters included). trainer/tests/data_pcam.rs recomputes every value.

    python3 -m venv /tmp/h5 && /tmp/h5/bin/pip install h5py numpy
    /tmp/h5/bin/python make_fixture.py
"""
import h5py
import numpy as np

N = 5
n, h, w, c = np.meshgrid(
    np.arange(N), np.arange(96), np.arange(96), np.arange(3), indexing="ij"
)
# The formula data_pcam.rs checks: byte (n, row, column, channel).
x = ((n * 41 + h * 3 + w * 7 + c * 85) % 256).astype(np.uint8)
y = np.array([1, 0, 0, 1, 1], dtype=np.uint8).reshape(N, 1, 1, 1)

# Chunks of 2 images × 48 rows: the last chunk along N is partial, and every image spans
# two chunks, so windowed reads cross chunk boundaries.
with h5py.File("camelyonpatch_level_2_split_valid_x.h5", "w") as f:
    f.create_dataset("x", data=x, chunks=(2, 48, 96, 3), compression="gzip",
                     compression_opts=9)
with h5py.File("camelyonpatch_level_2_split_valid_y.h5", "w") as f:
    f.create_dataset("y", data=y, chunks=(2, 1, 1, 1), compression="gzip")
print(h5py.version.info)
