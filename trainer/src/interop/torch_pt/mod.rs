//! Reading PyTorch checkpoints: the state dict of a file written by `torch.save` (the
//! zip format, torch ≥ 1.6), as named `f32` tensors in the file's order.
//!
//! ```no_run
//! use pgcnn::interop::torch_pt::read_state_dict;
//! let sd = read_state_dict(std::path::Path::new("model.pt"))?;
//! let w = sd.get("head.weight").expect("the file has it");
//! println!("{} {:?} {} values, {} in the file", w.name, w.shape, w.data.len(), w.dtype);
//! # Ok::<(), pgcnn::interop::torch_pt::TorchPtError>(())
//! ```
//!
//! # The format
//!
//! `torch.save(obj, path)` writes a zip archive whose entries lie in one folder
//! (`archive/` in recent torch, the file's stem in older ones):
//!
//! | entry | content |
//! | --- | --- |
//! | `data.pkl` | `obj`, pickled (protocol 2); each tensor is a call of `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` whose storage is a persistent id `('storage', torch.FloatStorage, key, location, numel)` |
//! | `data/<key>` | one storage: `numel` elements, raw, little-endian, stored uncompressed |
//! | `byteorder` | `little` or `big` (written by recent torch, 2.15 among them; absent means little) |
//! | `version`, `.data/...` | format version and ids, not needed here |
//!
//! A state dict is an `OrderedDict` of names to tensors (parameters and buffers, e.g. a
//! batch norm's `running_mean` and its int64 `num_batches_tracked`). Tensors are views:
//! several may share one storage, at an offset, with any strides.
//!
//! # What is read, and what is refused
//!
//! Read: dtypes float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 and
//! bool, all converted to `f32` ([`TorchDtype`] says which exactly); contiguous and
//! strided views, storage offsets, shared storages, scalars and empty tensors;
//! parameters (`_rebuild_parameter`) and `_rebuild_tensor_v3`; big-endian files; zip64
//! archives. A file holding a dict with the state dict under `"model"` (the reference
//! implementation's checkpoints), `"state_dict"` or `"model_state_dict"` is read too
//! ([`StateDict::found_under`]).
//!
//! Refused with an error that says so ([`TorchPtError::Unsupported`]): the legacy
//! format of torch < 1.6 (re-save the file with a newer torch), TorchScript archives,
//! compressed or encrypted entries, complex, quantized and sparse tensors, pickle
//! protocol 5 buffers. Malformed input (a truncated archive, a storage shorter than a
//! view, a CRC mismatch, a pickle that does not parse) is a
//! [`TorchPtError::Corrupt`] naming the entry, the pickle byte or the tensor; nothing
//! panics, and nothing is allocated that the file's size does not back.
//!
//! Layout: `zip.rs` (the archive, read in place), `pickle.rs` (a pickle machine that
//! imports nothing), `tensors.rs` (torch's meaning: finding the state dict, storages and
//! views), `dtype.rs`, `state_dict.rs` (the result), `read.rs` (the entry points),
//! `error.rs`.

mod dtype;
mod error;
mod pickle;
mod read;
mod state_dict;
mod tensors;
mod zip;

pub use dtype::TorchDtype;
pub use error::TorchPtError;
pub use read::{parse_state_dict, read_state_dict};
pub use state_dict::{SkippedEntry, StateDict, TorchTensor};
pub use tensors::{MAX_VALUES_PER_BYTE, STATE_DICT_KEYS};
