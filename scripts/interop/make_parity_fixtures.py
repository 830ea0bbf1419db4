#!/usr/bin/env python3
"""Writes the reference-parity fixtures of pgcnn (trainer/tests/fixtures/parity/).

Every fixture is one small safetensors file of numbers: the parameters of a layer or a
model exactly as the reference implementation (github.com/merlresearch/partial_gcnn,
PyTorch) names them in its state_dict, an input, the group elements the reference used
(converted to pgcnn's parameterisation of O(2)), and the reference's output. The case's
settings are in the file's metadata (`case`: JSON). trainer/tests/parity_reference.rs
builds the same layer or model in pgcnn, loads the reference's parameters through
pgcnn's name mapping (trainer/src/interop/reference_names.rs) and compares.

This script is pgcnn's own; it only imports the reference to run it. It needs a
runnable copy of the reference and PyTorch, which docs/interop.md says how to make:

    REF=/tmp/refbench /tmp/refbench/venv/bin/python scripts/interop/make_parity_fixtures.py \
        trainer/tests/fixtures/parity

Element conventions: the reference writes an E(2) element (r, m) with matrix D(m)·R(r);
pgcnn's element (m·r, m) is the same group element (docs/math.md §2, §11).
"""

import json
import math
import os
import sys
import types

REF = os.environ.get("REF", "/tmp/refbench")
sys.path[:0] = [os.path.join(REF, "stubs"), REF]

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import models  # noqa: E402
import partial_equiv.general as gral  # noqa: E402
import partial_equiv.groups as groups  # noqa: E402
import partial_equiv.partial_gconv as pconv  # noqa: E402
from partial_equiv.groups import SamplingMethods  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "trainer/tests/fixtures/parity"
KERNELS = ["SIREN", "MLP", "Fourier", "Gabor", "MAGNet"]
METHODS = {"deterministic": SamplingMethods.DETERMINISTIC, "random": SamplingMethods.RANDOM}


def ns(**kw):
    return types.SimpleNamespace(**kw)


def kernel_config(kind, hidden=8, layers=3, size=5):
    return ns(
        type=kind,
        no_hidden=hidden,
        no_layers=layers,
        size=str(size),
        omega0=10.0,
        learn_omega0=False,
        weight_norm=False,
        norm="Identity",
        activation="ReLU",
    )


def group_config(name, samples, method="deterministic"):
    return ns(
        name=name,
        no_samples=samples,
        sample_per_batch_element=False,
        sample_per_layer=False,
        sampling_method=METHODS[method],
        gumbel_init_temp=0.5,
        gumbel_end_temp=1e-4,
    )


def make_group(name):
    return getattr(groups, name)(
        gumbel_init_temperature=0.5, gumbel_end_temperature=1e-4, gumbel_no_iterations=100
    )


def pgcnn_elements(name, g):
    """Reference elements [1, N] (SE2) or [1, N, 2] (E2) -> pgcnn's (rotations, mirrors)."""
    g = g.detach().double()
    if name == "E2":
        r, m = g[..., 0], g[..., 1]
        rot = torch.remainder(m * r, 2 * math.pi)
        return rot.reshape(-1).float(), m.reshape(-1).float()
    return torch.remainder(g, 2 * math.pi).reshape(-1).float(), None


