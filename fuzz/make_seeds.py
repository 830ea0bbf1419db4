#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Small valid files of each format (a few kilobytes; STL-10's smallest valid input, one
image, is 27 KB). Deterministic: gzip streams carry mtime 0, so rerunning this script
leaves the committed seeds unchanged. Every seed must parse: .ci/fuzz.sh checks that with
PGCNN_FUZZ_SEEDS_MUST_PARSE=1 before fuzzing.

Usage: python3 fuzz/make_seeds.py   (from anywhere; it writes next to itself)
"""

import gzip
import os
import struct

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def pattern(n: int, salt: int) -> bytes:
    """`n` bytes that vary with position (so transposes and offsets show)."""
    return bytes((k * 37 + salt * 11 + (k * k) % 7) % 256 for k in range(n))


def idx_images(count: int, rows: int, cols: int, salt: int = 0) -> bytes:
    header = struct.pack(">IIII", 0x803, count, rows, cols)
    return header + pattern(count * rows * cols, salt)


def idx_labels(labels) -> bytes:
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def pair(first: bytes, second: bytes) -> bytes:
    """The framing of `pgcnn_fuzz::split_pair`: big-endian u32 length, first, second."""
    return struct.pack(">I", len(first)) + first + second


def amat_line(salt: int, label: int, style: str) -> str:
    values = []
    for k in range(28 * 28):
        v = ((k * 13 + salt * 7) % 29) / 28.0 if (k + salt) % 5 == 0 else 0.0
        if style == "sci":  # the original files' style
            values.append(f"{v:.7e}")
        else:  # short forms the parser also accepts
            values.append("0" if v == 0.0 else f"{v:.3g}")
    values.append(f"{float(label):.7e}" if style == "sci" else str(label))
    return " ".join(values)


TORCH_FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "trainer", "tests", "fixtures", "torch",
)


def zero_crcs(data: bytes) -> bytes:
    """A zip archive with the CRC-32 field of every local and central header zeroed (the
    torch_pt reader then checks no CRC, so the fuzzer's changes to the pickle and the
    storages are not all stopped by a checksum)."""
    out = bytearray(data)
    for sig, at in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        start = out.find(sig)
        while start >= 0:
            out[start + at : start + at + 4] = bytes(4)
            start = out.find(sig, start + 4)
    return bytes(out)


def torch_seeds():
    """The torch_pt seeds: valid checkpoints written by torch (the reader's fixtures, made
    by scripts/interop/make_torch_fixtures.py), some also with their CRCs zeroed."""
    for name in ["state_dict.pt", "reference_style.pt", "parameters.pt", "proto4.pt", "big_endian.pt"]:
        with open(os.path.join(TORCH_FIXTURES, name), "rb") as f:
            data = f.read()
        yield "torch_pt", name, data
        if name in ("parameters.pt", "proto4.pt", "big_endian.pt"):
            yield "torch_pt", name.replace(".pt", "-nocrc.pt"), zero_crcs(data)


def seeds():
    yield "idx_images", "3x4x5.idx", idx_images(3, 4, 5)
    yield "idx_images", "1x28x28.idx", idx_images(1, 28, 28, 1)
    yield "idx_images", "2x28x28.idx.gz", gz(idx_images(2, 28, 28, 2))
    yield "idx_images", "2x3x2.idx.gz", gz(idx_images(2, 3, 2, 3))

    yield "idx_labels", "10.idx", idx_labels(range(10))
    yield "idx_labels", "1.idx", idx_labels([7])
    yield "idx_labels", "5.idx.gz", gz(idx_labels([9, 0, 3, 3, 6]))

    yield "idx_gzip", "images-2x3x3.idx", idx_images(2, 3, 3, 4)
    yield "idx_gzip", "labels-4.idx", idx_labels([1, 2, 8, 0])

    yield "mnist", "raw-3x4x4.pair", pair(idx_images(3, 4, 4), idx_labels([1, 2, 3]))
    yield "mnist", "gz-2x28x28.pair", pair(
        gz(idx_images(2, 28, 28, 5)), gz(idx_labels([4, 9]))
    )
    yield "mnist", "mixed-1x2x3.pair", pair(idx_images(1, 2, 3, 6), gz(idx_labels([0])))

    yield "amat", "one-sci.amat", (amat_line(0, 7, "sci") + "\n").encode()
    yield "amat", "two-short.amat", (
        amat_line(1, 0, "short") + "\n\n" + amat_line(2, 9, "short")
    ).encode()
    yield "amat", "crlf-short.amat", (amat_line(3, 4, "short") + "\r\n").encode()

    yield "cifar", "cifar10-1.bin", bytes([3]) + pattern(3072, 1)
    yield "cifar", "cifar10-2.bin", bytes([0]) + pattern(3072, 2) + bytes([9]) + pattern(3072, 3)
    yield "cifar", "cifar100-1.bin", bytes([12, 57]) + pattern(3072, 4)
    yield "cifar", "cifar100-max.bin", bytes([19, 99]) + pattern(3072, 5)

    yield "stl10", "label1.pair", pair(pattern(3 * 96 * 96, 6), bytes([1]))
    yield "stl10", "label10.pair", pair(pattern(3 * 96 * 96, 7), bytes([10]))

    yield from torch_seeds()


def main():
    for target, name, data in seeds():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"{target}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
