//! Normalisations of feature maps `[B, C, ...]` (images `[B, C, H, W]`, maps on the group
//! `[B, C, N, H, W]`): batch, layer and per-sample per-channel norms (docs/math.md §6).
//!
//! The normalisations with batch statistics run as one recorded op on the backend's
//! fused [`Backend::normalize_forward`] (statistics, normalisation and, for batch norm,
//! the per-channel affine in one go), whose backward rule is
//! [`Backend::normalize_backward`]. Every norm here fits its `[outer, channels, inner]`
//! view ([`NormLayout`]); a [`Tensor::normalize`] over axes that do not (kept axes that
//! are not adjacent) and empty tensors take the composite path of means, subtraction,
//! square root and division instead, differentiated by autodiff. Evaluation-mode batch
//! norm, which normalises with fixed statistics, is composed from ops as well.
//! Variances that normalise are biased (divided by the count), as in PyTorch.

use crate::backend::{Backend, NormLayout};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// The running mean and variance a batch norm keeps per channel for evaluation.
///
/// Plain detached tensors `[C]`, not parameters: no gradient reaches them. Training steps
/// update them as PyTorch does, `stat ← (1 - momentum)·stat + momentum·batch_stat`, where
/// the variance uses the unbiased batch variance. They start at mean 0 and variance 1.
/// Read them with [`RunningStats::mean`] / [`RunningStats::var`] and restore them with
/// [`RunningStats::set`] (checkpoints).
#[derive(Clone, Debug)]
pub struct RunningStats<B: Backend, E: Element = f32> {
    mean: Tensor<B, E>,
    var: Tensor<B, E>,
    momentum: E,
    batches_tracked: u64,
}

