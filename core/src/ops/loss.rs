//! Softmax, log-softmax, the cross-entropy loss on class logits, and the accuracy of
//! predictions.
//!
//! Softmax and log-softmax subtract the (detached) maximum along their axis first, so
//! `exp` never overflows; their gradients come from autodiff of the composite. The cross
//! entropy records its own, fused backward `(softmax - onehot) / B`, the textbook
//! closed form, which is cheaper than differentiating the composite.

use crate::backend::{AxisLayout, Backend, UnaryOp};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// `exp(x) / Σ exp(x)` along `axis` (negative counts from the end).
    pub fn softmax(&self, axis: isize) -> Result<Self> {
        let e = self.shifted_by_max("softmax", axis)?.exp()?;
        e.div(&e.sum_axes(&[axis], true)?)
    }

    /// `x - log Σ exp(x)` along `axis`, computed as `z - log Σ exp(z)` with `z = x - max`.
    pub fn log_softmax(&self, axis: isize) -> Result<Self> {
        let z = self.shifted_by_max("log_softmax", axis)?;
        z.sub(&z.exp()?.sum_axes(&[axis], true)?.log()?)
    }

    /// Mean cross entropy of logits `[B, K]` against class indices (`labels.len() == B`,
    /// each below `K`): `-(1/B) Σ_b log softmax(x_b)[labels_b]`, a rank-0 tensor.
    pub fn cross_entropy(&self, labels: &[usize]) -> Result<Self> {
        const OP: &str = "cross_entropy";
        let (b, k) = check_labels(OP, self, labels)?;
        let backend = self.backend();
        // The forward runs on detached values: the backward below is the whole gradient.
        let log_p = self.detach().log_softmax(1)?;
        // Pick log p[b, labels[b]] from the flattened [B·K] buffer.
        let picks: Vec<usize> = labels.iter().enumerate().map(|(i, &l)| i * k + l).collect();
        let layout = AxisLayout {
            outer: 1,
            len: b * k,
            inner: 1,
        };
        let picked = backend.index_select(log_p.storage(), layout, &picks)?;
        let total = Tensor::from_storage(backend, picked, [b])?.sum_all()?;
        let inv_b = E::one() / E::from_usize(b);
        let loss = backend.unary(UnaryOp::MulScalar(-inv_b), total.storage())?;
        let labels = labels.to_vec();
        Ok(self.record(
            loss,
            Vec::<usize>::new(),
            &[self],
            move |xs: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                let mut onehot = vec![E::zero(); b * k];
                for (i, &l) in labels.iter().enumerate() {
                    onehot[i * k + l] = E::one();
                }
                let onehot = Tensor::from_slice(g.backend(), &onehot, [b, k])?;
                let dx = xs[0].softmax(1)?.sub(&onehot)?.mul(g)?.mul_scalar(inv_b)?;
                Ok(vec![Some(dx)])
            },
        ))
    }

    /// The index of the largest logit in each row of `[B, K]` (computed on the host; the
    /// first one on ties, NaNs never win unless a row holds nothing else).
    pub fn argmax_rows(&self) -> Result<Vec<usize>> {
        const OP: &str = "argmax_rows";
        if self.rank() != 2 {
            return Err(Error::bad_shape(OP, self.dims(), "needs logits [B, K]"));
        }
        let k = self.dims()[1];
        if k == 0 {
            return Err(Error::bad_shape(OP, self.dims(), "has zero classes"));
        }
        let values = self.to_vec()?;
        Ok(values
            .chunks(k)
            .map(|row| {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    // `!(row[best] >= v)` would let NaN win; `>` keeps the first maximum.
                    if v > row[best] || (row[best].is_nan() && !v.is_nan()) {
                        best = j;
                    }
                }
                best
            })
            .collect())
    }

    /// The fraction of rows of logits `[B, K]` whose largest logit is at the label
    /// (`labels.len() == B ≥ 1`, each below `K`).
    pub fn accuracy(&self, labels: &[usize]) -> Result<f64> {
        let (b, _) = check_labels("accuracy", self, labels)?;
        let predicted = self.argmax_rows()?;
        let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
        Ok(correct as f64 / b as f64)
    }

    /// `x - max(x)` along `axis`, the maximum detached: a constant shift, which leaves
    /// softmax unchanged, so no gradient needs to flow through it.
    fn shifted_by_max(&self, op: &'static str, axis: isize) -> Result<Self> {
        let ax = self.shape().axis(op, axis)?;
        if self.dims()[ax] == 0 {
            return Err(Error::bad_shape(
                op,
                self.dims(),
                format!("axis {axis} is empty"),
            ));
        }
        self.sub(&self.max_axes(&[axis], true)?.detach())
    }
}

/// Checks logits `[B, K]` with `B, K ≥ 1` against `B` labels below `K`; returns `(B, K)`.
fn check_labels<B: Backend, E: Element>(
    op: &'static str,
    logits: &Tensor<B, E>,
    labels: &[usize],
) -> Result<(usize, usize)> {
    if logits.rank() != 2 {
        return Err(Error::bad_shape(op, logits.dims(), "needs logits [B, K]"));
    }
    let (b, k) = (logits.dims()[0], logits.dims()[1]);
    if b == 0 || k == 0 {
        return Err(Error::bad_shape(
            op,
            logits.dims(),
            "needs at least one sample and one class",
        ));
    }
    if labels.len() != b {
        return Err(Error::bad_arg(
            op,
            format!(
                "{} labels for a batch of {b} (logits {:?})",
                labels.len(),
                logits.dims()
            ),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= k) {
        return Err(Error::bad_arg(
            op,
            format!("label {l} of sample {i} is not below the {k} classes"),
        ));
    }
    Ok((b, k))
}
