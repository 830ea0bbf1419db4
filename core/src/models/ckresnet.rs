//! CKResNet (docs/math.md §8): lifting convolution → norm → (pool if 0 ∈ pool_blocks) →
//! ReLU; residual blocks; the last group convolution with `valid` padding → norm → ReLU;
//! global max pool (or a learned pooling); linear to the classes.

use super::config::ModelConfig;
use super::parts::{
    layer_params_from_children, push_stats, push_stats_mut, Children, Linear, NamedStats,
    NamedStatsMut, Norm,
};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::group::{Elements, SamplingMethod};
use crate::layers::{
    ConvConfig, ForwardCtx, GroupConv, GroupMap, LayerParams, LiftingConv, PointwiseGroupConv,
};
use crate::ops::Padding;
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A residual block: gconv → per-sample norm → ReLU → dropout → gconv → per-sample norm
/// → ReLU, plus the shortcut; → norm → (pool) → ReLU.
#[derive(Clone, Debug)]
pub struct CKResBlock<B: Backend, E: Element> {
    conv1: GroupConv<B, E>,
    conv2: GroupConv<B, E>,
    /// A pointwise group convolution when widths differ, samples are redrawn per layer,
    /// or the net is partial (the block's output then lives on other elements than its
    /// input); the identity otherwise.
    shortcut: Option<PointwiseGroupConv<B, E>>,
    norm: Norm<B, E>,
    pool: bool,
    dropout: f64,
}

impl<B: Backend, E: Element> CKResBlock<B, E> {
    fn new(
        backend: &B,
        config: &ModelConfig,
        c_in: usize,
        c_out: usize,
        pool: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        let conv1 = GroupConv::new(backend, config.layer(c_in, c_out), rng)?;
        let conv2 = GroupConv::new(backend, config.layer(c_out, c_out), rng)?;
        let c = &config.conv;
        let shortcut = if c_in != c_out || c.sample_per_layer || c.partial {
            Some(PointwiseGroupConv::new(
                backend,
                config.layer(c_in, c_out),
                rng,
            )?)
        } else {
            None
        };
        Ok(CKResBlock {
            conv1,
            conv2,
            shortcut,
            norm: Norm::new(backend, config.norm, c_out)?,
            pool,
            dropout: config.dropout,
        })
    }

    /// The first group convolution.
    pub fn conv1(&self) -> &GroupConv<B, E> {
        &self.conv1
    }
    /// The second group convolution.
    pub fn conv2(&self) -> &GroupConv<B, E> {
        &self.conv2
    }
    /// The pointwise shortcut, or `None` for the identity.
    pub fn shortcut(&self) -> Option<&PointwiseGroupConv<B, E>> {
        self.shortcut.as_ref()
    }
    /// The norm after the residual sum.
    pub fn norm(&self) -> &Norm<B, E> {
        &self.norm
    }
    /// Whether the block ends with a 2×2 max pool (before its last ReLU).
    pub fn pools(&self) -> bool {
        self.pool
    }
    /// The elementwise dropout rate between the two convolutions (training only).
    pub fn dropout(&self) -> f64 {
        self.dropout
    }

    fn forward(
        &mut self,
        x: &GroupMap<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        let h = self.conv1.forward(x, ctx)?.per_sample_norm()?.relu()?;
        let h = h.dropout(self.dropout, &mut ctx.rng, ctx.training)?;
        let h = self.conv2.forward(&h, ctx)?.per_sample_norm()?.relu()?;
        let shortcut = match &self.shortcut {
            Some(pointwise) => pointwise.forward(x, h.elements(), ctx)?,
            None => x.clone(),
        };
        let mut out = self.norm.forward(&h.add(&shortcut)?, ctx.training)?;
        if self.pool {
            out = out.spatial_max_pool()?;
        }
        out.relu()
    }

