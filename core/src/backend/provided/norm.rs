//! The provided bodies of [`Backend::normalize_forward`] and
//! [`Backend::normalize_backward`]: the normalisation spelt out with the backend's own
//! reductions and broadcast maps.
//!
//! [`Backend::normalize_forward`]: crate::backend::Backend::normalize_forward
//! [`Backend::normalize_backward`]: crate::backend::Backend::normalize_backward

use super::Primitives;
use crate::backend::desc::*;
use crate::backend::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::backend::validate::check_len;
use crate::element::Element;
use crate::error::Result;
use alloc::vec;

/// See [`Backend::normalize_forward`](crate::backend::Backend::normalize_forward).
pub(crate) fn normalize_forward<P: Primitives, E: Element>(
    b: &P,
    x: &P::Buffer<E>,
    l: NormLayout,
    eps: E,
    affine: Option<Affine<'_, P::Buffer<E>>>,
) -> Result<NormForward<P::Buffer<E>>> {
    const OP: &str = "normalize_forward";
    let numel = l.validate(b.name(), OP)?;
    check_len(b.name(), OP, "input", b.len(x), numel)?;
    if let Some((gamma, beta)) = affine {
        check_len(b.name(), OP, "gamma", b.len(gamma), l.channels)?;
        check_len(b.name(), OP, "beta", b.len(beta), l.channels)?;
    }
    let inv_n = E::one() / E::from_usize(l.count());
    let mean = b.unary(UnaryOp::MulScalar(inv_n), &channel_sums(b, x, l)?)?;
    let centred = per_channel(b, BinaryOp::Sub, x, &mean, l)?;
    let sq = b.unary(UnaryOp::Square, &centred)?;
    let var = b.unary(UnaryOp::MulScalar(inv_n), &channel_sums(b, &sq, l)?)?;
    let rstd = b.unary(
        UnaryOp::Recip,
        &b.unary(UnaryOp::Sqrt, &b.unary(UnaryOp::AddScalar(eps), &var)?)?,
    )?;
    let mut y = per_channel(b, BinaryOp::Mul, &centred, &rstd, l)?;
    if let Some((gamma, beta)) = affine {
        y = per_channel(b, BinaryOp::Mul, &y, gamma, l)?;
        y = per_channel(b, BinaryOp::Add, &y, beta, l)?;
    }
    Ok(NormForward { y, mean, var, rstd })
}

/// See [`Backend::normalize_backward`](crate::backend::Backend::normalize_backward).
pub(crate) fn normalize_backward<P: Primitives, E: Element>(
    b: &P,
    dy: &P::Buffer<E>,
    x: &P::Buffer<E>,
    mean: &P::Buffer<E>,
    rstd: &P::Buffer<E>,
    gamma: Option<&P::Buffer<E>>,
    l: NormLayout,
) -> Result<NormBackward<P::Buffer<E>>> {
    const OP: &str = "normalize_backward";
    let numel = l.validate(b.name(), OP)?;
    check_len(b.name(), OP, "dy", b.len(dy), numel)?;
    check_len(b.name(), OP, "input", b.len(x), numel)?;
    check_len(b.name(), OP, "mean", b.len(mean), l.channels)?;
    check_len(b.name(), OP, "rstd", b.len(rstd), l.channels)?;
    if let Some(g) = gamma {
        check_len(b.name(), OP, "gamma", b.len(g), l.channels)?;
    }
    let inv_n = E::one() / E::from_usize(l.count());
    let xhat = per_channel(
        b,
        BinaryOp::Mul,
        &per_channel(b, BinaryOp::Sub, x, mean, l)?,
        rstd,
        l,
    )?;
    let dbeta = channel_sums(b, dy, l)?;
    let dy_xhat = b.binary(BinaryOp::Mul, dy, &xhat, &same_shape(l))?;
    let dgamma = channel_sums(b, &dy_xhat, l)?;
    // dx = gamma · rstd · (dy - dbeta/n - xhat · dgamma/n).
    let a = b.unary(UnaryOp::MulScalar(inv_n), &dbeta)?;
    let c = b.unary(UnaryOp::MulScalar(inv_n), &dgamma)?;
    let t = per_channel(b, BinaryOp::Sub, dy, &a, l)?;
    let u = per_channel(b, BinaryOp::Mul, &xhat, &c, l)?;
    let t = b.binary(BinaryOp::Sub, &t, &u, &same_shape(l))?;
    let mut dx = per_channel(b, BinaryOp::Mul, &t, rstd, l)?;
    if let Some(g) = gamma {
        dx = per_channel(b, BinaryOp::Mul, &dx, g, l)?;
    }
    Ok(NormBackward { dx, dgamma, dbeta })
}

/// Per-channel sums of `x` viewed as `l`: `[channels]`.
fn channel_sums<P: Primitives, E: Element>(
    b: &P,
    x: &P::Buffer<E>,
    l: NormLayout,
) -> Result<P::Buffer<E>> {
    // Sum over `outer` (as `[1, outer, channels·inner]`), then over `inner`.
    let over_outer = b.reduce(
        ReduceOp::Sum,
        x,
        AxisLayout {
            outer: 1,
            len: l.outer,
            inner: l.channels * l.inner,
        },
    )?;
    b.reduce(
        ReduceOp::Sum,
        &over_outer,
        AxisLayout {
            outer: l.channels,
            len: l.inner,
            inner: 1,
        },
    )
}

/// `op(x, v_c)` for `x` viewed as `l` and a per-channel vector `v` (`[channels]`).
fn per_channel<P: Primitives, E: Element>(
    b: &P,
    op: BinaryOp,
    x: &P::Buffer<E>,
    v: &P::Buffer<E>,
    l: NormLayout,
) -> Result<P::Buffer<E>> {
    let layout = BroadcastLayout {
        out_dims: vec![l.outer, l.channels, l.inner],
        a_strides: vec![l.channels * l.inner, l.inner, 1],
        b_strides: vec![0, 1, 0],
    };
    b.binary(op, x, v, &layout)
}

/// Two buffers of the same shape as `l`, read in order.
fn same_shape(l: NormLayout) -> BroadcastLayout {
    let s = vec![l.channels * l.inner, l.inner, 1];
    BroadcastLayout {
        out_dims: vec![l.outer, l.channels, l.inner],
        a_strides: s.clone(),
        b_strides: s,
    }
}
