//! Choosing a kernel net at run time: [`KernelNetKind`] (the config's `kernel.type`),
//! [`KernelNetConfig`], and [`KernelNetwork`], one of the nets behind the trait.

use super::mfn::{FilterKind, Mfn, MfnInit};
use super::mlp::{Activation, KernelNorm, Mlp};
use super::net::{KernelNet, ParamRole};
use super::siren::Siren;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

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
