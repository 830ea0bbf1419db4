#!/usr/bin/env python3
"""Writes the seed corpus of the `pcam` fuzz target into fuzz/corpus/pcam/, with h5py
(libhdf5), so that the seeds are laid out as the files pgcnn reads in practice.

Each seed is a PCam image file (dataset `x`, uint8 [N, 96, 96, 3]) and its label file
(dataset `y`, uint8 [N, 1, 1, 1] or [N]), framed as `pgcnn_fuzz::split_pair` reads them:
a big-endian u32 length, the first file, the second. The layouts cover what libhdf5
writes: contiguous; chunked with gzip (partial chunks along N and across rows, B-tree
index); shuffle + Fletcher-32 + gzip; and the HDF5 1.10 format (version 2 object headers
with checksums, a fixed-array chunk index). Deterministic (no timestamps stored). Every
seed must parse: .ci/fuzz.sh checks that with PGCNN_FUZZ_SEEDS_MUST_PARSE=1.

Usage (h5py is not in the standard library, hence a script of its own):
    python3 -m venv /tmp/h5 && /tmp/h5/bin/pip install h5py numpy
    /tmp/h5/bin/python fuzz/make_pcam_seeds.py
"""

import io
import os
import struct

import h5py
import numpy as np

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "pcam")


def images(n: int, salt: int) -> np.ndarray:
    """`n` HWC images whose bytes vary with position (so a wrong transpose shows)."""
    i, h, w, c = np.meshgrid(
        np.arange(n), np.arange(96), np.arange(96), np.arange(3), indexing="ij"
    )
    return ((i * 41 + h * 3 + w * 7 + c * 85 + salt) % 256).astype(np.uint8)


def h5(name: str, data: np.ndarray, libver="earliest", **options) -> bytes:
    """An HDF5 file (in memory) holding one dataset `name`."""
    buf = io.BytesIO()
    with h5py.File(buf, "w", libver=libver) as f:
        f.create_dataset(name, data=data, track_times=False, **options)
    return buf.getvalue()


def pair(first: bytes, second: bytes) -> bytes:
    return struct.pack(">I", len(first)) + first + second


def labels(values) -> np.ndarray:
    return np.array(values, dtype=np.uint8).reshape(len(values), 1, 1, 1)


def seeds():
    yield "contiguous-1.pair", pair(h5("x", images(1, 0)), h5("y", labels([1])))
    gz = {"compression": "gzip", "compression_opts": 6}
    yield "gzip-chunks-3.pair", pair(
        h5("x", images(3, 1), chunks=(2, 48, 96, 3), **gz),
        h5("y", labels([0, 1, 1]), chunks=(2, 1, 1, 1), **gz),
    )
    yield "shuffle-fletcher-2.pair", pair(
        h5("x", images(2, 2), chunks=(1, 96, 96, 3), shuffle=True, fletcher32=True, **gz),
        h5("y", np.array([1, 0], dtype=np.uint8)),
    )
    v110 = ("v110", "v110")
    yield "v110-fixed-array-2.pair", pair(
        h5("x", images(2, 3), libver=v110, chunks=(1, 96, 96, 3), **gz),
        h5("y", labels([0, 0]), libver=v110),
    )


def main():
    os.makedirs(CORPUS, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)
        print(f"pcam/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
