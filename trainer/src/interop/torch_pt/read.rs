//! The reader's entry points: recognise the file, open the zip archive, run its
//! `data.pkl`, and read the state dict's tensors from the `data/<key>` entries.

use super::error::{corrupt, unsupported, Problem, TorchPtError};
use super::pickle;
use super::state_dict::StateDict;
use super::tensors;
use super::zip::{Archive, ZIP_MAGIC};
use std::collections::HashMap;
use std::path::Path;

/// The start of a file written by the legacy serialisation (torch < 1.6, or
/// `_use_new_zipfile_serialization=False`): pickle protocol 2, then the 10-byte integer
/// magic number 0x1950a86a20f9469cfc6c as LONG1.
const LEGACY_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

/// Reads the state dict of a checkpoint written by `torch.save` (the zip format of
/// torch ≥ 1.6): `torch.save(model.state_dict(), path)`, or a dict that holds the state
/// dict under `"model"`, `"state_dict"` or `"model_state_dict"` (the reference
/// implementation's `torch.save({"model": ..., "optimizer": ..., ...})`;
/// [`StateDict::found_under`] says which).
///
/// Tensors come back in the file's order, converted to `f32` (see
/// [`TorchDtype`](super::TorchDtype) for which conversions are exact), row-major
/// whatever the stored strides. Entries that are not tensors are skipped and listed in
/// [`StateDict::skipped`].
///
/// Nothing in the file is executed: the pickle is interpreted by a small machine that
/// imports nothing (unlike `torch.load` without `weights_only=True`), and every size it
/// declares is checked against the bytes present before anything is allocated.
///
/// ```no_run
/// use pgcnn::interop::torch_pt::read_state_dict;
/// let sd = read_state_dict(std::path::Path::new("final_model.pt"))?;
/// for t in sd.iter().filter(|t| t.is_float()) {
///     println!("{} {:?}", t.name, t.shape);
/// }
/// let w = sd.get("lift.kernel_net.0.weight").expect("present");
/// assert_eq!(w.data.len(), w.shape.iter().product::<usize>());
/// # Ok::<(), pgcnn::interop::torch_pt::TorchPtError>(())
/// ```
pub fn read_state_dict(path: &Path) -> Result<StateDict, TorchPtError> {
    let bytes = std::fs::read(path).map_err(|source| TorchPtError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes).map_err(|p| p.in_context(&path.display().to_string()))
}

/// [`read_state_dict`] on the bytes of a file (errors name the input "the checkpoint
/// bytes").
pub fn parse_state_dict(bytes: &[u8]) -> Result<StateDict, TorchPtError> {
    parse(bytes).map_err(|p| p.in_context("the checkpoint bytes"))
}

fn parse(bytes: &[u8]) -> Result<StateDict, Problem> {
    if !bytes.starts_with(&ZIP_MAGIC) {
        return Err(not_zip(bytes));
    }
    let archive = Archive::parse(bytes).map_err(|p| p.at("zip archive"))?;
    let prefix = find_prefix(&archive)?;

    let big_endian = match archive.entry(&format!("{prefix}byteorder")) {
        None => false, // older torch wrote none, and wrote little-endian storages
        Some(e) => match archive.read(e)? {
            b"little" => false,
            b"big" => true,
            other => {
                return Err(corrupt(format!(
                    "entry {:?} says {:?}, not \"little\" or \"big\"",
                    e.name,
                    String::from_utf8_lossy(&other[..other.len().min(20)])
                )))
            }
        },
    };

    let pkl_name = format!("{prefix}data.pkl");
    let pkl_entry = archive
        .entry(&pkl_name)
        .ok_or_else(|| corrupt(format!("no entry {pkl_name:?}")))?;
    let pkl = archive.read(pkl_entry)?;
    let pk = pickle::run(pkl).map_err(|p| p.at(&format!("entry {pkl_name:?}")))?;

    // Storages are slices of the input; each is checked (CRC) once.
    let mut storages = HashMap::new();
    let load = |key: &str| storage(&archive, &prefix, &mut storages, key);
    tensors::read_state_dict(&pk, load, big_endian, bytes.len())
}

/// The bytes of storage `key` (entry `<prefix>data/<key>`), read once.
fn storage<'a>(
    archive: &Archive<'a>,
    prefix: &str,
    cache: &mut HashMap<String, &'a [u8]>,
    key: &str,
) -> Result<&'a [u8], Problem> {
    if let Some(b) = cache.get(key) {
        return Ok(b);
    }
    let name = format!("{prefix}data/{key}");
    let entry = archive
        .entry(&name)
        .ok_or_else(|| corrupt(format!("the archive has no entry {name:?}")))?;
    let b = archive.read(entry)?;
    cache.insert(key.to_string(), b);
    Ok(b)
}

/// The folder every entry of a torch archive lies in (`archive/`, or the file's stem for
/// older torch), found from its `data.pkl`; refuses TorchScript archives.
fn find_prefix(archive: &Archive) -> Result<String, Problem> {
    let mut found = archive
        .entries()
        .iter()
        .filter_map(|e| e.name.strip_suffix("data.pkl"))
        .filter(|p| p.is_empty() || (p.ends_with('/') && p.matches('/').count() == 1));
    let Some(prefix) = found.next() else {
        let names: Vec<&str> = archive.entries().iter().take(8).map(|e| e.name).collect();
        return Err(corrupt(format!(
            "a zip archive, but not one torch.save wrote: it has no <folder>/data.pkl entry \
             (entries: {names:?}{})",
            if archive.entries().len() > 8 {
                ", ..."
            } else {
                ""
            }
        )));
    };
    if let Some(other) = found.next() {
        return Err(corrupt(format!(
            "two pickles, {prefix:?}data.pkl and {other:?}data.pkl"
        )));
    }
    if archive.entry(&format!("{prefix}constants.pkl")).is_some() {
        return Err(unsupported(
            "a TorchScript archive (torch.jit.save), not a state dict: save the model's \
             weights with torch.save(model.state_dict(), path)",
        ));
    }
    Ok(prefix.to_string())
}

/// Says what a file that is not a zip archive is, where that can be told.
fn not_zip(bytes: &[u8]) -> Problem {
    if bytes.is_empty() {
        return corrupt("the file is empty");
    }
    if bytes.starts_with(&LEGACY_MAGIC) {
        return unsupported(
            "the legacy PyTorch format (torch < 1.6, or _use_new_zipfile_serialization=False), \
             which this reader does not read: re-save it with torch >= 1.6's default, \
             torch.save(torch.load(old_path), new_path)",
        );
    }
    if bytes.get(257..262) == Some(b"ustar") {
        return unsupported(
            "a tar archive (the PyTorch format before 0.4?): re-save it with torch >= 1.6",
        );
    }
    if bytes[0] == 0x80 {
        return unsupported(
            "a plain pickle, not a torch.save zip archive (written by pickle.dump? \
             torch.save(obj, path) writes the zip format)",
        );
    }
    if let Some(len) = bytes.get(..8) {
        let n = u64::from_le_bytes(len.try_into().unwrap_or([0; 8]));
        if bytes.get(8) == Some(&b'{') && n <= bytes.len() as u64 {
            return unsupported(
                "a safetensors file, not a torch.save zip archive (pgcnn's own checkpoints \
                 are safetensors files: see pgcnn::checkpoint)",
            );
        }
    }
    let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
    corrupt(format!(
        "not a zip archive (it starts with {}; torch.save writes zip archives, which start \
         with 50 4b 03 04)",
        head.join(" ")
    ))
}
