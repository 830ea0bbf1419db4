//! The normalisation family: [`Backend::normalize_forward`] and
//! [`Backend::normalize_backward`], with and without the affine scale and shift, on the
//! `[outer, channels, inner]` layouts of batch, layer and instance norm.
//!
//! The oracle is the reference (the trait's composed default bodies) run in f64 on the
//! same values, its results rounded to the element type: backends that fuse the
//! normalisation accumulate in f64 (the CPU) or double (CUDA), and an f32 reference
//! summing 50 000 values at an offset of 50 would be the least accurate party. Every
//! output (y, mean, variance, 1/std; dx, dgamma, dbeta) is held to the relative
//! tolerance. The backward pass of both sides gets the same statistics (the oracle's,
//! rounded to the element type), so that it is checked apart from the forward's.
//!
//! Cases: fixed ones (one value per channel, one channel, no outer axis, no channels at
//! all, channels long enough to be split into chunks, batch norm of images and of
//! features, instance norm with many channels, the three norms of a batch past the CPU's
//! parallel threshold, real training steps' sizes), each at offsets 0 and 50 (where a
//! one-pass variance would cancel), a channel of values 1000 ± 10⁻³ in f64, where only
//! an accurate variance survives (f32 cannot tell such values apart: cases whose spread
//! is below a thousand steps of the element type at their offset run in f64 only), and
//! random ones (every size 1–6, a third of them exactly 1). Every case is checked in
//! f32 and f64, against the oracle and for repeatability. Buffers of the wrong length, a
//! layout with no values per channel and one whose size overflows must be errors.

