//! The per-frequency complex products, each as four real GEMMs on the real and imaginary
//! parts (`(a + ib)(c + id) = (ac − bd) + i(ad + bc)`), frequencies spread over threads.
//!
//! Spectra are `[re/im][f][..]` (see [`transform`](super::transform)), so the real and
//! imaginary matrices of one frequency are two contiguous blocks, one in each half.

use crate::gemm::{gemm_serial_into, MatRef};
use pgcnn_core::Element;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// One frequency's operand: the real and imaginary parts of a matrix, each `rows × cols`
/// with strides `(rs, cs)`, starting at `offset` within the frequency's block.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, E> {
    pub spec: &'a [E],
    /// Elements per frequency per part (the block length).
    pub block: usize,
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
    /// Use the complex conjugate.
    pub conj: bool,
}

impl<'a, E: Element> Operand<'a, E> {
    /// The real and imaginary views at frequency `f`.
    fn at(&self, f: usize, freqs: usize) -> (MatRef<'a, E>, MatRef<'a, E>) {
        let view = |part: usize| MatRef {
            data: &self.spec[(part * freqs + f) * self.block + self.offset..],
            rows: self.rows,
            cols: self.cols,
            rs: self.rs,
            cs: self.cs,
        };
        (view(0), view(1))
    }
}

/// One product's output within a frequency's block: `rows × cols` at `offset`, row
/// stride `rs`, columns adjacent.
#[derive(Clone, Copy)]
pub(crate) struct Target {
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
}

/// A complex product `out_f = a_f · b_f` (with the conjugates the operands ask for) for
/// every frequency `f`.
pub(crate) struct Job<'a, E> {
    pub a: Operand<'a, E>,
    pub b: Operand<'a, E>,
    pub out: Target,
}

/// Runs every job at every one of `freqs` frequencies into a fresh spectrum
/// `[re/im][f][block]`. The jobs' targets must cover each block exactly once (checked):
/// the spectrum is not zeroed first, every element is written by a product.
pub(crate) fn run<E: Element>(jobs: &[Job<'_, E>], freqs: usize, block: usize) -> Vec<E> {
    assert!(
        jobs.iter()
            .all(|j| j.a.cols == j.b.rows && (j.a.rows, j.b.cols) == (j.out.rows, j.out.cols)),
        "FFT products: operand and target sizes disagree"
    );
    assert!(
        covers_once(jobs, block),
        "FFT products: the jobs' targets do not cover the block exactly once"
    );
    let len = 2 * freqs * block;
    let mut out: Vec<E> = Vec::with_capacity(len);
    let (re, im) = out.spare_capacity_mut()[..len].split_at_mut(freqs * block);
    re.par_chunks_mut(block.max(1))
        .zip(im.par_chunks_mut(block.max(1)))
        .enumerate()
        .for_each(|(f, (re, im))| {
            for job in jobs {
                one(job, f, freqs, re, im);
            }
        });
    // SAFETY: every block of both parts is covered by the jobs' targets (asserted above),
    // each of which `one` writes in full.
    unsafe { out.set_len(len) };
    out
}

/// Whether the targets of `jobs` together hold every element of a `block` exactly once.
fn covers_once<E>(jobs: &[Job<'_, E>], block: usize) -> bool {
    let mut seen = vec![false; block];
    for t in jobs.iter().map(|j| j.out) {
        for r in 0..t.rows {
            for c in 0..t.cols {
                match seen.get_mut(t.offset + r * t.rs + c) {
                    Some(s) if !*s => *s = true,
                    _ => return false,
                }
            }
        }
    }
    seen.into_iter().all(|s| s)
}

/// `re + i·im = a · b` at frequency `f`: with `a = ar + i·sa·ai` and `b = br + i·sb·bi`
/// (`s` = −1 for a conjugate), `re = ar·br − sa·sb·ai·bi` and
/// `im = sb·ar·bi + sa·ai·br`.
fn one<E: Element>(
    job: &Job<'_, E>,
    f: usize,
    freqs: usize,
    re: &mut [MaybeUninit<E>],
    im: &mut [MaybeUninit<E>],
) {
    let (ar, ai) = job.a.at(f, freqs);
    let (br, bi) = job.b.at(f, freqs);
    let sign = |conj: bool| if conj { -E::one() } else { E::one() };
    let (sa, sb) = (sign(job.a.conj), sign(job.b.conj));
    let t = job.out;
    let (re, im) = (&mut re[t.offset..], &mut im[t.offset..]);
    // SAFETY: each second product adds to the view the first one just wrote in full.
    unsafe {
        gemm_serial_into(E::one(), ar, br, E::zero(), re, t.rs);
        gemm_serial_into(-(sa * sb), ai, bi, E::one(), re, t.rs);
        gemm_serial_into(sb, ar, bi, E::zero(), im, t.rs);
        gemm_serial_into(sa, ai, br, E::one(), im, t.rs);
    }
}