impl<B: Backend, E: Element> RunningStats<B, E> {
    /// Fresh statistics for `channels` channels (mean 0, variance 1, momentum 0.1).
    pub fn new(backend: &B, channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::bad_arg(
                "RunningStats::new",
                "a batch norm needs at least one channel",
            ));
        }
        Ok(RunningStats {
            mean: Tensor::zeros(backend, [channels])?,
            var: Tensor::ones(backend, [channels])?,
            momentum: E::from_f64(0.1),
            batches_tracked: 0,
        })
    }

    /// The same statistics with another momentum, which must lie in [0, 1].
    pub fn with_momentum(mut self, momentum: E) -> Result<Self> {
        if !(momentum >= E::zero() && momentum <= E::one()) {
            return Err(Error::bad_arg(
                "RunningStats::with_momentum",
                format!("momentum {momentum} is not in [0, 1]"),
            ));
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Number of channels `C`.
    pub fn channels(&self) -> usize {
        self.mean.numel()
    }
    /// Running mean, `[C]`.
    pub fn mean(&self) -> &Tensor<B, E> {
        &self.mean
    }
    /// Running (unbiased) variance, `[C]`.
    pub fn var(&self) -> &Tensor<B, E> {
        &self.var
    }
    /// Weight of the newest batch in the update.
    pub fn momentum(&self) -> E {
        self.momentum
    }
    /// Number of training batches folded in so far (PyTorch's `num_batches_tracked`).
    pub fn batches_tracked(&self) -> u64 {
        self.batches_tracked
    }

    /// Replaces mean and variance (both `[C]`, same `C`), e.g. from a checkpoint. The
    /// values are stored detached.
    pub fn set(&mut self, mean: &Tensor<B, E>, var: &Tensor<B, E>) -> Result<()> {
        let want = [self.channels()];
        for (name, t) in [("mean", mean), ("var", var)] {
            if t.dims() != want {
                return Err(Error::mismatch(
                    "RunningStats::set",
                    &want,
                    t.dims(),
                    format!("the running {name} must be [C]"),
                ));
            }
        }
        self.mean = mean.detach();
        self.var = var.detach();
        Ok(())
    }
    /// Sets the count of batches folded in (checkpoints).
    pub fn set_batches_tracked(&mut self, n: u64) {
        self.batches_tracked = n;
    }

    /// Folds one batch's mean and biased variance (`[C]`, detached) over `count` values
    /// per channel into the running statistics. `count` is at least 2.
    fn update(
        &mut self,
        batch_mean: &Tensor<B, E>,
        biased_var: &Tensor<B, E>,
        count: usize,
    ) -> Result<()> {
        let m = self.momentum;
        let keep = E::one() - m;
        let unbiased = biased_var.mul_scalar(E::from_usize(count) / E::from_usize(count - 1))?;
        self.mean = self
            .mean
            .mul_scalar(keep)?
            .add(&batch_mean.mul_scalar(m)?)?
            .detach();
        self.var = self
            .var
            .mul_scalar(keep)?
            .add(&unbiased.mul_scalar(m)?)?
            .detach();
        self.batches_tracked += 1;
        Ok(())
    }
}

impl<B: Backend, E: Element> Tensor<B, E> {
    /// `(x - mean) / sqrt(var + eps)` with mean and biased variance taken over `axes`
    /// (negative counts from the end) and broadcast back.
    pub fn normalize(&self, axes: &[isize], eps: E) -> Result<Self> {
        check_eps("normalize", eps)?;
        if axes.is_empty() {
            return Err(Error::bad_arg(
                "normalize",
                "no axes given: every value would be normalised by itself",
            ));
        }
        // Validate as the composite path would: every axis in range (mean_axes checks
        // that first), then no repeats (as its sum does).
        for &a in axes {
            self.shape().axis("mean", a)?;
        }
        let mut reduced = vec![false; self.rank()];
        for ax in self.distinct_axes(axes)? {
            reduced[ax] = true;
        }
        match norm_layout(self.dims(), &reduced) {
            // Empty tensors keep the composite path and its errors for empty axes.
            Some(layout) if self.numel() > 0 => {
                Ok(fused_normalize(self, layout, eps, None, None)?.y)
            }
            _ => {
                let (mean, var) = self.moments(axes)?;
                normalize_with(self, &mean, &var, eps)
            }
        }
    }

    /// Batch normalisation (PyTorch's BatchNorm1d/2d/3d on `[B, C]`, `[B, C, H, W]`,
    /// `[B, C, N, H, W]`, ...): per channel (axis 1), over every other axis.
    ///
    /// In training mode the batch's own mean and biased variance normalise it, and
    /// `stats` is updated (with the unbiased variance); each channel then needs at least
    /// two values. In evaluation mode `stats` normalises and is left unchanged. `gamma`
    /// and `beta` (`[C]` each) scale and shift each channel when given.
    pub fn batch_norm(
        &self,
        gamma: Option<&Self>,
        beta: Option<&Self>,
        stats: &mut RunningStats<B, E>,
        training: bool,
        eps: E,
    ) -> Result<Self> {
        const OP: &str = "batch_norm";
        let c = check_channels(OP, self)?;
        check_affine(OP, self, gamma, beta)?;
        check_eps(OP, eps)?;
        if stats.channels() != c {
            return Err(Error::mismatch(
                OP,
                self.dims(),
                stats.mean.dims(),
                format!(
                    "the running statistics are for {} channels",
                    stats.channels()
                ),
            ));
        }
        let per_channel = self.numel() / c;
        let cshape = channel_shape(self.rank(), c);
        let y = if training {
            if per_channel < 2 {
                return Err(Error::bad_shape(
                    OP,
                    self.dims(),
                    format!(
                        "training needs more than one value per channel to estimate a variance, got {per_channel}"
                    ),
                ));
            }
            let layout = NormLayout {
                outer: self.dims()[0],
                channels: c,
                inner: per_channel / self.dims()[0],
            };
            let n = fused_normalize(self, layout, eps, gamma, beta)?;
            stats.update(&n.mean, &n.var, per_channel)?;
            n.y
        } else {
            // Fixed statistics: fold them and the affine into one per-channel scale and
            // shift ([C], cheap), so the big tensor sees two passes, `x · scale + shift`.
            let mut scale = stats.var.add_scalar(eps)?.sqrt()?.recip()?;
            if let Some(g) = gamma {
                scale = scale.mul(g)?;
            }
            let mut shift = stats.mean.mul(&scale)?.neg()?;
            if let Some(b) = beta {
                shift = shift.add(b)?;
            }
            self.mul(&scale.reshape(cshape.clone())?)?
                .add(&shift.reshape(cshape)?)?
        };
        Ok(y)
    }

    /// Layer normalisation as docs/math.md §6 defines it: each sample normalised over all
    /// its axes but the batch axis 0 (C, N, H, W), then an optional per-channel (axis 1)
    /// affine `gamma`, `beta` (`[C]` each): PyTorch's GroupNorm with one group. The
    /// reference uses `eps` 1e-12.
    pub fn layer_norm(&self, gamma: Option<&Self>, beta: Option<&Self>, eps: E) -> Result<Self> {
        const OP: &str = "layer_norm";
        check_channels(OP, self)?;
        check_affine(OP, self, gamma, beta)?;
        check_eps(OP, eps)?;
        let axes: Vec<isize> = (1..self.rank()).map(|a| a as isize).collect();
        apply_affine(&self.normalize(&axes, eps)?, gamma, beta)
    }

    /// Parameter-free per-sample, per-channel normalisation over every axis after the
    /// first two (N, H, W on group maps): the norm inside residual blocks
    /// (docs/math.md §6), PyTorch's InstanceNorm without affine or running statistics.
    /// Needs rank 3 or more, since on `[B, C]` each value would be normalised by itself.
    pub fn instance_norm(&self, eps: E) -> Result<Self> {
        const OP: &str = "instance_norm";
        check_channels(OP, self)?;
        check_eps(OP, eps)?;
        if self.rank() < 3 {
            return Err(Error::bad_shape(
                OP,
                self.dims(),
                "needs [B, C, ...] with at least one axis after the channels",
            ));
        }
        let axes: Vec<isize> = (2..self.rank()).map(|a| a as isize).collect();
        self.normalize(&axes, eps)
    }

    /// Mean and biased variance over `axes`, both kept with size-1 axes for broadcasting.
    fn moments(&self, axes: &[isize]) -> Result<(Self, Self)> {
        let mean = self.mean_axes(axes, true)?;
        let var = self.sub(&mean)?.square()?.mean_axes(axes, true)?;
        Ok((mean, var))
    }
}

/// The `[outer, channels, inner]` view of a tensor of `dims` normalised over the axes
/// marked in `reduced`, when the kept axes (ignoring those of size 1, which may count as
/// either) are adjacent; `None` otherwise. With every axis reduced, one channel.
fn norm_layout(dims: &[usize], reduced: &[bool]) -> Option<NormLayout> {
    let kept = |a: &usize| dims[*a] > 1 && !reduced[*a];
    let (k0, k1) = match ((0..dims.len()).find(kept), (0..dims.len()).rfind(kept)) {
        (Some(first), Some(last)) => (first, last + 1),
        _ => (0, 0),
    };
    if (k0..k1).any(|a| dims[a] > 1 && reduced[a]) {
        return None;
    }
    Some(NormLayout {
        outer: dims[..k0].iter().product(),
        channels: dims[k0..k1].iter().product(),
        inner: dims[k1..].iter().product(),
    })
}

/// The output of [`fused_normalize`] and the batch statistics behind it.
struct Normalized<B: Backend, E: Element> {
    y: Tensor<B, E>,
    mean: Tensor<B, E>,
    var: Tensor<B, E>,
}

/// The backend's fused normalisation of `x` (non-empty) viewed as `layout`, with the
/// optional per-channel affine (`[channels]` each), as one recorded op. Returns the
/// output and the batch's mean and biased variance (`[channels]`, detached).
///
/// The backward rule calls [`Backend::normalize_backward`] directly, so it is itself not
/// differentiable: gradients of gradients through a norm would be lost. Nothing in
/// pgcnn takes second derivatives.
fn fused_normalize<B: Backend, E: Element>(
    x: &Tensor<B, E>,
    layout: NormLayout,
    eps: E,
    gamma: Option<&Tensor<B, E>>,
    beta: Option<&Tensor<B, E>>,
) -> Result<Normalized<B, E>> {
    let backend = x.backend();
    let c = layout.channels;
    // The backend takes scale and shift together; a missing one is the identity.
    let fill = |v: E| -> Result<Tensor<B, E>> { Tensor::full(backend, [c], v) };
    let affine = match (gamma, beta) {
        (None, None) => None,
        (g, b) => Some((
            g.cloned().map_or_else(|| fill(E::one()), Ok)?,
            b.cloned().map_or_else(|| fill(E::zero()), Ok)?,
        )),
    };
    let out = backend.normalize_forward(
        x.storage(),
        layout,
        eps,
        affine.as_ref().map(|(g, b)| (g.storage(), b.storage())),
    )?;
    let mean = x.with_storage(out.mean, [c]);
    let var = x.with_storage(out.var, [c]);
    let rstd = x.with_storage(out.rstd, [c]);
    let mut inputs = vec![x];
    inputs.extend(gamma);
    inputs.extend(beta);
    let (has_gamma, has_beta) = (gamma.is_some(), beta.is_some());
    let saved_mean = mean.clone();
    let y = x.record(
        out.y,
        x.shape().clone(),
        &inputs,
        move |xs: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
            let x = &xs[0];
            let grads = x.backend().normalize_backward(
                g.storage(),
                x.storage(),
                saved_mean.storage(),
                rstd.storage(),
                has_gamma.then(|| xs[1].storage()),
                layout,
            )?;
            let mut out = vec![Some(x.with_storage(grads.dx, x.shape().clone()))];
            if has_gamma {
                out.push(Some(x.with_storage(grads.dgamma, [c])));
            }
            if has_beta {
                out.push(Some(x.with_storage(grads.dbeta, [c])));
            }
            Ok(out)
        },
    );
    Ok(Normalized { y, mean, var })
}

