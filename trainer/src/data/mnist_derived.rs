//! Datasets built from any MNIST: MNIST6-180, MNIST6-M (docs/math.md §9) and a synthetic
//! rotMNIST. They work on pixels in `[0, 1]`, before normalisation, so that the zero fill
//! of a rotation is the background.

use std::f64::consts::TAU;

use pgcnn_core::rng::Rng;

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::rotate::{mirror_x, rotate, rotate180};

/// The transformation that makes the label-1 copy of each six.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SixTransform {
    /// MNIST6-180: the six rotated by 180° (exact pixel reversal).
    Rotate180,
    /// MNIST6-M: the six mirrored in x (each row reversed).
    MirrorX,
}

fn check_unnormalized(src: &Dataset, what: &str) -> Result<()> {
    if src.normalization.is_some() {
        return Err(DataError::BadParam(format!(
            "{what}: the source must not be normalised yet (rotations fill with 0 = background)"
        )));
    }
    Ok(())
}

/// Checks a `rot_interval` in degrees: finite and in `[0, 180]`.
pub fn check_rot_interval(rot_interval: f64) -> Result<()> {
    if !(0.0..=180.0).contains(&rot_interval) {
        return Err(DataError::BadParam(format!(
            "rot_interval must be in [0, 180] degrees, got {rot_interval}"
        )));
    }
    Ok(())
}

/// MNIST6-180 / MNIST6-M from an MNIST set (labels 0–9): every 6 of `src`, first each
/// turned by a uniform random angle in ±`rot_interval` degrees (bilinear; skipped when
/// `rot_interval` is 0), then kept with label 0; after all of them come their
/// transformed copies (same order) with label 1. A 2-class dataset of 2 · (number of 6s)
/// images; label-1 image `k + n` is exactly `kind` applied to label-0 image `k`.
pub fn mnist6(
    src: &Dataset,
    kind: SixTransform,
    rot_interval: f64,
    rng: &mut Rng,
) -> Result<Dataset> {
    check_unnormalized(src, "MNIST6")?;
    check_rot_interval(rot_interval)?;
    let (c, h, w) = (src.channels, src.height, src.width);
    let sixes: Vec<usize> = (0..src.len()).filter(|&i| src.labels[i] == 6).collect();
    if sixes.is_empty() {
        return Err(DataError::BadParam(
            "MNIST6: the source set has no digit 6".into(),
        ));
    }
    let mut kept = Vec::with_capacity(sixes.len() * src.image_len());
    for &i in &sixes {
        // `i < src.len()`, so the image exists.
        let img = src.image(i).unwrap_or(&[]);
        if rot_interval > 0.0 {
            let angle = rng.uniform_range(-rot_interval, rot_interval).to_radians();
            kept.extend(rotate(img, c, h, w, angle)?);
        } else {
            kept.extend_from_slice(img);
        }
    }
    // Interleaved: six k is image 2k (label 0), its transformed copy image 2k + 1 (label
    // 1). Every batch read in order then holds whole pairs and balanced labels, and both
    // images of a pair are evaluated with the same sampled group elements.
    let mut images = Vec::with_capacity(2 * kept.len());
    for img in kept.chunks(src.image_len()) {
        images.extend_from_slice(img);
        images.extend(match kind {
            SixTransform::Rotate180 => rotate180(img, c, h, w)?,
            SixTransform::MirrorX => mirror_x(img, c, h, w)?,
        });
    }
    let labels = (0..2 * sixes.len()).map(|i| i % 2).collect();
    Dataset::new(images, labels, c, h, w, 2)
}

/// Synthetic rotMNIST: every image of `src` rotated by its own uniform random angle in
/// `[0, 2π)` (bilinear, zero fill), labels unchanged.
pub fn rotate_randomly(src: &Dataset, rng: &mut Rng) -> Result<Dataset> {
    check_unnormalized(src, "synthetic rotMNIST")?;
    let (c, h, w) = (src.channels, src.height, src.width);
    let mut images = Vec::with_capacity(src.images.len());
    for img in src.images.chunks(src.image_len()) {
        images.extend(rotate(img, c, h, w, rng.uniform_range(0.0, TAU))?);
    }
    Dataset::new(images, src.labels.clone(), c, h, w, src.classes)
}
