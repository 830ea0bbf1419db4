//! The networks of docs/math.md §8 — CKResNet, GCNN and the Augerino baselines — built from
//! the layers of [`crate::layers`], behind one [`Model`] type the training loop drives.
//!
//! What a training loop calls:
//!
//! - [`Model::new`]`(backend, &ModelConfig, &mut rng)`, then [`Model::forward`]`(images
//!   [B, C, H, W], &mut ctx)` → logits `[B, classes]` (`&mut self`: batch norms update
//!   their running statistics in training).
//! - [`LayerParams`] on the model: `params()`, `params_mut()`, `param_names()` (unique,
//!   hierarchical: `lift.kernel_net.layers.0.weight`, `blocks.0.conv1.partial.theta`,
//!   `head.weight`, ...), `param_roles()` (`Main`, `Omega0`, `Probs`: the three learning
//!   rates), `num_params()`, `params_with_role(role)`.
//! - Losses beside the cross-entropy: [`Model::monotonic_loss`]`(λ)` over the θ of
//!   consecutive group convolutions ([`Model::thetas`]), and
//!   [`Model::weight_decay_penalty`]`(&ctx, weight_decay)` from the kernel norms a
//!   context made with [`ForwardCtx::collecting_kernel_norms`] gathered in the pass.
//! - [`Model::partial_reports`] for the per-epoch report of what partial layers learned.
//! - [`Model::buffers`] / [`Model::set_buffer`]: the batch norms' running statistics,
//!   named `<norm>.running_mean`, `<norm>.running_var`, `<norm>.num_batches_tracked`,
//!   for checkpoints.
//!
//! ```
//! use pgcnn_core::group::{GroupKind, SamplingMethod};
//! use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind};
//! use pgcnn_core::layers::{ConvConfig, ForwardCtx, LayerParams};
//! use pgcnn_core::models::{Model, ModelConfig, NetKind};
//! use pgcnn_core::{reference::Reference, rng::Rng, Tensor};
//! let b = Reference;
//! let kernel = KernelNetConfig::new(KernelNetKind::Siren, 8, 3);
//! let mut conv = ConvConfig::new(1, 1, 3, GroupKind::Se2, 4, kernel);
//! conv.sample_per_layer = true;
//! conv.partial = true;
//! let mut cfg = ModelConfig::new(NetKind::CKResNet, 1, 10, [8, 8], 4, conv);
//! cfg.block_widths = vec![4, 6];
//! cfg.pool_blocks = vec![0];
//! let mut model = Model::<_, f64>::new(&b, &cfg, &mut Rng::seed(0))?;
//! let images = Tensor::ones(&b, [2, 1, 8, 8])?;
//! let mut ctx = ForwardCtx::train(Rng::seed(1), 0.5).collecting_kernel_norms();
//! let logits = model.forward(&images, &mut ctx)?;
//! assert_eq!(logits.dims(), &[2, 10]);
//! let loss = logits
//!     .cross_entropy(&[3, 7])?
//!     .add(&model.monotonic_loss(1e-3)?)?
//!     .add(&model.weight_decay_penalty(&ctx, 1e-4)?)?;
//! let grads = loss.backward()?;
//! assert_eq!(model.thetas().len(), 5); // 2 blocks × 2 group convolutions + the last
//! assert!(model.param_names().contains(&"blocks.1.shortcut.kernel_net.layers.0.weight".into()));
//! # let _ = grads;
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod augerino;
mod ckresnet;
mod config;
mod gcnn;
mod parts;

pub use augerino::{transform_images, Augerino, Copies};
pub use ckresnet::{CKResBlock, CKResNet};
pub use config::{ModelConfig, NetKind, NormKind};
pub use gcnn::{Gcnn, GcnnLayer};
pub use parts::{Linear, Norm};

use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::{monotonic_loss, GroupKind, PartialReport, SamplingMethod};
use crate::kernel::ParamRole;
use crate::layers::{ForwardCtx, GroupConv, LayerParams};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use parts::{NamedStats, NamedStatsMut};

/// The network inside a [`Model`].
#[derive(Clone, Debug)]
pub enum Net<B: Backend, E: Element> {
    /// [`CKResNet`] (boxed: the variants differ much in size).
    CKResNet(Box<CKResNet<B, E>>),
    /// [`Gcnn`].
    Gcnn(Box<Gcnn<B, E>>),
    /// [`Augerino`] (around a CKResNet or a GCNN).
    Augerino(Augerino<B, E, Model<B, E>>),
}

/// A non-learned piece of model state (checkpoints).
#[derive(Clone, Debug)]
pub enum BufferValue<B: Backend, E: Element> {
    /// A tensor: a running mean or variance `[C]`.
    Tensor(Tensor<B, E>),
    /// A count: batches folded into the running statistics.
    Count(u64),
}

/// The field names of a batch norm's running statistics, PyTorch's.
const STAT_FIELDS: [&str; 3] = ["running_mean", "running_var", "num_batches_tracked"];