def randomise(module, gen):
    """Every parameter and batch-norm statistic drawn anew, so no default (zero bias, unit
    scale, zero mean) hides a mapping error."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("probs"):
                continue
            p.copy_(torch.empty_like(p).uniform_(-0.5, 0.5, generator=gen) + p)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)


def state(module, prefix=""):
    return {
        prefix + k: v.detach().float().contiguous().clone()
        for k, v in module.state_dict().items()
        if v.dtype.is_floating_point
    }


def save(name, case, tensors):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".safetensors")
    tensors = {k: v.detach().float().contiguous() for k, v in tensors.items() if v is not None}
    save_file(tensors, path, metadata={"case": json.dumps(case, sort_keys=True)})
    print(f"{path}: {len(tensors)} tensors")


def random_elements(name, n, gen):
    """Elements in the reference's form: [1, N] angles, or [1, N, 2] (angle, mirror) with
    both mirrors present."""
    r = torch.rand(1, n, generator=gen, dtype=torch.float64) * 2 * math.pi
    if name == "E2":
        m = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(n)], dtype=torch.float64)
        return torch.stack([r, m.view(1, n)], dim=-1)
    return r


def conv_config(partial=False, padding="same"):
    return ns(padding=padding, partial_equiv=partial, bias=True)


def element_tensors(group, prefix, g):
    rot, mir = pgcnn_elements(group, g)
    return {f"{prefix}_rotations": rot, f"{prefix}_mirrors": mir}


def lifting_case(name, group, samples, kernel, gen, cin=2, cout=3, size=5, image=9):
    bg = group_config(group, samples)
    layer = pconv.LiftingConv(cin, cout, make_group(group), bg, kernel_config(kernel, size=size),
                              conv_config())
    randomise(layer, gen)
    layer.eval()
    x = torch.randn(2, cin, image, image, generator=gen)
    with torch.no_grad():
        out, g = layer(x)
    case = dict(layer="lifting", group=group, no_samples=samples, kernel=kernel, c_in=cin,
                c_out=cout, size=size, padding="same")
    save(name, case, {**state(layer, "layer."), "input": x, "output": out,
                      **element_tensors(group, "out", g)})


def group_case(name, group, samples, kernel, gen, cin=2, cout=3, size=5, image=7,
               padding="same"):
    bg = group_config(group, samples)
    layer = pconv.GroupConv(cin, cout, make_group(group), bg, kernel_config(kernel, size=size),
                            conv_config(padding=padding))
    randomise(layer, gen)
    layer.eval()
    g_in = random_elements(group, samples, gen)
    x = torch.randn(2, cin, samples, image, image, generator=gen)
    with torch.no_grad():
        out, g_out = layer([x, g_in])
    case = dict(layer="group", group=group, no_samples=samples, kernel=kernel, c_in=cin,
                c_out=cout, size=size, padding=padding)
    save(name, case, {**state(layer, "layer."), "input": x, "output": out,
                      **element_tensors(group, "in", g_in),
                      **element_tensors(group, "out", g_out)})


def pointwise_case(name, group, samples, kernel, gen, cin=2, cout=3, image=5):
    bg = group_config(group, samples)
    # The reference's residual block halves the kernel net's width before building its
    # pointwise shortcut; pgcnn's PointwiseGroupConv halves the block's width itself, so
    # the case's width (8, as every case) is twice the reference layer's.
    layer = pconv.PointwiseGroupConv(cin, cout, make_group(group), bg,
                                     kernel_config(kernel, hidden=4), conv_config())
    randomise(layer, gen)
    layer.eval()
    g_in = random_elements(group, samples, gen)
    g_out = random_elements(group, samples, gen)
    x = torch.randn(2, cin, samples, image, image, generator=gen)
    with torch.no_grad():
        out, _ = layer([x, g_in, g_out])
    case = dict(layer="pointwise", group=group, no_samples=samples, kernel=kernel, c_in=cin,
                c_out=cout, size=1, padding="same")
    save(name, case, {**state(layer, "layer."), "input": x, "output": out,
                      **element_tensors(group, "in", g_in),
                      **element_tensors(group, "out", g_out)})


def partial_case(name, group, samples, method, gen, seed, cin=2, cout=3, image=7):
    """A partial group convolution: the reference draws its output elements (θ-grid or
    kept discrete elements, the mirror); pgcnn convolves on the same elements."""
    bg = group_config(group, samples, method)
    layer = pconv.GroupConv(cin, cout, make_group(group), bg, kernel_config("SIREN"),
                            conv_config(partial=True))
    randomise(layer, gen)
    with torch.no_grad():
        if method == "random":
            layer.probs[0] = 0.6  # θ: a partial circle
            if group == "E2":
                layer.probs[1] = 2.0  # mirror logit: kept with probability sigmoid(sigmoid(4))
        else:
            layer.probs.copy_(torch.linspace(-1.0, 2.0, layer.probs.numel()))
    layer.train()  # partial layers draw in either mode
    if method == "deterministic":
        g_in = groups_full(group, samples)
    else:
        g_in = random_elements(group, samples, gen)
    x = torch.randn(2, cin, g_in.shape[1], image, image, generator=gen)
    torch.manual_seed(seed)
    with torch.no_grad():
        out, g_out = layer([x, g_in])
    case = dict(layer="group", group=group, no_samples=samples, kernel="SIREN", c_in=cin,
                c_out=cout, size=5, padding="same", partial=True, sampling_method=method)
    save(name, case, {**state(layer, "layer."), "input": x, "output": out,
                      **element_tensors(group, "in", g_in),
                      **element_tensors(group, "out", g_out)})


def groups_full(group, samples):
    g = make_group(group).sample_from_stabilizer(
        no_samples=1, no_elements=samples, method=SamplingMethods.DETERMINISTIC,
        device="cpu", partial_equivariance=False, probs=None)
    return g


def sampling_case(name, group, samples):
    """The deterministic grid as the reference orders it, in pgcnn's parameterisation."""
    g = groups_full(group, samples)
    save(name, dict(layer="sampling", group=group, no_samples=samples),
         element_tensors(group, "out", g))


