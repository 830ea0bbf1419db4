//! Continuous kernel nets (docs/math.md §7): small networks that map kernel-net coordinates
//! `[P, d]` (positions and relative group elements, see [`crate::group`]) to kernel values
//! `[P, Cout·Cin]`, read as `[P, Cout, Cin]` (out-major).
//!
//! Every net is a struct holding [`Param`]s and implements [`KernelNet`];
//! [`KernelNetwork`] picks one from a [`KernelNetConfig`] at run time. Initialisation
//! draws from the [`Rng`] passed in, so a seed fixes it.
//!
//! ```
//! use pgcnn_core::kernel::*;
//! use pgcnn_core::{reference::Reference, rng::Rng, Tensor};
//! let mut rng = Rng::seed(1);
//! let cfg = KernelNetConfig::new(KernelNetKind::Siren, 16, 3);
//! let net = KernelNetwork::<_, f64>::new(&Reference, &cfg, 3, 4 * 2, &mut rng)?;
//! let coords = Tensor::zeros(&Reference, [10, 3])?;
//! assert_eq!(net.forward(&coords)?.dims(), &[10, 8]);
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod dense;
mod mfn;
mod mlp;
mod siren;

pub use mfn::{FilterKind, Mfn, MfnInit};
pub use mlp::{Activation, KernelNorm, Mlp};
pub use siren::Siren;

use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// The optimiser group a parameter belongs to (docs/math.md §10: three learning rates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamRole {
    /// Ordinary weights: `train.lr`.
    Main,
    /// A learnable SIREN ω0: `train.lr_omega0`.
    Omega0,
    /// θ and keep logits of partial equivariance: `train.lr_probs`.
    Probs,
}

/// A continuous kernel: coordinates `[P, in_dim]` to values `[P, out_dim]`.
pub trait KernelNet<B: Backend, E: Element> {
    /// The coordinate dimension d (2 for lifting, 2 + s for group convolutions, s for
    /// pointwise ones).
    fn in_dim(&self) -> usize;
    /// The output width, Cout·Cin.
    fn out_dim(&self) -> usize;
    /// Every parameter, in a fixed order.
    fn params(&self) -> Vec<&Param<B, E>>;
    /// Every parameter, mutably (for optimiser steps and checkpoints), same order.
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>>;
    /// A stable name per parameter ("layers.0.weight", "omega0", ...), same order.
    fn param_names(&self) -> Vec<String>;
    /// The optimiser group of each parameter, same order.
    fn param_roles(&self) -> Vec<ParamRole>;
    /// The net evaluated with `params` (one tensor per parameter, in the order of
    /// [`KernelNet::params`], same shapes) in place of its own values: the functional
    /// form, for gradient checks and for evaluating other weights (e.g. an average).
    fn forward_with(&self, coords: &Tensor<B, E>, params: &[Tensor<B, E>]) -> Result<Tensor<B, E>>;

    /// The net on `coords` `[P, in_dim]`, giving `[P, out_dim]`.
    fn forward(&self, coords: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        let values: Vec<Tensor<B, E>> = self.params().iter().map(|p| p.tensor().clone()).collect();
        self.forward_with(coords, &values)
    }
    /// The number of learnable scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.numel()).sum()
    }
}

/// Which kernel net (the config's `kernel.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelNetKind {
    /// [`Siren`].
    Siren,
    /// [`Mlp`].
    Mlp,
    /// [`Mfn`] with sine filters.
    Fourier,
    /// [`Mfn`] with isotropic Gabor filters.
    Gabor,
    /// [`Mfn`] with anisotropic Gabor filters.
    Magnet,
}

impl core::str::FromStr for KernelNetKind {
    type Err = Error;
    /// The reference's names, in any case: SIREN, MLP, Fourier, Gabor, MAGNet.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "siren" => Ok(KernelNetKind::Siren),
            "mlp" => Ok(KernelNetKind::Mlp),
            "fourier" | "fouriernet" => Ok(KernelNetKind::Fourier),
            "gabor" | "gabornet" => Ok(KernelNetKind::Gabor),
            "magnet" => Ok(KernelNetKind::Magnet),
            _ => Err(Error::bad_arg(
                "KernelNetKind::from_str",
                alloc::format!(
                    "unknown kernel net {s:?}; expected SIREN, MLP, Fourier, Gabor or MAGNet"
                ),
            )),
        }
    }
}

