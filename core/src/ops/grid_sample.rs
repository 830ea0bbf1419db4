//! Bilinear sampling of images at arbitrary (fractional) positions, differentiable in
//! both the image and the positions (the Augerino baselines rotate their inputs by a
//! learned angle and need the gradient with respect to it).
//!
//! Written entirely with other ops: the integer corners are read on the host (they are
//! locally constant, so they carry no gradient), the bilinear weights are differentiable
//! functions of the positions (`1 - frac`, `frac`), and the pixel values are gathered
//! with `index_select` on the flattened image. Gradients therefore come from autodiff of
//! those ops; the derivative with respect to a position jumps where it crosses a pixel
//! row or column, as bilinear interpolation does.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use num_traits::Float;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Samples the images `self` `[B, C, H, W]` at the positions `(rows, cols)` (two
    /// tensors of one shape `[P..]`, in pixel units: row 0 is the first row, column 0
    /// the first column) by bilinear interpolation with zeros outside the image:
    /// `[B, C, P..]`. Every image of the batch is sampled at the same positions.
    ///
    /// A position on the grid reads that pixel exactly; between pixels the value is the
    /// bilinear blend of the four around it, corners outside the image counting as 0.
    pub fn grid_sample_bilinear(&self, rows: &Self, cols: &Self) -> Result<Self> {
        const OP: &str = "grid_sample_bilinear";
        let d = self.dims();
        if d.len() != 4 {
            return Err(Error::bad_shape(OP, d, "the images must be [B, C, H, W]"));
        }
        if rows.dims() != cols.dims() {
            return Err(Error::mismatch(
                OP,
                rows.dims(),
                cols.dims(),
                "row and column positions must have one shape",
            ));
        }
        let (b, c, h, w) = (d[0], d[1], d[2], d[3]);
        let q = rows.numel();
        let yv: Vec<f64> = rows.to_vec()?.iter().map(|&v| Element::to_f64(v)).collect();
        let xv: Vec<f64> = cols.to_vec()?.iter().map(|&v| Element::to_f64(v)).collect();
        if yv.iter().chain(&xv).any(|v| !v.is_finite()) {
            return Err(Error::bad_arg(OP, "a sampling position is not finite"));
        }
        let y0: Vec<f64> = yv.iter().map(|&v| Float::floor(v)).collect();
        let x0: Vec<f64> = xv.iter().map(|&v| Float::floor(v)).collect();
        // The fractional parts, differentiable in the positions (the floor is constant).
        let flat_pos = |t: &Self| t.reshape([q]);
        let fy = flat_pos(rows)?.sub(&Tensor::from_f64s(self.backend(), &y0, [q])?)?;
        let fx = flat_pos(cols)?.sub(&Tensor::from_f64s(self.backend(), &x0, [q])?)?;
        let one_minus = |f: &Self| f.neg()?.add_scalar(E::one());
        let (gy, gx) = (one_minus(&fy)?, one_minus(&fx)?);
        let images = self.reshape([b, c, h * w])?;
        let mut terms = Vec::with_capacity(4);
        for (dy, dx) in [(0usize, 0usize), (0, 1), (1, 0), (1, 1)] {
            // Corner (y0 + dy, x0 + dx): its flat index, and 0/1 for inside the image.
            let mut index = Vec::with_capacity(q);
            let mut inside = Vec::with_capacity(q);
            for i in 0..q {
                let (yy, xx) = (y0[i] + dy as f64, x0[i] + dx as f64);
                let ok = yy >= 0.0 && xx >= 0.0 && yy < h as f64 && xx < w as f64;
                // In range exactly when `ok`, so the casts are exact there.
                index.push(if ok { yy as usize * w + xx as usize } else { 0 });
                inside.push(if ok { 1.0 } else { 0.0 });
            }
            let wy = if dy == 0 { &gy } else { &fy };
            let wx = if dx == 0 { &gx } else { &fx };
            let weight = wy
                .mul(wx)?
                .mul(&Tensor::from_f64s(self.backend(), &inside, [q])?)?
                .reshape([1, 1, q])?;
            terms.push(images.index_select(2, &index)?.mul(&weight)?);
        }
        // Four corners were pushed, so terms[0] exists.
        let mut out = terms[0].clone();
        for t in &terms[1..] {
            out = out.add(t)?;
        }
        let mut dims = alloc::vec![b, c];
        dims.extend_from_slice(rows.dims());
        out.reshape(dims)
    }
}
