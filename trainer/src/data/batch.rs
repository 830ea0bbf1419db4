//! Mini-batches of a dataset, in order or shuffled under a seeded generator.

use pgcnn_core::rng::Rng;

use super::dataset::Dataset;
use super::error::{DataError, Result};

/// One mini-batch: `labels.len()` images, `[b, C, H, W]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Pixel values, `[b, C, H, W]`.
    pub images: Vec<f32>,
    /// Class of each image.
    pub labels: Vec<usize>,
    /// The shape `[b, C, H, W]` of `images`.
    pub shape: [usize; 4],
}

/// Iterator over the mini-batches of one pass through a dataset. Every image appears
/// once; the last batch is smaller when the size does not divide the dataset.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    dataset: &'a Dataset,
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl<'a> Batches<'a> {
    fn new(dataset: &'a Dataset, order: Vec<usize>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::BadParam("batch size must be positive".into()));
        }
        Ok(Batches {
            dataset,
            order,
            batch_size,
            next: 0,
        })
    }

    /// The image order of this pass.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Number of batches in the pass.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let idx = &self.order[self.next..end];
        self.next = end;
        let ds = self.dataset;
        let mut images = Vec::with_capacity(idx.len() * ds.image_len());
        let mut labels = Vec::with_capacity(idx.len());
        for &i in idx {
            // The order is a permutation of 0..len, so every image exists.
            images.extend_from_slice(ds.image(i).unwrap_or(&[]));
            labels.push(ds.labels[i]);
        }
        let shape = [idx.len(), ds.channels, ds.height, ds.width];
        Some(Batch {
            images,
            labels,
            shape,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

impl Dataset {
    /// The batches of one pass in dataset order (for evaluation).
    pub fn batches(&self, batch_size: usize) -> Result<Batches<'_>> {
        Batches::new(self, (0..self.len()).collect(), batch_size)
    }

    /// The batches of one pass in an order shuffled by `rng` (for training). Call it once
    /// per epoch with the same generator, or with [`epoch_rng`], to get a new order each
    /// epoch that the seed fixes.
    pub fn shuffled_batches(&self, batch_size: usize, rng: &mut Rng) -> Result<Batches<'_>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        Batches::new(self, order, batch_size)
    }
}

/// The generator of epoch `epoch` of a run seeded with `seed`: independent of how many
/// batches earlier epochs drew, so a resumed run shuffles as an uninterrupted one.
pub fn epoch_rng(seed: u64, epoch: u64) -> Rng {
    // Seeding runs SplitMix64 over the value, so neighbouring values give unrelated
    // streams; `epoch + 1` keeps epoch 0 apart from `Rng::seed(seed)` used for the splits.
    Rng::seed(seed ^ epoch.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
