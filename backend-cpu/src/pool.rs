//! 2×2, stride-2 max pooling and its gradient, parallel over planes.

use crate::check;
use crate::par;
use pgcnn_core::{Element, Result};
use rayon::prelude::*;

/// Runs `f(plane index, input plane, output plane)` over all planes, in parallel when
/// there is enough work.
fn for_planes<E: Element, O: Send>(
    x: &[E],
    out: &mut [O],
    planes: usize,
    in_plane: usize,
    f: impl Fn(usize, &[E], &mut [O]) + Sync,
) {
    if planes == 0 {
        return;
    }
    let out_plane = out.len() / planes;
    if out_plane == 0 {
        return;
    }
    let run = |(p, o): (usize, &mut [O])| f(p, &x[p * in_plane..][..in_plane], o);
    if par::worth_it(x.len()) {
        out.par_chunks_mut(out_plane)
            .enumerate()
            .with_min_len(par::rows_per_chunk(planes, in_plane))
            .for_each(run);
    } else {
        out.chunks_mut(out_plane).enumerate().for_each(run);
    }
}

/// `y [planes, h/2, w/2]`: the maximum of each 2×2 window (odd edges dropped).
pub(crate) fn max_pool2d<E: Element>(x: &[E], planes: usize, h: usize, w: usize) -> Result<Vec<E>> {
    const OP: &str = "max_pool2d";
    check::len(OP, "input", x.len(), check::product(OP, &[planes, h, w])?)?;
    let (oh, ow) = (h / 2, w / 2);
    let mut y = vec![E::zero(); planes * oh * ow];
    for_planes(x, &mut y, planes, h * w, |_, plane, out| {
        // Row pairs and column pairs as slices: no index arithmetic or bounds checks in
        // the inner loop. The comparisons are those of `argmax` (the window's values in
        // row-major order, a later one only when strictly greater), so the value is the
        // same, NaN handling included.
        for (i, row) in out.chunks_mut(ow).enumerate() {
            let top = plane[2 * i * w..][..2 * ow].chunks_exact(2);
            let bottom = plane[(2 * i + 1) * w..][..2 * ow].chunks_exact(2);
            for ((o, t), b) in row.iter_mut().zip(top).zip(bottom) {
                let mut best = t[0];
                for v in [t[1], b[0], b[1]] {
                    if v > best {
                        best = v;
                    }
                }
                *o = best;
            }
        }
    });
    Ok(y)
}

/// `dx [planes, h, w]`: each window's `dy` goes to the first position of its maximum.
pub(crate) fn max_pool2d_backward<E: Element>(
    x: &[E],
    dy: &[E],
    planes: usize,
    h: usize,
    w: usize,
) -> Result<Vec<E>> {
    const OP: &str = "max_pool2d_backward";
    let numel = check::product(OP, &[planes, h, w])?;
    check::len(OP, "input", x.len(), numel)?;
    let (oh, ow) = (h / 2, w / 2);
    check::len(OP, "dy", dy.len(), planes * oh * ow)?;
    let mut dx = vec![E::zero(); numel];
    if oh == 0 || ow == 0 {
        return Ok(dx);
    }
    for_planes(x, &mut dx, planes, h * w, |p, plane, out| {
        let dy = &dy[p * oh * ow..][..oh * ow];
        // As in the forward: row pairs as slices, the window's values compared in
        // row-major order, the first maximum receiving the gradient.
        for (i, dy_row) in dy.chunks_exact(ow).enumerate() {
            let (top_out, bottom_out) = out[2 * i * w..][..2 * w].split_at_mut(w);
            let top = plane[2 * i * w..][..2 * ow].chunks_exact(2);
            let bottom = plane[(2 * i + 1) * w..][..2 * ow].chunks_exact(2);
            let top_out = top_out[..2 * ow].chunks_exact_mut(2);
            let bottom_out = bottom_out[..2 * ow].chunks_exact_mut(2);
            for ((((&d, t), b), to), bo) in dy_row
                .iter()
                .zip(top)
                .zip(bottom)
                .zip(top_out)
                .zip(bottom_out)
            {
                let mut best = (t[0], 0);
                for (v, k) in [(t[1], 1), (b[0], 2), (b[1], 3)] {
                    if v > best.0 {
                        best = (v, k);
                    }
                }
                let slot = match best.1 {
                    0 => &mut to[0],
                    1 => &mut to[1],
                    2 => &mut bo[0],
                    _ => &mut bo[1],
                };
                *slot = *slot + d;
            }
        }
    });
    Ok(dx)
}
