//! Per-tensor checksums. Safetensors itself checks only that offsets and shapes fit, so
//! bytes altered after writing (a bit flipped on disk, a value patched by hand, a NaN
//! written into a weight) would load and be evaluated or trained on without a word.
//! Format version 2 stores the CRC-32 of each tensor's bytes in the header, and loading
//! refuses a tensor whose bytes no longer match, naming it. Files of format version 1,
//! written before, have no checksums: they still load, reported as [`Integrity::Unchecked`]
//! so that the caller can say so.

use std::collections::BTreeMap;

/// Prefix of the `__metadata__` keys holding the checksums: `pgcnn.crc32.<tensor name>`,
/// whose value is the CRC-32 of the tensor's bytes as 8 lowercase hexadecimal digits.
pub const CHECKSUM_PREFIX: &str = "pgcnn.crc32.";

/// The CRC-32 (IEEE 802.3, the checksum of gzip, zlib and PNG) of a tensor's stored bytes,
/// as written to the header.
pub(crate) fn checksum_text(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// The metadata key of tensor `name`'s checksum.
pub(crate) fn checksum_key(name: &str) -> String {
    format!("{CHECKSUM_PREFIX}{name}")
}

/// Whether the tensors of a loaded checkpoint were checked against stored checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// Every tensor's bytes matched the checksum stored with it.
    Verified,
    /// The file predates checksums (format version 1): its tensors were not checked.
    Unchecked,
}

impl Integrity {
    /// The one-line note to show for a checkpoint read from `source`, if any (only an
    /// unchecked one has something to say).
    pub fn note(self, source: &str) -> Option<String> {
        match self {
            Integrity::Verified => None,
            Integrity::Unchecked => Some(format!(
                "{source} was written before pgcnn stored checksums in checkpoints (format \
                 version 1), so its tensors are loaded without a check for damage"
            )),
        }
    }
}

/// Takes the checksum entries out of `metadata` and checks them against `computed` (each
/// tensor's name and the [`checksum_text`] of its bytes). `stored` says whether the
/// format version carries checksums; when it does, every tensor needs one and every
/// checksum a tensor. The error says which tensor is at fault.
pub(crate) fn verify(
    metadata: &mut BTreeMap<String, String>,
    computed: &[(String, String)],
    stored: bool,
) -> Result<Integrity, String> {
    let mut sums: BTreeMap<String, String> = metadata
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(CHECKSUM_PREFIX)?.to_string(), v.clone())))
        .collect();
    metadata.retain(|k, _| !k.starts_with(CHECKSUM_PREFIX));
    if !stored {
        // Left in the metadata, such a key would make the checkpoint fail to save again
        // (the prefix is reserved), so it is refused here.
        return match sums.keys().next() {
            Some(name) => Err(format!(
                "format version 1 has no checksums, yet __metadata__ holds {:?}",
                checksum_key(name)
            )),
            None => Ok(Integrity::Unchecked),
        };
    }
    for (name, actual) in computed {
        let key = checksum_key(name);
        let expected = sums
            .remove(name)
            .ok_or_else(|| format!("tensor {name:?} has no checksum (no {key:?} entry)"))?;
        if expected.len() != 8 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "the checksum of tensor {name:?} ({key:?}) is {expected:?}, not 8 hexadecimal digits"
            ));
        }
        if !expected.eq_ignore_ascii_case(actual) {
            return Err(format!(
                "tensor {name:?}: its bytes do not match the checksum stored with them \
                 (CRC-32 {actual}, header {expected}); the file was altered or damaged \
                 after it was written"
            ));
        }
    }
    match sums.keys().next() {
        Some(name) => Err(format!(
            "__metadata__ holds a checksum for tensor {name:?}, which the file does not contain"
        )),
        None => Ok(Integrity::Verified),
    }
}
