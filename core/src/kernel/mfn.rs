//! Multiplicative filter networks (Fathony et al. 2021): FourierNet, GaborNet and
//! MAGNet (Romero et al. 2022's anisotropic Gabor filters).
//!
//! L + 1 filters, L hidden linears and one output linear:
//! `z_0 = filter_0(x)`, `z_i = filter_i(x) ⊙ (W_i z_{i-1} + b_i)`, `out = W_out z_L + b_out`.

use super::dense::{check_coords, param_from, uniform_values, Dense, ParamCursor};
use super::{KernelNet, ParamRole};
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;
use core::f64::consts::PI;
use num_traits::Float;

/// The filter of a multiplicative filter network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilterKind {
    /// `sin(W x + b)` (FourierNet).
    Fourier,
    /// `exp(-½·Σ_d (γ_j (x_d - μ_jd))²) ⊙ sin(W x + b)` with one γ_j per hidden unit
    /// (GaborNet).
    Gabor,
    /// As Gabor with one γ_jd per hidden unit and input dimension (MAGNet).
    Magnet,
}

/// Initialisation constants of the multiplicative filter nets (the reference's defaults
/// in [`Default`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MfnInit {
    /// Frequency scale of the filters' linear maps (256). Each filter uses
    /// `input_scale/√(L+1)`, for all three kinds, as the reference does.
    pub input_scale: f64,
    /// Hidden linears W ~ U(±√(weight_scale/h)) (1).
    pub weight_scale: f64,
    /// Gamma shape numerator α (6): GaborNet γ ~ Gamma(α/(L+1), β) for every filter,
    /// MAGNet γ ~ Gamma(α/(l+1), β) for filter l.
    pub alpha: f64,
    /// Gamma rate β (1), as PyTorch's `Gamma(concentration, rate)`: scale 1/β.
    pub beta: f64,
}

impl Default for MfnInit {
    fn default() -> Self {
        MfnInit {
            input_scale: 256.0,
            weight_scale: 1.0,
            alpha: 6.0,
            beta: 1.0,
        }
    }
}

/// One filter: a linear map inside the sine and, for Gabor kinds, a Gaussian window.
#[derive(Clone, Debug)]
struct Filter<B: Backend, E: Element> {
    linear: Dense<B, E>,
    /// (μ `[h, d]`, γ `[h, 1]` (Gabor) or `[h, d]` (MAGNet)).
    window: Option<(Param<B, E>, Param<B, E>)>,
}

/// A multiplicative filter network: FourierNet, GaborNet or MAGNet.
///
/// Initialisation: a filter's W starts as PyTorch's default U(±1/√d), then every row j
/// (every entry jd for MAGNet) is multiplied by `input_scale/√(L+1)` (times γ_j or γ_jd for
/// the Gabor kinds); its bias ~ U(-π, π); μ ~ U(-1, 1). Hidden linears W ~
/// U(±√(weight_scale/h)), bias U(±1/√h); the output linear U(±1/√h) for both.
#[derive(Clone, Debug)]
pub struct Mfn<B: Backend, E: Element> {
    kind: FilterKind,
    in_dim: usize,
    out_dim: usize,
    filters: Vec<Filter<B, E>>,
    hidden: Vec<Dense<B, E>>,
    output: Dense<B, E>,
}

