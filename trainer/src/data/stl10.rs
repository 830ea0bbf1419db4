//! STL-10, binary version (3×96×96, 10 classes).
//!
//! `*_X.bin` holds the images one after another, each 3 planes (red, green, blue) of
//! 96×96 bytes stored column-major (as MATLAB writes them): byte `x·96 + y` of a plane is
//! the pixel at row y, column x. `*_y.bin` holds one label byte per image, 1–10; they are
//! shifted to 0–9.

use std::path::Path;

use super::dataset::Dataset;
use super::error::{DataError, MissingFiles, Result};
use super::io::{find_files, read_file, search_dirs};

/// Image side.
const SIDE: usize = 96;
/// Bytes per image.
const IMAGE_BYTES: usize = 3 * SIDE * SIDE;

/// STL-10's labelled file names: train images, train labels, test images, test labels.
pub const FILES: [&str; 4] = ["train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin"];

/// Parses an STL-10 image buffer and its label buffer into a 3×96×96, 10-class dataset,
/// pixels in `[0, 1]` (not normalised), transposed to row-major `[C, H, W]`.
pub fn parse_stl10(images: &[u8], labels: &[u8]) -> Result<Dataset> {
    if images.is_empty() || !images.len().is_multiple_of(IMAGE_BYTES) {
        return Err(DataError::format(
            "STL-10 images",
            format!(
                "{} bytes is not a whole number of {IMAGE_BYTES}-byte images",
                images.len()
            ),
        ));
    }
    let count = images.len() / IMAGE_BYTES;
    if labels.len() != count {
        return Err(DataError::format(
            "STL-10",
            format!("{count} images but {} labels", labels.len()),
        ));
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| !(1..=10).contains(&l))
    {
        return Err(DataError::format(
            "STL-10 labels",
            format!("label {l} of image {i} is not in 1..=10"),
        ));
    }
    let mut pixels = vec![0u8; images.len()];
    let plane = SIDE * SIDE;
    for (src, dst) in images
        .chunks_exact(plane)
        .zip(pixels.chunks_exact_mut(plane))
    {
        for x in 0..SIDE {
            for y in 0..SIDE {
                dst[y * SIDE + x] = src[x * SIDE + y];
            }
        }
    }
    let labels = labels.iter().map(|&l| l as usize - 1).collect();
    Dataset::from_u8(&pixels, labels, 3, SIDE, SIDE, 10)
}

fn load_pair(images: &Path, labels: &Path) -> Result<Dataset> {
    parse_stl10(&read_file(images)?, &read_file(labels)?).map_err(|e| e.in_file(images))
}

/// The message for a directory without STL-10.
pub fn missing(dir: Option<&Path>) -> DataError {
    DataError::Missing(MissingFiles {
        dataset: "stl10".into(),
        dir: dir.map(Path::to_path_buf),
        subdirs: vec!["stl10_binary".into()],
        files: FILES.iter().map(|s| s.to_string()).collect(),
        source: "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz (unpack it)".into(),
    })
}

/// Loads STL-10 from `dir` (or `dir/stl10_binary`): (5,000 train, 8,000 test).
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    let dirs = search_dirs(dir, &["stl10_binary"]);
    let groups: Vec<&[&str]> = FILES.iter().map(std::slice::from_ref).collect();
    let f = find_files(&dirs, &groups).ok_or_else(|| missing(Some(dir)))?;
    Ok((load_pair(&f[0], &f[1])?, load_pair(&f[2], &f[3])?))
}
