//! MNIST in IDX format (LeCun's "idx3-ubyte" images and "idx1-ubyte" labels), raw or
//! gzip-compressed.
//!
//! An IDX file is a big-endian header — magic `0x0000_08DD` (type 0x08 = unsigned byte,
//! DD = number of dimensions), then one u32 size per dimension — followed by the bytes.
//! The sizes are checked against the bytes present (raw) or a cap (gzip) before the data
//! is read, and the file must hold exactly what the header claims.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::io::{find_files, is_gzip, read_file, search_dirs, MAX_GUNZIP_BYTES};
use super::MissingFiles;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images parsed from an IDX file: `count` images of `rows × cols` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count · rows · cols` pixel bytes, image after image, row-major.
    pub pixels: Vec<u8>,
}

/// Reads an IDX stream (the raw bytes, or a gzip decoder over them): checks the magic,
/// reads the sizes, refuses a claim larger than `max_payload` before reading on, then reads
/// at most one byte more than claimed, so memory follows the claim and the data actually
/// present, never the claim alone. The payload must be exactly as long as claimed.
fn read_idx<R: Read>(
    mut r: R,
    magic: u32,
    what: &str,
    max_payload: u64,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let ctx = format!("IDX {what}");
    let mut word = [0u8; 4];
    let mut read_word = |r: &mut R, part: &str| -> Result<usize> {
        r.read_exact(&mut word)
            .map_err(|e| DataError::format(&ctx, format!("cannot read the {part}: {e}")))?;
        Ok(u32::from_be_bytes(word) as usize)
    };
    let found = read_word(&mut r, "magic number")?;
    if found as u32 != magic {
        return Err(DataError::format(
            &ctx,
            format!("magic number {found:#010x}, expected {magic:#010x}"),
        ));
    }
    let ndim = (magic & 0xff) as usize;
    let dims = (0..ndim)
        .map(|d| read_word(&mut r, &format!("size of dimension {d}")))
        .collect::<Result<Vec<usize>>>()?;
    let claimed = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&c| c <= max_payload)
        .ok_or_else(|| {
            DataError::format(
                &ctx,
                format!(
                    "truncated or corrupt: header claims sizes {dims:?}, more than the \
                     {max_payload} bytes available"
                ),
            )
        })?;
    let mut payload = Vec::new();
    r.take(claimed + 1)
        .read_to_end(&mut payload)
        .map_err(|e| DataError::format(&ctx, format!("cannot read the data: {e}")))?;
    match (payload.len() as u64).cmp(&claimed) {
        std::cmp::Ordering::Less => Err(DataError::format(
            &ctx,
            format!(
                "truncated: header claims sizes {dims:?} ({claimed} bytes) but only {} follow",
                payload.len()
            ),
        )),
        std::cmp::Ordering::Greater => Err(DataError::format(
            &ctx,
            format!("more bytes follow than the header's sizes {dims:?} ({claimed} bytes) claim"),
        )),
        std::cmp::Ordering::Equal => Ok((dims, payload)),
    }
}

/// Parses an IDX buffer, raw or gzip-compressed (recognised by its magic bytes).
///
/// gzip is read as `gzip -d` reads it: every member through to the last byte, so bytes
/// after the first member are either more members (whose data counts towards the
/// payload) or an error, never silently ignored.
fn parse_idx(bytes: &[u8], magic: u32, what: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    if is_gzip(bytes) {
        let r = read_idx(MultiGzDecoder::new(bytes), magic, what, MAX_GUNZIP_BYTES);
        // A corrupt stream is reported as such rather than as a bad header.
        return r.map_err(|e| match e {
            DataError::Format { context, reason } => DataError::Format {
                context: format!("{context} (gzip)"),
                reason,
            },
            other => other,
        });
    }
    let header = 4 + 4 * (magic & 0xff) as u64;
    read_idx(
        bytes,
        magic,
        what,
        (bytes.len() as u64).saturating_sub(header),
    )
}

/// Parses an IDX image file (raw or gzip bytes).
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages> {
    let (dims, pixels) = parse_idx(bytes, IMAGES_MAGIC, "images")?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::format(
            "IDX images",
            format!("images of {rows}×{cols} pixels"),
        ));
    }
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// Parses an IDX label file (raw or gzip bytes).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    Ok(parse_idx(bytes, LABELS_MAGIC, "labels")?.1)
}

/// Joins parsed images and labels into a 1-channel dataset of `classes` classes, pixels
/// scaled to `[0, 1]` (not normalised). Fails on no images (as the other formats do: an
/// empty file would otherwise pass as an empty dataset of images of any claimed size), a
/// count mismatch or a label `≥ classes`.
pub fn to_dataset(images: &IdxImages, labels: &[u8], classes: usize) -> Result<Dataset> {
    if images.count == 0 {
        return Err(DataError::format(
            "IDX images",
            format!(
                "no images (the header claims 0 images of {}×{})",
                images.rows, images.cols
            ),
        ));
    }
    if images.count != labels.len() {
        return Err(DataError::format(
            "IDX",
            format!("{} images but {} labels", images.count, labels.len()),
        ));
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(DataError::format(
            "IDX labels",
            format!("label {l} of image {i} is not below {classes}"),
        ));
    }
    let labels = labels.iter().map(|&l| l as usize).collect();
    Dataset::from_u8(&images.pixels, labels, 1, images.rows, images.cols, classes)
}

/// Parses a pair of IDX buffers (images, labels; raw or gzip) into a 10-class dataset.
pub fn parse_mnist(images: &[u8], labels: &[u8]) -> Result<Dataset> {
    to_dataset(&parse_images(images)?, &parse_labels(labels)?, 10)
}

/// Loads an image file and a label file (raw or gzip) into a 10-class dataset.
pub fn load_mnist_files(images: &Path, labels: &Path) -> Result<Dataset> {
    let img = parse_images(&read_file(images)?).map_err(|e| e.in_file(images))?;
    let lab = parse_labels(&read_file(labels)?).map_err(|e| e.in_file(labels))?;
    // Name the file at fault: a bad label is the label file's, a count mismatch both's.
    to_dataset(&img, &lab, 10).map_err(|e| match e {
        DataError::Format { context, reason } => {
            let files = match context.as_str() {
                "IDX labels" => labels.display().to_string(),
                "IDX images" => images.display().to_string(),
                _ => format!("{} and {}", images.display(), labels.display()),
            };
            DataError::Format {
                context: format!("{files} ({context})"),
                reason,
            }
        }
        other => other,
    })
}

/// Where an MNIST-like set comes from: one pool to be split, or an official train/test
/// pair.
#[derive(Clone, Debug, PartialEq)]
pub enum MnistSource {
    /// One pool of digits (e.g. the embedded 10k); the test split is carved from it.
    Pool(Dataset),
    /// The official 60k training and 10k test sets.
    TrainTest {
        /// The training set (validation is carved from it).
        train: Dataset,
        /// The test set.
        test: Dataset,
    },
}

/// Official file names (the `.gz` form is accepted too).
const OFFICIAL: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];
/// File names of a single pool (the layout of data/mnist-10k).
const POOL: [&str; 2] = ["images-idx3-ubyte", "labels-idx1-ubyte"];
/// Sub-directories searched: torchvision's layout and common folder names.
const SUBDIRS: [&str; 3] = ["MNIST/raw", "mnist", "mnist-10k"];

fn alternatives(name: &str) -> [String; 2] {
    [name.to_string(), format!("{name}.gz")]
}

fn find_group(dirs: &[PathBuf], names: &[&str]) -> Option<Vec<PathBuf>> {
    let owned: Vec<[String; 2]> = names.iter().map(|n| alternatives(n)).collect();
    let refs: Vec<[&str; 2]> = owned
        .iter()
        .map(|[a, b]| [a.as_str(), b.as_str()])
        .collect();
    let groups: Vec<&[&str]> = refs.iter().map(|g| &g[..]).collect();
    find_files(dirs, &groups)
}

/// The message for an MNIST directory that holds neither layout.
pub fn missing(dataset: &str, dir: Option<&Path>) -> DataError {
    let mut files: Vec<String> = OFFICIAL.iter().map(|n| format!("{n}[.gz]")).collect();
    files.push(format!(
        "or, for one pool to split, {}[.gz] and {}[.gz]",
        POOL[0], POOL[1]
    ));
    DataError::Missing(MissingFiles {
        dataset: dataset.to_string(),
        dir: dir.map(Path::to_path_buf),
        subdirs: SUBDIRS.iter().map(|s| s.to_string()).collect(),
        files,
        source: "http://yann.lecun.com/exdb/mnist/ (mirror: \
                 https://ossci-datasets.s3.amazonaws.com/mnist/); \
                 leave out --data-dir to use the 10,000 embedded digits"
            .to_string(),
    })
}

/// Loads MNIST from `dir`: the official four files (train/test) if present, else a
/// single `images-idx3-ubyte[.gz]` / `labels-idx1-ubyte[.gz]` pool. `dataset` names the
/// dataset in the error message.
pub fn load_mnist_dir(dir: &Path, dataset: &str) -> Result<MnistSource> {
    let dirs = search_dirs(dir, &SUBDIRS);
    if let Some(f) = find_group(&dirs, &OFFICIAL) {
        return Ok(MnistSource::TrainTest {
            train: load_mnist_files(&f[0], &f[1])?,
            test: load_mnist_files(&f[2], &f[3])?,
        });
    }
    if let Some(f) = find_group(&dirs, &POOL) {
        return Ok(MnistSource::Pool(load_mnist_files(&f[0], &f[1])?));
    }
    Err(missing(dataset, Some(dir)))
}
