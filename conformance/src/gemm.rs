//! The matrix-product family: [`Backend::gemm`], batched, in all four transpose
//! combinations, with batch strides that share an operand (0), pack it or leave gaps.
//!
//! Cases: fixed ones (products big enough to be split over threads, over the batch, over
//! row blocks, a batch folded into one tall product, and the very tall products of a
//! kernel net's layers over every kernel coordinate: hundreds of thousands of rows by 3
//! to 128 inputs by 3 to 256 outputs, which backends may serve with a kernel of their
//! own) and random ones (every size 0–8, so empty products too). Every case is checked
//! against the reference in f32 and f64, and for repeatability (a second call gives the
//! same bits). Buffers too short for the descriptor must be errors.

use crate::data::{type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{Backend, GemmDesc};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is
/// `batch · m · n · k` multiply-adds.
pub const THOROUGH: Cases = Cases {
    random: 200,
    max_work: 8_000_000,
    seed: 0x6e_33,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 40,
    max_work: 300_000,
    seed: 0x6e_34,
};

/// The multiply-adds of `d`.
pub fn work(d: &GemmDesc) -> usize {
    d.batch * d.m * d.n * d.k
}

/// A descriptor; `a_shared`/`b_shared` give that operand batch stride 0.
#[allow(clippy::too_many_arguments)]
pub fn desc(
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    a_trans: bool,
    b_trans: bool,
    a_shared: bool,
    b_shared: bool,
) -> GemmDesc {
    GemmDesc {
        batch,
        m,
        n,
        k,
        a_trans,
        b_trans,
        a_batch_stride: if a_shared { 0 } else { m * k },
        b_batch_stride: if b_shared { 0 } else { k * n },
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<GemmDesc> {
    let mut v = Vec::new();
    // Odd sizes, a long inner axis, shared operands, in every transpose combination.
    for (a_trans, b_trans) in [(false, false), (true, false), (false, true), (true, true)] {
        v.push(desc(1, 17, 33, 45, a_trans, b_trans, false, false));
        v.push(desc(2, 1, 1, 300, a_trans, b_trans, false, false));
        v.push(desc(4, 6, 9, 11, a_trans, b_trans, true, false));
        v.push(desc(4, 6, 9, 11, a_trans, b_trans, false, true));
    }
    v.extend([
        // Split over row blocks, transposes, over the batch, shared operands.
        desc(1, 200, 100, 100, false, false, false, false),
        desc(1, 150, 90, 110, true, true, false, false),
        desc(5, 64, 64, 64, false, true, false, false),
        desc(2, 100, 70, 80, true, false, false, true),
        desc(4, 60, 100, 50, false, false, false, true),
        desc(3, 70, 60, 90, false, false, true, false),
        // Kernel-net layers over every coordinate: x·Wᵀ (b transposed) and the input
        // gradient dY·W, tall and thin, widths that are not multiples of a vector.
        desc(1, 3_000, 32, 4, false, true, false, false),
        desc(1, 2_500, 32, 7, false, true, false, false),
        desc(1, 2_049, 100, 33, false, true, false, false),
        desc(1, 1_500, 4, 32, false, false, false, false),
        desc(1, 1_031, 17, 100, false, false, false, false),
        desc(1, 1_024, 256, 128, false, true, false, false),
        desc(1, 1_200, 257, 5, false, true, false, false),
        desc(1, 1_100, 5, 129, false, false, false, false),
        // A batch folded into one tall product against a shared right-hand side.
        desc(8, 300, 32, 4, false, true, false, true),
        // The weight gradient dYᵀ·X: long k.
        desc(1, 32, 4, 3_000, true, false, false, false),
    ]);
    v
}

/// `count` random descriptors: sizes 0–8, any transposes, batch strides 0, packed or with
/// a gap of 3.
pub fn random(rng: &mut Rng, count: usize) -> Vec<GemmDesc> {
    (0..count)
        .map(|_| {
            let mut d = desc(
                rng.below(4),
                rng.below(9),
                rng.below(9),
                rng.below(9),
                rng.below(2) == 0,
                rng.below(2) == 0,
                false,
                false,
            );
            let stride = |rng: &mut Rng, size: usize| [0, size, size + 3][rng.below(3)];
            d.a_batch_stride = stride(rng, d.m * d.k);
            d.b_batch_stride = stride(rng, d.k * d.n);
            d
        })
        .collect()
}

/// Every check of the family on `backend`, comparing with the reference within `tol`.
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, tol: Tolerance) {
    for (d, seed) in cases.select(fixed(), work, |rng| random(rng, cases.random)) {
        compare::<B, f32>(backend, report, &d, seed, tol);
        compare::<B, f64>(backend, report, &d, seed, tol);
    }
    errors(backend, report);
}

/// Buffer length a batch of strided matrices needs.
fn needed(batch: usize, stride: usize, one: usize) -> usize {
    if batch == 0 || one == 0 {
        0
    } else {
        (batch - 1) * stride + one
    }
}

fn operands<E: Element>(d: &GemmDesc, seed: u64) -> (Vec<E>, Vec<E>) {
    let mut rng = Rng::seed(seed);
    let a = uniform(
        &mut rng,
        needed(d.batch, d.a_batch_stride, d.m * d.k),
        -1.0,
        1.0,
    );
    let b = uniform(
        &mut rng,
        needed(d.batch, d.b_batch_stride, d.k * d.n),
        -1.0,
        1.0,
    );
    (a, b)
}

fn product<B: Backend, E: Element>(
    b: &B,
    d: &GemmDesc,
    x: &[E],
    y: &[E],
) -> pgcnn_core::Result<Vec<E>> {
    b.download(&b.gemm(&b.upload(x)?, &b.upload(y)?, d)?)
}

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, d: &GemmDesc, seed: u64, tol: Tolerance) {
    let (x, y) = operands::<E>(d, seed);
    let what = format!("gemm {} {d:?}", type_name::<E>());
    let got = product(b, d, &x, &y);
    match product(&Reference, d, &x, &y) {
        Ok(want) => {
            r.repeatable(&what, &got, product(b, d, &x, &y));
            r.close(&what, got, &want, tol.of::<E>());
        }
        Err(e) => r.error(&format!("{what} (the reference refuses it: {e})"), got),
    }
}

/// Buffers shorter than the descriptor reads.
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let d = desc(2, 4, 4, 4, false, false, false, false);
    let v = [0.0f32; 32];
    let up = |n: usize| b.upload(&v[..n]);
    let run = |na: usize, nb: usize| -> pgcnn_core::Result<_> { b.gemm(&up(na)?, &up(nb)?, &d) };
    r.error("gemm with a too short", run(31, 32));
    r.error("gemm with b too short", run(32, 20));
}
