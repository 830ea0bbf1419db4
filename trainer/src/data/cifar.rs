//! CIFAR-10 and CIFAR-100, binary version (3×32×32).
//!
//! A file is a sequence of records: the label byte(s) — CIFAR-10 one (0–9), CIFAR-100 two
//! (coarse 0–19, then fine 0–99) — followed by 3,072 pixel bytes: the red, green and blue
//! 32×32 planes, each row-major. That is already `[C, H, W]` order.

use std::path::Path;

use super::dataset::Dataset;
use super::error::{DataError, MissingFiles, Result};
use super::io::{find_files, read_file, search_dirs};

/// Pixel bytes per image.
const PIXELS: usize = 3 * 32 * 32;

/// Which CIFAR file layout and which labels to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CifarKind {
    /// CIFAR-10: one label byte, 10 classes.
    Cifar10,
    /// CIFAR-100 with its 100 fine labels.
    Cifar100Fine,
    /// CIFAR-100 with its 20 coarse (superclass) labels.
    Cifar100Coarse,
}

impl CifarKind {
    fn label_bytes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 1,
            _ => 2,
        }
    }
    /// Number of classes of the labels read.
    pub fn classes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 10,
            CifarKind::Cifar100Fine => 100,
            CifarKind::Cifar100Coarse => 20,
        }
    }
    /// Offset of the label used within a record's label bytes.
    fn label_offset(self) -> usize {
        match self {
            CifarKind::Cifar100Fine => 1,
            _ => 0,
        }
    }
}

/// Parses one CIFAR binary file held in memory into a 3×32×32 dataset, pixels in
/// `[0, 1]` (not normalised).
pub fn parse_cifar(bytes: &[u8], kind: CifarKind) -> Result<Dataset> {
    let record = kind.label_bytes() + PIXELS;
    let ctx = format!("{kind:?} binary");
    if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
        return Err(DataError::format(
            ctx,
            format!(
                "{} bytes is not a whole number of {record}-byte records",
                bytes.len()
            ),
        ));
    }
    let count = bytes.len() / record;
    let mut pixels = Vec::with_capacity(count * PIXELS);
    let mut labels = Vec::with_capacity(count);
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[kind.label_offset()] as usize;
        if label >= kind.classes() {
            return Err(DataError::format(
                ctx,
                format!("record {i}: label {label} is not below {}", kind.classes()),
            ));
        }
        labels.push(label);
        pixels.extend_from_slice(&rec[kind.label_bytes()..]);
    }
    Dataset::from_u8(&pixels, labels, 3, 32, 32, kind.classes())
}

fn load_file(path: &Path, kind: CifarKind) -> Result<Dataset> {
    parse_cifar(&read_file(path)?, kind).map_err(|e| e.in_file(path))
}

/// CIFAR-10's file names: five training batches, then the test batch.
pub const CIFAR10_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];
/// CIFAR-100's file names: training, then test.
pub const CIFAR100_FILES: [&str; 2] = ["train.bin", "test.bin"];

fn missing(
    dataset: &str,
    dir: Option<&Path>,
    subdir: &str,
    files: &[&str],
    url: &str,
) -> DataError {
    DataError::Missing(MissingFiles {
        dataset: dataset.into(),
        dir: dir.map(Path::to_path_buf),
        subdirs: vec![subdir.into()],
        files: files.iter().map(|s| s.to_string()).collect(),
        source: format!("{url} (the binary version; unpack it)"),
    })
}

/// The message for a directory without CIFAR-10.
pub fn missing_cifar10(dir: Option<&Path>) -> DataError {
    missing(
        "cifar10",
        dir,
        "cifar-10-batches-bin",
        &CIFAR10_FILES,
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    )
}

/// The message for a directory without CIFAR-100.
pub fn missing_cifar100(dir: Option<&Path>) -> DataError {
    missing(
        "cifar100",
        dir,
        "cifar-100-binary",
        &CIFAR100_FILES,
        "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    )
}

/// Loads CIFAR-10 from `dir` (or `dir/cifar-10-batches-bin`): (50,000 train, 10,000 test).
pub fn load_cifar10_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    let dirs = search_dirs(dir, &["cifar-10-batches-bin"]);
    let groups: Vec<&[&str]> = CIFAR10_FILES.iter().map(std::slice::from_ref).collect();
    let files = find_files(&dirs, &groups).ok_or_else(|| missing_cifar10(Some(dir)))?;
    let mut train = load_file(&files[0], CifarKind::Cifar10)?;
    for f in &files[1..5] {
        train = train.concat(&load_file(f, CifarKind::Cifar10)?)?;
    }
    Ok((train, load_file(&files[5], CifarKind::Cifar10)?))
}

/// Loads CIFAR-100 from `dir` (or `dir/cifar-100-binary`) with fine or coarse labels:
/// (50,000 train, 10,000 test).
pub fn load_cifar100_dir(dir: &Path, coarse: bool) -> Result<(Dataset, Dataset)> {
    let kind = if coarse {
        CifarKind::Cifar100Coarse
    } else {
        CifarKind::Cifar100Fine
    };
    let dirs = search_dirs(dir, &["cifar-100-binary"]);
    let groups: Vec<&[&str]> = CIFAR100_FILES.iter().map(std::slice::from_ref).collect();
    let files = find_files(&dirs, &groups).ok_or_else(|| missing_cifar100(Some(dir)))?;
    Ok((load_file(&files[0], kind)?, load_file(&files[1], kind)?))
}
