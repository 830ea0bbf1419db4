//! Norms on maps over the group (docs/math.md §6): batch norm over (B, N, H, W) per
//! channel, layer norm over (C, N, H, W) with a per-channel affine, and the parameter-free
//! per-sample norm over (N, H, W) used inside residual blocks.

use super::group_map::GroupMap;
use super::LayerParams;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::kernel::ParamRole;
use crate::ops::norm::RunningStats;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// eps of the per-sample norm ([`GroupMap::per_sample_norm`]); the reference uses
/// PyTorch's `layer_norm` default.
pub const PER_SAMPLE_NORM_EPS: f64 = 1e-5;

/// Batch normalisation of `[B, C, N, H, W]` per channel over (B, N, H, W) (PyTorch's
/// BatchNorm3d): affine γ = 1, β = 0 at the start, running statistics for evaluation,
/// eps 1e-5, momentum 0.1.
#[derive(Clone, Debug)]
pub struct GroupBatchNorm<B: Backend, E: Element> {
    gamma: Param<B, E>,
    beta: Param<B, E>,
    stats: RunningStats<B, E>,
    eps: f64,
}

impl<B: Backend, E: Element> GroupBatchNorm<B, E> {
    /// A fresh norm for `channels` channels.
    pub fn new(backend: &B, channels: usize) -> Result<Self> {
        Ok(GroupBatchNorm {
            stats: RunningStats::new(backend, channels)?,
            gamma: Param::new(Tensor::ones(backend, [channels])?),
            beta: Param::new(Tensor::zeros(backend, [channels])?),
            eps: 1e-5,
        })
    }
    /// γ, `[C]`.
    pub fn gamma(&self) -> &Tensor<B, E> {
        self.gamma.tensor()
    }
    /// β, `[C]`.
    pub fn beta(&self) -> &Tensor<B, E> {
        self.beta.tensor()
    }
    /// eps under the square root.
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// The running statistics (checkpoints).
    pub fn stats(&self) -> &RunningStats<B, E> {
        &self.stats
    }
    /// The running statistics, mutably (restoring a checkpoint).
    pub fn stats_mut(&mut self) -> &mut RunningStats<B, E> {
        &mut self.stats
    }
    /// Normalises with batch statistics (and updates the running ones) when
    /// `training`, with the running statistics otherwise.
    pub fn forward(&mut self, x: &GroupMap<B, E>, training: bool) -> Result<GroupMap<B, E>> {
        let y = x.tensor().batch_norm(
            Some(self.gamma.tensor()),
            Some(self.beta.tensor()),
            &mut self.stats,
            training,
            E::from_f64(self.eps),
        )?;
        x.with_tensor(y)
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for GroupBatchNorm<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        vec![&self.gamma, &self.beta]
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        vec![&mut self.gamma, &mut self.beta]
    }
    fn param_names(&self) -> Vec<String> {
        vec!["weight".into(), "bias".into()]
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        vec![ParamRole::Main, ParamRole::Main]
    }
}

/// Layer normalisation of each sample over (C, N, H, W) with a per-channel affine
/// (GroupNorm with one group), eps 1e-12 as in the reference; γ = 1, β = 0 at the start.
#[derive(Clone, Debug)]
pub struct GroupLayerNorm<B: Backend, E: Element> {
    gamma: Param<B, E>,
    beta: Param<B, E>,
    eps: f64,
}

impl<B: Backend, E: Element> GroupLayerNorm<B, E> {
    /// A fresh norm for `channels` channels.
    pub fn new(backend: &B, channels: usize) -> Result<Self> {
        Ok(GroupLayerNorm {
            gamma: Param::new(Tensor::ones(backend, [channels])?),
            beta: Param::new(Tensor::zeros(backend, [channels])?),
            eps: 1e-12,
        })
    }
    /// γ, `[C]`.
    pub fn gamma(&self) -> &Tensor<B, E> {
        self.gamma.tensor()
    }
    /// β, `[C]`.
    pub fn beta(&self) -> &Tensor<B, E> {
        self.beta.tensor()
    }
    /// eps under the square root.
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// Normalises `x` (the same in training and evaluation).
    pub fn forward(&self, x: &GroupMap<B, E>) -> Result<GroupMap<B, E>> {
        let y = x.tensor().layer_norm(
            Some(self.gamma.tensor()),
            Some(self.beta.tensor()),
            E::from_f64(self.eps),
        )?;
        x.with_tensor(y)
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for GroupLayerNorm<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        vec![&self.gamma, &self.beta]
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        vec![&mut self.gamma, &mut self.beta]
    }
    fn param_names(&self) -> Vec<String> {
        vec!["weight".into(), "bias".into()]
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        vec![ParamRole::Main, ParamRole::Main]
    }
}

impl<B: Backend, E: Element> GroupMap<B, E> {
    /// The parameter-free per-sample, per-channel normalisation over (N, H, W) used
    /// inside residual blocks (eps [`PER_SAMPLE_NORM_EPS`]).
    pub fn per_sample_norm(&self) -> Result<Self> {
        self.map(|t| t.instance_norm(E::from_f64(PER_SAMPLE_NORM_EPS)))
    }
}
