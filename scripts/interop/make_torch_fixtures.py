#!/usr/bin/env python3
"""Writes the PyTorch checkpoints that trainer/tests/torch_pt.rs reads, and what they hold.

Needs torch (any version with the zip format, >= 1.6; the committed files were written by
the version `expected.json` names). From the repository root:

    python3 scripts/interop/make_torch_fixtures.py

writes trainer/tests/fixtures/torch/:

- valid files, written by torch.save, each listed in expected.json with its tensors in
  order (name, shape, dtype, and the float32 bit pattern of every value as torch converts
  it: `tensor.to(torch.float32)`), the key the state dict was found under, and the
  entries that are not tensors:
  - state_dict.pt: a module's state dict (conv + batch norm after one training step, so
    an int64 num_batches_tracked, and the `_metadata` attribute) with more entries: every
    dtype the reader converts, a scalar, an empty tensor, views of one storage
    (transposed, an offset window, a stepped slice, a row: shared storage, offsets,
    strides), an expanded tensor (stride 0);
  - reference_style.pt: {"model", "optimizer", "lr_scheduler", "epoch"} as the reference
    implementation saves its final model (Adam after one step, StepLR);
  - parameters.pt: nn.Parameter values (_rebuild_parameter) beside a string and an int;
  - proto4.pt: state_dict.pt's module with pickle protocol 4 (FRAME, STACK_GLOBAL, ...);
  - big_endian.pt: float32 tensors with byteorder "big" (the storages byte-swapped; the
    script checks that torch.load reads back the original values);
  - no_crc.pt: written with torch.serialization.set_crc32_options(False), where torch has
    it (the zip's CRC fields are 0), else absent.
- files the reader must refuse (trainer/tests/torch_pt.rs says with which error):
  legacy.pt (_use_new_zipfile_serialization=False), torchscript.pt (torch.jit.save),
  list.pt (a list of tensors), optimizer_only.pt (an optimizer state dict: no tensors at
  the top), complex.pt (a complex64 tensor), compressed.pt (state_dict.pt re-zipped with
  deflate), and files crafted here with torch's layout and a pickle whose numbers are
  chosen (view_past_end.pt, huge_view.pt, overflowing_size.pt, declared_mismatch.pt,
  missing_storage.pt, unknown_storage.pt); the script checks that torch.load refuses the
  crafted ones too.

The values are deterministic (fixed seeds: expected.json comes out the same on every run);
the archives' bytes are not (torch writes a random serialization id, the legacy format
names storages by object id, zip entries carry the time). Rerun it after changing it and
commit the result; trainer/tests/torch_pt.rs must pass on what it wrote.
"""

import collections
import io
import json
import os
import pickle
import sys
import zipfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "trainer", "tests", "fixtures", "torch")


def f32_bits(t):
    """The float32 bit patterns of a tensor's values, row-major, as torch converts them."""
    flat = t.detach().to(torch.float32).contiguous().reshape(-1)
    return [int(x) & 0xFFFFFFFF for x in flat.view(torch.int32).tolist()]


def describe(sd):
    return [
        {"name": k, "shape": list(v.shape), "dtype": str(v.dtype), "bits": f32_bits(v)}
        for k, v in sd.items()
        if isinstance(v, torch.Tensor)
    ]


def small_module():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    m.train()
    m(torch.randn(2, 1, 5, 5))  # one step of running statistics
    return m


