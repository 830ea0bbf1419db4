//! SIREN (Sitzmann et al. 2020) as a kernel net: `L - 1` layers `y = sin(ω0·(W x + b))`,
//! then a plain linear layer.

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
use num_traits::Float;

/// A SIREN. Initialisation (docs/math.md §7): first layer W ~ U(-1/d, 1/d); every later
/// layer, the output layer included, W ~ U(±√(6/fan_in)/ω0); all biases 0.
#[derive(Clone, Debug)]
pub struct Siren<B: Backend, E: Element> {
    in_dim: usize,
    out_dim: usize,
    /// The `L - 1` sine layers.
    sines: Vec<Dense<B, E>>,
    output: Dense<B, E>,
    omega0: f64,
    /// `[1]`, present when ω0 is learned (initialised to `omega0`).
    learned_omega0: Option<Param<B, E>>,
}

impl<B: Backend, E: Element> Siren<B, E> {
    /// A SIREN with `layers` = L ≥ 2 linear layers of width `hidden`.
    pub fn new(
        backend: &B,
        rng: &mut Rng,
        in_dim: usize,
        hidden: usize,
        out_dim: usize,
        layers: usize,
        omega0: f64,
        learn_omega0: bool,
    ) -> Result<Self> {
        if layers < 2 || in_dim == 0 || hidden == 0 || out_dim == 0 {
            return Err(Error::bad_arg(
                "Siren::new",
                alloc::format!(
                    "needs ≥ 2 layers and nonzero widths (in {in_dim}, hidden {hidden}, \
                     out {out_dim}, layers {layers})"
                ),
            ));
        }
        if !(omega0.is_finite() && omega0 != 0.0) {
            return Err(Error::bad_arg(
                "Siren::new",
                alloc::format!("ω0 must be finite and nonzero, not {omega0}"),
            ));
        }
        let mut sines = Vec::with_capacity(layers - 1);
        for i in 0..layers - 1 {
            let fan_in = if i == 0 { in_dim } else { hidden };
            let bound = if i == 0 {
                1.0 / in_dim as f64
            } else {
                Float::sqrt(6.0 / fan_in as f64) / omega0.abs()
            };
            sines.push(Dense::uniform(backend, rng, fan_in, hidden, bound, 0.0)?);
        }
        let bound = Float::sqrt(6.0 / hidden as f64) / omega0.abs();
        let output = Dense::uniform(backend, rng, hidden, out_dim, bound, 0.0)?;
        let learned_omega0 = if learn_omega0 {
            Some(param_from(backend, &[omega0], &[1])?)
        } else {
            None
        };
        Ok(Siren {
            in_dim,
            out_dim,
            sines,
            output,
            omega0,
            learned_omega0,
        })
    }

    /// The current ω0 (the learned value when learned).
    pub fn omega0(&self) -> Result<f64> {
        match &self.learned_omega0 {
            Some(p) => Ok(Element::to_f64(p.tensor().to_scalar()?)),
            None => Ok(self.omega0),
        }
    }
}

impl<B: Backend, E: Element> KernelNet<B, E> for Siren<B, E> {
    fn in_dim(&self) -> usize {
        self.in_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
    fn params(&self) -> Vec<&Param<B, E>> {
        let mut v = Vec::new();
        for d in &self.sines {
            d.push_params(&mut v);
        }
        self.output.push_params(&mut v);
        v.extend(self.learned_omega0.iter());
        v
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        let mut v = Vec::new();
        for d in &mut self.sines {
            d.push_params_mut(&mut v);
        }
        self.output.push_params_mut(&mut v);
        v.extend(self.learned_omega0.iter_mut());
        v
    }
    fn param_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for i in 0..self.sines.len() {
            Dense::<B, E>::push_names(&alloc::format!("layers.{i}"), &mut v);
        }
        Dense::<B, E>::push_names("output", &mut v);
        if self.learned_omega0.is_some() {
            v.push("omega0".into());
        }
        v
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        let mut v = alloc::vec![ParamRole::Main; 2 * (self.sines.len() + 1)];
        if self.learned_omega0.is_some() {
            v.push(ParamRole::Omega0);
        }
        v
    }
    fn forward_with(&self, coords: &Tensor<B, E>, params: &[Tensor<B, E>]) -> Result<Tensor<B, E>> {
        check_coords("Siren::forward", coords, self.in_dim)?;
        let mut cur = ParamCursor::new("Siren::forward", &self.params(), params)?;
        // The ω0 tensor, when learned, is the last one; read it first.
        let omega = self
            .learned_omega0
            .as_ref()
            .map(|_| &params[params.len() - 1]);
        let mut h = coords.clone();
        for _ in &self.sines {
            let z = cur.dense(&h)?;
            let z = match omega {
                Some(w) => z.mul(w)?,
                None => z.mul_scalar(E::from_f64(self.omega0))?,
            };
            h = z.sin()?;
        }
        cur.dense(&h)
    }
}
