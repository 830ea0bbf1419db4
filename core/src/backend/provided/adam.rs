//! The provided body of [`Backend::adam_update`](crate::backend::Backend::adam_update):
//! the update spelt out as separate elementwise maps, one rounding per operation. It
//! defines what a fused override must compute, bit for bit.

use super::Primitives;
use crate::backend::desc::*;
use crate::backend::ops::{BinaryOp, UnaryOp};
use crate::backend::validate::check_adam_lengths;
use crate::element::Element;
use crate::error::Result;
use alloc::vec;

/// See [`Backend::adam_update`](crate::backend::Backend::adam_update).
pub(crate) fn adam_update<P: Primitives, E: Element>(
    b: &P,
    value: &P::Buffer<E>,
    grad: &P::Buffer<E>,
    moments: Option<Moments<'_, P::Buffer<E>>>,
    h: &AdamHyper,
) -> Result<AdamUpdated<P::Buffer<E>>> {
    let n = check_adam_lengths(
        b.len(value),
        b.len(grad),
        moments.map(|(m, v)| (b.len(m), b.len(v))),
    )?;
    let e = E::from_f64;
    let same = BroadcastLayout {
        out_dims: vec![n],
        a_strides: vec![1],
        b_strides: vec![1],
    };
    let map = |op: UnaryOp<E>, x: &P::Buffer<E>| b.unary(op, x);
    let zip = |op: BinaryOp, x: &P::Buffer<E>, y: &P::Buffer<E>| b.binary(op, x, y, &same);

    let decayed = if h.weight_decay != 0.0 {
        Some(zip(
            BinaryOp::Add,
            grad,
            &map(UnaryOp::MulScalar(e(h.weight_decay)), value)?,
        )?)
    } else {
        None
    };
    let g = decayed.as_ref().unwrap_or(grad);
    let g_sq = map(UnaryOp::Square, g)?;
    let scaled_g = map(UnaryOp::MulScalar(e(1.0 - h.beta1)), g)?;
    let scaled_g_sq = map(UnaryOp::MulScalar(e(1.0 - h.beta2)), &g_sq)?;
    // On the first update the moments are zero, and β·0 + x = x exactly, so skipping
    // the zero terms changes no bit.
    let (exp_avg, exp_avg_sq) = match moments {
        None => (scaled_g, scaled_g_sq),
        Some((m, v)) => (
            zip(
                BinaryOp::Add,
                &map(UnaryOp::MulScalar(e(h.beta1)), m)?,
                &scaled_g,
            )?,
            zip(
                BinaryOp::Add,
                &map(UnaryOp::MulScalar(e(h.beta2)), v)?,
                &scaled_g_sq,
            )?,
        ),
    };
    let inv_correction = E::one() / e(h.bias_correction2_sqrt);
    let denom = map(
        UnaryOp::AddScalar(e(h.eps)),
        &map(
            UnaryOp::MulScalar(inv_correction),
            &map(UnaryOp::Sqrt, &exp_avg_sq)?,
        )?,
    )?;
    let update = map(
        UnaryOp::MulScalar(e(-h.step_size)),
        &zip(BinaryOp::Div, &exp_avg, &denom)?,
    )?;
    let value = zip(BinaryOp::Add, value, &update)?;
    Ok(AdamUpdated {
        value,
        exp_avg,
        exp_avg_sq,
    })
}
