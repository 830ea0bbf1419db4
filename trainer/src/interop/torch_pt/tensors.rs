//! Reads the state dict out of an executed pickle: finds the dict of tensors, interprets
//! torch's tensor-rebuilding calls and storage ids, and copies each view's elements out
//! of its storage in row-major order, converted to `f32`.
//!
//! What torch writes for one tensor (torch/_tensor.py `__reduce_ex__`,
//! torch/serialization.py `persistent_id`):
//!
//! ```text
//! torch._utils._rebuild_tensor_v2(
//!     storage,            # persistent id ('storage', torch.FloatStorage, '0', 'cpu', numel)
//!     storage_offset,     # in elements
//!     size, stride,       # tuples of ints, in elements
//!     requires_grad, backward_hooks[, metadata])
//! ```
//!
//! `storage` is the archive entry `data/<key>`: `numel` elements, little-endian unless the
//! archive's `byteorder` entry says `big`. Several tensors may share one storage (views,
//! tied weights) at different offsets and strides. Also read: `_rebuild_tensor` (older
//! torch), `_rebuild_tensor_v3` (an explicit dtype), `_rebuild_parameter[_with_state]`
//! (an `nn.Parameter` around a tensor) and `torch._tensor._rebuild_from_type_v2` (a tensor
//! subclass around one of those).
//!
//! Memory: a view may repeat storage elements (stride 0, or many names for one storage),
//! so its output is not bounded by the file's size by construction. Every view's element
//! count is checked, before anything is allocated, against its storage and against a
//! budget of [`MAX_VALUES_PER_BYTE`] values per byte of the file for all tensors together.

use super::dtype::TorchDtype;
use super::error::{corrupt, unsupported, Problem};
use super::pickle::{Obj, Pickle, Value};
use super::state_dict::{SkippedEntry, StateDict, TorchTensor};
use std::collections::HashSet;

/// The keys under which a checkpoint dict may hold the model's state dict, in the order
/// they are tried: the reference implementation's `torch.save({"model": ..., "optimizer":
/// ..., ...})`, and two common spellings.
pub const STATE_DICT_KEYS: [&str; 3] = ["model", "state_dict", "model_state_dict"];

/// The most `f32` values the tensors of one file may hold together, per byte of the file:
/// `f32` storages give ¼ value per byte, one-byte types 1; more means views that repeat
/// elements (expanded tensors, one storage under many names), refused beyond this.
pub const MAX_VALUES_PER_BYTE: usize = 2;

/// How deep tensor-building calls may nest (a parameter around a subclass around a
/// tensor is 3).
const MAX_NESTING: usize = 4;

/// A tensor as the pickle describes it: where its elements are.
struct View<'p> {
    dtype: TorchDtype,
    /// The storage's key: archive entry `data/<key>`.
    key: &'p str,
    /// The storage's size as the persistent id declares it, in elements (typed storages)
    /// or bytes (untyped ones, `declared_in_bytes`).
    declared: i64,
    declared_in_bytes: bool,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// Finds the state dict in `pk` and reads its tensors. `load(key)` returns the bytes of
