//! The byte format of a checkpoint: a safetensors file whose tensors are all F32 and
//! whose `__metadata__` header holds the configuration and the run's counters.
//!
//! Parsing is defensive because the fuzz target feeds it arbitrary bytes: the header
//! length is checked against the buffer before anything is parsed, the safetensors
//! parser then checks that offsets are contiguous, in bounds and match each shape times
//! the dtype's size (with overflow checks), and the only allocations are the parsed
//! header (at most the header's length) and the tensor data (at most the buffer's
//! length). Each tensor's bytes are then checked against the checksum stored for it
//! (format version 2; see `checksum.rs`).

use super::checksum::{checksum_key, checksum_text, verify, Integrity};
use super::error::{CheckpointError, Result};
use super::{
    Checkpoint, NamedTensor, CONFIG_KEY, FORMAT_KEY, FORMAT_NAME, FORMAT_VERSION,
    FORMAT_VERSION_KEY, FORMAT_VERSION_UNCHECKED,
};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};

/// The safetensors length prefix: a little-endian u64 giving the header's byte length.
const LEN_PREFIX: usize = 8;

/// The largest header accepted (the safetensors crate's own limit, checked here first
/// so that the message says how large the claimed header was).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Serialises `ckpt` to safetensors bytes.
pub(crate) fn encode(ckpt: &Checkpoint) -> Result<Vec<u8>> {
    ckpt.validate()?;
    let mut header: HashMap<String, String> = ckpt
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    header.insert(FORMAT_KEY.to_string(), FORMAT_NAME.to_string());
    header.insert(FORMAT_VERSION_KEY.to_string(), FORMAT_VERSION.to_string());
    header.insert(CONFIG_KEY.to_string(), ckpt.config_toml.clone());

    let bytes: Vec<Vec<u8>> = ckpt
        .tensors
        .iter()
        .map(|t| t.data.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(ckpt.tensors.len());
    for (t, b) in ckpt.tensors.iter().zip(&bytes) {
        header.insert(checksum_key(&t.name), checksum_text(b));
        let view = TensorView::new(Dtype::F32, t.dims.clone(), b).map_err(|e| {
            CheckpointError::Invalid(format!("tensor {:?} cannot be stored: {e}", t.name))
        })?;
        views.push((t.name.clone(), view));
    }
    safetensors::serialize(views, Some(header))
        .map_err(|e| CheckpointError::Invalid(format!("cannot serialise the checkpoint: {e}")))
}

/// Parses and validates safetensors bytes; `context` names the source in errors. Also
/// says whether the tensors were checked against stored checksums.
pub(crate) fn decode(bytes: &[u8], context: &str) -> Result<(Checkpoint, Integrity)> {
    let corrupt = |reason: String| CheckpointError::corrupt(context, reason);
    check_header_length(bytes).map_err(corrupt)?;
    let (header_len, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| corrupt(format!("{e}")))?;
    // read_metadata checked that the header and all tensors lie inside `bytes`.
    let data = bytes
        .get(LEN_PREFIX + header_len..)
        .ok_or_else(|| corrupt("the header runs past the end".to_string()))?;

    let names = meta.offset_keys();
    let mut tensors = Vec::with_capacity(names.len());
    let mut computed = Vec::with_capacity(names.len());
    for name in names {
        let info = meta
            .info(&name)
            .ok_or_else(|| corrupt(format!("tensor {name:?} is listed but has no entry")))?;
        if info.dtype != Dtype::F32 {
            return Err(corrupt(format!(
                "tensor {name:?} has dtype {}; pgcnn checkpoints hold F32 tensors only",
                info.dtype
            )));
        }
        let (start, end) = info.data_offsets;
        let raw = data.get(start..end).ok_or_else(|| {
            corrupt(format!(
                "tensor {name:?}: bytes {start}..{end} are out of bounds"
            ))
        })?;
        computed.push((name.clone(), checksum_text(raw)));
        let values = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push(NamedTensor {
            name,
            dims: info.shape.clone(),
            data: values,
        });
    }
    tensors.sort_by(|a, b| a.name.cmp(&b.name));

    let mut metadata: BTreeMap<String, String> = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    match metadata.remove(FORMAT_KEY).as_deref() {
        Some(FORMAT_NAME) => {}
        Some(other) => {
            return Err(corrupt(format!(
                "__metadata__.{FORMAT_KEY} is {other:?}, expected {FORMAT_NAME:?}"
            )))
        }
        None => {
            return Err(corrupt(format!(
                "__metadata__ has no {FORMAT_KEY:?} entry (a safetensors file written by another tool?)"
            )))
        }
    }
    let version = metadata.remove(FORMAT_VERSION_KEY).unwrap_or_default();
    let has_checksums = match version.as_str() {
        FORMAT_VERSION => true,
        FORMAT_VERSION_UNCHECKED => false,
        _ => {
            return Err(corrupt(format!(
                "format version {version:?}; this pgcnn reads versions \
                 {FORMAT_VERSION_UNCHECKED:?} and {FORMAT_VERSION:?}"
            )))
        }
    };
    let integrity = verify(&mut metadata, &computed, has_checksums).map_err(corrupt)?;
    let config_toml = metadata
        .remove(CONFIG_KEY)
        .ok_or_else(|| corrupt(format!("__metadata__ has no {CONFIG_KEY:?} entry")))?;
    let checkpoint = Checkpoint {
        config_toml,
        metadata,
        tensors,
    };
    Ok((checkpoint, integrity))
}

/// Checks the length prefix against the buffer, so that a header claiming a terabyte
/// is rejected with a message that says so.
pub(crate) fn check_header_length(bytes: &[u8]) -> std::result::Result<u64, String> {
    let Some(prefix) = bytes.get(..LEN_PREFIX) else {
        return Err(format!(
            "{} bytes, shorter than the {LEN_PREFIX}-byte header length",
            bytes.len()
        ));
    };
    let mut le = [0u8; LEN_PREFIX];
    le.copy_from_slice(prefix);
    let n = u64::from_le_bytes(le);
    let available = (bytes.len() - LEN_PREFIX) as u64;
    check_claimed_header(n, available)?;
    Ok(n)
}

/// `n` is the header length the prefix claims, `available` the bytes after the prefix.
pub(crate) fn check_claimed_header(n: u64, available: u64) -> std::result::Result<(), String> {
    if n > available {
        return Err(format!(
            "the header length prefix claims {n} bytes but only {available} follow it (truncated or corrupt)"
        ));
    }
    if n > MAX_HEADER_BYTES {
        return Err(format!(
            "the header claims {n} bytes, more than the {MAX_HEADER_BYTES} accepted"
        ));
    }
    if n < 2 {
        return Err(format!(
            "the header is {n} bytes, too short to be a JSON object"
        ));
    }
    Ok(())
}
