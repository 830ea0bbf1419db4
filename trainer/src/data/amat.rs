//! rotMNIST (MNIST-rot, Larochelle et al. 2007) from its original `.amat` text files.
//!
//! Each non-empty line holds 784 pixel values in `[0, 1]` (a 28×28 image, row-major, as
//! the reference reads it) and then the label as a float (`7.0000000e+00`). Lines are read
//! one at a time with a length cap, so the 0.5 GB test file is never held as text.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::error::{DataError, MissingFiles, Result};
use super::io::{find_files, search_dirs};

/// Pixels per image.
const PIXELS: usize = 28 * 28;
/// Longest accepted line: 785 numbers of up to ~30 characters each, with room to spare.
const MAX_LINE: u64 = 64 << 10;
/// How far a pixel may stray outside `[0, 1]` (rounding in the text) before it is an error.
const PIXEL_SLACK: f32 = 1e-3;

/// File of the 12,000 training + validation images.
pub const TRAIN_FILE: &str = "mnist_all_rotation_normalized_float_train_valid.amat";
/// File of the 50,000 test images.
pub const TEST_FILE: &str = "mnist_all_rotation_normalized_float_test.amat";
/// Sub-directories searched (the archive's name without `.zip`).
const SUBDIRS: [&str; 2] = ["mnist_rotation_new", "rotmnist"];

/// Parses `.amat` text from a reader into a 1×28×28, 10-class dataset with pixels in
/// `[0, 1]` (not normalised). `context` names the source in errors.
pub fn parse_amat<R: BufRead>(mut reader: R, context: &str) -> Result<Dataset> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut line = Vec::new();
    for lineno in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| DataError::format(context, format!("line {lineno}: {e}")))?;
        if read == 0 {
            break;
        }
        if line.len() as u64 > MAX_LINE {
            return Err(DataError::format(
                context,
                format!("line {lineno} is longer than {MAX_LINE} bytes"),
            ));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| DataError::format(context, format!("line {lineno} is not text")))?;
        if text.trim().is_empty() {
            continue;
        }
        labels
            .push(parse_row(text, &mut images).map_err(|reason| {
                DataError::format(context, format!("line {lineno}: {reason}"))
            })?);
    }
    if labels.is_empty() {
        return Err(DataError::format(context, "no images"));
    }
    Dataset::new(images, labels, 1, 28, 28, 10)
}

/// Parses one row: appends its 784 pixels to `images` and returns its label.
fn parse_row(text: &str, images: &mut Vec<f32>) -> std::result::Result<usize, String> {
    // On error the caller drops `images` whole, so a half-pushed row does no harm.
    let mut fields = text.split_ascii_whitespace();
    for k in 0..PIXELS {
        let field = fields.next().ok_or_else(|| {
            format!(
                "{k} values, expected {} (784 pixels and a label)",
                PIXELS + 1
            )
        })?;
        let v: f32 = field
            .parse()
            .ok()
            .filter(|v: &f32| (-PIXEL_SLACK..=1.0 + PIXEL_SLACK).contains(v))
            .ok_or_else(|| format!("pixel {k} is `{field}`, not a number in [0, 1]"))?;
        images.push(v.clamp(0.0, 1.0));
    }
    let label_field = fields.next().ok_or("784 pixels but no label")?;
    if fields.next().is_some() {
        return Err(format!("more than {} values", PIXELS + 1));
    }
    let label: f64 = label_field
        .parse()
        .map_err(|_| format!("label `{label_field}` is not a number"))?;
    if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 {
        return Err(format!("label {label} is not a digit 0-9"));
    }
    Ok(label as usize)
}

/// Parses `.amat` text held in memory (for fuzzing and tests).
pub fn parse_amat_bytes(bytes: &[u8]) -> Result<Dataset> {
    parse_amat(bytes, "amat")
}

/// Reads an `.amat` file, streaming it line by line.
pub fn load_amat_file(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_amat(BufReader::new(file), &path.display().to_string())
}

/// The message for a directory without the rotMNIST files.
pub fn missing(dir: Option<&Path>) -> DataError {
    DataError::Missing(MissingFiles {
        dataset: "rotmnist".into(),
        dir: dir.map(Path::to_path_buf),
        subdirs: SUBDIRS.iter().map(|s| s.to_string()).collect(),
        files: vec![TRAIN_FILE.into(), TEST_FILE.into()],
        source: "http://www.iro.umontreal.ca/~lisa/icml2007data/mnist_rotation_new.zip \
                 (unzip it); or use --dataset rotmnist-synthetic, built from the \
                 embedded digits"
            .into(),
    })
}

/// Finds and loads the training (12,000) and test (50,000) files in `dir`.
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    let dirs: Vec<PathBuf> = search_dirs(dir, &SUBDIRS);
    let files =
        find_files(&dirs, &[&[TRAIN_FILE], &[TEST_FILE]]).ok_or_else(|| missing(Some(dir)))?;
    Ok((load_amat_file(&files[0])?, load_amat_file(&files[1])?))
}