use crate::data::{from_f64, to_f64, type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{Backend, NormLayout};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU. The work of a case is its number of
/// values and 64 per channel ([`Case::work`]).
pub const THOROUGH: Cases = Cases {
    random: 64,
    max_work: 300_000,
    seed: 0x40_81,
};

/// [`THOROUGH`] and the sizes of real training steps (up to 1.6 million values), for a
/// GPU: there they take no time, while on the CPU they would take most of the family's
/// (the naive reference's composed passes over them), for no path the smaller cases do
/// not take already.
pub const TRAINING_SIZES: Cases = Cases {
    max_work: 2_000_000,
    ..THOROUGH
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator (whose
/// statistics passes run each block's threads as real threads meeting at barriers).
pub const QUICK: Cases = Cases {
    random: 16,
    max_work: 25_000,
    seed: 0x40_82,
};

/// One case: the layout, and values uniform in `offset ± spread`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Case {
    pub layout: NormLayout,
    pub offset: f64,
    pub spread: f64,
}

impl Case {
    /// The number of values, and 64 per channel: each channel's statistics are a
    /// reduction of their own (on a GPU, a block of threads; on the CUDA emulator, as many
    /// threads started anew), so many small channels cost more than their values say.
    pub fn work(&self) -> usize {
        self.layout.numel() + 64 * self.layout.channels
    }

    /// Whether `E` holds this case's values apart: a thousand steps of `E` at the offset
    /// fit in the spread.
    pub fn resolvable<E: Element>(&self) -> bool {
        self.spread >= 1e3 * Element::to_f64(E::epsilon()) * self.offset.abs()
    }
}

fn layout(outer: usize, channels: usize, inner: usize) -> NormLayout {
    NormLayout {
        outer,
        channels,
        inner,
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    let layouts = [
        // Edge sizes: one value per channel, one channel, no outer axis, no channels.
        (4, 3, 5),
        (1, 1, 1),
        (1, 7, 1),
        (5, 1, 1),
        (4, 0, 3),
        // Long channels, split into chunks (on the CUDA emulator's two SMs from about
        // 2000 values).
        (1, 1, 1000),
        (1, 1, 5000),
        (3, 1, 2000),
        (16, 2, 700),
        // Batch norm of features and of images, instance norm with many channels.
        (8, 16, 1),
        (64, 10, 1),
        (2, 300, 3),
        (1, 512, 49),
        (1, 1000, 20),
        (64, 4, 784),
        // Batch, layer and instance norm of [8, 16, 4, 12, 12], past the CPU's parallel
        // threshold; one channel, and inner 1.
        (8, 16, 576),
        (1, 8, 9216),
        (1, 128, 576),
        (1, 1, 70_000),
        (4096, 20, 1),
        // Training steps: instance norm of [64, 64, 14, 14], batch norm of
        // [64, 128, 14, 14] and of one channel of [64, 1, 28, 28].
        (1, 4096, 196),
        (64, 128, 196),
        (64, 1, 784),
    ];
    let mut v = Vec::new();
    for (outer, channels, inner) in layouts {
        for offset in [0.0, 50.0] {
            v.push(Case {
                layout: layout(outer, channels, inner),
                offset,
                spread: 1.0,
            });
        }
    }
    v.push(Case {
        layout: layout(3, 2, 50),
        offset: 1000.0,
        spread: 1e-3,
    });
    v
}

/// `count` random cases: sizes 1–6 (a third exactly 1), offsets 0, 50 or in `[-2, 2)`.
pub fn random(rng: &mut Rng, count: usize) -> Vec<Case> {
    let size = |rng: &mut Rng| match rng.below(3) {
        0 => 1,
        _ => 1 + rng.below(6),
    };
    (0..count)
        .map(|_| {
            let l = layout(size(rng), size(rng), size(rng));
            let offset = [0.0, 50.0, rng.uniform_range(-2.0, 2.0)][rng.below(3)];
            Case {
                layout: l,
                offset,
                spread: 3.0,
            }
        })
        .collect()
}

/// Every check of the family on `backend`, within `tol`.
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, tol: Tolerance) {
    for (c, seed) in cases.select(fixed(), Case::work, |rng| random(rng, cases.random)) {
        for affine in [false, true] {
            if c.resolvable::<f32>() {
                compare::<B, f32>(backend, report, &c, affine, seed, tol);
            }
            compare::<B, f64>(backend, report, &c, affine, seed, tol);
        }
    }
    errors(backend, report);
}

/// The inputs of one case: `x`, `dy`, `gamma` (in `[0.5, 1.5)`), `beta` (in `[-0.5,
/// 0.5)`), `eps`.
pub struct Inputs<E> {
    pub x: Vec<E>,
    pub dy: Vec<E>,
    pub gamma: Vec<E>,
    pub beta: Vec<E>,
    pub eps: E,
}

impl<E: Element> Inputs<E> {
    pub fn new(c: &Case, seed: u64) -> Self {
        let mut rng = Rng::seed(seed);
        let (n, channels) = (c.layout.numel(), c.layout.channels);
        Inputs {
            x: uniform(&mut rng, n, c.offset - c.spread, c.offset + c.spread),
            dy: uniform(&mut rng, n, -1.0, 1.0),
            gamma: uniform(&mut rng, channels, 0.5, 1.5),
            beta: uniform(&mut rng, channels, -0.5, 0.5),
            eps: E::from_f64(1e-5),
        }
    }

    /// The same values in f64 (exactly).
    fn to_f64(&self) -> Inputs<f64> {
        Inputs {
            x: to_f64(&self.x),
            dy: to_f64(&self.dy),
            gamma: to_f64(&self.gamma),
            beta: to_f64(&self.beta),
            eps: Element::to_f64(self.eps),
        }
    }
}

/// The forward's outputs (y, mean, var, rstd) on `b`, host buffers in and out.
fn forward<B: Backend, E: Element>(
    b: &B,
    l: NormLayout,
    i: &Inputs<E>,
    affine: bool,
) -> Result<[Vec<E>; 4]> {
    let (gamma, beta) = (b.upload(&i.gamma)?, b.upload(&i.beta)?);
    let f = b.normalize_forward(
        &b.upload(&i.x)?,
        l,
        i.eps,
        affine.then_some((&gamma, &beta)),
    )?;
    Ok([
        b.download(&f.y)?,
        b.download(&f.mean)?,
        b.download(&f.var)?,
        b.download(&f.rstd)?,
    ])
}

/// The backward's outputs (dx, dgamma, dbeta) on `b` given the statistics `mean` and
/// `rstd`, host buffers in and out.
fn backward<B: Backend, E: Element>(
    b: &B,
    l: NormLayout,
    i: &Inputs<E>,
    affine: bool,
    (mean, rstd): (&[E], &[E]),
) -> Result<[Vec<E>; 3]> {
    let gamma = b.upload(&i.gamma)?;
    let (dy, x) = (b.upload(&i.dy)?, b.upload(&i.x)?);
    let (mean, rstd) = (b.upload(mean)?, b.upload(rstd)?);
    let g = b.normalize_backward(&dy, &x, &mean, &rstd, affine.then_some(&gamma), l)?;
    Ok([
        b.download(&g.dx)?,
        b.download(&g.dgamma)?,
        b.download(&g.dbeta)?,
    ])
}

/// Both passes on `b`, the backward given `stats`: one result per output.
fn passes<B: Backend, E: Element>(
    b: &B,
    l: NormLayout,
    i: &Inputs<E>,
    affine: bool,
    stats: (&[E], &[E]),
) -> Vec<Result<Vec<E>>> {
    let spread = |r: Result<Vec<Vec<E>>>, n: usize| -> Vec<Result<Vec<E>>> {
        match r {
            Ok(v) => v.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e); n],
        }
    };
    let mut out = spread(forward(b, l, i, affine).map(Vec::from), 4);
    out.extend(spread(backward(b, l, i, affine, stats).map(Vec::from), 3));
    out
}

const OUTPUTS: [&str; 7] = ["y", "mean", "var", "rstd", "dx", "dgamma", "dbeta"];

