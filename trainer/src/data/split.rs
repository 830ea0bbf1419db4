//! Train / validation / test splits (docs/math.md §9), deterministic under the seed.
//!
//! A carved part takes `floor(n · fraction)` images chosen by a seeded shuffle; both parts
//! keep the original order of their images. So 2,028 MNIST6-180 images with a test
//! fraction of 0.2 give 1,623 / 405 (the reference's split, docs/benchmarks.md §5), and
//! a 12,000-image rotMNIST training file with a validation fraction of 1/6 gives 10,000 /
//! 2,000.

use pgcnn_core::rng::Rng;

use super::dataset::Dataset;
use super::error::{DataError, Result};

/// The three parts of a dataset. `val` may be empty when the validation fraction is 0;
/// the trainer then has to select on something else (the reference used the test set).
#[derive(Clone, Debug, PartialEq)]
pub struct Splits {
    /// Training images.
    pub train: Dataset,
    /// Validation images (model selection).
    pub val: Dataset,
    /// Test images (reported once, for the selected model).
    pub test: Dataset,
}

/// How many of `n` images a `fraction` carves off: `floor(n · fraction)`, with a small
/// tolerance so that e.g. 12,000 · (1/6) is 2,000 and not 1,999.
pub fn carve_count(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction + 1e-9).floor() as usize).min(n)
}

/// Checks that a split fraction is in `[0, 1)`.
pub fn check_fraction(name: &str, fraction: f64) -> Result<()> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(DataError::BadParam(format!(
            "{name} must be in [0, 1), got {fraction}"
        )));
    }
    Ok(())
}

/// Splits `0..n` into (kept, carved) under `rng`; `carved` has [`carve_count`] indices.
/// Both lists are sorted.
pub fn carve(n: usize, fraction: f64, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let k = carve_count(n, fraction);
    let mut carved = order[..k].to_vec();
    let mut kept = order[k..].to_vec();
    carved.sort_unstable();
    kept.sort_unstable();
    (kept, carved)
}

/// Carves validation off `train` and checks that some training images remain.
pub fn split_train_test(
    train: &Dataset,
    test: Dataset,
    val_fraction: f64,
    rng: &mut Rng,
) -> Result<Splits> {
    check_fraction("validation fraction", val_fraction)?;
    let (kept, val) = carve(train.len(), val_fraction, rng);
    if kept.is_empty() {
        return Err(DataError::BadParam(format!(
            "no training images left: {} images, validation fraction {val_fraction}",
            train.len()
        )));
    }
    Ok(Splits {
        train: train.subset(&kept)?,
        val: train.subset(&val)?,
        test,
    })
}

/// Carves the test set off a pool, then validation off the rest. The two carvings use
/// independent generators forked from `rng`, so changing one fraction does not reshuffle
/// the other split.
pub fn split_pool(
    pool: &Dataset,
    test_fraction: f64,
    val_fraction: f64,
    rng: &mut Rng,
) -> Result<Splits> {
    check_fraction("test fraction", test_fraction)?;
    let mut test_rng = rng.fork();
    let mut val_rng = rng.fork();
    let (rest, test) = carve(pool.len(), test_fraction, &mut test_rng);
    let rest = pool.subset(&rest)?;
    split_train_test(&rest, pool.subset(&test)?, val_fraction, &mut val_rng)
}