/// A network of docs/math.md §8 with its config.
#[derive(Clone, Debug)]
pub struct Model<B: Backend, E: Element> {
    config: ModelConfig,
    backend: B,
    net: Net<B, E>,
}

impl<B: Backend, E: Element> Model<B, E> {
    /// Validates `config` and builds the network, initialising it from `rng`.
    pub fn new(backend: &B, config: &ModelConfig, rng: &mut Rng) -> Result<Self> {
        config.validate()?;
        let net = match config.net {
            NetKind::CKResNet => Net::CKResNet(Box::new(CKResNet::new(backend, config, rng)?)),
            NetKind::Gcnn => Net::Gcnn(Box::new(Gcnn::new(backend, config, rng)?)),
            NetKind::AugerinoCKResNet | NetKind::AugerinoGcnn => {
                let inner = Model::new(backend, &config.augerino_inner(), rng)?;
                Net::Augerino(Augerino::new(backend, config, inner)?)
            }
        };
        Ok(Model {
            config: config.clone(),
            backend: backend.clone(),
            net,
        })
    }

    /// The config it was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    /// The network.
    pub fn net(&self) -> &Net<B, E> {
        &self.net
    }

    /// Logits `[B, classes]` for images `[B, C, H, W]`. Draws (elements, keep decisions,
    /// dropout) come from `ctx.rng`; in training (`ctx.training`) batch norms use batch
    /// statistics and update their running ones.
    pub fn forward(
        &mut self,
        images: &Tensor<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<Tensor<B, E>> {
        let d = images.dims();
        if d.len() != 4 || d[0] == 0 || d[1] != self.config.in_channels {
            return Err(Error::bad_shape(
                "Model::forward",
                d,
                format!(
                    "the model takes images [B ≥ 1, {}, H, W]",
                    self.config.in_channels
                ),
            ));
        }
        match &mut self.net {
            Net::CKResNet(n) => n.forward(images, ctx),
            Net::Gcnn(n) => n.forward(images, ctx),
            Net::Augerino(a) => {
                let copies = a.copies(images, ctx)?;
                let logits = a.net_mut().forward(&copies.images, ctx)?;
                copies.average(logits)
            }
        }
    }

    /// Whether an evaluation pass draws anything at random (so that two passes with
    /// differently seeded contexts can give different logits): partial layers draw keep
    /// decisions or a grid offset, randomly sampled layers a grid offset, and an Augerino
    /// baseline its transformations. Dropout never draws outside training, and a
    /// [most-likely](ForwardCtx::most_likely) pass never draws.
    pub fn draws_in_evaluation(&self) -> bool {
        let conv = &self.config.conv;
        match self.net {
            Net::Augerino(_) => true,
            Net::CKResNet(_) | Net::Gcnn(_) => {
                conv.group != GroupKind::T2
                    && (conv.partial || conv.sampling == SamplingMethod::Random)
            }
        }
    }

    /// A copy whose parameters record no graph, for evaluation: the forward then frees
    /// every intermediate tensor as soon as it is done with it, instead of the graph
    /// holding all of them until the logits are dropped (a model that samples per image
    /// holds gigabytes that way). The copy shares the parameters' buffers, so it is cheap;
    /// it cannot be trained (its gradients would all be missing).
    pub fn without_graph(&self) -> Self {
        let mut copy = self.clone();
        for p in copy.params_mut() {
            p.untrack();
        }
        copy
    }

    /// The group convolutions in network order, with their names (none of an Augerino
    /// baseline's T(2) network is partial, so it lists none).
    fn group_convs(&self) -> Vec<(String, &GroupConv<B, E>)> {
        match &self.net {
            Net::CKResNet(n) => n.group_convs(),
            Net::Gcnn(n) => n.group_convs(),
            Net::Augerino(_) => Vec::new(),
        }
    }

    /// θ of every partial group convolution with random sampling, in network order
    /// (what the monotonic loss compares).
    pub fn thetas(&self) -> Vec<&Tensor<B, E>> {
        self.group_convs()
            .into_iter()
            .filter_map(|(_, c)| c.theta().map(|t| t.tensor()))
            .collect()
    }

    /// `weight·Σ_l relu(θ_{l+1} - θ_l)` over consecutive partial group convolutions
    /// (docs/math.md §4), rank 0; 0 when fewer than two layers have a θ.
    pub fn monotonic_loss(&self, weight: f64) -> Result<Tensor<B, E>> {
        monotonic_loss(&self.backend, &self.thetas(), weight)
    }

    /// The weight-decay penalty of docs/math.md §10,
    /// `weight·Σ (‖sampled kernel‖₂ + ‖bias‖₂)` over every convolution of the pass `ctx`
    /// ran (lifting, group and pointwise, as the reference), rank 0. The context must have
    /// been made with [`ForwardCtx::collecting_kernel_norms`] unless `weight` is 0.
    pub fn weight_decay_penalty(
        &self,
        ctx: &ForwardCtx<B, E>,
        weight: f64,
    ) -> Result<Tensor<B, E>> {
        let zero = Tensor::scalar(&self.backend, E::zero())?;
        if weight == 0.0 {
            return Ok(zero);
        }
        let norms = ctx.kernel_norms.as_ref().ok_or_else(|| {
            Error::bad_arg(
                "Model::weight_decay_penalty",
                "the forward pass did not collect kernel norms: make its context with \
                 ForwardCtx::collecting_kernel_norms",
            )
        })?;
        let mut total = zero;
        for n in norms {
            total = total.add(&n.reshape(Vec::new())?)?;
        }
        total.mul_scalar(E::from_f64(weight))
    }

    /// What every partial layer has learned (θ, keep probabilities), named as its
    /// parameters are ("blocks.0.conv1", "last", "augment"), in network order.
    pub fn partial_reports(&self) -> Result<Vec<(String, PartialReport)>> {
        if let Net::Augerino(a) = &self.net {
            return Ok(alloc::vec![("augment".into(), a.report()?)]);
        }
        let mut out = Vec::new();
        for (name, conv) in self.group_convs() {
            if let Some(r) = conv.partial_report()? {
                out.push((name, r));
            }
        }
        Ok(out)
    }

    fn stats(&self) -> NamedStats<'_, B, E> {
        match &self.net {
            Net::CKResNet(n) => n.stats(),
            Net::Gcnn(n) => n.stats(),
            Net::Augerino(a) => prefixed(a.net().stats()),
        }
    }
    fn stats_mut(&mut self) -> NamedStatsMut<'_, B, E> {
        match &mut self.net {
            Net::CKResNet(n) => n.stats_mut(),
            Net::Gcnn(n) => n.stats_mut(),
            Net::Augerino(a) => a
                .net_mut()
                .stats_mut()
                .into_iter()
                .map(|(n, s)| (format!("net.{n}"), s))
                .collect(),
        }
    }

    /// The running statistics of every batch norm: per norm `<name>.running_mean`,
    /// `<name>.running_var` (tensors `[C]`) and `<name>.num_batches_tracked` (a count).
    pub fn buffers(&self) -> Vec<(String, BufferValue<B, E>)> {
        let mut out = Vec::new();
        for (name, s) in self.stats() {
            let [mean, var, count] = STAT_FIELDS;
            out.push((
                format!("{name}.{mean}"),
                BufferValue::Tensor(s.mean().clone()),
            ));
            out.push((
                format!("{name}.{var}"),
                BufferValue::Tensor(s.var().clone()),
            ));
            out.push((
                format!("{name}.{count}"),
                BufferValue::Count(s.batches_tracked()),
            ));
        }
        out
    }

    /// Restores the buffer `name` (one of [`Model::buffers`]'s names, with a value of
    /// the same kind and shape).
    pub fn set_buffer(&mut self, name: &str, value: BufferValue<B, E>) -> Result<()> {
        const OP: &str = "Model::set_buffer";
        let (norm, field) = name.rsplit_once('.').unwrap_or(("", name));
        let Some((_, stats)) = self.stats_mut().into_iter().find(|(n, _)| n == norm) else {
            return Err(Error::bad_arg(
                OP,
                format!("the model has no batch norm called {norm:?} (buffer {name:?})"),
            ));
        };
        match (field, value) {
            ("running_mean", BufferValue::Tensor(t)) => {
                let var = stats.var().clone();
                stats.set(&t, &var)
            }
            ("running_var", BufferValue::Tensor(t)) => {
                let mean = stats.mean().clone();
                stats.set(&mean, &t)
            }
            ("num_batches_tracked", BufferValue::Count(c)) => {
                stats.set_batches_tracked(c);
                Ok(())
            }
            (f, v) => Err(Error::bad_arg(
                OP,
                format!(
                    "buffer {name:?}: {f:?} is not one of {STAT_FIELDS:?} or takes another \
                     kind of value than {}",
                    match v {
                        BufferValue::Tensor(_) => "a tensor",
                        BufferValue::Count(_) => "a count",
                    }
                ),
            )),
        }
    }
}

fn prefixed<'a, B: Backend, E: Element>(stats: NamedStats<'a, B, E>) -> NamedStats<'a, B, E> {
    stats
        .into_iter()
        .map(|(n, s)| (format!("net.{n}"), s))
        .collect()
}

impl<B: Backend, E: Element> Net<B, E> {
    fn inner(&self) -> &dyn LayerParams<B, E> {
        match self {
            Net::CKResNet(n) => n.as_ref(),
            Net::Gcnn(n) => n.as_ref(),
            Net::Augerino(n) => n,
        }
    }
    fn inner_mut(&mut self) -> &mut dyn LayerParams<B, E> {
        match self {
            Net::CKResNet(n) => n.as_mut(),
            Net::Gcnn(n) => n.as_mut(),
            Net::Augerino(n) => n,
        }
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for Model<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        self.net.inner().params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        self.net.inner_mut().params_mut()
    }
    fn param_names(&self) -> Vec<String> {
        self.net.inner().param_names()
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        self.net.inner().param_roles()
    }
}