fn compare<B: Backend, E: Element>(
    b: &B,
    r: &mut Report,
    c: &Case,
    affine: bool,
    seed: u64,
    tol: Tolerance,
) {
    let l = c.layout;
    let inputs = Inputs::<E>::new(c, seed);
    let wide = inputs.to_f64();
    let what = format!("{} {c:?} affine={affine}", type_name::<E>());
    let want_forward = match forward(&Reference, l, &wide, affine) {
        Ok(w) => w,
        Err(e) => {
            let got = forward(b, l, &inputs, affine);
            return r.error(&format!("{what} (the reference refuses it: {e})"), got);
        }
    };
    // The oracle's statistics, rounded to E, feed both backward passes.
    let (mean, rstd) = (
        from_f64::<E>(&want_forward[1]),
        from_f64::<E>(&want_forward[3]),
    );
    let wide_stats = (to_f64(&mean), to_f64(&rstd));
    let want_backward = match backward(&Reference, l, &wide, affine, (&wide_stats.0, &wide_stats.1))
    {
        Ok(w) => w,
        Err(e) => {
            let got = backward(b, l, &inputs, affine, (&mean, &rstd));
            return r.error(&format!("{what} (the reference refuses it: {e})"), got);
        }
    };
    let want: Vec<Vec<E>> = want_forward
        .iter()
        .chain(&want_backward)
        .map(|v| from_f64(v))
        .collect();
    let got = passes(b, l, &inputs, affine, (&mean, &rstd));
    let again = passes(b, l, &inputs, affine, (&mean, &rstd));
    let rel = tol.of::<E>();
    let floors = floors::<E>(&wide, affine, &want_forward[1], &want_forward[3], rel);
    let outputs = OUTPUTS.iter().zip(got).zip(again).zip(want).zip(floors);
    for ((((name, got), again), want), floor) in outputs {
        let what = format!("normalize {name} {what}");
        r.repeatable(&what, &got, again);
        r.close_above(&what, got, &want, rel, floor);
    }
}

/// The least scale of each output's tolerance, where the output cancels (see
/// [`Report::close_above`]). With `k = |gamma| · rstd` at its largest over the channels:
/// `y = (x − mean) · k + beta` moves by `k · ε · |mean|` with one rounding of the mean
/// (which a backend computes itself), far more than `rel · |y|` when the values sit far
/// from zero with a small spread; `dx = k · (dy − mean(dy) − xhat · mean(dy · xhat))`
/// is a difference of terms of size `k · |dy|` that can cancel to nearly nothing (two
/// values per channel), and `dbeta`, `dgamma` are sums of terms of size `|dy|`.
fn floors<E: Element>(
    i: &Inputs<f64>,
    affine: bool,
    mean: &[f64],
    rstd: &[f64],
    rel: f64,
) -> [f64; 7] {
    let largest = |v: &mut dyn Iterator<Item = f64>| v.fold(0.0f64, |m, x| m.max(x.abs()));
    let gamma = |c: usize| if affine { i.gamma[c] } else { 1.0 };
    let k = largest(&mut (0..rstd.len()).map(|c| gamma(c) * rstd[c]));
    let k_mean = largest(&mut (0..rstd.len()).map(|c| gamma(c) * rstd[c] * mean[c]));
    let dy = largest(&mut i.dy.iter().copied());
    let eps = Element::to_f64(E::epsilon());
    [4.0 * eps * k_mean / rel, 0.0, 0.0, 0.0, k * dy, dy, dy]
}

/// Buffers of the wrong length, layouts with no values per channel or too many values.
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let up = |n: usize| b.upload(&vec![0.5f32; n]);
    let l = layout(2, 3, 5);
    let eps = 1e-5f32;
    let forward = |nx: usize, l: NormLayout, affine: Option<(usize, usize)>| -> Result<()> {
        let x = up(nx)?;
        match affine {
            Some((ng, nb)) => b.normalize_forward(&x, l, eps, Some((&up(ng)?, &up(nb)?))),
            None => b.normalize_forward(&x, l, eps, None),
        }
        .map(drop)
    };
    r.error("normalize_forward of a short x", forward(29, l, None));
    r.error(
        "normalize_forward with a short gamma",
        forward(30, l, Some((2, 3))),
    );
    r.error(
        "normalize_forward with a short beta",
        forward(30, l, Some((3, 2))),
    );
    r.error(
        "normalize_forward with no values per channel",
        forward(0, layout(0, 3, 5), None),
    );
    r.error(
        "normalize_forward with no inner values",
        forward(0, layout(2, 3, 0), None),
    );
    let huge = layout(usize::MAX, 3, 5);
    r.error(
        "normalize_forward of an overflowing layout",
        forward(30, huge, None),
    );
    // Lengths of dy, x, mean, rstd and gamma.
    let backward = |n: [usize; 5]| -> Result<()> {
        let g = up(n[4])?;
        b.normalize_backward(&up(n[0])?, &up(n[1])?, &up(n[2])?, &up(n[3])?, Some(&g), l)
            .map(drop)
    };
    r.error(
        "normalize_backward with a short dy",
        backward([20, 30, 3, 3, 3]),
    );
    r.error(
        "normalize_backward with a short x",
        backward([30, 29, 3, 3, 3]),
    );
    r.error(
        "normalize_backward with a short mean",
        backward([30, 30, 2, 3, 3]),
    );
    r.error(
        "normalize_backward with a short rstd",
        backward([30, 30, 3, 2, 3]),
    );
    r.error(
        "normalize_backward with a short gamma",
        backward([30, 30, 3, 3, 2]),
    );
}
