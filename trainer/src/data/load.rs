//! Choosing a dataset by name and loading its train / validation / test splits.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use pgcnn_core::rng::Rng;

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::idx::MnistSource;
use super::mnist_derived::{check_rot_interval, mnist6, rotate_randomly, SixTransform};
use super::split::{check_fraction, split_pool, split_train_test, Splits};
use super::{amat, cifar, embedded, idx, pcam, stl10};

/// The datasets pgcnn knows, by the name the `--dataset` flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasetName {
    /// Plain MNIST digits (`mnist`).
    Mnist,
    /// MNIST-rot from its `.amat` files (`rotmnist`).
    RotMnist,
    /// Every MNIST digit rotated by a uniform random angle (`rotmnist-synthetic`).
    RotMnistSynthetic,
    /// Sixes and their 180° rotations, 2 classes (`mnist6-180`).
    Mnist6_180,
    /// Sixes and their mirror images, 2 classes (`mnist6-m`).
    Mnist6M,
    /// CIFAR-10 (`cifar10`).
    Cifar10,
    /// CIFAR-100 (`cifar100`).
    Cifar100,
    /// STL-10 (`stl10`).
    Stl10,
    /// PatchCamelyon, 3×96×96, 2 classes, with its own validation split (`pcam`; needs
    /// the cargo feature `pcam`, on by default).
    PCam,
}

impl DatasetName {
    /// Every dataset, in the order help texts list them.
    pub const ALL: [DatasetName; 9] = [
        DatasetName::Mnist,
        DatasetName::RotMnist,
        DatasetName::RotMnistSynthetic,
        DatasetName::Mnist6_180,
        DatasetName::Mnist6M,
        DatasetName::Cifar10,
        DatasetName::Cifar100,
        DatasetName::Stl10,
        DatasetName::PCam,
    ];

    /// The name the `--dataset` flag takes.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::RotMnist => "rotmnist",
            DatasetName::RotMnistSynthetic => "rotmnist-synthetic",
            DatasetName::Mnist6_180 => "mnist6-180",
            DatasetName::Mnist6M => "mnist6-m",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Stl10 => "stl10",
            DatasetName::PCam => "pcam",
        }
    }

    /// Whether the dataset can be built from the embedded digits when no path is given.
    pub fn has_embedded(self) -> bool {
        matches!(
            self,
            DatasetName::Mnist
                | DatasetName::RotMnistSynthetic
                | DatasetName::Mnist6_180
                | DatasetName::Mnist6M
        )
    }

    /// Image shape `[C, H, W]`.
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            DatasetName::Cifar10 | DatasetName::Cifar100 => [3, 32, 32],
            DatasetName::Stl10 | DatasetName::PCam => [3, 96, 96],
            _ => [1, 28, 28],
        }
    }

    /// Number of classes (CIFAR-100: 100 fine or 20 coarse).
    pub fn classes(self, params: &DataParams) -> usize {
        match self {
            DatasetName::Mnist6_180 | DatasetName::Mnist6M | DatasetName::PCam => 2,
            DatasetName::Cifar100 if params.cifar100_coarse => 20,
            DatasetName::Cifar100 => 100,
            _ => 10,
        }
    }

    /// The share of the training images kept for validation when none is given:
    /// rotMNIST 1/6 (12,000 → 10,000 + 2,000), everything else 0.1 (CIFAR: 45,000 + 5,000).
    /// PCam comes with its own validation split and does not use it.
    pub fn default_val_fraction(self) -> f64 {
        match self {
            DatasetName::RotMnist => 1.0 / 6.0,
            _ => 0.1,
        }
    }

    /// Per-channel (mean, std) applied after scaling to `[0, 1]`: the reference's values.
    pub fn normalization(self) -> (&'static [f32], &'static [f32]) {
        match self {
            DatasetName::RotMnist => (&[0.13], &[0.297]),
            DatasetName::Cifar10 => (&[0.485, 0.456, 0.406], &[0.229, 0.224, 0.225]),
            DatasetName::Cifar100 => (&[0.49137, 0.48235, 0.44667], &[0.24706, 0.24353, 0.26157]),
            DatasetName::Stl10 => (&[0.4467, 0.4398, 0.4066], &[0.2603, 0.2566, 0.2713]),
            DatasetName::PCam => (&[0.701, 0.538, 0.692], &[0.235, 0.277, 0.213]),
            _ => (&[0.1307], &[0.3081]),
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = DataError;

    /// Accepts the flag names, case-insensitively and with `_` for `-`, so the
    /// reference's spellings (`rotMNIST`, `MNIST6-180`, `CIFAR10`, ...) work too.
    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase().replace('_', "-");
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str() == key)
            .ok_or_else(|| {
                let names: Vec<&str> = DatasetName::ALL.iter().map(|d| d.as_str()).collect();
                DataError::BadParam(format!(
                    "unknown dataset `{s}`; known: {}",
                    names.join(", ")
                ))
            })
    }
}

