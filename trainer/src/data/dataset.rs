//! The in-memory dataset: images as `f32` in `[N, C, H, W]` order, one class label each.

use super::error::{DataError, Result};

/// Per-channel normalisation applied to a dataset: `x ← (x - mean[c]) / std[c]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    /// Mean per channel, subtracted first.
    pub mean: Vec<f32>,
    /// Standard deviation per channel, divided by second.
    pub std: Vec<f32>,
}

/// A labelled image set held in memory.
///
/// `images` has `len() · channels · height · width` values in `[N, C, H, W]` order (row =
/// y, column = x, docs/math.md §1). The loaders scale pixels to `[0, 1]` and then, unless
/// told not to, normalise them per channel (recorded in `normalization`).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Pixel values, `[N, C, H, W]`.
    pub images: Vec<f32>,
    /// Class of each image, each `< classes`.
    pub labels: Vec<usize>,
    /// Channels per image.
    pub channels: usize,
    /// Image height (rows).
    pub height: usize,
    /// Image width (columns).
    pub width: usize,
    /// Number of classes of the task.
    pub classes: usize,
    /// The normalisation applied to `images`, if any.
    pub normalization: Option<Normalization>,
}

impl Dataset {
    /// Builds a dataset, checking that the sizes agree and every label is `< classes`.
    pub fn new(
        images: Vec<f32>,
        labels: Vec<usize>,
        channels: usize,
        height: usize,
        width: usize,
        classes: usize,
    ) -> Result<Self> {
        let per = channels
            .checked_mul(height)
            .and_then(|v| v.checked_mul(width))
            .filter(|&v| v > 0)
            .ok_or_else(|| {
                DataError::BadParam(format!(
                    "dataset: image shape {channels}×{height}×{width} is empty or too large"
                ))
            })?;
        if Some(images.len()) != labels.len().checked_mul(per) {
            return Err(DataError::BadParam(format!(
                "dataset: {} values do not make {} images of {channels}×{height}×{width}",
                images.len(),
                labels.len()
            )));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
            return Err(DataError::BadParam(format!(
                "dataset: label {l} of image {i} is not below the {classes} classes"
            )));
        }
        Ok(Dataset {
            images,
            labels,
            channels,
            height,
            width,
            classes,
            normalization: None,
        })
    }

    /// Builds a dataset from bytes `0..=255`, scaled to `[0, 1]` (`x / 255`).
    pub fn from_u8(
        pixels: &[u8],
        labels: Vec<usize>,
        channels: usize,
        height: usize,
        width: usize,
        classes: usize,
    ) -> Result<Self> {
        let images = pixels.iter().map(|&p| pixel_value(p)).collect();
        Dataset::new(images, labels, channels, height, width, classes)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image: `channels · height · width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The `[C, H, W]` values of image `i`, or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let n = self.image_len();
        self.images.get(i.checked_mul(n)?..(i + 1).checked_mul(n)?)
    }

    /// How many images each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            // `new` guarantees l < classes; `get_mut` keeps a hand-edited label harmless.
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }

    /// The images at `indices` (in that order), with the same shape, classes and
    /// normalisation.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let n = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let img = self.image(i).ok_or_else(|| {
                DataError::BadParam(format!(
                    "subset: index {i} is past the {} images",
                    self.len()
                ))
            })?;
            images.extend_from_slice(img);
            labels.push(self.labels[i]);
        }
        Ok(Dataset {
            images,
            labels,
            channels: self.channels,
            height: self.height,
            width: self.width,
            classes: self.classes,
            normalization: self.normalization.clone(),
        })
    }

    /// Appends `other` (same shape, classes and normalisation) after `self`.
    pub fn concat(mut self, other: &Dataset) -> Result<Dataset> {
        let same = (self.channels, self.height, self.width, self.classes)
            == (other.channels, other.height, other.width, other.classes)
            && self.normalization == other.normalization;
        if !same {
            return Err(DataError::BadParam(format!(
                "concat: {}×{}×{} images of {} classes cannot be joined with {}×{}×{} of {}",
                self.channels,
                self.height,
                self.width,
                self.classes,
                other.channels,
                other.height,
                other.width,
                other.classes
            )));
        }
        self.images.extend_from_slice(&other.images);
        self.labels.extend_from_slice(&other.labels);
        Ok(self)
    }

    /// Normalises every channel `c` as `(x - mean[c]) / std[c]` and records it. Refused
    /// when already normalised, when the lengths are not `channels`, or a std is not > 0.
    pub fn normalize(&mut self, mean: &[f32], std: &[f32]) -> Result<()> {
        if self.normalization.is_some() {
            return Err(DataError::BadParam("normalize: already normalised".into()));
        }
        if mean.len() != self.channels || std.len() != self.channels {
            return Err(DataError::BadParam(format!(
                "normalize: {} means and {} stds for {} channels",
                mean.len(),
                std.len(),
                self.channels
            )));
        }
        if std.iter().any(|&s| !(s > 0.0 && s.is_finite())) || mean.iter().any(|m| !m.is_finite()) {
            return Err(DataError::BadParam(format!(
                "normalize: means {mean:?} and stds {std:?} must be finite, stds > 0"
            )));
        }
        let plane = self.height * self.width;
        for (k, chunk) in self.images.chunks_mut(plane).enumerate() {
            let c = k % self.channels;
            let (m, s) = (mean[c], std[c]);
            for x in chunk {
                *x = (*x - m) / s;
            }
        }
        self.normalization = Some(Normalization {
            mean: mean.to_vec(),
            std: std.to_vec(),
        });
        Ok(())
    }
}

/// A byte pixel `0..=255` as the `f32` every dataset holds: scaled to `[0, 1]` (`x / 255`).
pub fn pixel_value(p: u8) -> f32 {
    f32::from(p) / 255.0
}