impl<B: Backend, E: Element> Mfn<B, E> {
    /// A net with `layers` = L hidden linears (L + 1 filters) of width `hidden`.
    pub fn new(
        backend: &B,
        rng: &mut Rng,
        kind: FilterKind,
        in_dim: usize,
        hidden: usize,
        out_dim: usize,
        layers: usize,
        init: MfnInit,
    ) -> Result<Self> {
        if in_dim == 0 || hidden == 0 || out_dim == 0 {
            return Err(Error::bad_arg(
                "Mfn::new",
                alloc::format!(
                    "widths must be nonzero (in {in_dim}, hidden {hidden}, out {out_dim})"
                ),
            ));
        }
        if !(init.alpha > 0.0 && init.beta > 0.0 && init.weight_scale >= 0.0) {
            return Err(Error::bad_arg(
                "Mfn::new",
                alloc::format!("α and β must be positive, weight_scale ≥ 0: {init:?}"),
            ));
        }
        let scale = init.input_scale / Float::sqrt((layers + 1) as f64);
        let base = 1.0 / Float::sqrt(in_dim as f64);
        let mut filters = Vec::with_capacity(layers + 1);
        for l in 0..=layers {
            let mut w = uniform_values(rng, hidden * in_dim, base);
            let window = match kind {
                FilterKind::Fourier => {
                    w.iter_mut().for_each(|v| *v *= scale);
                    None
                }
                FilterKind::Gabor | FilterKind::Magnet => {
                    let mu = uniform_values(rng, hidden * in_dim, 1.0);
                    let (shape, per_row) = match kind {
                        FilterKind::Gabor => (init.alpha / (layers + 1) as f64, 1),
                        _ => (init.alpha / (l + 1) as f64, in_dim),
                    };
                    let gamma: Vec<f64> = (0..hidden * per_row)
                        .map(|_| rng.gamma(shape, 1.0 / init.beta))
                        .collect();
                    for j in 0..hidden {
                        for d in 0..in_dim {
                            let g = gamma[j * per_row + if per_row == 1 { 0 } else { d }];
                            w[j * in_dim + d] *= scale * g;
                        }
                    }
                    Some((
                        param_from(backend, &mu, &[hidden, in_dim])?,
                        param_from(backend, &gamma, &[hidden, per_row])?,
                    ))
                }
            };
            let b = uniform_values(rng, hidden, PI);
            filters.push(Filter {
                linear: Dense::from_values(backend, in_dim, hidden, &w, &b)?,
                window,
            });
        }
        let hidden_bound = Float::sqrt(init.weight_scale / hidden as f64);
        let bias_bound = 1.0 / Float::sqrt(hidden as f64);
        let mut hidden_layers = Vec::with_capacity(layers);
        for _ in 0..layers {
            hidden_layers.push(Dense::uniform(
                backend,
                rng,
                hidden,
                hidden,
                hidden_bound,
                bias_bound,
            )?);
        }
        let output = Dense::torch_default(backend, rng, hidden, out_dim)?;
        Ok(Mfn {
            kind,
            in_dim,
            out_dim,
            filters,
            hidden: hidden_layers,
            output,
        })
    }

    /// Which filters this net uses.
    pub fn kind(&self) -> FilterKind {
        self.kind
    }
}

/// `[v, 1]` `[P, n + 1]` for `v` `[P, n]`: a layer's input with a column of ones, so that its
/// product with `[W, b]` adds the bias inside the matrix product instead of in a pass of
/// its own over the `[P, h]` result (and the bias's gradient comes out of the weight's).
fn with_ones<B: Backend, E: Element>(parts: &[&Tensor<B, E>]) -> Result<Tensor<B, E>> {
    let rows = parts[0].dims()[0];
    let ones = Tensor::ones(parts[0].backend(), [rows, 1])?;
    let mut all = parts.to_vec();
    all.push(&ones);
    Tensor::cat(&all, 1)
}

/// `x1 · [W, b]ᵀ` = `x · Wᵀ + b` for `x1` = `[x, 1]` ([`with_ones`]), `W` `[h, n]`, `b` `[h]`.
fn affine<B: Backend, E: Element>(
    x1: &Tensor<B, E>,
    w: &Tensor<B, E>,
    b: &Tensor<B, E>,
) -> Result<Tensor<B, E>> {
    let h = w.dims()[0];
    x1.matmul_t(&Tensor::cat(&[w, &b.reshape([h, 1])?], 1)?, false, true)
}

