//! Rotating and mirroring images about their centre, with the conventions of
//! docs/math.md §2.
//!
//! An element (r, m) of O(2) acts on a position p = (y, x) relative to the image centre
//! ((H-1)/2, (W-1)/2) by A(r, m) = R(r)·D(m), R(r) = [[cos r, sin r], [-sin r, cos r]],
//! D(m) = diag(1, m). Transforming an image by g moves the content at p to A(g)·p:
//! `out(p) = in(A(g)⁻¹·p)`, with A(g)⁻¹ = D(m)·R(-r). With rows growing downwards, a
//! positive angle turns the content clockwise as displayed (the pixel right of the centre
//! goes below it at r = 90°); m = -1 mirrors x (a horizontal flip).
//!
//! Sampling is bilinear with zero fill outside the image. Angles that are multiples of
//! 90° use exact cosines and sines, so their sample points fall on pixel centres and the
//! result is an exact permutation of pixels (a 180° rotation is exact pixel reversal on
//! any H×W; 90° and 270° on square images), never an interpolation.

use std::f64::consts::{FRAC_PI_2, TAU};

use super::error::{DataError, Result};

/// Cosine and sine of `angle`, exact for multiples of 90° (within 1e-9 rad).
fn cos_sin(angle: f64) -> (f64, f64) {
    let a = angle.rem_euclid(TAU);
    let quarter = (a / FRAC_PI_2).round();
    if (a - quarter * FRAC_PI_2).abs() < 1e-9 {
        match quarter as i64 % 4 {
            0 => (1.0, 0.0),
            1 => (0.0, 1.0),
            2 => (-1.0, 0.0),
            _ => (0.0, -1.0),
        }
    } else {
        (a.cos(), a.sin())
    }
}

fn check_len(src: &[f32], channels: usize, height: usize, width: usize) -> Result<()> {
    let want = channels
        .checked_mul(height)
        .and_then(|v| v.checked_mul(width));
    if want != Some(src.len()) || src.is_empty() {
        return Err(DataError::BadParam(format!(
            "transform: {} values are not one {channels}×{height}×{width} image",
            src.len()
        )));
    }
    Ok(())
}

/// Transforms one `[C, H, W]` image by the O(2) element (angle in radians, mirror):
/// `out(p) = in(D(m)·R(-angle)·p)` about the centre, bilinear, zero fill.
pub fn transform(
    src: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    angle: f64,
    mirror: bool,
) -> Result<Vec<f32>> {
    check_len(src, channels, height, width)?;
    if !angle.is_finite() {
        return Err(DataError::BadParam(format!("transform: angle {angle}")));
    }
    let (c, s) = cos_sin(angle);
    let m = if mirror { -1.0 } else { 1.0 };
    let (cy, cx) = ((height as f64 - 1.0) / 2.0, (width as f64 - 1.0) / 2.0);
    let plane = height * width;
    let mut out = vec![0.0f32; src.len()];
    for i in 0..height {
        let py = i as f64 - cy;
        for j in 0..width {
            let px = j as f64 - cx;
            // A⁻¹·p = D(m)·R(-r)·p, R(-r) = [[c, -s], [s, c]].
            let sy = cy + (c * py - s * px);
            let sx = cx + m * (s * py + c * px);
            for ch in 0..channels {
                let img = &src[ch * plane..(ch + 1) * plane];
                out[ch * plane + i * width + j] = bilinear(img, height, width, sy, sx);
            }
        }
    }
    Ok(out)
}

/// Bilinear sample of a `height × width` plane at (y, x), zero outside. At integer
/// coordinates it returns the pixel exactly (the other weights are exactly 0).
fn bilinear(img: &[f32], height: usize, width: usize, y: f64, x: f64) -> f32 {
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = (y - y0, x - x0);
    let pixel = |yy: f64, xx: f64| -> f64 {
        if yy < 0.0 || xx < 0.0 || yy >= height as f64 || xx >= width as f64 {
            0.0
        } else {
            f64::from(img[yy as usize * width + xx as usize])
        }
    };
    let mut v = 0.0;
    for (dy, wy) in [(0.0, 1.0 - fy), (1.0, fy)] {
        for (dx, wx) in [(0.0, 1.0 - fx), (1.0, fx)] {
            let w = wy * wx;
            if w != 0.0 {
                v += w * pixel(y0 + dy, x0 + dx);
            }
        }
    }
    v as f32
}

/// Rotates one `[C, H, W]` image by `angle` radians (see the module note for the sense).
pub fn rotate(
    src: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    angle: f64,
) -> Result<Vec<f32>> {
    transform(src, channels, height, width, angle, false)
}

/// Rotates one `[C, H, W]` image by 180°: every plane reversed, exactly.
pub fn rotate180(src: &[f32], channels: usize, height: usize, width: usize) -> Result<Vec<f32>> {
    check_len(src, channels, height, width)?;
    let plane = height * width;
    Ok(src
        .chunks(plane)
        .flat_map(|p| p.iter().rev().copied())
        .collect())
}

/// Mirrors one `[C, H, W]` image in x (each row reversed), exactly: the element (0, -1).
pub fn mirror_x(src: &[f32], channels: usize, height: usize, width: usize) -> Result<Vec<f32>> {
    check_len(src, channels, height, width)?;
    Ok(src
        .chunks(width)
        .flat_map(|row| row.iter().rev().copied())
        .collect())
}
