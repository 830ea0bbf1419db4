//! The weight gradient: `dW[co, (ci, ky, kx)] = Σ over (b, p) of dy[b, co, p] · col[(ci, ky, kx), (b, p)]`.
//!
//! Every chunk of images contributes to all of `dW`, so each worker thread sums its chunks
//! into a private `dW` (GEMMs with beta = 1), and the private sums are added at the end.

use super::im2col::{ColBuffer, Slab};
use super::plan::Plan;
use super::Geometry;
use crate::gemm::{gemm_rows_parallel, MatMut, MatRef};
use crate::par;
use crate::transpose::transpose;
use pgcnn_core::Element;
use rayon::prelude::*;

/// `dw [cout, cin_g, kh, kw]` from `x [batch, cin, in_h, in_w]` and `dy [batch, cout,
/// out_h, out_w]`. The caller has checked the lengths.
pub(crate) fn run<E: Element>(x: &[E], dy: &[E], g: &Geometry) -> Vec<E> {
    let w_len = g.cout * g.kernel_len();
    if w_len == 0 || g.batch == 0 || g.out_plane() == 0 {
        return vec![E::zero(); w_len];
    }
    let threads = par::threads();
    let plan = Plan::new(g, threads);
    let workers = threads.min(plan.chunks);
    let gemm_parts = threads.div_ceil(plan.chunks);
    // Worker t takes chunks t, t + workers, ...: the plan makes chunks equal and, when the
    // batch allows, a multiple of the thread count.
    let mut partials: Vec<Vec<E>> = (0..workers)
        .into_par_iter()
        .map(|t| {
            let mut dw = vec![E::zero(); w_len];
            let (mut col, mut dy_chunk) = (ColBuffer::default(), Vec::new());
            for chunk in (t..plan.chunks).step_by(workers) {
                let b0 = chunk * plan.images;
                let images = plan.images.min(g.batch - b0);
                let bufs = (&mut col, &mut dy_chunk);
                run_chunk(x, dy, g, &plan, b0, images, bufs, &mut dw, gemm_parts);
            }
            dw
        })
        .collect();
    let mut dw = partials.swap_remove(0);
    if !partials.is_empty() {
        let c = par::chunk_len(w_len);
        dw.par_chunks_mut(c).enumerate().for_each(|(i, acc)| {
            for p in &partials {
                for (a, &v) in acc.iter_mut().zip(&p[i * c..]) {
                    *a = *a + v;
                }
            }
        });
    }
    dw
}

/// Adds the contribution of images `b0..b0 + images` to `dw`.
fn run_chunk<E: Element>(
    x: &[E],
    dy: &[E],
    g: &Geometry,
    plan: &Plan,
    b0: usize,
    images: usize,
    (col_buf, dy_chunk): (&mut ColBuffer<E>, &mut Vec<E>),
    dw: &mut [E],
    gemm_parts: usize,
) {
    let plane = g.out_plane();
    let cols = images * plane;
    let taps = g.kh * g.kw;
    let (cig, cog, klen) = (g.cin_g(), g.cout_g(), g.kernel_len());
    // [images, cout, plane] -> [images · plane, cout]: the A operand of every GEMM, read
    // column by column (the order matrixmultiply packs it in).
    dy_chunk.resize(cols * g.cout, E::zero());
    let image = g.cout * plane;
    let src = &dy[b0 * image..][..images * image];
    for (src, dst) in src.chunks(image).zip(dy_chunk.chunks_mut(image)) {
        transpose(src, g.cout, plane, dst);
    }
    for grp in 0..g.groups {
        for c_in in (0..cig).step_by(plan.slab) {
            let channels = plan.slab.min(cig - c_in);
            let slab = Slab {
                b0,
                images,
                c0: grp * cig + c_in,
                channels,
            };
            let col = col_buf.fill(x, g, slab);
            let a = MatRef {
                data: &dy_chunk[grp * cog..],
                rows: cog,
                cols,
                rs: 1,
                cs: g.cout,
            };
            // colᵀ: rows are (b, p), columns this slab's taps.
            let b = MatRef {
                data: col,
                rows: cols,
                cols: channels * taps,
                rs: 1,
                cs: cols,
            };
            let c = MatMut {
                data: &mut dw[grp * cog * klen + c_in * taps..],
                rows: cog,
                cols: channels * taps,
                rs: klen,
                cs: 1,
            };
            gemm_rows_parallel(E::one(), a, b, E::one(), c, gemm_parts);
        }
    }
}
