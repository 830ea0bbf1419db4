//! Fused per-channel normalisation of `[outer, channels, inner]` (batch, layer and
//! instance norm), forward and backward, in two passes each instead of the dozen full
//! passes of the composed default.
//!
//! Pass one reads each channel's values once and accumulates in f64: the forward sums
//! `x - K` and `(x - K)²` with `K` the channel's first value (a shifted one-pass variance:
//! its cancellation error is about `ε₆₄ · (mean - K)² / var` relative, and since `K` is one
//! of the `n` values, `(mean - K)² ≤ n · var`, so at most `n · 1e-16`); the backward sums
//! `dy` and `dy · (x - mean)`. Pass two
//! writes the output row by row (a row is one channel's `inner` values for one `outer`
//! index) in `E` arithmetic with per-channel coefficients, which vectorises.
//!
//! Both passes split over threads once the buffer is big enough ([`par`]): pass one over
//! channels, pass two over rows. Each channel's sums are always computed by one task in
//! the same order, so results do not depend on the thread count.

use crate::check;
use crate::par;
use pgcnn_core::backend::{NormBackward, NormForward, NormLayout};
use pgcnn_core::{Element, Result};
use rayon::prelude::*;

/// Independent accumulators per sum, so the additions do not wait on each other.
const LANES: usize = 8;

/// See `Backend::normalize_forward`.
pub(crate) fn forward<E: Element>(
    x: &[E],
    l: NormLayout,
    eps: E,
    affine: Option<(&[E], &[E])>,
) -> Result<NormForward<Vec<E>>> {
    const OP: &str = "normalize_forward";
    let numel = l.validate(check::NAME, OP)?;
    check::len(OP, "input", x.len(), numel)?;
    if let Some((g, b)) = affine {
        check::len(OP, "gamma", g.len(), l.channels)?;
        check::len(OP, "beta", b.len(), l.channels)?;
    }
    let n = l.count() as f64;
    let eps = eps.to_f64();
    let moments = per_channel(l, numel, |c| {
        let k = x[c * l.inner].to_f64();
        let [s, ss] = channel_sums(x, l, c, |v, _| {
            let d = v.to_f64() - k;
            (d, d * d)
        });
        let d_mean = s / n;
        let var = (ss / n - d_mean * d_mean).max(0.0);
        (k + d_mean, var)
    });
    let mut mean = Vec::with_capacity(l.channels);
    let mut var = Vec::with_capacity(l.channels);
    let mut rstd = Vec::with_capacity(l.channels);
    // Per channel: y = (x - mean) · scale + shift.
    let mut scale = Vec::with_capacity(l.channels);
    let mut shift = Vec::with_capacity(l.channels);
    for (c, &(m, v)) in moments.iter().enumerate() {
        let r = 1.0 / (v + eps).sqrt();
        let (g, b) = affine.map_or((1.0, 0.0), |(g, b)| (g[c].to_f64(), b[c].to_f64()));
        mean.push(E::from_f64(m));
        var.push(E::from_f64(v));
        rstd.push(E::from_f64(r));
        scale.push(E::from_f64(r * g));
        shift.push(E::from_f64(b));
    }
    let y = write_rows(l, numel, |row, c, y| {
        let (m, s, b) = (mean[c], scale[c], shift[c]);
        for (y, &v) in y.iter_mut().zip(&x[row * l.inner..][..l.inner]) {
            *y = (v - m) * s + b;
        }
    });
    Ok(NormForward { y, mean, var, rstd })
}

