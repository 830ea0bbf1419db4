//! The reduction family: [`Backend::reduce`], every [`ReduceOp`], over the middle axis of
//! `[outer, len, inner]`.
//!
//! Maximum and minimum select a value, so they must equal the reference exactly; like the
//! reference (and IEEE's maxNum), they pass over NaN unless every value is NaN. Sums are
//! rounded in whatever order a backend adds, so they are held to the relative tolerance;
//! their oracle is the reference run in f64 on the same values, rounded to the element
//! type (a backend summing in a wider type or in a better order than the reference's plain
//! f32 loop must not be blamed for the reference's rounding).
//!
//! Cases: fixed ones (single values, one long axis into one output, many short ones,
//! runs around the eight-accumulator thresholds of the CPU's row sums, long axes into few
//! outputs that backends split into partial results, empty outputs, NaN and ±∞ among the
//! values) and random ones (outer 0–5, len 1–8, inner 0–5). Every case is checked in f32
//! and f64, against the reference and for repeatability. An axis of length 0 with
//! outputs, a buffer of the wrong length, and huge axes around an empty one must be
//! errors.

use crate::data::{from_f64, non_finite, sprinkle, to_f64, type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{AxisLayout, Backend, ReduceOp};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is its
/// number of input values.
pub const THOROUGH: Cases = Cases {
    random: 48,
    max_work: 260_000,
    seed: 0x5e_51,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator (whose
/// row sums run each block's threads as real threads meeting at barriers).
pub const QUICK: Cases = Cases {
    random: 12,
    max_work: 20_000,
    seed: 0x5e_52,
};

/// Every op.
pub const OPS: [ReduceOp; 3] = [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min];

/// One case: the layout, and special values sprinkled in one in `sprinkle` (0: none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Case {
    pub layout: AxisLayout,
    pub sprinkle: usize,
}

fn case(outer: usize, len: usize, inner: usize, sprinkle: usize) -> Case {
    Case {
        layout: AxisLayout { outer, len, inner },
        sprinkle,
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    vec![
        case(1, 1, 1, 0),
        case(2, 1, 5, 0),
        case(7, 300, 1, 0),
        case(3, 50, 17, 0),
        // More short rows than a small GPU's grid holds blocks (two SMs: 128), so blocks
        // take several rows each.
        case(129, 5, 1, 0),
        // Runs along the last axis below, at and past the CPU's eight-accumulator path.
        case(3, 15, 1, 0),
        case(3, 16, 1, 0),
        case(3, 37, 1, 0),
        // Empty outputs.
        case(0, 3, 4, 0),
        case(3, 4, 0, 0),
        // NaN and infinities: passed over by Max and Min, carried by Sum.
        case(5, 40, 3, 4),
        case(4, 37, 1, 4),
        case(2, 3000, 1, 500),
        // Long axes into few outputs (split into partial results), a norm's statistics
        // (many long runs), wide rows (split by columns), many rows.
        case(1, 5000, 3, 0),
        case(4, 3000, 1, 0),
        case(1, 64, 4000, 0),
        case(1, 100_000, 1, 0),
        case(2, 30_000, 3, 0),
        case(300, 40, 7, 0),
        case(2, 50, 1500, 0),
        case(64, 3136, 1, 0),
    ]
}

/// `count` random cases: outer 0–5, len 1–8, inner 0–5, special values in a quarter.
pub fn random(rng: &mut Rng, count: usize) -> Vec<Case> {
    (0..count)
        .map(|_| {
            let (outer, len, inner) = (rng.below(6), 1 + rng.below(8), rng.below(6));
            case(outer, len, inner, [0, 0, 0, 6][rng.below(4)])
        })
        .collect()
}

/// Every check of the family on `backend`, sums within `tol`.
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, tol: Tolerance) {
    let work = |c: &Case| c.layout.numel();
    for (c, seed) in cases.select(fixed(), work, |rng| random(rng, cases.random)) {
        compare::<B, f32>(backend, report, &c, seed, tol);
        compare::<B, f64>(backend, report, &c, seed, tol);
    }
    errors(backend, report);
}

/// The values of case `c`: uniform in `[-0.5, 1)` (a positive mean keeps sums away from
/// zero, where a relative error means little), special values sprinkled in.
pub fn values<E: Element>(c: &Case, seed: u64) -> Vec<E> {
    let mut rng = Rng::seed(seed);
    let mut x = uniform(&mut rng, c.layout.numel(), -0.5, 1.0);
    if c.sprinkle > 0 {
        sprinkle(&mut rng, &mut x, &non_finite(), c.sprinkle);
    }
    x
}

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, c: &Case, seed: u64, tol: Tolerance) {
    let x: Vec<E> = values(c, seed);
    let l = c.layout;
    for op in OPS {
        let what = format!("reduce {op:?} {} {l:?}", type_name::<E>());
        let got = apply(b, op, &x, l);
        r.repeatable(&what, &got, apply(b, op, &x, l));
        let want: Vec<E> = from_f64(&apply(&Reference, op, &to_f64(&x), l).unwrap_or_default());
        match op {
            ReduceOp::Sum => r.close(&what, got, &want, tol.of::<E>()),
            ReduceOp::Max | ReduceOp::Min => r.exact(&what, got, &want),
        }
    }
}

/// `op` on `backend`, host buffers in and out.
fn apply<B: Backend, E: Element>(b: &B, op: ReduceOp, x: &[E], l: AxisLayout) -> Result<Vec<E>> {
    b.download(&b.reduce(op, &b.upload(x)?, l)?)
}

/// An axis of length 0 with outputs, buffers of the wrong length, huge axes around an
/// empty one (whose sizes overflow).
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let l = |outer, len, inner| AxisLayout { outer, len, inner };
    for op in OPS {
        let run = |n: usize, l: AxisLayout| apply::<B, f32>(b, op, &vec![0.5; n], l);
        r.error(
            &format!("reduce {op:?} of an axis of length 0"),
            run(0, l(2, 0, 3)),
        );
        r.error(
            &format!("reduce {op:?} of a short buffer"),
            run(10, l(2, 3, 2)),
        );
        r.error(
            &format!("reduce {op:?} of a long buffer"),
            run(6, l(1, 5, 1)),
        );
        let huge = l(usize::MAX / 2, 0, 3);
        r.error(&format!("reduce {op:?} with huge axes"), run(0, huge));
    }
}