/// storage `key`; `file_len` (the checkpoint's size in bytes) sets the output budget.
pub(crate) fn read_state_dict<'a>(
    pk: &Pickle,
    mut load: impl FnMut(&str) -> Result<&'a [u8], Problem>,
    big_endian: bool,
    file_len: usize,
) -> Result<StateDict, Problem> {
    let (entries, found_under) = locate(pk)?;
    let mut budget = file_len.saturating_mul(MAX_VALUES_PER_BYTE);
    let mut names = HashSet::new();
    let mut tensors = Vec::new();
    let mut skipped = Vec::new();
    for (i, &(k, v)) in entries.iter().enumerate() {
        let Some(name) = pk.str(k) else {
            return Err(Problem::NoStateDict(format!(
                "entry {i} of the dict has {} as its key, not a name",
                pk.describe(k)
            )));
        };
        if !names.insert(name) {
            return Err(corrupt(format!("the state dict sets {name:?} twice")));
        }
        let at = |p: Problem| p.at(&format!("tensor {name:?}"));
        let Some(view) = view_of(pk, v, 0).map_err(at)? else {
            skipped.push(SkippedEntry {
                name: name.to_string(),
                what: pk.describe(v),
            });
            continue;
        };
        let data = materialize(&view, &mut load, big_endian, &mut budget, file_len).map_err(at)?;
        tensors.push(TorchTensor {
            name: name.to_string(),
            shape: view.shape,
            dtype: view.dtype,
            data,
        });
    }
    if tensors.is_empty() && !skipped.is_empty() {
        let keys: Vec<&str> = skipped.iter().take(8).map(|s| s.name.as_str()).collect();
        return Err(Problem::NoStateDict(format!(
            "the dict{} holds {} entries and no tensor (keys {keys:?}{})",
            found_under
                .as_ref()
                .map(|k| format!(" under {k:?}"))
                .unwrap_or_default(),
            skipped.len(),
            if skipped.len() > 8 { ", ..." } else { "" }
        )));
    }
    Ok(StateDict::new(tensors, skipped, found_under))
}

/// The items of a dict in the pickle, in order.
type DictItems<'p> = &'p [(Value, Value)];

/// The dict that is the state dict: the top-level dict, or the dict it holds under one of
/// [`STATE_DICT_KEYS`].
fn locate(pk: &Pickle) -> Result<(DictItems<'_>, Option<String>), Problem> {
    let Some(Obj::Dict(root)) = pk.obj(pk.root) else {
        return Err(Problem::NoStateDict(format!(
            "the file holds {}, not a dict",
            pk.describe(pk.root)
        )));
    };
    for key in STATE_DICT_KEYS {
        let found = root
            .iter()
            .find(|(k, _)| pk.str(*k) == Some(key))
            .and_then(|&(_, v)| match pk.obj(v) {
                Some(Obj::Dict(d)) => Some(d.as_slice()),
                _ => None,
            });
        if let Some(d) = found {
            return Ok((d, Some(key.to_string())));
        }
    }
    Ok((root, None))
}

/// The view a value describes, `None` when the value is not a tensor.
fn view_of(pk: &Pickle, v: Value, depth: usize) -> Result<Option<View<'_>>, Problem> {
    let Some(Obj::Call { callable, args, .. }) = pk.obj(v) else {
        return Ok(None);
    };
    call_view(pk, *callable, *args, depth)
}

fn call_view(
    pk: &Pickle,
    callable: Value,
    args: Value,
    depth: usize,
) -> Result<Option<View<'_>>, Problem> {
    let Some((module, name)) = pk.global(callable) else {
        return Ok(None);
    };
    if depth >= MAX_NESTING {
        return Err(corrupt(format!(
            "tensor-building calls nested more than {MAX_NESTING} deep"
        )));
    }
    match (module, name) {
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
            let a = args_of(pk, args, name, 4)?;
            view_from_parts(pk, a[0], a[1], a[2], a[3], None).map(Some)
        }
        ("torch._utils", "_rebuild_tensor_v3") => {
            let a = args_of(pk, args, name, 7)?;
            let dtype = match pk.global(a[6]) {
                Some(("torch", n)) => TorchDtype::from_dtype_name(n)
                    .ok_or_else(|| unsupported(format!("dtype torch.{n} is not read")))?,
                _ => {
                    return Err(corrupt(format!(
                        "_rebuild_tensor_v3's dtype is {}, not a torch dtype",
                        pk.describe(a[6])
                    )))
                }
            };
            view_from_parts(pk, a[0], a[1], a[2], a[3], Some(dtype)).map(Some)
        }
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
            let a = args_of(pk, args, name, 1)?;
            match view_of(pk, a[0], depth + 1)? {
                Some(v) => Ok(Some(v)),
                None => Err(corrupt(format!(
                    "{name}'s data is {}, not a tensor",
                    pk.describe(a[0])
                ))),
            }
        }
        ("torch._tensor", "_rebuild_from_type_v2") => {
            let a = args_of(pk, args, name, 3)?;
            match call_view(pk, a[0], a[2], depth + 1)? {
                Some(v) => Ok(Some(v)),
                None => Err(corrupt(format!(
                    "{name} rebuilds with {}, not a tensor function",
                    pk.describe(a[0])
                ))),
            }
        }
        (m, n) if m.starts_with("torch") && n.starts_with("_rebuild") => Err(unsupported(format!(
            "{m}.{n} (a sparse, quantized, meta or other special tensor) is not read"
        ))),
        _ => Ok(None),
    }
}

