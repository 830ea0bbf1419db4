//! The dataset layer (docs/math.md §9): loaders for MNIST (IDX, raw or gzip), the embedded
//! 10,000 digits, rotMNIST (`.amat`) and a synthetic rotMNIST, MNIST6-180 and MNIST6-M,
//! CIFAR-10, CIFAR-100 and STL-10 (binary versions), PCam (HDF5, cargo feature `pcam`);
//! deterministic train / validation / test splits; and mini-batch iteration.
//!
//! Conventions:
//! - Images are `f32` in `[N, C, H, W]` order. Pixels are scaled to `[0, 1]`, every
//!   transformation (rotation, mirror) is applied there (so zero fill is background), and
//!   then each channel is normalised as the reference does: MNIST and the sets built from
//!   it (0.1307, 0.3081), rotMNIST (0.13, 0.297), CIFAR-10 (ImageNet's statistics, as the
//!   reference), CIFAR-100, STL-10 and PCam their own; see [`DatasetName::normalization`].
//!   [`DataParams::normalize`] turns it off.
//! - Rotations follow docs/math.md §2 (see [`rotate`]): `out(p) = in(A(g)⁻¹·p)` about the
//!   image centre, bilinear with zero fill, exact for multiples of 90°.
//! - Bad input is an error, never a panic: every parser takes bytes (`&[u8]`) as well as
//!   paths, and checks the sizes a header claims against the bytes present before it
//!   allocates.

mod amat;
mod batch;
mod cifar;
mod dataset;
pub mod embedded;
mod error;
#[cfg(feature = "pcam")]
mod hdf5_storage;
mod idx;
pub mod io;
mod load;
mod mnist_derived;
mod pcam;
pub mod rotate;
mod split;
mod stl10;

pub use amat::{
    load_amat_file, parse_amat, parse_amat_bytes, TEST_FILE as AMAT_TEST_FILE,
    TRAIN_FILE as AMAT_TRAIN_FILE,
};
pub use batch::{epoch_rng, Batch, Batches};
pub use cifar::{
    load_cifar100_dir, load_cifar10_dir, parse_cifar, CifarKind, CIFAR100_FILES, CIFAR10_FILES,
};
pub use dataset::{Dataset, Normalization};
pub use error::{DataError, MissingFiles, Result};
pub use idx::{
    load_mnist_dir, load_mnist_files, parse_images as parse_idx_images,
    parse_labels as parse_idx_labels, parse_mnist, IdxImages, MnistSource, IMAGES_MAGIC,
    LABELS_MAGIC,
};
pub use load::{load, DataParams, DatasetName};
pub use mnist_derived::{mnist6, rotate_randomly, SixTransform};
pub use pcam::{load_dir as load_pcam_dir, FILES as PCAM_FILES};
#[cfg(feature = "pcam")]
pub use pcam::{load_files as load_pcam_files, parse_pcam};
pub use split::{carve, carve_count, split_pool, split_train_test, Splits};
pub use stl10::{load_dir as load_stl10_dir, parse_stl10, FILES as STL10_FILES};