/// The knobs of dataset construction.
#[derive(Clone, Debug, PartialEq)]
pub struct DataParams {
    /// MNIST6-180 / MNIST6-M: rotate every six first by a uniform random angle in
    /// ±`rot_interval` degrees (0 = off). Must be in `[0, 180]`; other datasets ignore it.
    pub rot_interval: f64,
    /// Share of the training images kept for validation; `None` = the dataset's default
    /// ([`DatasetName::default_val_fraction`]). 0 leaves the validation split empty.
    pub val_fraction: Option<f64>,
    /// Share of a pool carved off as the test set, for sets without an official test
    /// split (the embedded digits, an IDX pool). Default 0.2.
    pub test_fraction: f64,
    /// CIFAR-100: use the 20 coarse labels instead of the 100 fine ones.
    pub cifar100_coarse: bool,
    /// Normalise pixels per channel with [`DatasetName::normalization`] (default on);
    /// off leaves them in `[0, 1]`.
    pub normalize: bool,
}

impl Default for DataParams {
    fn default() -> Self {
        DataParams {
            rot_interval: 0.0,
            val_fraction: None,
            test_fraction: 0.2,
            cifar100_coarse: false,
            normalize: true,
        }
    }
}

/// Loads dataset `name` from the directory `path` (`None`: the embedded digits, for the
/// MNIST family) and splits it into train / validation / test, deterministically under
/// `seed` (docs/math.md §9):
///
/// - `mnist`, `rotmnist-synthetic`, `mnist6-180`, `mnist6-m`: built from the MNIST found
///   in `path` (the official train/test files, or one IDX pool) or the embedded 10,000
///   digits. A pool is built whole and then split: test = `test_fraction`, validation =
///   `val_fraction` of the rest. From the embedded digits with the defaults: mnist and
///   rotmnist-synthetic 7,200 / 800 / 2,000. mnist6-180 and mnist6-m split the digits that
///   way first and then build each split, so that a six and its copy stay together
///   (1,014 sixes, 2,028 images: 1,514 / 138 / 376 with seed 0).
/// - `rotmnist`: the 12,000-image `.amat` training file split 10,000 / 2,000, the 50,000
///   test file as test.
/// - `cifar10`, `cifar100`: 45,000 / 5,000 / 10,000. `stl10`: 4,500 / 500 / 8,000.
/// - `pcam`: its own three splits, 262,144 / 32,768 / 32,768; a `val_fraction` is an
///   error, as there is nothing to carve (needs the cargo feature `pcam`).
///
/// A dataset missing from disk is a [`DataError::Missing`] naming the files expected,
/// where to get them and the `--data-dir` flag.
pub fn load(
    name: DatasetName,
    path: Option<&Path>,
    params: &DataParams,
    seed: u64,
) -> Result<Splits> {
    check_rot_interval(params.rot_interval)?;
    check_fraction("test fraction", params.test_fraction)?;
    let val_fraction = params.val_fraction.unwrap_or(name.default_val_fraction());
    check_fraction("validation fraction", val_fraction)?;
    if let Some(dir) = path {
        if dir.exists() && !dir.is_dir() {
            return Err(DataError::BadParam(format!(
                "--data-dir {} is not a directory",
                dir.display()
            )));
        }
    }
    let mut rng = Rng::seed(seed);
    // Separate streams for building and for splitting, so one does not shift the other.
    let mut build_rng = rng.fork();
    let mut split_rng = rng.fork();
    let splits = match name {
        DatasetName::Mnist
        | DatasetName::RotMnistSynthetic
        | DatasetName::Mnist6_180
        | DatasetName::Mnist6M => {
            let source = match path {
                Some(dir) => idx::load_mnist_dir(dir, name.as_str())?,
                None => MnistSource::Pool(embedded::load()?),
            };
            let build = |ds: &Dataset, rng: &mut Rng| build_from_mnist(name, ds, params, rng);
            let paired = matches!(name, DatasetName::Mnist6_180 | DatasetName::Mnist6M);
            match source {
                // MNIST6-180 / MNIST6-M: split the digits first, then build every split, so
                // that a six and its transformed copy always land in the same split. Every
                // split is then exactly balanced, and a fully invariant model scores
                // exactly 50% on each (docs/math.md §9).
                MnistSource::Pool(pool) if paired => {
                    let digits =
                        split_pool(&pool, params.test_fraction, val_fraction, &mut split_rng)?;
                    build_splits(digits, &build, &mut build_rng)?
                }
                MnistSource::TrainTest { train, test } if paired => {
                    let digits = split_train_test(&train, test, val_fraction, &mut split_rng)?;
                    build_splits(digits, &build, &mut build_rng)?
                }
                MnistSource::Pool(pool) => {
                    let pool = build(&pool, &mut build_rng)?;
                    split_pool(&pool, params.test_fraction, val_fraction, &mut split_rng)?
                }
                MnistSource::TrainTest { train, test } => {
                    let train = build(&train, &mut build_rng)?;
                    let test = build(&test, &mut build_rng)?;
                    split_train_test(&train, test, val_fraction, &mut split_rng)?
                }
            }
        }
        DatasetName::RotMnist => {
            let dir = path.ok_or_else(|| amat::missing(None))?;
            let (train, test) = amat::load_dir(dir)?;
            split_train_test(&train, test, val_fraction, &mut split_rng)?
        }
        DatasetName::Cifar10 => {
            let dir = path.ok_or_else(|| cifar::missing_cifar10(None))?;
            let (train, test) = cifar::load_cifar10_dir(dir)?;
            split_train_test(&train, test, val_fraction, &mut split_rng)?
        }
        DatasetName::Cifar100 => {
            let dir = path.ok_or_else(|| cifar::missing_cifar100(None))?;
            let (train, test) = cifar::load_cifar100_dir(dir, params.cifar100_coarse)?;
            split_train_test(&train, test, val_fraction, &mut split_rng)?
        }
        DatasetName::Stl10 => {
            let dir = path.ok_or_else(|| stl10::missing(None))?;
            let (train, test) = stl10::load_dir(dir)?;
            split_train_test(&train, test, val_fraction, &mut split_rng)?
        }
        DatasetName::PCam => {
            // The official validation split is used as the reference uses it; carving
            // another from the training images would leave it unused.
            if let Some(f) = params.val_fraction {
                return Err(DataError::BadParam(format!(
                    "PCam has its own validation split; a validation fraction ({f}) does \
                     not apply to it (leave dataset_params.val_fraction unset)"
                )));
            }
            let (train, val, test) = pcam::load_dir(path)?;
            Splits { train, val, test }
        }
    };
    if params.normalize {
        normalize_splits(splits, name)
    } else {
        Ok(splits)
    }
}

