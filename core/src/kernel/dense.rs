//! The pieces kernel nets are built from: a dense layer's parameters, random
//! initialisation from the crate's [`Rng`], and the walk over a parameter list that
//! `forward_with` does.

use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// `n` values uniform in [-bound, bound).
pub(crate) fn uniform_values(rng: &mut Rng, n: usize, bound: f64) -> Vec<f64> {
    (0..n).map(|_| rng.uniform_range(-bound, bound)).collect()
}

/// A parameter holding host values.
pub(crate) fn param_from<B: Backend, E: Element>(
    backend: &B,
    values: &[f64],
    dims: &[usize],
) -> Result<Param<B, E>> {
    Ok(Param::new(Tensor::from_f64s(
        backend,
        values,
        dims.to_vec(),
    )?))
}

/// A fully connected layer `y = x·Wᵀ + b`, weight `[out, in]`, bias `[out]`.
#[derive(Clone, Debug)]
pub(crate) struct Dense<B: Backend, E: Element> {
    pub weight: Param<B, E>,
    pub bias: Param<B, E>,
}

impl<B: Backend, E: Element> Dense<B, E> {
    /// Weight and bias from host values (row-major weight).
    pub fn from_values(
        backend: &B,
        fan_in: usize,
        fan_out: usize,
        weight: &[f64],
        bias: &[f64],
    ) -> Result<Self> {
        Ok(Dense {
            weight: param_from(backend, weight, &[fan_out, fan_in])?,
            bias: param_from(backend, bias, &[fan_out])?,
        })
    }

    /// Weight uniform in ±`weight_bound`, bias uniform in ±`bias_bound` (drawn in that
    /// order, weight row-major).
    pub fn uniform(
        backend: &B,
        rng: &mut Rng,
        fan_in: usize,
        fan_out: usize,
        weight_bound: f64,
        bias_bound: f64,
    ) -> Result<Self> {
        let w = uniform_values(rng, fan_in * fan_out, weight_bound);
        let b = uniform_values(rng, fan_out, bias_bound);
        Self::from_values(backend, fan_in, fan_out, &w, &b)
    }

    /// PyTorch's default initialisation of `nn.Linear` / 1×1 convolutions: weight and bias
    /// uniform in ±1/√fan_in.
    pub fn torch_default(
        backend: &B,
        rng: &mut Rng,
        fan_in: usize,
        fan_out: usize,
    ) -> Result<Self> {
        let bound = 1.0 / num_traits::Float::sqrt(fan_in as f64);
        Self::uniform(backend, rng, fan_in, fan_out, bound, bound)
    }

    pub fn push_params<'a>(&'a self, out: &mut Vec<&'a Param<B, E>>) {
        out.push(&self.weight);
        out.push(&self.bias);
    }
    pub fn push_params_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Param<B, E>>) {
        out.push(&mut self.weight);
        out.push(&mut self.bias);
    }
    pub fn push_names(prefix: &str, out: &mut Vec<String>) {
        out.push(alloc::format!("{prefix}.weight"));
        out.push(alloc::format!("{prefix}.bias"));
    }
}

/// Hands out the parameter tensors given to `forward_with`, in order, checking each
/// against the shape of the parameter it stands for.
pub(crate) struct ParamCursor<'a, B: Backend, E: Element> {
    values: &'a [Tensor<B, E>],
    next: usize,
}

impl<'a, B: Backend, E: Element> ParamCursor<'a, B, E> {
    /// Checks that `values` match `params` in number and shapes.
    pub fn new(
        op: &'static str,
        params: &[&Param<B, E>],
        values: &'a [Tensor<B, E>],
    ) -> Result<Self> {
        if params.len() != values.len() {
            return Err(Error::bad_arg(
                op,
                alloc::format!(
                    "{} parameter tensors were given, the net has {}",
                    values.len(),
                    params.len()
                ),
            ));
        }
        for (p, v) in params.iter().zip(values) {
            if p.dims() != v.dims() {
                return Err(Error::mismatch(
                    op,
                    p.dims(),
                    v.dims(),
                    "a parameter tensor has the wrong shape",
                ));
            }
        }
        Ok(ParamCursor { values, next: 0 })
    }
    /// The next tensor. The count was checked in `new`, and every net takes exactly as
    /// many as it has parameters, so this cannot run past the end.
    pub fn take(&mut self) -> &'a Tensor<B, E> {
        let t = &self.values[self.next];
        self.next += 1;
        t
    }
    /// `x·Wᵀ + b` with the next two tensors.
    pub fn dense(&mut self, x: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        let w = self.take();
        let b = self.take();
        x.linear(w, Some(b))
    }
}

/// Checks a kernel net's input: `[P, in_dim]`.
pub(crate) fn check_coords<B: Backend, E: Element>(
    op: &'static str,
    coords: &Tensor<B, E>,
    in_dim: usize,
) -> Result<()> {
    let d = coords.dims();
    if d.len() != 2 || d[1] != in_dim {
        return Err(Error::bad_shape(
            op,
            d,
            alloc::format!("kernel-net input must be [positions, {in_dim}]"),
        ));
    }
    Ok(())
}
