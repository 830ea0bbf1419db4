//! Reading dataset files: size caps, gzip detection, and finding files among the layouts
//! the public archives unpack to.

use std::path::{Path, PathBuf};

use super::error::{DataError, Result};

/// The largest dataset file read into memory (STL-10's test_X.bin, the largest file of
/// the supported sets, is 221 MB). A bigger file is refused before anything is allocated.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The most data a gzip-compressed IDX header may claim (MNIST's training images are
/// 47 MB raw). Guards against decompression bombs: a larger claim is refused before
/// inflating, and inflating stops one byte past the claim.
pub const MAX_GUNZIP_BYTES: u64 = 512 << 20;

/// The two magic bytes that open every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` starts like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[..2] == GZIP_MAGIC
}

/// Reads a whole file, refusing files larger than [`MAX_FILE_BYTES`] before allocating.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io_err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(DataError::format(
            path.display().to_string(),
            format!("is {len} bytes, more than the {MAX_FILE_BYTES} a dataset file may have"),
        ));
    }
    std::fs::read(path).map_err(io_err)
}

/// The directories searched for a dataset's files: `dir` itself, then each of `subdirs`
/// under it (the folder an archive unpacks to).
pub fn search_dirs(dir: &Path, subdirs: &[&str]) -> Vec<PathBuf> {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(subdirs.iter().map(|s| dir.join(s)));
    dirs
}

/// Finds, in the first directory of `dirs` that holds all of them, one file for each
/// group of alternative names (e.g. `["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"]`).
/// `None` when no directory holds a complete set.
pub fn find_files(dirs: &[PathBuf], groups: &[&[&str]]) -> Option<Vec<PathBuf>> {
    dirs.iter().find_map(|dir| {
        groups
            .iter()
            .map(|names| names.iter().map(|n| dir.join(n)).find(|p| p.is_file()))
            .collect::<Option<Vec<_>>>()
    })
}