/// `(x - mean) / sqrt(var + eps)`, broadcasting `mean` and `var`.
fn normalize_with<B: Backend, E: Element>(
    x: &Tensor<B, E>,
    mean: &Tensor<B, E>,
    var: &Tensor<B, E>,
    eps: E,
) -> Result<Tensor<B, E>> {
    x.sub(mean)?.div(&var.add_scalar(eps)?.sqrt()?)
}

/// `[1, C, 1, ..., 1]` of the given rank: a per-channel vector placed for broadcasting.
fn channel_shape(rank: usize, c: usize) -> Vec<usize> {
    let mut s = vec![1; rank];
    s[1] = c;
    s
}

/// Checks that `x` is `[B, C, ...]` with `C > 0`, and returns `C`.
fn check_channels<B: Backend, E: Element>(op: &'static str, x: &Tensor<B, E>) -> Result<usize> {
    if x.rank() < 2 {
        return Err(Error::bad_shape(
            op,
            x.dims(),
            "needs [B, C, ...] (rank 2 or more)",
        ));
    }
    let c = x.dims()[1];
    if c == 0 {
        return Err(Error::bad_shape(op, x.dims(), "has zero channels"));
    }
    Ok(c)
}

/// Checks that `gamma` and `beta`, where given, are `[C]`.
fn check_affine<B: Backend, E: Element>(
    op: &'static str,
    x: &Tensor<B, E>,
    gamma: Option<&Tensor<B, E>>,
    beta: Option<&Tensor<B, E>>,
) -> Result<()> {
    let c = x.dims()[1];
    for (name, t) in [("gamma", gamma), ("beta", beta)] {
        if let Some(t) = t {
            if t.dims() != [c] {
                return Err(Error::mismatch(
                    op,
                    x.dims(),
                    t.dims(),
                    format!("{name} must be [C] = [{c}]"),
                ));
            }
        }
    }
    Ok(())
}

fn check_eps<E: Element>(op: &'static str, eps: E) -> Result<()> {
    // NaN fails this test too.
    if !(eps >= E::zero() && eps.is_finite()) {
        return Err(Error::bad_arg(
            op,
            format!("eps {eps} must be finite and non-negative"),
        ));
    }
    Ok(())
}

/// `y · gamma + beta` per channel (axis 1); shapes were checked by [`check_affine`].
fn apply_affine<B: Backend, E: Element>(
    y: &Tensor<B, E>,
    gamma: Option<&Tensor<B, E>>,
    beta: Option<&Tensor<B, E>>,
) -> Result<Tensor<B, E>> {
    let cshape = channel_shape(y.rank(), y.dims()[1]);
    let mut out = y.clone();
    if let Some(g) = gamma {
        out = out.mul(&g.reshape(cshape.clone())?)?;
    }
    if let Some(b) = beta {
        out = out.add(&b.reshape(cshape)?)?;
    }
    Ok(out)
}
