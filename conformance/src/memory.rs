//! The memory family: [`Backend::upload`], [`Backend::download`], [`Backend::full`] and
//! [`Backend::len`].
//!
//! Cases: fixed sizes from 0 to past 2¹⁶ elements (on CUDA, small uploads travel inside
//! kernel parameters, up to 16 KiB, and larger ones as copies: both sides of that line),
//! fills with zeros of either sign, NaN and infinities, and random sizes. What goes up
//! comes down bit for bit (special values included), `len` counts it, and `full` equals
//! the reference's fill bit for bit, in f32 and f64. Nothing here can be refused.

use crate::data::{specials, sprinkle, type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::Backend;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is its
/// number of elements.
pub const THOROUGH: Cases = Cases {
    random: 40,
    max_work: 100_000,
    seed: 0x3e_41,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 10,
    max_work: 20_000,
    seed: 0x3e_42,
};

/// Round-trip sizes: empty, one, odd, both sides of 512 and 4096 elements (16 KiB of
/// f32 / f64 in kernel parameters), and past the CPU's parallel threshold.
pub const SIZES: [usize; 10] = [0, 1, 7, 512, 513, 1500, 2048, 4097, 5000, 70_000];

/// Fill values (as f64): ordinary, both zeros, and the special values.
const FILLS: [f64; 7] = [
    1.5,
    -2.25,
    0.0,
    -0.0,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

/// Every check of the family on `backend` (all exact: the tolerance is not needed).
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, _tol: Tolerance) {
    let random = |rng: &mut Rng| -> Vec<usize> {
        let most = cases.max_work.min(3000);
        (0..cases.random).map(|_| rng.below(most + 1)).collect()
    };
    let sizes = cases.select(SIZES.to_vec(), |&n| n, random);
    for (i, (n, seed)) in sizes.into_iter().enumerate() {
        round_trip::<B, f32>(backend, report, n, seed);
        round_trip::<B, f64>(backend, report, n, seed);
        let value = FILLS[i % FILLS.len()];
        fill::<B, f32>(backend, report, n, value);
        fill::<B, f64>(backend, report, n, value);
    }
}

fn round_trip<B: Backend, E: Element>(b: &B, r: &mut Report, n: usize, seed: u64) {
    let mut rng = Rng::seed(seed);
    let mut v: Vec<E> = uniform(&mut rng, n, -3.0, 3.0);
    sprinkle(&mut rng, &mut v, &specials(), 8);
    let what = format!("upload, download {} n={n}", type_name::<E>());
    let up = b.upload(&v);
    if let Ok(s) = &up {
        let len = b.len(s);
        r.holds(&format!("{what}: len gives {len}"), len == n);
    }
    r.identical(&what, up.and_then(|s| b.download(&s)), &v);
}

fn fill<B: Backend, E: Element>(b: &B, r: &mut Report, n: usize, value: f64) {
    let value = E::from_f64(value);
    let what = format!("full {} n={n} value={value}", type_name::<E>());
    match filled(&Reference, n, value) {
        Ok(want) => r.identical(&what, filled(b, n, value), &want),
        Err(e) => r.error(
            &format!("{what} (the reference refuses it: {e})"),
            filled(b, n, value),
        ),
    }
}

fn filled<B: Backend, E: Element>(b: &B, n: usize, value: E) -> Result<Vec<E>> {
    b.download(&b.full(n, value)?)
}
