//! The weight gradient: `dW[co, (ci, ky, kx)] = Σ over (b, p) of dy[b, co, p] · col[(ci, ky, kx), (b, p)]`.
//!
//! Every chunk of images contributes to all of `dW`, so each pool thread sums the chunks
//! it runs into a private `dW` (GEMMs with beta = 1), and the private sums are added at
//! the end: at most one `dW` per thread, while the chunks are still handed out
//! dynamically (which matters on a machine shared with other work).

use super::im2col::{ColBuffer, Slab};
use super::plan::Plan;
use super::Geometry;
use crate::gemm::{gemm_rows_parallel, MatMut, MatRef};
use crate::par;
use crate::transpose::transpose;
use pgcnn_core::Element;
use rayon::prelude::*;
use std::sync::{Mutex, PoisonError};

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
        // One slot per pool thread. A thread holds its slot's lock only while it runs one
        // chunk, and running a chunk starts no rayon work (single-threaded GEMMs), so the
        // thread cannot pick up a second chunk meanwhile: the lock is never contended. Should
        // that ever change, `try_lock` sends the chunk to a fresh worker instead of deadlocking.
        let slots: Vec<Mutex<Option<Worker<E>>>> = (0..threads).map(|_| Mutex::new(None)).collect();
        let extra: Mutex<Vec<Worker<E>>> = Mutex::new(Vec::new());
        (0..plan.chunks).into_par_iter().for_each(|chunk| {
            let (b0, images) = chunk_of(chunk);
            let slot = rayon::current_thread_index().unwrap_or(0) % threads;
            match slots[slot].try_lock() {
                Ok(mut guard) => {
                    let w = guard.get_or_insert_with(|| Worker::new(w_len));
                    run_chunk(x, dy, g, &plan, b0, images, w, 1);
                }
                Err(_) => {
                    let mut w = Worker::new(w_len);
                    run_chunk(x, dy, g, &plan, b0, images, &mut w, 1);
                    extra.lock().unwrap_or_else(PoisonError::into_inner).push(w);
                }
            }
        });
        let mut all: Vec<Worker<E>> = slots
            .into_iter()
            .filter_map(|s| s.into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect();
        all.extend(extra.into_inner().unwrap_or_else(PoisonError::into_inner));
        all
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
