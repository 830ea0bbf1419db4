//! The transformations `pgcnn eval` applies to the images: a rotation by an angle in
//! degrees, optionally after a mirror, with the conventions of docs/math.md §2 and
//! [`crate::data::rotate`].
//!
//! The element g = (r, m) of O(2) moves the content at position p (relative to the image
//! centre, p = (y, x), rows downwards) to A(g)·p = R(r)·D(m)·p: the mirror (x ↦ -x, a
//! horizontal flip) comes first, then the rotation, and a positive angle turns the
//! content **clockwise** as displayed (at 90° the pixel right of the centre goes below
//! it: NumPy's `np.rot90(img, k=-1)`). This is the same sense as
//! `pgcnn_core::equivariance::Transformation::rot90`.
//!
//! Multiples of 90° on square images (and of 180° on any image) are exact pixel
//! permutations; other angles are bilinear, with zero fill outside the image. The fill
//! is applied to the un-normalised pixels (zero = background, as the loaders rotate),
//! and the result normalised again.

use crate::data::{rotate, Normalization};
use anyhow::{anyhow, bail, Context, Result};

/// The most angles one evaluation takes (each is a full pass over the split).
pub const MAX_ANGLES: usize = 360;

/// One transformation of the input images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    /// The rotation in degrees (positive: clockwise as displayed), as given.
    pub angle_degrees: f64,
    /// Mirror x first (a horizontal flip).
    pub mirror: bool,
}

impl Transform {
    /// The identity: no rotation, no mirror.
    pub const IDENTITY: Transform = Transform {
        angle_degrees: 0.0,
        mirror: false,
    };

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        !self.mirror && quarter_turns(self.angle_degrees) == Some(0)
    }

    /// Whether the transformation of `height × width` images is an exact permutation of
    /// pixels (no interpolation, nothing leaves the frame).
    pub fn is_exact(&self, height: usize, width: usize) -> bool {
        match quarter_turns(self.angle_degrees) {
            Some(k) => k % 2 == 0 || height == width,
            None => false,
        }
    }

    /// Transforms a batch of `[C, H, W]` images laid end to end (`images.len()` a
    /// multiple of `C·H·W`). `normalization` is the one the dataset applied; bilinear
    /// angles undo it around the transformation so that the fill is background.
    pub fn apply(
        &self,
        images: &[f32],
        [channels, height, width]: [usize; 3],
        normalization: Option<&Normalization>,
    ) -> Result<Vec<f32>> {
        let per = channels * height * width;
        if per == 0 || !images.len().is_multiple_of(per) {
            bail!(
                "transform: {} values are not a batch of {channels}×{height}×{width} images",
                images.len()
            );
        }
        if self.is_identity() {
            return Ok(images.to_vec());
        }
        let angle = self.angle_degrees.to_radians();
        // An exact permutation moves normalised values as they are (no fill happens).
        let norm = normalization.filter(|_| !self.is_exact(height, width));
        let plane = height * width;
        let mut out = Vec::with_capacity(images.len());
        for image in images.chunks(per) {
            let mut image = image.to_vec();
            if let Some(n) = norm {
                map_channels(&mut image, plane, |c, x| x * n.std[c] + n.mean[c]);
            }
            let mut moved = rotate::transform(&image, channels, height, width, angle, self.mirror)
                .context("transforming the images")?;
            if let Some(n) = norm {
                map_channels(&mut moved, plane, |c, x| (x - n.mean[c]) / n.std[c]);
            }
            out.extend_from_slice(&moved);
        }
        Ok(out)
    }
}

/// Applies `f(channel, value)` to every value of one `[C, H, W]` image.
fn map_channels(image: &mut [f32], plane: usize, f: impl Fn(usize, f32) -> f32) {
    for (c, values) in image.chunks_mut(plane).enumerate() {
        for x in values {
            *x = f(c, *x);
        }
    }
}

/// k in 0..4 when `degrees` is k·90° modulo 360° (within 1e-9°), else `None`.
fn quarter_turns(degrees: f64) -> Option<u8> {
    let d = degrees.rem_euclid(360.0);
    let k = (d / 90.0).round();
    ((d - k * 90.0).abs() < 1e-9).then_some((k as i64 % 4) as u8)
}

/// Parses `--rotations`: angles in degrees separated by commas (`0,90,180,270`,
/// `-45, 22.5`). Each must be finite and name a different rotation (modulo 360°).
pub fn parse_rotations(list: &str) -> Result<Vec<f64>> {
    let mut angles = Vec::new();
    for (i, item) in list.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            bail!(
                "--rotations {list:?}: entry {} is empty; give angles in degrees separated by \
                 commas, e.g. 0,90,180,270",
                i + 1
            );
        }
        let angle: f64 = item.parse().map_err(|_| {
            anyhow!("--rotations {list:?}: {item:?} is not an angle in degrees (e.g. 90 or 22.5)")
        })?;
        if !angle.is_finite() {
            bail!("--rotations {list:?}: {item:?} is not a finite angle");
        }
        angles.push(angle);
    }
    check_distinct(&angles)?;
    if angles.len() > MAX_ANGLES {
        bail!(
            "--rotations: {} angles; at most {MAX_ANGLES} (each is a pass over the data)",
            angles.len()
        );
    }
    Ok(angles)
}

/// `--angles N`: N equally spaced angles in [0°, 360°), starting at 0.
pub fn equally_spaced(n: usize) -> Result<Vec<f64>> {
    if n == 0 || n > MAX_ANGLES {
        bail!("--angles {n}: give between 1 and {MAX_ANGLES} angles");
    }
    Ok((0..n).map(|k| k as f64 * 360.0 / n as f64).collect())
}

/// Refuses two angles that are the same rotation (e.g. 90 and 450).
fn check_distinct(angles: &[f64]) -> Result<()> {
    for (i, a) in angles.iter().enumerate() {
        for b in &angles[..i] {
            let diff = (a - b).rem_euclid(360.0);
            if diff < 1e-9 || 360.0 - diff < 1e-9 {
                bail!("--rotations: {b} and {a} are the same rotation; list each once");
            }
        }
    }
    Ok(())
}

/// Every angle without the mirror, then (with `mirror`) every angle after the mirror.
pub fn transform_list(angles: &[f64], mirror: bool) -> Vec<Transform> {
    let mirrors: &[bool] = if mirror { &[false, true] } else { &[false] };
    mirrors
        .iter()
        .flat_map(|&m| {
            angles.iter().map(move |&a| Transform {
                angle_degrees: a,
                mirror: m,
            })
        })
        .collect()
}
