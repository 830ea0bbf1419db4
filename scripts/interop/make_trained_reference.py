#!/usr/bin/env python3
"""Trains a small CKResNet briefly with the reference implementation's own code and
saves it as its trainer does, for trainer/tests/import_reference.rs.

Writes into OUT_DIR:
  <name>.pt                 torch.save(model.state_dict()) of the reference's model
                            (built by its model_constructor, so DataParallel names),
  <name>.logits.safetensors 16 test inputs, the reference's eval-mode logits on them,
                            and (metadata `sets`) the config as pgcnn --set arguments.

The images are the first 10,000 MNIST digits pgcnn embeds (data/mnist-10k), 6 and 9
only, labelled 9 = 1, padded and normalised as pgcnn does; the training is a few Adam
steps with the reference's loss (cross entropy plus its kernel-norm penalty). Usage
(docs/interop.md says how to make the reference runnable):

    REF=/path/to/reference python scripts/interop/make_trained_reference.py \
        trainer/tests/fixtures/torch_trained
"""

import gzip
import json
import os
import sys
import types

REF = os.environ.get("REF", "/tmp/refbench")
sys.path[:0] = [os.path.join(REF, "stubs"), REF]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import model_constructor  # noqa: E402
from partial_equiv.general.nn.loss import LnLoss  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "trainer/tests/fixtures/torch_trained"
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "mnist-10k")


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def digits():
    images, labels = idx("images-idx3-ubyte.gz"), idx("labels-idx1-ubyte.gz")
    keep = (labels == 6) | (labels == 9)
    x = torch.tensor(images[keep], dtype=torch.float32).unsqueeze(1) / 255.0
    x = (x - 0.1307) / 0.3081
    y = torch.tensor((labels[keep] == 9).astype(np.int64))
    return x, y


def config(sets):
    cfg = {}
    for key, value in sets.items():
        node = cfg
        *path, leaf = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = value

    def ns(d):
        return types.SimpleNamespace(**{k: ns(v) if isinstance(v, dict) else v for k, v in d.items()})

    c = ns(cfg)
    c.kernel.size = str(c.kernel.size)  # the reference's config holds it as a string
    c.net.pool_blocks = c.net.pool_blocks or [-1]
    c.net.dropout_blocks = [-1]
    return c


def train(name, sets, steps=25, seed=0):
    torch.manual_seed(seed)
    cfg = config(sets)
    model = model_constructor.construct_model(cfg)  # the reference's own construction
    x, y = digits()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    penalty = LnLoss(weight_loss=1e-4, norm_type=2)
    model.train()
    for step in range(steps):
        i = torch.randint(0, len(x) - 16, (32,))
        loss = torch.nn.functional.cross_entropy(model(x[i]), y[i]) + penalty(model)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    inputs = x[-16:].contiguous()
    with torch.no_grad():
        logits = model(inputs)
    os.makedirs(OUT, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(OUT, name + ".pt"))
    save_file(
        {"input": inputs, "logits": logits.contiguous()},
        os.path.join(OUT, name + ".logits.safetensors"),
        metadata={"sets": json.dumps(sets, sort_keys=True), "loss": f"{loss.item():.4f}"},
    )
    print(f"{name}: loss after {steps} steps {loss.item():.4f}, logits {tuple(logits.shape)}")


def main():
    base = {
        "net.type": "CKResNet", "net.no_hidden": 8, "net.no_blocks": 2, "net.norm": "BatchNorm",
        "net.dropout": 0.0, "net.pool_blocks": [1, 2], "net.block_width_factors": [0.0],
        "net.last_conv_T2": False, "net.learnable_final_pooling": False,
        "net.final_spatial_dim": [1, 1],
        "conv.padding": "same", "conv.partial_equiv": False, "conv.bias": True,
        "kernel.type": "SIREN", "kernel.no_hidden": 16, "kernel.no_layers": 3, "kernel.size": 5,
        "kernel.omega0": 10.0, "kernel.learn_omega0": False, "kernel.weight_norm": False,
        "kernel.norm": "Identity", "kernel.activation": "ReLU",
        "base_group.name": "SE2", "base_group.no_samples": 4,
        "base_group.sample_per_batch_element": False, "base_group.sample_per_layer": False,
        "base_group.sampling_method": "deterministic", "base_group.gumbel_init_temp": 0.5,
        "base_group.gumbel_end_temp": 1e-4,
        "train.batch_size": 32, "train.epochs": 1, "dataset": "MNIST6-180",
    }
    train("ckresnet_se2", base)
    train("ckresnet_e2", {**base, "base_group.name": "E2", "base_group.no_samples": 8}, seed=1)


if __name__ == "__main__":
    main()