def norm_cases(gen):
    x = torch.randn(2, 3, 4, 5, 5, generator=gen)
    bn = torch.nn.BatchNorm3d(3)
    randomise(bn, gen)
    bn.eval()
    ln = gral.nn.LayerNorm(3)
    randomise(ln, gen)
    with torch.no_grad():
        save("norm_batch", dict(layer="batch_norm", channels=3),
             {**state(bn, "layer."), "input": x, "output": bn(x)})
        save("norm_layer", dict(layer="layer_norm", channels=3),
             {**state(ln, "layer."), "input": x, "output": ln(x)})
        save("norm_per_sample", dict(layer="per_sample_norm"),
             {"input": x, "output": torch.nn.functional.layer_norm(x, x.shape[-3:])})
        pool = pconv.pool.MaxPoolRn(kernel_size=2, stride=2, padding=0)
        y = torch.randn(2, 3, 4, 7, 6, generator=gen)
        save("pool_max", dict(layer="max_pool"), {"input": y, "output": pool(y)})
        save("pool_global_max", dict(layer="global_max_pool"),
             {"input": y, "output": torch.amax(y, dim=(-3, -2, -1))})
        save("pool_global_mean", dict(layer="global_mean_pool"),
             {"input": y, "output": torch.mean(y, dim=(-3, -2, -1))})


def model_case(name, net, group, samples, gen, norm="BatchNorm", kernel="SIREN", blocks=2,
               pool_blocks=(1,), last_conv_t2=False, dataset="MNIST6-180", image=28):
    """A whole model's eval-mode logits (deterministic sampling, nothing partial: the only
    draws are fixed grids)."""
    cfg = {
        "net.type": net, "net.no_hidden": 4, "net.no_blocks": blocks, "net.norm": norm,
        "net.dropout": 0.0, "net.pool_blocks": list(pool_blocks), "net.dropout_blocks": [],
        "net.block_width_factors": [0.0], "net.last_conv_T2": last_conv_t2,
        "net.learnable_final_pooling": False, "net.final_spatial_dim": [1, 1],
        "conv.padding": "same", "conv.partial_equiv": False, "conv.bias": True,
        "kernel.type": kernel, "kernel.no_hidden": 8, "kernel.no_layers": 3,
        "kernel.size": 5, "kernel.omega0": 10.0, "kernel.learn_omega0": False,
        "kernel.weight_norm": False, "kernel.norm": "Identity", "kernel.activation": "ReLU",
        "base_group.name": group, "base_group.no_samples": samples,
        "base_group.sample_per_batch_element": False, "base_group.sample_per_layer": False,
        "base_group.sampling_method": "deterministic", "dataset": dataset,
    }
    sections = {}
    for key, value in cfg.items():
        if "." in key:
            sec, k = key.split(".", 1)
            sections.setdefault(sec, {})[k] = value
    net_cfg = ns(**sections["net"])
    net_cfg.pool_blocks = list(pool_blocks) or [-1]
    net_cfg.dropout_blocks = [-1]
    kc = ns(**sections["kernel"])
    kc.size = str(kc.size)  # the reference's config holds the size as a string
    bg = group_config(group, samples)
    cc = ns(**sections["conv"])
    model = getattr(models, net)(in_channels=1, out_channels=2, base_group=make_group(group),
                                 net_config=net_cfg, base_group_config=bg, kernel_config=kc,
                                 conv_config=cc)
    model = torch.nn.DataParallel(model)  # as the reference's trainer wraps it: "module."
    randomise(model, gen)
    model.eval()
    x = torch.randn(3, 1, image, image, generator=gen)
    with torch.no_grad():
        out = model(x)
    save(name, dict(layer="model", config=cfg), {**state(model), "input": x, "output": out})


def main():
    gen = torch.Generator().manual_seed(2026)
    torch.manual_seed(0)
    for g, n in [("SE2", 4), ("SE2", 8), ("E2", 8), ("E2", 4)]:
        sampling_case(f"sampling_{g.lower()}_{n}", g, n)
    for k in KERNELS:
        lifting_case(f"lifting_se2_{k.lower()}", "SE2", 4, k, gen)
        group_case(f"group_e2_{k.lower()}", "E2", 8, k, gen)
    for g, n in [("SE2", 1), ("SE2", 4), ("E2", 8)]:
        tag = "t2" if n == 1 else g.lower()
        lifting_case(f"lifting_{tag}_siren", g, n, "SIREN", gen)
        group_case(f"group_{tag}_siren", g, n, "SIREN", gen)
        group_case(f"group_{tag}_siren_valid", g, n, "SIREN", gen, padding="valid")
        pointwise_case(f"pointwise_{tag}_siren", g, n, "SIREN", gen)
    for g in ["SE2", "E2"]:
        for method, n in [("random", 8), ("deterministic", 8)]:
            for seed in [1, 2]:
                partial_case(f"partial_{g.lower()}_{method}_{seed}", g, n, method, gen, seed)
    norm_cases(gen)
    for net in ["CKResNet", "GCNN"]:
        for g, n in [("SE2", 1), ("SE2", 4), ("E2", 8)]:
            tag = "t2" if n == 1 else g.lower()
            model_case(f"model_{net.lower()}_{tag}", net, g, n, gen)
    model_case("model_ckresnet_e2_layernorm_gabor", "CKResNet", "E2", 4, gen, norm="LayerNorm",
               kernel="Gabor")


if __name__ == "__main__":
    main()
