//! Pieces the models share: the configurable norm, the linear layers (classifier and
//! learnable final pooling), and the listing of named parameters and running statistics
//! of nested layers.

use super::config::NormKind;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::kernel::ParamRole;
use crate::layers::{GroupBatchNorm, GroupLayerNorm, GroupMap, LayerParams};
use crate::ops::norm::RunningStats;
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use num_traits::Float;

/// A batch norm or a layer norm on a group map, as the config says.
#[derive(Clone, Debug)]
pub enum Norm<B: Backend, E: Element> {
    /// [`GroupBatchNorm`].
    Batch(GroupBatchNorm<B, E>),
    /// [`GroupLayerNorm`].
    Layer(GroupLayerNorm<B, E>),
}

impl<B: Backend, E: Element> Norm<B, E> {
    /// A fresh norm of `kind` for `channels` channels.
    pub fn new(backend: &B, kind: NormKind, channels: usize) -> Result<Self> {
        Ok(match kind {
            NormKind::BatchNorm => Norm::Batch(GroupBatchNorm::new(backend, channels)?),
            NormKind::LayerNorm => Norm::Layer(GroupLayerNorm::new(backend, channels)?),
        })
    }
    /// Normalises `x`; a batch norm uses (and updates) batch statistics when `training`.
    pub fn forward(&mut self, x: &GroupMap<B, E>, training: bool) -> Result<GroupMap<B, E>> {
        match self {
            Norm::Batch(n) => n.forward(x, training),
            Norm::Layer(n) => n.forward(x),
        }
    }
    /// The running statistics of a batch norm.
    pub fn stats(&self) -> Option<&RunningStats<B, E>> {
        match self {
            Norm::Batch(n) => Some(n.stats()),
            Norm::Layer(_) => None,
        }
    }
    /// The running statistics of a batch norm, mutably.
    pub fn stats_mut(&mut self) -> Option<&mut RunningStats<B, E>> {
        match self {
            Norm::Batch(n) => Some(n.stats_mut()),
            Norm::Layer(_) => None,
        }
    }
    fn inner(&self) -> &dyn LayerParams<B, E> {
        match self {
            Norm::Batch(n) => n,
            Norm::Layer(n) => n,
        }
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for Norm<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        self.inner().params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        match self {
            Norm::Batch(n) => n.params_mut(),
            Norm::Layer(n) => n.params_mut(),
        }
    }
    fn param_names(&self) -> Vec<String> {
        self.inner().param_names()
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        self.inner().param_roles()
    }
}

/// A fully connected layer `x·Wᵀ + b`, W `[out, in]`, with PyTorch's default
/// initialisation (W and b uniform in ±1/√in).
#[derive(Clone, Debug)]
pub struct Linear<B: Backend, E: Element> {
    weight: Param<B, E>,
    bias: Param<B, E>,
}