    fn children(&self) -> Children<'_, B, E> {
        let mut c = Children::new();
        c.push("conv1", &self.conv1);
        c.push("conv2", &self.conv2);
        if let Some(s) = &self.shortcut {
            c.push("shortcut", s);
        }
        c.push("norm", &self.norm);
        c
    }
    fn children_mut(&mut self) -> Vec<&mut dyn LayerParams<B, E>> {
        let mut c: Vec<&mut dyn LayerParams<B, E>> = Vec::new();
        c.push(&mut self.conv1);
        c.push(&mut self.conv2);
        if let Some(s) = &mut self.shortcut {
            c.push(s);
        }
        c.push(&mut self.norm);
        c
    }
}

layer_params_from_children!(CKResBlock);

/// The CKResNet of docs/math.md §8.
#[derive(Clone, Debug)]
pub struct CKResNet<B: Backend, E: Element> {
    lift: LiftingConv<B, E>,
    lift_norm: Norm<B, E>,
    lift_pool: bool,
    blocks: Vec<CKResBlock<B, E>>,
    /// `last_conv_T2`: average over the samples first, then convolve on the identity.
    last_t2: bool,
    last: GroupConv<B, E>,
    last_norm: Norm<B, E>,
    /// `learnable_final_pooling`: a linear map from samples × positions to 1.
    final_pool: Option<Linear<B, E>>,
    head: Linear<B, E>,
    backend: B,
}

impl<B: Backend, E: Element> CKResNet<B, E> {
    /// Builds the network (the config is validated by [`super::Model::new`]).
    pub(crate) fn new(backend: &B, config: &ModelConfig, rng: &mut Rng) -> Result<Self> {
        let h = config.no_hidden;
        let lift = LiftingConv::new(backend, config.lifting_layer(h), rng)?;
        let lift_norm = Norm::new(backend, config.norm, h)?;
        let mut blocks = Vec::with_capacity(config.no_blocks());
        let mut c_in = h;
        for (i, &c_out) in config.block_widths.iter().enumerate() {
            let pool = config.pool_blocks.contains(&(i + 1));
            blocks.push(CKResBlock::new(backend, config, c_in, c_out, pool, rng)?);
            c_in = c_out;
        }
        let width = config.final_width();
        let mut last_config = ConvConfig {
            padding: Padding::Valid,
            ..config.layer(width, width)
        };
        if config.last_conv_t2 {
            // The reference's T(2) last layer: one deterministic sample, reused from
            // the input (the identity), never partial.
            last_config.partial = false;
            last_config.sample_per_layer = false;
            last_config.sample_per_batch_element = false;
            last_config.sampling = SamplingMethod::Deterministic;
        }
        let last = GroupConv::new(backend, last_config, rng)?;
        let last_norm = Norm::new(backend, config.norm, width)?;
        let final_pool = if config.learnable_final_pooling {
            let samples = if config.last_conv_t2 {
                1
            } else {
                config.conv.samples()?
            };
            let [fh, fw] = config.final_spatial_dims()?;
            Some(Linear::new(backend, samples * fh * fw, 1, rng)?)
        } else {
            None
        };
        let head = Linear::new(backend, width, config.classes, rng)?;
        Ok(CKResNet {
            lift,
            lift_norm,
            lift_pool: config.pool_blocks.contains(&0),
            blocks,
            last_t2: config.last_conv_t2,
            last,
            last_norm,
            final_pool,
            head,
            backend: backend.clone(),
        })
    }

    /// The lifting convolution.
    pub fn lift(&self) -> &LiftingConv<B, E> {
        &self.lift
    }
    /// The norm after the lifting convolution.
    pub fn lift_norm(&self) -> &Norm<B, E> {
        &self.lift_norm
    }
    /// Whether a 2×2 max pool follows the lifting norm (pool block 0).
    pub fn lift_pools(&self) -> bool {
        self.lift_pool
    }
    /// The residual blocks, in order.
    pub fn blocks(&self) -> &[CKResBlock<B, E>] {
        &self.blocks
    }
    /// `last_conv_T2`: the map is averaged over its samples before the last convolution,
    /// which then runs on the identity alone.
    pub fn last_is_t2(&self) -> bool {
        self.last_t2
    }
    /// The last group convolution (`valid` padding).
    pub fn last(&self) -> &GroupConv<B, E> {
        &self.last
    }
    /// The norm after the last convolution.
    pub fn last_norm(&self) -> &Norm<B, E> {
        &self.last_norm
    }
    /// The learned final pooling over samples × positions, when the config asks for it
    /// (instead of the global max pool).
    pub fn final_pool(&self) -> Option<&Linear<B, E>> {
        self.final_pool.as_ref()
    }
    /// The classifier.
    pub fn head(&self) -> &Linear<B, E> {
        &self.head
    }