/// See `Backend::normalize_backward`.
pub(crate) fn backward<E: Element>(
    dy: &[E],
    x: &[E],
    mean: &[E],
    rstd: &[E],
    gamma: Option<&[E]>,
    l: NormLayout,
) -> Result<NormBackward<Vec<E>>> {
    const OP: &str = "normalize_backward";
    let numel = l.validate(check::NAME, OP)?;
    check::len(OP, "dy", dy.len(), numel)?;
    check::len(OP, "input", x.len(), numel)?;
    check::len(OP, "mean", mean.len(), l.channels)?;
    check::len(OP, "rstd", rstd.len(), l.channels)?;
    if let Some(g) = gamma {
        check::len(OP, "gamma", g.len(), l.channels)?;
    }
    let n = l.count() as f64;
    let sums = per_channel(l, numel, |c| {
        let m = mean[c].to_f64();
        let [s1, s2] = channel_sums(x, l, c, |v, i| {
            let g = dy[i].to_f64();
            (g, g * (v.to_f64() - m))
        });
        (s1, s2)
    });
    let mut dgamma = Vec::with_capacity(l.channels);
    let mut dbeta = Vec::with_capacity(l.channels);
    // Per channel: dx = k · (dy - a - (x - mean) · b), with k = gamma · rstd,
    // a = dbeta / n and b = rstd · dgamma / n (xhat · dgamma / n, xhat unfolded).
    let mut coef = Vec::with_capacity(l.channels);
    for (c, &(s1, s2)) in sums.iter().enumerate() {
        let r = rstd[c].to_f64();
        let g = gamma.map_or(1.0, |g| g[c].to_f64());
        let dg = s2 * r;
        dgamma.push(E::from_f64(dg));
        dbeta.push(E::from_f64(s1));
        coef.push((
            mean[c],
            E::from_f64(g * r),
            E::from_f64(s1 / n),
            E::from_f64(r * dg / n),
        ));
    }
    let dx = write_rows(l, numel, |row, c, dx| {
        let (m, k, a, b) = coef[c];
        let span = row * l.inner..(row + 1) * l.inner;
        for ((dx, &g), &v) in dx.iter_mut().zip(&dy[span.clone()]).zip(&x[span]) {
            *dx = k * (g - a - (v - m) * b);
        }
    });
    Ok(NormBackward { dx, dgamma, dbeta })
}

/// `f(c)` for every channel, over threads when the buffer is big enough.
fn per_channel<T: Send>(
    l: NormLayout,
    numel: usize,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    if par::worth_it(numel) && l.channels > 1 {
        // Enough channels per task to give each at least MIN_CHUNK elements.
        let per = par::rows_per_chunk(l.channels, l.count());
        (0..l.channels)
            .into_par_iter()
            .with_min_len(per)
            .map(f)
            .collect()
    } else {
        (0..l.channels).map(f).collect()
    }
}

/// The two sums `Σ f(x[i], i)` over the values `x[i]` of channel `c`, each with
/// [`LANES`] accumulators (combined in a fixed order).
fn channel_sums<E: Element>(
    x: &[E],
    l: NormLayout,
    c: usize,
    f: impl Fn(E, usize) -> (f64, f64),
) -> [f64; 2] {
    let mut a = [0.0f64; LANES];
    let mut b = [0.0f64; LANES];
    for o in 0..l.outer {
        let start = (o * l.channels + c) * l.inner;
        let run = &x[start..start + l.inner];
        let full = run.len() / LANES * LANES;
        for (j, chunk) in run[..full].chunks_exact(LANES).enumerate() {
            let base = start + j * LANES;
            for lane in 0..LANES {
                let (p, q) = f(chunk[lane], base + lane);
                a[lane] += p;
                b[lane] += q;
            }
        }
        for (lane, &v) in run[full..].iter().enumerate() {
            let (p, q) = f(v, start + full + lane);
            a[lane] += p;
            b[lane] += q;
        }
    }
    [a.iter().sum(), b.iter().sum()]
}

/// A fresh `[outer, channels, inner]` buffer whose rows `f(row, channel, out)` fills,
/// over threads when the buffer is big enough.
fn write_rows<E: Element>(
    l: NormLayout,
    numel: usize,
    f: impl Fn(usize, usize, &mut [E]) + Sync + Send,
) -> Vec<E> {
    let mut y = vec![E::zero(); numel];
    if numel == 0 {
        return y;
    }
    let rows = l.outer * l.channels;
    let fill = |first_row: usize, y: &mut [E]| {
        for (i, out) in y.chunks_exact_mut(l.inner).enumerate() {
            let row = first_row + i;
            f(row, row % l.channels, out);
        }
    };
    if par::worth_it(numel) {
        let per = par::rows_per_chunk(rows, l.inner);
        y.par_chunks_mut(per * l.inner)
            .enumerate()
            .for_each(|(t, y)| fill(t * per, y));
    } else {
        fill(0, &mut y);
    }
    y
}