/// Everything needed to build a kernel net besides its input and output widths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelNetConfig {
    /// Which net.
    pub kind: KernelNetKind,
    /// Hidden width h (`kernel.no_hidden`).
    pub hidden: usize,
    /// `kernel.no_layers`: L linear layers for SIREN and MLP (L ≥ 2); L hidden linears
    /// and L + 1 filters for the multiplicative filter nets.
    pub layers: usize,
    /// SIREN's ω0 (`kernel.omega0`).
    pub omega0: f64,
    /// Whether ω0 is a parameter (`kernel.learn_omega0`).
    pub learn_omega0: bool,
    /// MLP activation.
    pub activation: Activation,
    /// MLP norm.
    pub norm: KernelNorm,
    /// Multiplicative filter nets' initialisation.
    pub mfn: MfnInit,
}

impl KernelNetConfig {
    /// Defaults: ω0 = 10 (fixed), ReLU, no norm, the reference's MFN settings.
    pub fn new(kind: KernelNetKind, hidden: usize, layers: usize) -> Self {
        KernelNetConfig {
            kind,
            hidden,
            layers,
            omega0: 10.0,
            learn_omega0: false,
            activation: Activation::Relu,
            norm: KernelNorm::None,
            mfn: MfnInit::default(),
        }
    }
}

/// One of the kernel nets, chosen at run time.
#[derive(Clone, Debug)]
pub enum KernelNetwork<B: Backend, E: Element> {
    /// A SIREN.
    Siren(Siren<B, E>),
    /// An MLP.
    Mlp(Mlp<B, E>),
    /// FourierNet, GaborNet or MAGNet.
    Mfn(Mfn<B, E>),
}

impl<B: Backend, E: Element> KernelNetwork<B, E> {
    /// Builds and initialises the net `config` describes for `in_dim` coordinates and
    /// `out_dim` = Cout·Cin outputs.
    pub fn new(
        backend: &B,
        config: &KernelNetConfig,
        in_dim: usize,
        out_dim: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        let (h, l) = (config.hidden, config.layers);
        Ok(match config.kind {
            KernelNetKind::Siren => KernelNetwork::Siren(Siren::new(
                backend,
                rng,
                in_dim,
                h,
                out_dim,
                l,
                config.omega0,
                config.learn_omega0,
            )?),
            KernelNetKind::Mlp => KernelNetwork::Mlp(Mlp::new(
                backend,
                rng,
                in_dim,
                h,
                out_dim,
                l,
                config.activation,
                config.norm,
            )?),
            KernelNetKind::Fourier | KernelNetKind::Gabor | KernelNetKind::Magnet => {
                let filter = match config.kind {
                    KernelNetKind::Fourier => FilterKind::Fourier,
                    KernelNetKind::Gabor => FilterKind::Gabor,
                    _ => FilterKind::Magnet,
                };
                KernelNetwork::Mfn(Mfn::new(
                    backend, rng, filter, in_dim, h, out_dim, l, config.mfn,
                )?)
            }
        })
    }

    fn inner(&self) -> &dyn KernelNet<B, E> {
        match self {
            KernelNetwork::Siren(n) => n,
            KernelNetwork::Mlp(n) => n,
            KernelNetwork::Mfn(n) => n,
        }
    }
}

impl<B: Backend, E: Element> KernelNet<B, E> for KernelNetwork<B, E> {
    fn in_dim(&self) -> usize {
        self.inner().in_dim()
    }
    fn out_dim(&self) -> usize {
        self.inner().out_dim()
    }
    fn params(&self) -> Vec<&Param<B, E>> {
        self.inner().params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        match self {
            KernelNetwork::Siren(n) => n.params_mut(),
            KernelNetwork::Mlp(n) => n.params_mut(),
            KernelNetwork::Mfn(n) => n.params_mut(),
        }
    }
    fn param_names(&self) -> Vec<String> {
        self.inner().param_names()
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        self.inner().param_roles()
    }
    fn forward_with(&self, coords: &Tensor<B, E>, params: &[Tensor<B, E>]) -> Result<Tensor<B, E>> {
        self.inner().forward_with(coords, params)
    }
}
