//! Keep-or-drop decisions for discrete group elements and the E(2) mirror
//! (docs/math.md §4): a relaxed Bernoulli (binary Gumbel-softmax, "binary concrete")
//! with a straight-through hard threshold, and the linear temperature schedule.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// How a learned parameter `p` becomes the keep probability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeepParameterisation {
    /// `p` is the logit: keep probability `sigmoid(p)`, anywhere in (0, 1). The default.
    #[default]
    Sigmoid,
    /// The reference implementation's form: `sigmoid(2·p)` is used as the logit, so the
    /// keep probability is `sigmoid(sigmoid(2·p))`, pinned between 0.5 and 0.73: an
    /// element can never become unlikely. Offered to reproduce the reference's runs.
    ReferenceSigmoid2,
}

impl KeepParameterisation {
    /// The Bernoulli logits for parameters `p` (differentiable).
    pub fn logits<B: Backend, E: Element>(self, p: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        match self {
            KeepParameterisation::Sigmoid => Ok(p.clone()),
            KeepParameterisation::ReferenceSigmoid2 => p.mul_scalar(E::from_f64(2.0))?.sigmoid(),
        }
    }
    /// The keep probability for a parameter value `p` (for reports).
    pub fn keep_probability(self, p: f64) -> f64 {
        let logit = match self {
            KeepParameterisation::Sigmoid => p,
            KeepParameterisation::ReferenceSigmoid2 => sigmoid(2.0 * p),
        };
        sigmoid(logit)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + num_traits::Float::exp(-x))
}

/// The temperature τ of the relaxed Bernoulli, falling linearly from `init` to `end` over
/// `iterations` training iterations, then staying at `end` (docs/math.md §4: 0.5 → 1e-4
/// over the whole run).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TemperatureSchedule {
    /// τ at iteration 0 (`gumbel_init_temp`, 0.5).
    pub init: f64,
    /// τ from iteration `iterations` on (`gumbel_end_temp`, 1e-4).
    pub end: f64,
    /// The number of training iterations (epochs × batches per epoch).
    pub iterations: usize,
}

impl TemperatureSchedule {
    /// The schedule 0.5 → 1e-4 over `iterations`.
    pub fn new(iterations: usize) -> Self {
        TemperatureSchedule {
            init: 0.5,
            end: 1e-4,
            iterations,
        }
    }
    /// τ at training iteration `iter` (0-based). With `iterations == 0` it is `end`.
    pub fn temperature(&self, iter: usize) -> f64 {
        if iter >= self.iterations {
            return self.end;
        }
        let frac = iter as f64 / self.iterations as f64;
        self.init - frac * (self.init - self.end)
    }
}

/// `n` draws of standard logistic noise `log u - log(1 - u)`, u ~ U(0, 1).
pub fn logistic_noise(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let mut u = rng.uniform();
            while u == 0.0 {
                u = rng.uniform();
            }
            num_traits::Float::ln(u) - num_traits::Float::ln(1.0 - u)
        })
        .collect()
}

/// The relaxed Bernoulli sample `sigmoid((logits + noise)/τ)`, differentiable in the
/// logits. `noise` is logistic noise (one value per logit, see [`logistic_noise`]).
pub fn relaxed_bernoulli<B: Backend, E: Element>(
    logits: &Tensor<B, E>,
    noise: &[f64],
    temperature: f64,
) -> Result<Tensor<B, E>> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::bad_arg(
            "relaxed_bernoulli",
            alloc::format!("the temperature must be positive and finite, not {temperature}"),
        ));
    }
    if noise.len() != logits.numel() {
        return Err(Error::bad_shape(
            "relaxed_bernoulli",
            logits.dims(),
            alloc::format!("{} noise values were given", noise.len()),
        ));
    }
    let noise = Tensor::from_f64s(logits.backend(), noise, logits.shape().clone())?;
    logits
        .add(&noise)?
        .mul_scalar(E::from_f64(1.0 / temperature))?
        .sigmoid()
}

/// Hard keep-or-drop decisions with a straight-through gradient.
#[derive(Clone, Debug)]
pub struct KeepDraw<B: Backend, E: Element> {
    /// The hard decisions (relaxed sample > 0.5), on the host.
    pub keep: Vec<bool>,
    /// Exactly 1.0 where kept and 0.0 where dropped in the forward pass; in the backward
    /// pass it passes the relaxed sample's gradient (`hard + (relaxed - relaxed.detach())`,
    /// where the bracket is exactly 0 forward).
    pub gates: Tensor<B, E>,
}

/// Thresholds a relaxed sample at 0.5 (straight-through, see [`KeepDraw`]).
pub fn straight_through<B: Backend, E: Element>(relaxed: &Tensor<B, E>) -> Result<KeepDraw<B, E>> {
    let half = E::from_f64(0.5);
    let keep: Vec<bool> = relaxed.to_vec()?.iter().map(|&y| y > half).collect();
    let hard: Vec<E> = keep
        .iter()
        .map(|&k| if k { E::one() } else { E::zero() })
        .collect();
    let hard = Tensor::from_slice(relaxed.backend(), &hard, relaxed.shape().clone())?;
    let gates = relaxed.sub(&relaxed.detach())?.add(&hard)?;
    Ok(KeepDraw { keep, gates })
}