/// `exp(-½·Σ_d (γ_jd (x_pd - μ_jd))²)` `[P, h]` from `features` `[x², x, 1]` `[P, 2d + 1]`
/// (computed once per forward and shared by all filters), `μ` `[h, d]` and `γ`
/// `[h, 1 or d]`.
///
/// The exponent is a quadratic in `x`, so it is one small product:
/// `−½ Σ_d γ²(x − μ)² = [x², x, 1] · [−½γ², γ²μ, −½ Σ_d γ²μ²]ᵀ`. Computed as written it
/// would go through `[P, h, d]` tensors (three times the size of the result, kept for the
/// backward pass) and a reduction over `d`; as a product it needs only the `[P, h]`
/// result. The price is rounding: the terms are summed before they cancel, so the
/// exponent's error grows with `γ²` (for the initial γ of about 6 it is about 1e-5 in
/// `f32`, the size of the error the sine's argument, in the hundreds, already carries).
fn gaussian_window<B: Backend, E: Element>(
    features: &Tensor<B, E>,
    mu: &Tensor<B, E>,
    gamma: &Tensor<B, E>,
) -> Result<Tensor<B, E>> {
    let (h, d) = (mu.dims()[0], mu.dims()[1]);
    let mut g2 = gamma.square()?;
    if g2.dims()[1] != d {
        g2 = g2.broadcast_to(&[h, d])?;
    }
    let linear = g2.mul(mu)?;
    let quadratic = g2.mul_scalar(E::from_f64(-0.5))?;
    let constant = linear
        .mul(mu)?
        .sum_axes(&[-1], true)?
        .mul_scalar(E::from_f64(-0.5))?;
    let w = Tensor::cat(&[&quadratic, &linear, &constant], 1)?;
    features.matmul_t(&w, false, true)?.exp()
}

impl<B: Backend, E: Element> KernelNet<B, E> for Mfn<B, E> {
    fn in_dim(&self) -> usize {
        self.in_dim
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
    fn params(&self) -> Vec<&Param<B, E>> {
        let mut v = Vec::new();
        for f in &self.filters {
            f.linear.push_params(&mut v);
            if let Some((mu, gamma)) = &f.window {
                v.push(mu);
                v.push(gamma);
            }
        }
        for d in &self.hidden {
            d.push_params(&mut v);
        }
        self.output.push_params(&mut v);
        v
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        let mut v = Vec::new();
        for f in &mut self.filters {
            f.linear.push_params_mut(&mut v);
            if let Some((mu, gamma)) = &mut f.window {
                v.push(mu);
                v.push(gamma);
            }
        }
        for d in &mut self.hidden {
            d.push_params_mut(&mut v);
        }
        self.output.push_params_mut(&mut v);
        v
    }
    fn param_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (i, f) in self.filters.iter().enumerate() {
            Dense::<B, E>::push_names(&alloc::format!("filters.{i}"), &mut v);
            if f.window.is_some() {
                v.push(alloc::format!("filters.{i}.mu"));
                v.push(alloc::format!("filters.{i}.gamma"));
            }
        }
        for i in 0..self.hidden.len() {
            Dense::<B, E>::push_names(&alloc::format!("layers.{i}"), &mut v);
        }
        Dense::<B, E>::push_names("output", &mut v);
        v
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        alloc::vec![ParamRole::Main; self.params().len()]
    }
    fn forward_with(&self, coords: &Tensor<B, E>, params: &[Tensor<B, E>]) -> Result<Tensor<B, E>> {
        check_coords("Mfn::forward", coords, self.in_dim)?;
        let mut cur = ParamCursor::new("Mfn::forward", &self.params(), params)?;
        let coords1 = with_ones(&[coords])?;
        let features = match self.kind {
            FilterKind::Fourier => None,
            FilterKind::Gabor | FilterKind::Magnet => {
                Some(with_ones(&[&coords.square()?, coords])?)
            }
        };
        let mut filtered = Vec::with_capacity(self.filters.len());
        for f in &self.filters {
            let (w, b) = (cur.take(), cur.take());
            let mut z = affine(&coords1, w, b)?.sin()?;
            if let (Some(features), Some(_)) = (&features, &f.window) {
                let (mu, gamma) = (cur.take(), cur.take());
                z = z.mul(&gaussian_window(features, mu, gamma)?)?;
            }
            filtered.push(z);
        }
        let mut z = filtered[0].clone();
        for f in &filtered[1..] {
            z = f.mul(&cur.dense(&z)?)?;
        }
        cur.dense(&z)
    }
}