impl<B: Backend, E: Element> Linear<B, E> {
    /// A layer from `inputs` to `outputs` features, initialised from `rng`.
    pub fn new(backend: &B, inputs: usize, outputs: usize, rng: &mut Rng) -> Result<Self> {
        let bound = 1.0 / Float::sqrt(inputs.max(1) as f64);
        let mut uniform =
            |n: usize| -> Vec<f64> { (0..n).map(|_| rng.uniform_range(-bound, bound)).collect() };
        let w = uniform(outputs * inputs);
        let b = uniform(outputs);
        Ok(Linear {
            weight: Param::new(Tensor::from_f64s(backend, &w, [outputs, inputs])?),
            bias: Param::new(Tensor::from_f64s(backend, &b, [outputs])?),
        })
    }
    /// W, `[out, in]`.
    pub fn weight(&self) -> &Tensor<B, E> {
        self.weight.tensor()
    }
    /// b, `[out]`.
    pub fn bias(&self) -> &Tensor<B, E> {
        self.bias.tensor()
    }
    /// `x` `[.., in]` to `[.., out]`.
    pub fn forward(&self, x: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        x.linear(self.weight.tensor(), Some(self.bias.tensor()))
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for Linear<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        vec![&self.weight, &self.bias]
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn param_names(&self) -> Vec<String> {
        vec!["weight".into(), "bias".into()]
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        vec![ParamRole::Main, ParamRole::Main]
    }
}

/// The named children of a composite layer, in parameter order: the composite's
/// parameters are its children's, each name prefixed with `"<child>."`.
pub(crate) struct Children<'a, B: Backend, E: Element>(
    pub Vec<(String, &'a dyn LayerParams<B, E>)>,
);

impl<'a, B: Backend, E: Element> Children<'a, B, E> {
    pub(crate) fn new() -> Self {
        Children(Vec::new())
    }
    /// Adds a child called `name`.
    pub(crate) fn push(&mut self, name: impl Into<String>, child: &'a dyn LayerParams<B, E>) {
        self.0.push((name.into(), child));
    }
    pub(crate) fn params(&self) -> Vec<&'a Param<B, E>> {
        self.0.iter().flat_map(|(_, c)| c.params()).collect()
    }
    pub(crate) fn names(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(prefix, c)| {
                c.param_names()
                    .into_iter()
                    .map(move |n| format!("{prefix}.{n}"))
            })
            .collect()
    }
    pub(crate) fn roles(&self) -> Vec<ParamRole> {
        self.0.iter().flat_map(|(_, c)| c.param_roles()).collect()
    }
}

/// The mutable parameters of children listed as in [`Children`] (same order).
pub(crate) fn params_mut_of<B: Backend, E: Element>(
    children: Vec<&mut dyn LayerParams<B, E>>,
) -> Vec<&mut Param<B, E>> {
    children.into_iter().flat_map(|c| c.params_mut()).collect()
}

/// Implements [`LayerParams`] for a composite through its `children()` (a [`Children`])
/// and `children_mut()` (the same children, mutably, in the same order).
macro_rules! layer_params_from_children {
    ($ty:ident) => {
        impl<B: Backend, E: Element> crate::layers::LayerParams<B, E> for $ty<B, E> {
            fn params(&self) -> alloc::vec::Vec<&crate::autodiff::Param<B, E>> {
                self.children().params()
            }
            fn params_mut(&mut self) -> alloc::vec::Vec<&mut crate::autodiff::Param<B, E>> {
                crate::models::parts::params_mut_of(self.children_mut())
            }
            fn param_names(&self) -> alloc::vec::Vec<alloc::string::String> {
                self.children().names()
            }
            fn param_roles(&self) -> alloc::vec::Vec<crate::kernel::ParamRole> {
                self.children().roles()
            }
        }
    };
}
pub(crate) use layer_params_from_children;

/// Running statistics under their hierarchical names ("lift_norm", "blocks.0.norm").
pub(crate) type NamedStats<'a, B, E> = Vec<(String, &'a RunningStats<B, E>)>;
/// The same, mutably.
pub(crate) type NamedStatsMut<'a, B, E> = Vec<(String, &'a mut RunningStats<B, E>)>;

/// Adds `norm`'s statistics (if it is a batch norm) to `out` as `name`.
pub(crate) fn push_stats<'a, B: Backend, E: Element>(
    out: &mut NamedStats<'a, B, E>,
    name: impl Into<String>,
    norm: &'a Norm<B, E>,
) {
    if let Some(s) = norm.stats() {
        out.push((name.into(), s));
    }
}

/// Adds `norm`'s statistics (if it is a batch norm) to `out` as `name`, mutably.
pub(crate) fn push_stats_mut<'a, B: Backend, E: Element>(
    out: &mut NamedStatsMut<'a, B, E>,
    name: impl Into<String>,
    norm: &'a mut Norm<B, E>,
) {
    if let Some(s) = norm.stats_mut() {
        out.push((name.into(), s));
    }
}
