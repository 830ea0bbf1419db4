//! The unary family: [`Backend::unary`], every [`UnaryOp`] (the scalar forms with
//! scalars of either sign, zero and integers among them).
//!
//! What IEEE 754 defines to the bit (negation, absolute value, square, square root,
//! reciprocal, the scalar sum and product, ReLU, sign, step and the scalar comparisons)
//! must equal the reference exactly on every backend. The math-library functions (sine,
//! cosine, exponential, logarithm, tanh, sigmoid, powers) are rounded by each library its
//! own way, so they are held to the tolerance's ulp bound ([`Tolerance::ulps_of`]).
//!
//! Cases: fixed ones (empty, one value, odd lengths, lengths past the CPU's parallel
//! threshold and vector tails, every special value — NaN, ±∞, ±0, the largest, smallest
//! normal and a subnormal value — and values spread over 10⁻⁶ to 10⁶, across the CPU's
//! range-reduction limit for sine and cosine and into overflow of the exponential), and
//! random ones (mostly short; values in `[-3, 3)` with exact zeros and small integers
//! mixed in, or spread widely, with special values sprinkled in). Every case is checked
//! in f32 and f64, against the reference and for repeatability. Nothing here can be
//! refused.

use crate::data::{mixed, specials, sprinkle, type_name, wide};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{Backend, UnaryOp};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is its
/// number of values.
pub const THOROUGH: Cases = Cases {
    random: 48,
    max_work: 100_003,
    seed: 0x0e_11,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 12,
    max_work: 20_000,
    seed: 0x0e_12,
};

/// Every op, the scalar forms with `s`.
pub fn ops<E: Element>(s: E) -> [UnaryOp<E>; 20] {
    use UnaryOp::*;
    [
        Neg,
        Sin,
        Cos,
        Exp,
        Log,
        Relu,
        Sigmoid,
        Tanh,
        Square,
        Sqrt,
        Abs,
        Recip,
        Sign,
        Step,
        AddScalar(s),
        MulScalar(s),
        PowScalar(s),
        MaxScalar(s),
        MinScalar(s),
        GreaterScalar(s),
    ]
}

/// Whether IEEE 754 fixes `op`'s every result to the bit (see the module documentation).
/// The match names every op, so that a new one cannot be added without deciding this
/// (and, next to it, adding it to [`ops`]).
pub fn is_exact<E: Element>(op: UnaryOp<E>) -> bool {
    use UnaryOp::*;
    match op {
        Sin | Cos | Exp | Log | Sigmoid | Tanh | PowScalar(_) => false,
        Neg | Relu | Square | Sqrt | Abs | Recip | Sign | Step => true,
        AddScalar(_) | MulScalar(_) | MaxScalar(_) | MinScalar(_) | GreaterScalar(_) => true,
    }
}

/// How a case draws its values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Draw {
    /// [`mixed`]: `[-3, 3)` with zeros and small integers.
    Mixed,
    /// [`wide`]: magnitudes from 10⁻⁶ to 10⁶.
    Wide,
    /// Every special value ([`specials`]), each once.
    Specials,
}

/// One case: `n` values drawn by `draw` (special values sprinkled in one in `sprinkle`
/// unless 0), and the scalar of the scalar forms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Case {
    pub n: usize,
    pub draw: Draw,
    pub sprinkle: usize,
    pub scalar: f64,
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    let case = |n, draw, scalar| Case {
        n,
        draw,
        sprinkle: 0,
        scalar,
    };
    let n_specials = specials::<f64>().len();
    vec![
        case(0, Draw::Mixed, 0.75),
        case(1, Draw::Mixed, -1.25),
        case(7, Draw::Mixed, 2.0),
        case(1000, Draw::Mixed, 0.75),
        case(20_000, Draw::Mixed, 1.7),
        // Past the CPU's parallel threshold (2¹⁶), odd so that vector loops have tails.
        case(70_001, Draw::Mixed, -1.0),
        case(100_003, Draw::Mixed, 0.5),
        // Special values, with scalars that make powers integral, zero, negative, roots.
        case(n_specials, Draw::Specials, 0.75),
        case(n_specials, Draw::Specials, 2.0),
        case(n_specials, Draw::Specials, 0.0),
        case(n_specials, Draw::Specials, -1.0),
        case(n_specials, Draw::Specials, 0.5),
        case(5000, Draw::Wide, 3.0),
        case(5000, Draw::Wide, -0.5),
    ]
}

/// `count` random cases: lengths below 300 (a tenth of them up to `max_work`), a quarter
/// drawn widely, special values sprinkled into half, scalars in `[-2, 2)`.
pub fn random(rng: &mut Rng, count: usize, max_work: usize) -> Vec<Case> {
    (0..count)
        .map(|_| {
            let long = rng.below(10) == 0;
            Case {
                n: rng.below(if long {
                    max_work + 1
                } else {
                    300.min(max_work + 1)
                }),
                draw: if rng.below(4) == 0 {
                    Draw::Wide
                } else {
                    Draw::Mixed
                },
                sprinkle: [0, 16][rng.below(2)],
                scalar: rng.uniform_range(-2.0, 2.0),
            }
        })
        .collect()
}

/// Every check of the family on `backend`: exact ops exactly, the math-library functions
/// within `tol`'s ulps.
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, tol: Tolerance) {
    let all = cases.select(
        fixed(),
        |c| c.n,
        |rng| random(rng, cases.random, cases.max_work),
    );
    for (c, seed) in &all {
        compare::<B, f32>(backend, report, c, *seed, tol);
        compare::<B, f64>(backend, report, c, *seed, tol);
    }
}

/// The values of case `c`.
pub fn values<E: Element>(c: &Case, seed: u64) -> Vec<E> {
    let mut rng = Rng::seed(seed);
    let mut x = match c.draw {
        Draw::Mixed => mixed(&mut rng, c.n),
        Draw::Wide => wide(&mut rng, c.n, -6.0, 6.0),
        Draw::Specials => specials(),
    };
    if c.sprinkle > 0 {
        sprinkle(&mut rng, &mut x, &specials(), c.sprinkle);
    }
    x
}

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, c: &Case, seed: u64, tol: Tolerance) {
    let x: Vec<E> = values(c, seed);
    for op in ops(E::from_f64(c.scalar)) {
        let what = format!("unary {op:?} {} n={} {:?}", type_name::<E>(), c.n, c.draw);
        let got = apply(b, op, &x);
        r.repeatable(&what, &got, apply(b, op, &x));
        let want = apply(&Reference, op, &x).unwrap_or_default();
        let ulps = if is_exact(op) { 0 } else { tol.ulps_of::<E>() };
        r.within_ulps(&what, got, &want, ulps);
    }
}

/// `op` on `backend`, host buffers in and out.
fn apply<B: Backend, E: Element>(b: &B, op: UnaryOp<E>, x: &[E]) -> Result<Vec<E>> {
    b.download(&b.unary(op, &b.upload(x)?)?)
}