/// Builds each split of digits into the derived dataset; an empty split (a validation
/// fraction of 0) stays empty.
fn build_splits(
    digits: Splits,
    build: &dyn Fn(&Dataset, &mut Rng) -> Result<Dataset>,
    rng: &mut Rng,
) -> Result<Splits> {
    let train = build(&digits.train, rng)?;
    let val = if digits.val.is_empty() {
        train.subset(&[])?
    } else {
        build(&digits.val, rng)?
    };
    let test = build(&digits.test, rng)?;
    Ok(Splits { train, val, test })
}

/// Builds the MNIST-derived dataset `name` from MNIST digits in `[0, 1]`.
fn build_from_mnist(
    name: DatasetName,
    mnist: &Dataset,
    params: &DataParams,
    rng: &mut Rng,
) -> Result<Dataset> {
    match name {
        DatasetName::RotMnistSynthetic => rotate_randomly(mnist, rng),
        DatasetName::Mnist6_180 => mnist6(mnist, SixTransform::Rotate180, params.rot_interval, rng),
        DatasetName::Mnist6M => mnist6(mnist, SixTransform::MirrorX, params.rot_interval, rng),
        _ => Ok(mnist.clone()),
    }
}

fn normalize_splits(mut splits: Splits, name: DatasetName) -> Result<Splits> {
    let (mean, std) = name.normalization();
    for ds in [&mut splits.train, &mut splits.val, &mut splits.test] {
        ds.normalize(mean, std)?;
    }
    Ok(splits)
}