def state_dict_fixture():
    sd = small_module().state_dict()  # an OrderedDict with _metadata
    g = torch.Generator().manual_seed(1)
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5) / 8 - 1
    sd["scalar"] = torch.tensor(3.25)
    sd["empty"] = torch.zeros(0, 3)
    sd["base"] = base
    sd["transposed"] = base.t()  # stride (1, 5)
    sd["window"] = base[1:, 2:]  # offset 7, stride (5, 1)
    sd["stepped"] = base[::2, 1::2]  # offset 1, stride (10, 2)
    sd["row"] = base[2]  # offset 10
    sd["expanded"] = torch.tensor([2.5]).expand(3, 2)  # stride (0, 0)
    sd["float64"] = torch.tensor([[0.1, -1e-40], [1e300, 3.0]], dtype=torch.float64)
    sd["float16"] = torch.tensor(
        [1.5, -2.0, 6.0e-8, 65504.0, float("inf"), float("nan")], dtype=torch.float16
    )
    sd["bfloat16"] = torch.tensor([1.0, -3.140625, 1e-38, -0.0], dtype=torch.bfloat16)
    sd["int64"] = torch.tensor([7, -(2**40) - 1, 2**53 + 1], dtype=torch.int64)
    sd["int32"] = torch.tensor([-5, 0, 2**31 - 1], dtype=torch.int32)
    sd["int16"] = torch.tensor([-32768, 1, 32767], dtype=torch.int16)
    sd["int8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["uint8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["noise"] = torch.randn(2, 3, generator=g)
    return sd


def reference_style():
    m = small_module()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    loss = m(torch.randn(2, 1, 5, 5)).square().mean()
    loss.backward()
    opt.step()
    sched.step()
    return {
        "model": m.state_dict(),
        "optimizer": opt.state_dict(),
        "lr_scheduler": sched.state_dict(),
        "epoch": None,
    }


def save(name, obj, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    return path


def load(path):
    try:
        return torch.load(path, weights_only=False)
    except TypeError:  # torch without weights_only
        return torch.load(path)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def rezip(src, dst, transform=None, compression=zipfile.ZIP_STORED):
    """Copies a torch zip archive entry by entry, optionally changing entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if transform is not None:
                data = transform(info.filename, data)
            if data is not None:
                zout.writestr(info.filename, data)


# ---- crafted files: torch's layout, a pickle whose numbers are chosen ----------------


class Storage:
    def __init__(self, cls_name, key, numel):
        self.cls_name, self.key, self.numel = cls_name, key, numel


class View:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        args = (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict())
        return (torch._utils._rebuild_tensor_v2, args)


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.cls_name), obj.key, "cpu", obj.numel)
        return None


def craft(name, views, storages):
    """A torch-layout zip: data.pkl = OrderedDict(name -> View), data/<key> = bytes."""
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=2).dump(collections.OrderedDict(views))
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")
    return path


def floats(*xs):
    return torch.tensor(xs, dtype=torch.float32).numpy().tobytes()


def refused_by_torch(path):
    try:
        load(path)
    except Exception as e:  # noqa: BLE001 - any refusal will do
        return f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    sys.exit(f"{path}: torch.load accepted it")


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"torch_version": torch.__version__, "files": {}}

    def record(name, sd, found_under=None, skipped=()):
        expected["files"][name] = {
            "found_under": found_under,
            "skipped": list(skipped),
            "tensors": describe(sd),
        }

    sd = state_dict_fixture()
    p = save("state_dict.pt", sd)
    back = load(p)
    assert list(back) == list(sd) and all(same(back[k], sd[k]) or k == "float16" for k in sd)
    record("state_dict.pt", sd)

    ref = reference_style()
    save("reference_style.pt", ref)
    record("reference_style.pt", ref["model"], found_under="model")

    params = collections.OrderedDict(
        [
            ("weight", torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 4.0]]))),
            ("note", "not a tensor"),
            ("count", 3),
            ("bias", torch.nn.Parameter(torch.tensor([0.25]), requires_grad=False)),
        ]
    )
    save("parameters.pt", params)
    record("parameters.pt", params, skipped=["note", "count"])

    small = small_module().state_dict()
    save("proto4.pt", small, pickle_protocol=4)
    record("proto4.pt", small)

    # Big-endian: float32 storages byte-swapped, byteorder "big"; torch must agree.
    be = collections.OrderedDict(
        [("a", torch.tensor([1.0, -2.5, 3e-39])), ("b", torch.arange(6.0).reshape(2, 3).t())]
    )
    little = save("big_endian_src.pt", be)

    def swap(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        if "/data/" in name:
            return b"".join(data[i : i + 4][::-1] for i in range(0, len(data), 4))
        return data

    big = os.path.join(OUT, "big_endian.pt")
    rezip(little, big, swap)
    os.remove(little)
    back = load(big)
    assert all(same(back[k], be[k]) for k in be), "torch reads big_endian.pt differently"
    record("big_endian.pt", be)

    if hasattr(torch.serialization, "set_crc32_options"):
        torch.serialization.set_crc32_options(False)
        p = save("no_crc.pt", small)
        torch.serialization.set_crc32_options(True)
        with zipfile.ZipFile(p) as z:
            crcs = {i.filename: i.CRC for i in z.infolist()}
        print("no_crc.pt CRC fields:", crcs)
        record("no_crc.pt", small)

    # Refused, written by torch.
    save("legacy.pt", small, _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(OUT, "torchscript.pt"))
    save("list.pt", [torch.ones(2)])
    save("optimizer_only.pt", ref["optimizer"])
    save("complex.pt", {"c": torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64)})
    rezip(
        os.path.join(OUT, "state_dict.pt"),
        os.path.join(OUT, "compressed.pt"),
        compression=zipfile.ZIP_DEFLATED,
    )

    # Refused, crafted (torch.load must refuse them as well, except where noted).
    six = Storage("FloatStorage", "0", 6)
    data6 = {"0": floats(0, 1, 2, 3, 4, 5)}
    crafted = {
        "view_past_end.pt": craft("view_past_end.pt", [("w", View(six, 0, (3, 3), (3, 1)))], data6),
        "huge_view.pt": craft("huge_view.pt", [("w", View(six, 0, (2**40,), (1,)))], data6),
        "overflowing_size.pt": craft(
            "overflowing_size.pt", [("w", View(six, 0, (2**62, 8), (8, 1)))], data6
        ),
        "declared_mismatch.pt": craft(
            "declared_mismatch.pt",
            [("w", View(Storage("FloatStorage", "0", 10), 0, (2,), (1,)))],
            data6,
        ),
        "missing_storage.pt": craft(
            "missing_storage.pt", [("w", View(Storage("FloatStorage", "7", 6), 0, (6,), (1,)))], data6
        ),
    }
    torch.Float7Storage = type("Float7Storage", (), {"__module__": "torch"})
    try:
        crafted["unknown_storage.pt"] = craft(
            "unknown_storage.pt",
            [("w", View(Storage("Float7Storage", "0", 6), 0, (6,), (1,)))],
            data6,
        )
    finally:
        del torch.Float7Storage
    for name, path in crafted.items():
        print(name, "torch.load refuses:", refused_by_torch(path))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, name)):7d}  {name}")


if __name__ == "__main__":
    main()
