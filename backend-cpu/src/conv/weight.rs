//! The weight gradient: `dW[co, (ci, ky, kx)] = Σ over (b, p) of dy[b, co, p] · col[(ci, ky, kx), (b, p)]`.
//!
//! Every chunk of images contributes to all of `dW`, so the chunks are cut into runs of
//! consecutive chunks, at most one run per pool thread; each run is summed into a private
//! `dW` (GEMMs with beta = 1), and the private sums are added in run order at the end.
//! The cut is fixed by the chunk and thread counts, so the result is deterministic for a
//! given thread count (handing chunks out dynamically balanced load a little better on a
//! shared machine, but made the summation order, and so the bits, vary from run to run).

use super::direct;
use super::im2col::{ColBuffer, Slab};
use super::plan::Plan;
use super::Geometry;
use crate::gemm::{gemm_rows_parallel, MatMut, MatRef};
use crate::par;
use crate::transpose::transpose;
use pgcnn_core::Element;
use rayon::prelude::*;

/// One thread's share of `dW` and its buffers.
struct Worker<E> {
    dw: Vec<E>,
    col: ColBuffer<E>,
    dy_chunk: Vec<E>,
}

impl<E: Element> Worker<E> {
    fn new(w_len: usize) -> Self {
        Worker {
            dw: vec![E::zero(); w_len],
            col: ColBuffer::default(),
            dy_chunk: Vec::new(),
        }
    }
}

/// `dw [cout, cin_g, kh, kw]` from `x [batch, cin, in_h, in_w]` and `dy [batch, cout,
/// out_h, out_w]`. The caller has checked the lengths.
pub(crate) fn run<E: Element>(x: &[E], dy: &[E], g: &Geometry) -> Vec<E> {
    let w_len = g.cout * g.kernel_len();
    if w_len == 0 || g.batch == 0 || g.out_plane() == 0 {
        return vec![E::zero(); w_len];
    }
    let threads = par::threads();
    let plan = Plan::new(g, threads);
    let chunk_of = |chunk: usize| {
        let b0 = chunk * plan.images;
        (b0, plan.images.min(g.batch - b0))
    };
    let workers: Vec<Worker<E>> = if plan.chunks < threads {
        // Fewer chunks than threads: one worker per chunk, its GEMMs split over threads.
        let parts = threads.div_ceil(plan.chunks);
        (0..plan.chunks)
            .into_par_iter()
            .map(|chunk| {
                let mut w = Worker::new(w_len);
                let (b0, images) = chunk_of(chunk);
                run_chunk(x, dy, g, &plan, b0, images, &mut w, parts);
                w
            })
            .collect()
    } else {
        // One worker per run of consecutive chunks, at most one per pool thread. Which
        // chunks a worker sums, and in which order, depends only on the chunk count and
        // the thread count, never on which thread happens to run what, so the same
        // inputs and thread count give the same bits (resumed training runs rely on it).
        let per = plan.chunks.div_ceil(threads);
        (0..plan.chunks.div_ceil(per))
            .into_par_iter()
            .map(|run| {
                let mut w = Worker::new(w_len);
                for chunk in run * per..((run + 1) * per).min(plan.chunks) {
                    let (b0, images) = chunk_of(chunk);
                    run_chunk(x, dy, g, &plan, b0, images, &mut w, 1);
                }
                w
            })
            .collect()
    };
    let mut partials: Vec<Vec<E>> = workers.into_iter().map(|w| w.dw).collect();
    // There is at least one chunk, so at least one worker.
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
    worker: &mut Worker<E>,
    gemm_parts: usize,
) {
    let Worker {
        dw,
        col: col_buf,
        dy_chunk,
    } = worker;
    let plane = g.out_plane();
    let cols = images * plane;
    let taps = g.kh * g.kw;
    let (cig, cog, klen) = (g.cin_g(), g.cout_g(), g.kernel_len());
    // The unpacked f32 product where it runs (see `direct`), matrixmultiply else.
    let unpacked = gemm_parts == 1
        && cog <= direct::MAX_ROWS
        && direct::as_f32(dy).is_some()
        && direct::available();
    let image = g.cout * plane;
    let src = &dy[b0 * image..][..images * image];
    dy_chunk.resize(cols * g.cout, E::zero());
    if unpacked {
        // [images, cout, plane] -> [cout, images · plane]: rows of the A operand.
        for (bi, src) in src.chunks(image).enumerate() {
            for (co, src) in src.chunks(plane).enumerate() {
                dy_chunk[co * cols + bi * plane..][..plane].copy_from_slice(src);
            }
        }
    } else {
        // [images, cout, plane] -> [images · plane, cout]: the A operand of every GEMM,
        // read column by column (the order matrixmultiply packs it in).
        for (src, dst) in src.chunks(image).zip(dy_chunk.chunks_mut(image)) {
            transpose(src, g.cout, plane, dst);
        }
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
            let dw_slab = &mut dw[grp * cog * klen + c_in * taps..];
            if unpacked {
                if let (Some(a), Some(b), Some(c)) = (
                    direct::as_f32(&dy_chunk[grp * cog * cols..]),
                    direct::as_f32(col),
                    direct::as_f32_mut(dw_slab),
                ) {
                    if direct::gemm_nt_add(cog, channels * taps, cols, a, cols, b, cols, c, klen) {
                        continue;
                    }
                }
                unreachable!("conv weight gradient: checked f32 and AVX-512 above");
            }
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
                data: dw_slab,
                rows: cog,
                cols: channels * taps,
                rs: klen,
                cs: 1,
            };
            gemm_rows_parallel(E::one(), a, b, E::one(), c, gemm_parts);
        }
    }
}
