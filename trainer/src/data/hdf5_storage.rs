//! Whether an HDF5 dataset's stored bytes can back the size its dataspace declares
//! (feature `pcam`). The dataspace is a few header bytes that say nothing about the data
//! present: a corrupt PCam file can declare 262,144 images (29 GB as `f32`) in a file of
//! a few kilobytes, and HDF5 fills storage that was never written with the fill value, so
//! reading would succeed and allocate it all. The reader therefore checks, before it
//! allocates, that the file really stores the data: contiguous storage lies within the
//! file, every chunk of a chunked dataset is present (none left to the fill value), and
//! the stored bytes can decode to the declared size.

use std::collections::BTreeSet;

use hdf5_pure::{Dataset, Layout};

/// The most bytes one stored byte can decode to through HDF5's filters: deflate's limit
/// (a 258-byte match coded in 2 bits gives 1032:1; hdf5-pure bounds its inflate buffers by
/// the same figure). Shuffle and Fletcher-32, the other filters h5py writes by default, do
/// not expand. A file compressed beyond this (scale-offset of constant data) is refused;
/// PCam's files are not.
pub const MAX_EXPANSION: u64 = 1032;

/// Checks that `ds`, of `shape` (elements of one byte), in a file of `file_bytes` bytes,
/// stores enough to back the `declared` bytes its shape describes. The error says what
/// does not add up.
pub fn check_backed(
    ds: &Dataset,
    shape: &[u64],
    declared: u64,
    file_bytes: u64,
) -> Result<(), String> {
    let layout = ds
        .layout()
        .map_err(|e| format!("its storage layout is unreadable: {e}"))?;
    let stored = match layout {
        Layout::Compact { size } => size,
        Layout::Contiguous { address: None, .. } => {
            return Err("no data was ever written (its storage was never allocated)".into())
        }
        Layout::Contiguous {
            address: Some(address),
            size,
        } => {
            within_file(address, size, file_bytes)?;
            size
        }
        Layout::Chunked { chunk_shape, .. } => chunked_bytes(ds, shape, &chunk_shape, file_bytes)?,
        Layout::Virtual => {
            return Err(
                "it is a virtual dataset (data mapped from other datasets), which pgcnn does \
                 not read"
                    .into(),
            )
        }
        other => return Err(format!("it has an unknown storage layout ({other:?})")),
    };
    let expansion = if ds.filters().is_empty() {
        1
    } else {
        MAX_EXPANSION
    };
    let limit = stored.saturating_mul(expansion);
    if declared > limit {
        let how = if expansion == 1 {
            "hold".to_string()
        } else {
            format!("decode to (at most {limit} bytes, {MAX_EXPANSION}× through its filters)")
        };
        return Err(format!(
            "the file stores {stored} bytes for it, which cannot {how}: truncated or corrupt"
        ));
    }
    Ok(())
}

/// The bytes stored for a chunked dataset, after checking that every chunk of the grid
/// is present and lies within the file.
fn chunked_bytes(
    ds: &Dataset,
    shape: &[u64],
    chunk_shape: &[u64],
    file_bytes: u64,
) -> Result<u64, String> {
    if chunk_shape.len() != shape.len() || chunk_shape.contains(&0) {
        return Err(format!(
            "its chunks of shape {chunk_shape:?} do not fit its shape"
        ));
    }
    // Decoding a chunk costs its whole size, which neither the dataset's shape nor the
    // file's length bounds; a chunk longer than the dataset along an axis (possible only
    // for datasets made to grow, which PCam's are not) is refused. (Found by fuzzing: a
    // 15 KB file whose chunks were far larger than its dataset kept the reader busy for
    // minutes.)
    if let Some(axis) = (0..shape.len()).find(|&i| chunk_shape[i] > shape[i].max(1)) {
        return Err(format!(
            "its chunks of shape {chunk_shape:?} are longer than its shape {shape:?} along              axis {axis}"
        ));
    }
    // Every stored chunk takes at least one byte of the file; checked before the chunk
    // index is listed, since hdf5-pure lists an implicit index by the grid's size.
    let grid = shape
        .iter()
        .zip(chunk_shape)
        .try_fold(1u64, |n, (&d, &c)| n.checked_mul(d.div_ceil(c)))
        .filter(|&g| g <= file_bytes)
        .ok_or_else(|| {
            format!(
                "its chunks of shape {chunk_shape:?} split it into more chunks than the \
                 {file_bytes}-byte file can hold"
            )
        })?;
    let chunks = ds.chunks().map_err(|e| {
        format!("its chunk index cannot be listed ({e}), so its size cannot be checked")
    })?;
    let mut present = BTreeSet::new();
    let mut stored = 0u64;
    for c in &chunks {
        let on_grid = c.offset.len() == shape.len()
            && c.offset
                .iter()
                .zip(shape.iter().zip(chunk_shape))
                .all(|(&o, (&d, &k))| o < d && o % k == 0);
        // Chunks outside the dataspace (left over from a larger extent) hold no data.
        if on_grid && present.insert(c.offset.as_slice()) {
            within_file(c.address, c.storage_size, file_bytes)?;
            stored = stored.saturating_add(c.storage_size);
        }
    }
    if (present.len() as u64) < grid {
        return Err(format!(
            "only {} of its {grid} chunks are stored (the rest would read as fill values): \
             truncated or corrupt",
            present.len()
        ));
    }
    Ok(stored)
}

/// Checks that `size` bytes at `address` lie within a file of `file_bytes` bytes.
fn within_file(address: u64, size: u64, file_bytes: u64) -> Result<(), String> {
    match address.checked_add(size) {
        Some(end) if end <= file_bytes => Ok(()),
        _ => Err(format!(
            "its {size} bytes at offset {address} run past the end of the {file_bytes}-byte \
             file: truncated or corrupt"
        )),
    }
}