/// The arguments of a call, at least `min` of them.
fn args_of<'p>(
    pk: &'p Pickle,
    args: Value,
    what: &str,
    min: usize,
) -> Result<&'p [Value], Problem> {
    let a = pk
        .items(args)
        .ok_or_else(|| corrupt(format!("{what}: its arguments are not a tuple")))?;
    if a.len() < min {
        return Err(corrupt(format!(
            "{what} takes at least {min} arguments, the pickle gives {}",
            a.len()
        )));
    }
    Ok(a)
}

/// A non-negative integer argument.
fn index(pk: &Pickle, v: Value, what: &str) -> Result<usize, Problem> {
    match v {
        Value::Int(i) => {
            usize::try_from(i).map_err(|_| corrupt(format!("{what} is {i}, negative")))
        }
        other => Err(corrupt(format!(
            "{what} is {}, not an integer",
            pk.describe(other)
        ))),
    }
}

/// A tuple of non-negative integers.
fn indices(pk: &Pickle, v: Value, what: &str) -> Result<Vec<usize>, Problem> {
    let items = match pk.obj(v) {
        Some(Obj::Tuple(t)) | Some(Obj::List(t)) => t,
        _ => {
            return Err(corrupt(format!(
                "the {what} is {}, not a tuple",
                pk.describe(v)
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, &x)| index(pk, x, &format!("{what} item {i}")))
        .collect()
}

fn view_from_parts(
    pk: &Pickle,
    storage: Value,
    offset: Value,
    size: Value,
    stride: Value,
    dtype: Option<TorchDtype>,
) -> Result<View<'_>, Problem> {
    let Some(Obj::Persistent(pid)) = pk.obj(storage) else {
        return Err(corrupt(format!(
            "its storage is {}, not a persistent id",
            pk.describe(storage)
        )));
    };
    let pid_items = pk.items(*pid).ok_or_else(|| {
        corrupt(format!(
            "its storage id is {}, not a tuple",
            pk.describe(*pid)
        ))
    })?;
    let [kind, class, key, _location, numel] = pid_items else {
        return Err(corrupt(format!(
            "its storage id has {} items; torch writes ('storage', type, key, location, numel)",
            pid_items.len()
        )));
    };
    if pk.str(*kind) != Some("storage") {
        return Err(corrupt(format!(
            "its storage id starts with {}, not 'storage'",
            pk.describe(*kind)
        )));
    }
    let key = pk.str(*key).ok_or_else(|| {
        corrupt(format!(
            "its storage key is {}, not a string",
            pk.describe(*key)
        ))
    })?;
    let Value::Int(declared) = *numel else {
        return Err(corrupt(format!(
            "storage {key:?}: its size is {}, not an integer",
            pk.describe(*numel)
        )));
    };
    let class_name = match pk.global(*class) {
        Some(("torch" | "torch.cuda", n)) => n,
        _ => {
            return Err(corrupt(format!(
                "storage {key:?}: its type is {}, not a torch storage class",
                pk.describe(*class)
            )))
        }
    };
    let (dtype, declared_in_bytes) = match (TorchDtype::from_storage_class(class_name), dtype) {
        (Some(Ok(t)), None) => (t, false),
        // _rebuild_tensor_v3: the dtype argument decides; an untyped storage counts bytes.
        (Some(Ok(_)), Some(t)) => (t, false),
        (_, Some(t)) if class_name == "UntypedStorage" => (t, true),
        (Some(Err(why)), _) => {
            return Err(unsupported(format!(
                "storage {key:?} is a torch.{class_name}: {why}"
            )))
        }
        (None, _) => {
            return Err(unsupported(format!(
                "storage {key:?} has the unknown type torch.{class_name}"
            )))
        }
    };
    let offset = index(pk, offset, "the storage offset")?;
    let shape = indices(pk, size, "size")?;
    let stride = indices(pk, stride, "stride")?;
    if shape.len() != stride.len() {
        return Err(corrupt(format!(
            "size {shape:?} and stride {stride:?} differ in length"
        )));
    }
    Ok(View {
        dtype,
        key,
        declared,
        declared_in_bytes,
        offset,
        shape,
        stride,
    })
}

/// Copies the view's elements out of its storage, row-major, as `f32`.
fn materialize<'a>(
    view: &View,
    load: &mut impl FnMut(&str) -> Result<&'a [u8], Problem>,
    big_endian: bool,
    budget: &mut usize,
    file_len: usize,
) -> Result<Vec<f32>, Problem> {
    let numel = view
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| corrupt(format!("size {:?} overflows", view.shape)))?;
    if numel > *budget {
        return Err(corrupt(format!(
            "size {:?} ({numel} values) passes the budget of {MAX_VALUES_PER_BYTE} values per \
             byte of the file ({} bytes; {} values left for this and later tensors): views \
             that repeat storage elements so much are refused",
            view.shape, file_len, *budget
        )));
    }
    *budget -= numel;
    let key = view.key;
    let bytes = load(key).map_err(|p| p.at(&format!("storage {key:?}")))?;
    let size = view.dtype.size();
    if bytes.len() % size != 0 {
        return Err(corrupt(format!(
            "storage {key:?} holds {} bytes, not a whole number of {}-byte {} elements",
            bytes.len(),
            size,
            view.dtype
        )));
    }
    let elements = bytes.len() / size;
    let present = if view.declared_in_bytes {
        bytes.len()
    } else {
        elements
    };
    if usize::try_from(view.declared).ok() != Some(present) {
        return Err(corrupt(format!(
            "storage {key:?}: the pickle declares {} {}, the archive entry holds {} bytes \
             ({elements} {} elements)",
            view.declared,
            if view.declared_in_bytes {
                "bytes"
            } else {
                "elements"
            },
            bytes.len(),
            view.dtype
        )));
    }
    if numel == 0 {
        return Ok(Vec::new());
    }
    // The last element the view reaches must be inside the storage.
    view.shape
        .iter()
        .zip(&view.stride)
        .try_fold(view.offset, |a, (&d, &s)| {
            a.checked_add((d - 1).checked_mul(s)?)
        })
        .filter(|&last| last < elements)
        .ok_or_else(|| {
            corrupt(format!(
                "the view (offset {}, size {:?}, stride {:?}) reaches past the end of \
                 storage {key:?}, which holds {elements} elements",
                view.offset, view.shape, view.stride
            ))
        })?;
    let mut data = Vec::with_capacity(numel);
    let mut idx = vec![0usize; view.shape.len()];
    let mut pos = view.offset;
    for _ in 0..numel {
        let b = &bytes[pos * size..(pos + 1) * size];
        data.push(view.dtype.to_f32(b, big_endian));
        // Odometer step over the last axis first; `pos` follows the strides. Wrapping
        // arithmetic: a stride on an axis of size 1 may be anything (it is never used to
        // reach an element), and the positions reached are all checked above.
        for ax in (0..idx.len()).rev() {
            idx[ax] += 1;
            pos = pos.wrapping_add(view.stride[ax]);
            if idx[ax] < view.shape[ax] {
                break;
            }
            pos = pos.wrapping_sub(view.stride[ax].wrapping_mul(view.shape[ax]));
            idx[ax] = 0;
        }
    }
    Ok(data)
}
