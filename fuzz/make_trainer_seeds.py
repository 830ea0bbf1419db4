#!/usr/bin/env python3
"""Writes the seed corpora of the `config` and `checkpoint` fuzz targets, using the pgcnn
binary (configs are its presets, checkpoints come from real tiny runs).

- fuzz/corpus/config/*.pair: a preset's full TOML (`pgcnn presets --show NAME`) and a few
  `--set` overrides, framed as `pgcnn_fuzz::split_pair` reads them; plus partial files.
- fuzz/corpus/checkpoint/*.safetensors: checkpoints of the fixed run of
  fuzz/src/bin/checkpoint.rs (`RUN` there): after 1 epoch, after 2 epochs, and one written
  on Ctrl-C inside an epoch. The run's wall-clock seconds are zeroed, but the weights may
  differ in their last bits between machines, so rerunning may change the bytes (never
  what the seeds cover). Not written here: format1-epoch1.safetensors, a checkpoint of
  the same run written before checkpoints carried checksums (format version 1), kept so
  that the fuzzer also mutates tensor bytes that no checksum stops before the restore.

Every seed must be accepted: .ci/fuzz.sh checks that with PGCNN_FUZZ_SEEDS_MUST_PARSE=1.

Usage (from the repository root): cargo build --release -p pgcnn &&
    python3 fuzz/make_trainer_seeds.py [path/to/pgcnn]
"""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")
PGCNN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "pgcnn")

# Must match `RUN` in fuzz/src/bin/checkpoint.rs.
RUN = ["net.no_hidden=4", "kernel.no_hidden=8", "dataset=mnist6-180"]


def pair(first: bytes, second: bytes) -> bytes:
    return struct.pack(">I", len(first)) + first + second


def preset_toml(name: str) -> bytes:
    return subprocess.run(
        [PGCNN, "presets", "--show", name], check=True, capture_output=True
    ).stdout


def config_seeds():
    sets = "\n".join
    yield "default.pair", pair(b"", b"")
    yield "small-se2-partial.pair", pair(preset_toml("small_se2_partial"), sets(RUN).encode())
    yield "rotmnist-gcnn.pair", pair(
        preset_toml("rotmnist-gcnn-se2-partial"),
        sets(["train.lr=0.01", "net.pool_blocks=[1,2]", "conv.partial_equiv=True"]).encode(),
    )
    yield "cifar10-e2-full.pair", pair(
        preset_toml("cifar10-ckresnet-e2-full"), b"train.scheduler=cosine"
    )
    yield "augerino.pair", pair(preset_toml("rotmnist-ckresnet-se2-augerino"), b"seed=3")
    yield "mnist6-m.pair", pair(preset_toml("mnist6-m-ckresnet-e2-partial"), b"")
    partial = b"""dataset = "MNIST6-180"
[base_group]
name = "SE2"
no_samples = 4
[train]
lr = 1e-3
"""
    yield "partial.pair", pair(partial, b"train.optimizer=SGD\ntrain.optimizer_params.momentum=0.9")


def train(out: str, extra, interrupt=False) -> str:
    args = [PGCNN, "--threads", "1", "train", "--preset", "small_se2_partial"]
    for s in RUN:
        args += ["--set", s]
    args += extra + ["--device", "cpu", "--no-progress", "--out", out]
    if not interrupt:
        subprocess.run(args, check=True, capture_output=True)
    else:
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # The handler is installed before training starts ("model: ..." is printed then).
        for line in p.stderr:
            if line.startswith("model:"):
                break
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        p.stderr.read()
        if p.wait() != 130:
            raise SystemExit("the interrupted run did not exit with 130")
    return os.path.join(out, "last.safetensors")


def zero_seconds(path: str) -> bytes:
    """The checkpoint with its `run.seconds` set to 0 (the header keeps its length rule)."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"]["run.seconds"] = "0"
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + data[8 + n :]


def checkpoint_seeds():
    work = tempfile.mkdtemp()
    try:
        one = ["--set", "train.epochs=1", "--max-steps", "1"]
        yield "epoch1.safetensors", zero_seconds(train(os.path.join(work, "a"), one))
        two = ["--set", "train.epochs=2", "--max-steps", "2"]
        yield "epoch2.safetensors", zero_seconds(train(os.path.join(work, "b"), two))
        long = ["--set", "train.epochs=1", "--max-steps", "20"]
        stopped = train(os.path.join(work, "c"), long, interrupt=True)
        yield "interrupted.safetensors", zero_seconds(stopped)
    finally:
        shutil.rmtree(work)


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"{target}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    write("config", config_seeds())
    write("checkpoint", checkpoint_seeds())
