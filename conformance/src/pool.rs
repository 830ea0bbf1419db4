//! The pooling family: [`Backend::max_pool2d`] (2×2, stride 2, odd edges dropped) and
//! its gradient [`Backend::max_pool2d_backward`].
//!
//! Pooling compares and copies, and its gradient moves each window's `dy` to the first
//! position (row-major) of the window's maximum, so every backend must equal the
//! reference exactly: ties (many, from values that are multiples of 0.5) go to the first
//! maximum, a NaN in the first position wins its window and elsewhere never does, as the
//! reference's `>` comparisons have it.
//!
//! Cases: fixed ones (odd heights and widths, maps of one row or one column, of one
//! pixel, no planes, a model's 28×28 maps, NaN and ±∞ among the values, sizes past the
//! CPU's parallel threshold) and random ones (0–4 planes of 0–8 × 0–8). Every case is
//! checked in f32 and f64, against the reference and for repeatability. Buffers of the
//! wrong length must be errors.

use crate::data::{non_finite, sprinkle, steps, type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::Backend;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is its
/// number of input values.
pub const THOROUGH: Cases = Cases {
    random: 64,
    max_work: 110_000,
    seed: 0x90_71,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 16,
    max_work: 60_000,
    seed: 0x90_72,
};

/// One case: `planes` maps of `h × w`, special values sprinkled in one in `sprinkle`
/// (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub sprinkle: usize,
}

impl Case {
    pub fn work(&self) -> usize {
        self.planes * self.h * self.w
    }
}

fn case(planes: usize, h: usize, w: usize, sprinkle: usize) -> Case {
    Case {
        planes,
        h,
        w,
        sprinkle,
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    vec![
        case(3, 6, 8, 0),
        case(2, 7, 5, 0),
        case(5, 9, 11, 0),
        case(1, 1, 1, 0),
        case(4, 2, 2, 0),
        case(3, 1, 5, 0),
        case(2, 5, 1, 0),
        case(0, 4, 4, 0),
        case(8, 6, 6, 3),
        case(64, 28, 28, 0),
        case(128, 28, 28, 0),
    ]
}

/// `count` random cases: 0–4 planes of 0–8 × 0–8, special values in a quarter.
pub fn random(rng: &mut Rng, count: usize) -> Vec<Case> {
    (0..count)
        .map(|_| {
            let (planes, h, w) = (rng.below(5), rng.below(9), rng.below(9));
            case(planes, h, w, [0, 0, 0, 4][rng.below(4)])
        })
        .collect()
}

/// Every check of the family on `backend` (all exact: the tolerance is not needed).
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, _tol: Tolerance) {
    let work = |c: &Case| c.work();
    for (c, seed) in cases.select(fixed(), work, |rng| random(rng, cases.random)) {
        compare::<B, f32>(backend, report, &c, seed);
        compare::<B, f64>(backend, report, &c, seed);
    }
    errors(backend, report);
}

/// The input (multiples of 0.5: ties in most windows) and the output gradient of `c`.
pub fn operands<E: Element>(c: &Case, seed: u64) -> (Vec<E>, Vec<E>) {
    let mut rng = Rng::seed(seed);
    let mut x = steps(&mut rng, c.work());
    if c.sprinkle > 0 {
        sprinkle(&mut rng, &mut x, &non_finite(), c.sprinkle);
    }
    let dy = uniform(&mut rng, c.planes * (c.h / 2) * (c.w / 2), -1.0, 1.0);
    (x, dy)
}

/// Forward and backward on `b`, host buffers in and out.
fn passes<B: Backend, E: Element>(b: &B, c: &Case, x: &[E], dy: &[E]) -> [Result<Vec<E>>; 2] {
    let Case { planes, h, w, .. } = *c;
    [
        (|| b.download(&b.max_pool2d(&b.upload(x)?, planes, h, w)?))(),
        (|| b.download(&b.max_pool2d_backward(&b.upload(x)?, &b.upload(dy)?, planes, h, w)?))(),
    ]
}

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, c: &Case, seed: u64) {
    let (x, dy) = operands::<E>(c, seed);
    let [forward, backward] = passes(b, c, &x, &dy);
    let [forward_again, backward_again] = passes(b, c, &x, &dy);
    let [want_forward, want_backward] = passes(&Reference, c, &x, &dy);
    let what = |name: &str| format!("{name} {} {c:?}", type_name::<E>());
    r.repeatable(&what("max_pool2d"), &forward, forward_again);
    r.repeatable(&what("max_pool2d_backward"), &backward, backward_again);
    // The forward copies values (bit for bit); the gradient adds each dy to a zero,
    // where a backend may instead copy it (equal values, a zero's sign aside).
    r.identical(
        &what("max_pool2d"),
        forward,
        &want_forward.unwrap_or_default(),
    );
    r.exact(
        &what("max_pool2d_backward"),
        backward,
        &want_backward.unwrap_or_default(),
    );
}

/// Buffers of the wrong length.
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let up = |n: usize| b.upload(&vec![0.5f32; n]);
    let forward = |n: usize, planes, h, w| b.max_pool2d(&up(n)?, planes, h, w);
    let backward = |n: usize, ny: usize| b.max_pool2d_backward(&up(n)?, &up(ny)?, 4, 4, 4);
    r.error(
        "max_pool2d of a buffer of the wrong length",
        forward(64, 2, 4, 5),
    );
    r.error("max_pool2d_backward with a short dy", backward(64, 3));
    r.error("max_pool2d_backward with a short x", backward(60, 16));
}
