"""Writes the PCam-shaped files of a download that never got its data, with h5py
(libhdf5): datasets created with PCam's training-split shape and never written. The
files are 1,400 bytes; their dataspaces declare 262,144 images (7.2 GB of bytes, 29 GB
as f32), and libhdf5 reads unwritten storage as the fill value, so only a check of the
stored data against the declared size stops a reader from allocating it all.
trainer/tests/data_pcam.rs and data_alloc.rs expect a clean error, with no large
allocation.

- unwritten_x.h5: dataset `x` uint8 [262144, 96, 96, 3], contiguous (never allocated);
- unwritten_chunked_x.h5: the same, chunked (1, 96, 96, 3) and gzip-compressed, no chunk
  stored;
- unwritten_y.h5: dataset `y` uint8 [262144, 1, 1, 1], contiguous (never allocated).

    python3 -m venv /tmp/h5 && /tmp/h5/bin/pip install h5py numpy
    /tmp/h5/bin/python make_unwritten.py
"""
import h5py
import numpy as np

N = 262_144
with h5py.File("unwritten_x.h5", "w") as f:
    f.create_dataset("x", shape=(N, 96, 96, 3), dtype=np.uint8)
with h5py.File("unwritten_chunked_x.h5", "w") as f:
    f.create_dataset("x", shape=(N, 96, 96, 3), dtype=np.uint8, chunks=(1, 96, 96, 3),
                     compression="gzip")
with h5py.File("unwritten_y.h5", "w") as f:
    f.create_dataset("y", shape=(N, 1, 1, 1), dtype=np.uint8)
print(h5py.version.info)
