//! The forward convolution (also the input gradient, run on a derived geometry).

use super::direct;
use super::im2col::{ColBuffer, Slab};
use super::plan::Plan;
use super::Geometry;
use crate::gemm::{gemm_rows_parallel, MatMut, MatRef};
use crate::par;
use pgcnn_core::Element;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Buffers one thread reuses from chunk to chunk.
#[derive(Default)]
struct Scratch<E> {
    /// im2col of one slab: `slab · kh · kw` rows × `images · out_plane` columns.
    col: ColBuffer<E>,
    /// The chunk's output as `[cout, images · out_plane]`.
    y: Vec<E>,
}

/// `y [batch, cout, out_h, out_w]` = the convolution of `x [batch, cin, in_h, in_w]` with
/// the kernel `w [cout, cin_g, kh, kw]`, given as `wt`: per group, the transposed
/// `[cin_g·kh·kw, cout_g]` (see `kernel_columns`). The caller has checked the lengths.
pub(crate) fn run<E: Element>(x: &[E], wt: &[E], g: &Geometry) -> Vec<E> {
    let out_image = g.cout * g.out_plane();
    let len = g.batch * out_image;
    if len == 0 || g.cin_g() == 0 {
        return vec![E::zero(); len];
    }
    let threads = par::threads();
    let plan = Plan::new(g, threads);
    // With fewer chunks than threads, the threads share each chunk's GEMMs instead.
    let gemm_parts = threads.div_ceil(plan.chunks);
    // Every element is written exactly once below, so the buffer is not zeroed first
    // (zeroing it cost about as much as copying it).
    let mut y: Vec<E> = Vec::with_capacity(len);
    y.spare_capacity_mut()[..len]
        .par_chunks_mut(plan.images * out_image)
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (chunk, y)| {
            let images = y.len() / out_image;
            run_chunk(
                x,
                wt,
                g,
                &plan,
                chunk * plan.images,
                images,
                scratch,
                y,
                gemm_parts,
            );
        });
    // SAFETY: the chunks cover `..len`, and `run_chunk` writes every element of its chunk
    // (all `images · cout` planes in full); if it panics, this line is never reached.
    unsafe { y.set_len(len) };
    y
}

/// Convolves images `b0..b0 + images` into `y` (their slice of the output), writing all of
/// `y`.
fn run_chunk<E: Element>(
    x: &[E],
    wt: &[E],
    g: &Geometry,
    plan: &Plan,
    b0: usize,
    images: usize,
    scratch: &mut Scratch<E>,
    y: &mut [MaybeUninit<E>],
    gemm_parts: usize,
) {
    let plane = g.out_plane();
    let cols = images * plane;
    let taps = g.kh * g.kw;
    let (cig, cog, klen) = (g.cin_g(), g.cout_g(), g.kernel_len());
    scratch.y.resize(g.cout * cols, E::zero());
    for grp in 0..g.groups {
        let y_grp = &mut scratch.y[grp * cog * cols..][..cog * cols];
        for c_in in (0..cig).step_by(plan.slab) {
            let channels = plan.slab.min(cig - c_in);
            let slab = Slab {
                b0,
                images,
                c0: grp * cig + c_in,
                channels,
            };
            let col = scratch.col.fill(x, g, slab);
            // Rows of this group's kernels, columns of this slab's taps.
            let a = MatRef {
                data: &wt[(grp * klen + c_in * taps) * cog..],
                rows: cog,
                cols: channels * taps,
                rs: 1,
                cs: cog,
            };
            let b = MatRef {
                data: col,
                rows: channels * taps,
                cols,
                rs: cols,
                cs: 1,
            };
            let c = MatMut {
                data: &mut *y_grp,
                rows: cog,
                cols,
                rs: cols,
                cs: 1,
            };
            // The unpacked f32 product where it runs (see `direct`), matrixmultiply else.
            if gemm_parts == 1 && cog <= direct::MAX_ROWS {
                if let (Some(a), Some(b), Some(c)) = (
                    direct::as_f32(a.data),
                    direct::as_f32(b.data),
                    direct::as_f32_mut(c.data),
                ) {
                    if direct::gemm(
                        cog,
                        cols,
                        channels * taps,
                        a,
                        cog,
                        b,
                        cols,
                        c,
                        cols,
                        c_in != 0,
                    ) {
                        continue;
                    }
                }
            }
            let beta = if c_in == 0 { E::zero() } else { E::one() };
            gemm_rows_parallel(E::one(), a, b, beta, c, gemm_parts);
        }
    }
    // [cout, images, plane] -> [images, cout, plane], writing every element of `y`.
    for (co, src) in scratch.y.chunks(cols).enumerate() {
        for bi in 0..images {
            let dst = &mut y[(bi * g.cout + co) * plane..][..plane];
            for (d, &v) in dst.iter_mut().zip(&src[bi * plane..][..plane]) {
                d.write(v);
            }
        }
    }
}
