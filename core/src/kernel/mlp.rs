//! A plain MLP kernel net: (Linear, optional norm, activation) × (L-1), then Linear.

use super::dense::{check_coords, param_from, Dense, ParamCursor};
use super::{KernelNet, ParamRole};
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// The MLP's nonlinearity (the reference's `kernel.activation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// max(x, 0).
    #[default]
    Relu,
    /// max(x, 0) + 0.01·min(x, 0) (PyTorch's default slope).
    LeakyRelu,
    /// x·sigmoid(x) (also called SiLU).
    Swish,
    /// tanh(x).
    Tanh,
    /// sin(x).
    Sine,
}

impl Activation {
    /// Applies the activation (differentiable).
    pub fn apply<B: Backend, E: Element>(self, x: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        match self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu => x
                .relu()?
                .sub(&x.neg()?.relu()?.mul_scalar(E::from_f64(0.01))?),
            Activation::Swish => x.mul(&x.sigmoid()?),
            Activation::Tanh => x.tanh(),
            Activation::Sine => x.sin(),
        }
    }
}

/// The MLP's norm after each hidden linear layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KernelNorm {
    /// No norm (the reference's "Identity").
    #[default]
    None,
    /// Layer norm over the hidden features of each position, eps 1e-5, with a learned
    /// per-feature scale (init 1) and shift (init 0). The reference's BatchNorm over
    /// positions is not offered: it makes a kernel depend on the other kernel positions.
    LayerNorm,
}

const LAYER_NORM_EPS: f64 = 1e-5;

/// An MLP. Linear layers use PyTorch's default initialisation (weight and bias uniform in
/// ±1/√fan_in), as the reference's 1×1 convolutions do.
#[derive(Clone, Debug)]
pub struct Mlp<B: Backend, E: Element> {
    in_dim: usize,
    out_dim: usize,
    hidden: Vec<Dense<B, E>>,
    /// Per hidden layer: (scale, shift), when the norm is a layer norm.
    norms: Vec<(Param<B, E>, Param<B, E>)>,
    output: Dense<B, E>,
    activation: Activation,
}

impl<B: Backend, E: Element> Mlp<B, E> {
    /// An MLP with `layers` = L ≥ 2 linear layers of width `hidden`.
    pub fn new(
        backend: &B,
        rng: &mut Rng,
        in_dim: usize,
        hidden: usize,
        out_dim: usize,
        layers: usize,
        activation: Activation,
        norm: KernelNorm,
    ) -> Result<Self> {
        if layers < 2 || in_dim == 0 || hidden == 0 || out_dim == 0 {
            return Err(Error::bad_arg(
                "Mlp::new",
                alloc::format!(
                    "needs ≥ 2 layers and nonzero widths (in {in_dim}, hidden {hidden}, \
                     out {out_dim}, layers {layers})"
                ),
            ));
        }
        let mut dense = Vec::new();
        let mut norms = Vec::new();
        for i in 0..layers - 1 {
            let fan_in = if i == 0 { in_dim } else { hidden };
            dense.push(Dense::torch_default(backend, rng, fan_in, hidden)?);
            if norm == KernelNorm::LayerNorm {
                norms.push((
                    param_from(backend, &alloc::vec![1.0; hidden], &[hidden])?,
                    param_from(backend, &alloc::vec![0.0; hidden], &[hidden])?,
                ));
            }
        }
        let output = Dense::torch_default(backend, rng, hidden, out_dim)?;
        Ok(Mlp {
            in_dim,
            out_dim,
            hidden: dense,
            norms,
            output,
            activation,
        })
    }
}

/// Layer norm over the last axis with a per-feature affine map.
fn layer_norm<B: Backend, E: Element>(
    x: &Tensor<B, E>,
    scale: &Tensor<B, E>,
    shift: &Tensor<B, E>,
) -> Result<Tensor<B, E>> {
    let centred = x.sub(&x.mean_axes(&[-1], true)?)?;
    let var = centred.square()?.mean_axes(&[-1], true)?;
    let std = var.add_scalar(E::from_f64(LAYER_NORM_EPS))?.sqrt()?;
    centred.div(&std)?.mul(scale)?.add(shift)
}

impl<B: Backend, E: Element> KernelNet<B, E> for Mlp<B, E> {
    fn in_dim(&self) -> usize {
        self.in_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
    fn params(&self) -> Vec<&Param<B, E>> {
        let mut v = Vec::new();
        for (i, d) in self.hidden.iter().enumerate() {
            d.push_params(&mut v);
            if let Some((s, b)) = self.norms.get(i) {
                v.push(s);
                v.push(b);
            }
        }
        self.output.push_params(&mut v);
        v
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        let mut v = Vec::new();
        let mut norms = self.norms.iter_mut();
        for d in self.hidden.iter_mut() {
            d.push_params_mut(&mut v);
            if let Some((s, b)) = norms.next() {
                v.push(s);
                v.push(b);
            }
        }
        self.output.push_params_mut(&mut v);
        v
    }
    fn param_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for i in 0..self.hidden.len() {
            Dense::<B, E>::push_names(&alloc::format!("layers.{i}"), &mut v);
            if !self.norms.is_empty() {
                v.push(alloc::format!("norms.{i}.scale"));
                v.push(alloc::format!("norms.{i}.shift"));
            }
        }
        Dense::<B, E>::push_names("output", &mut v);
        v
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        alloc::vec![ParamRole::Main; self.params().len()]
    }
    fn forward_with(&self, coords: &Tensor<B, E>, params: &[Tensor<B, E>]) -> Result<Tensor<B, E>> {
        check_coords("Mlp::forward", coords, self.in_dim)?;
        let mut cur = ParamCursor::new("Mlp::forward", &self.params(), params)?;
        let mut h = coords.clone();
        for _ in &self.hidden {
            h = cur.dense(&h)?;
            if !self.norms.is_empty() {
                let (s, b) = (cur.take(), cur.take());
                h = layer_norm(&h, s, b)?;
            }
            h = self.activation.apply(&h)?;
        }
        cur.dense(&h)
    }
}