    /// Logits `[B, classes]` for images `[B, C, H, W]`.
    pub fn forward(
        &mut self,
        images: &Tensor<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<Tensor<B, E>> {
        let mut x = self
            .lift_norm
            .forward(&self.lift.forward(images, ctx)?, ctx.training)?;
        if self.lift_pool {
            x = x.spatial_max_pool()?;
        }
        x = x.relu()?;
        for block in &mut self.blocks {
            x = block.forward(&x, ctx)?;
        }
        if self.last_t2 {
            let mean = x.tensor().mean_axes(&[2], true)?;
            let identity = Elements::identity(&self.backend, self.last.config().group)?;
            x = GroupMap::new(mean, identity)?;
        }
        let x = self
            .last_norm
            .forward(&self.last.forward(&x, ctx)?, ctx.training)?;
        let x = x.relu()?;
        let pooled = match &self.final_pool {
            Some(pool) => {
                let d = x.dims();
                let (b, c) = (d[0], d[1]);
                pool.forward(&x.tensor().reshape([b, c, d[2] * d[3] * d[4]])?)?
                    .reshape([b, c])?
            }
            None => x.global_max_pool()?,
        };
        self.head.forward(&pooled)
    }

    /// The group convolutions in network order, with their names.
    pub(crate) fn group_convs(&self) -> Vec<(String, &GroupConv<B, E>)> {
        let mut v = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            v.push((format!("blocks.{i}.conv1"), &b.conv1));
            v.push((format!("blocks.{i}.conv2"), &b.conv2));
        }
        v.push(("last".into(), &self.last));
        v
    }

    /// The running statistics of every batch norm, named.
    pub(crate) fn stats(&self) -> NamedStats<'_, B, E> {
        let mut v = Vec::new();
        push_stats(&mut v, "lift_norm", &self.lift_norm);
        for (i, b) in self.blocks.iter().enumerate() {
            push_stats(&mut v, format!("blocks.{i}.norm"), &b.norm);
        }
        push_stats(&mut v, "last_norm", &self.last_norm);
        v
    }

    /// The same, mutably.
    pub(crate) fn stats_mut(&mut self) -> NamedStatsMut<'_, B, E> {
        let mut v = Vec::new();
        push_stats_mut(&mut v, "lift_norm", &mut self.lift_norm);
        for (i, b) in self.blocks.iter_mut().enumerate() {
            push_stats_mut(&mut v, format!("blocks.{i}.norm"), &mut b.norm);
        }
        push_stats_mut(&mut v, "last_norm", &mut self.last_norm);
        v
    }

    fn children(&self) -> Children<'_, B, E> {
        let mut c = Children::new();
        c.push("lift", &self.lift);
        c.push("lift_norm", &self.lift_norm);
        for (i, b) in self.blocks.iter().enumerate() {
            c.push(format!("blocks.{i}"), b);
        }
        c.push("last", &self.last);
        c.push("last_norm", &self.last_norm);
        if let Some(p) = &self.final_pool {
            c.push("final_pool", p);
        }
        c.push("head", &self.head);
        c
    }
    fn children_mut(&mut self) -> Vec<&mut dyn LayerParams<B, E>> {
        let mut c: Vec<&mut dyn LayerParams<B, E>> = Vec::new();
        c.push(&mut self.lift);
        c.push(&mut self.lift_norm);
        for b in &mut self.blocks {
            c.push(b);
        }
        c.push(&mut self.last);
        c.push(&mut self.last_norm);
        if let Some(p) = &mut self.final_pool {
            c.push(p);
        }
        c.push(&mut self.head);
        c
    }
}

layer_params_from_children!(CKResNet);
