//! GCNN (docs/math.md §8): lifting convolution → norm → ReLU; layers of group convolution →
//! norm → ReLU, a 2×2 pool after those in `pool_blocks` and channel dropout after those
//! in `dropout_blocks`; mean over (N, H, W); linear to the classes.

use super::config::ModelConfig;
use super::parts::{
    layer_params_from_children, push_stats, push_stats_mut, Children, Linear, NamedStats,
    NamedStatsMut, Norm,
};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::layers::{ForwardCtx, GroupConv, GroupMap, LayerParams, LiftingConv};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// One GCNN layer: group convolution → norm → ReLU, then the optional pool and dropout.
#[derive(Clone, Debug)]
pub struct GcnnLayer<B: Backend, E: Element> {
    conv: GroupConv<B, E>,
    norm: Norm<B, E>,
    pool: bool,
    /// The channel-dropout rate after this layer (0 for none).
    dropout: f64,
}

impl<B: Backend, E: Element> GcnnLayer<B, E> {
    /// The group convolution.
    pub fn conv(&self) -> &GroupConv<B, E> {
        &self.conv
    }
    /// The norm after it.
    pub fn norm(&self) -> &Norm<B, E> {
        &self.norm
    }
    /// Whether a 2×2 max pool follows the ReLU.
    pub fn pools(&self) -> bool {
        self.pool
    }
    /// The channel-dropout rate after the layer (training only; 0 for none).
    pub fn dropout(&self) -> f64 {
        self.dropout
    }

    fn forward(
        &mut self,
        x: &GroupMap<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        let mut y = self
            .norm
            .forward(&self.conv.forward(x, ctx)?, ctx.training)?
            .relu()?;
        if self.pool {
            y = y.spatial_max_pool()?;
        }
        y.dropout_channels(self.dropout, &mut ctx.rng, ctx.training)
    }
    fn children(&self) -> Children<'_, B, E> {
        let mut c = Children::new();
        c.push("conv", &self.conv);
        c.push("norm", &self.norm);
        c
    }
    fn children_mut(&mut self) -> Vec<&mut dyn LayerParams<B, E>> {
        alloc::vec![&mut self.conv, &mut self.norm]
    }
}

layer_params_from_children!(GcnnLayer);

/// The GCNN of docs/math.md §8.
#[derive(Clone, Debug)]
pub struct Gcnn<B: Backend, E: Element> {
    lift: LiftingConv<B, E>,
    lift_norm: Norm<B, E>,
    layers: Vec<GcnnLayer<B, E>>,
    head: Linear<B, E>,
}

impl<B: Backend, E: Element> Gcnn<B, E> {
    /// Builds the network (the config is validated by [`super::Model::new`]).
    pub(crate) fn new(backend: &B, config: &ModelConfig, rng: &mut Rng) -> Result<Self> {
        let h = config.no_hidden;
        let lift = LiftingConv::new(backend, config.lifting_layer(h), rng)?;
        let lift_norm = Norm::new(backend, config.norm, h)?;
        let mut layers = Vec::with_capacity(config.no_blocks());
        let mut c_in = h;
        for (i, &c_out) in config.block_widths.iter().enumerate() {
            let index = i + 1;
            layers.push(GcnnLayer {
                conv: GroupConv::new(backend, config.layer(c_in, c_out), rng)?,
                norm: Norm::new(backend, config.norm, c_out)?,
                pool: config.pool_blocks.contains(&index),
                dropout: if config.dropout_blocks.contains(&index) {
                    config.dropout
                } else {
                    0.0
                },
            });
            c_in = c_out;
        }
        let head = Linear::new(backend, config.final_width(), config.classes, rng)?;
        Ok(Gcnn {
            lift,
            lift_norm,
            layers,
            head,
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
    /// The layers, in order.
    pub fn layers(&self) -> &[GcnnLayer<B, E>] {
        &self.layers
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
            .forward(&self.lift.forward(images, ctx)?, ctx.training)?
            .relu()?;
        for layer in &mut self.layers {
            x = layer.forward(&x, ctx)?;
        }
        self.head.forward(&x.global_mean_pool()?)
    }

    /// The group convolutions in network order, with their names.
    pub(crate) fn group_convs(&self) -> Vec<(String, &GroupConv<B, E>)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("layers.{i}.conv"), &l.conv))
            .collect()
    }

    /// The running statistics of every batch norm, named.
    pub(crate) fn stats(&self) -> NamedStats<'_, B, E> {
        let mut v = Vec::new();
        push_stats(&mut v, "lift_norm", &self.lift_norm);
        for (i, l) in self.layers.iter().enumerate() {
            push_stats(&mut v, format!("layers.{i}.norm"), &l.norm);
        }
        v
    }

    /// The same, mutably.
    pub(crate) fn stats_mut(&mut self) -> NamedStatsMut<'_, B, E> {
        let mut v = Vec::new();
        push_stats_mut(&mut v, "lift_norm", &mut self.lift_norm);
        for (i, l) in self.layers.iter_mut().enumerate() {
            push_stats_mut(&mut v, format!("layers.{i}.norm"), &mut l.norm);
        }
        v
    }

    fn children(&self) -> Children<'_, B, E> {
        let mut c = Children::new();
        c.push("lift", &self.lift);
        c.push("lift_norm", &self.lift_norm);
        for (i, l) in self.layers.iter().enumerate() {
            c.push(format!("layers.{i}"), l);
        }
        c.push("head", &self.head);
        c
    }
    fn children_mut(&mut self) -> Vec<&mut dyn LayerParams<B, E>> {
        let mut c: Vec<&mut dyn LayerParams<B, E>> = Vec::new();
        c.push(&mut self.lift);
        c.push(&mut self.lift_norm);
        for l in &mut self.layers {
            c.push(l);
        }
        c.push(&mut self.head);
        c
    }
}

layer_params_from_children!(Gcnn);
