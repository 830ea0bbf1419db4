//! 2×2, stride-2 max pooling and its gradient, parallel over planes.

use crate::check;
use crate::par;
use pgcnn_core::{Element, Result};
use rayon::prelude::*;

/// Offset within the plane of the first maximum (row-major within the window) of
/// window (i, j), comparing as the reference does.
fn argmax<E: Element>(plane: &[E], w: usize, i: usize, j: usize) -> usize {
    let mut best = 2 * i * w + 2 * j;
    for q in [best + 1, best + w, best + w + 1] {
        if plane[q] > plane[best] {
            best = q;
        }
    }
    best
}

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
        for (i, row) in out.chunks_mut(ow).enumerate() {
            for (j, o) in row.iter_mut().enumerate() {
                *o = plane[argmax(plane, w, i, j)];
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
        for i in 0..oh {
            for j in 0..ow {
                let q = argmax(plane, w, i, j);
                out[q] = out[q] + dy[i * ow + j];
            }
        }
    });
    Ok(dx)
}
