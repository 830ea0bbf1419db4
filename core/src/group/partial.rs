//! Learned partial equivariance (docs/math.md §4): the parameters a partial group
//! convolution owns, how it samples its elements from them, what it reports, and the
//! monotonic loss.

use super::bernoulli::{
    logistic_noise, relaxed_bernoulli, straight_through, KeepDraw, KeepParameterisation,
};
use super::concat::concat_last;
use super::sampling::{mirrored_rotation, rotation_grid, SamplingMethod};
use super::{Elements, GroupKind};
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;
use core::f64::consts::PI;

/// Settings of a partial group convolution's learned subset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartialConfig {
    /// SE2 or E2 (T2 has nothing to learn).
    pub kind: GroupKind,
    /// N, the number of samples of the whole group.
    pub no_samples: usize,
    /// Random: θ for the rotations. Deterministic: one logit per non-identity rotation.
    pub method: SamplingMethod,
    /// How logits become keep probabilities.
    pub keep: KeepParameterisation,
    /// Initial θ (docs/math.md §4: 1, the whole circle).
    pub init_theta: f64,
    /// Initial logits of the discrete decisions (the reference uses 1).
    pub init_logit: f64,
}

impl PartialConfig {
    /// The reference's defaults: θ = 1, logits 1, keep probability `sigmoid(p)`.
    pub fn new(kind: GroupKind, no_samples: usize, method: SamplingMethod) -> Self {
        PartialConfig {
            kind,
            no_samples,
            method,
            keep: KeepParameterisation::Sigmoid,
            init_theta: 1.0,
            init_logit: 1.0,
        }
    }
}

/// How the keep-or-drop decisions are made in [`PartialEquivariance::sample`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeepMode {
    /// Draw from the relaxed Bernoulli at this temperature (training, and evaluation as
    /// the reference does it); gates carry the straight-through gradient.
    Sample {
        /// τ, see [`TemperatureSchedule`](super::TemperatureSchedule).
        temperature: f64,
    },
    /// Keep exactly the elements whose keep probability exceeds 0.5, and take a
    /// θ-scaled grid without its random offset; no gates (a deterministic evaluation).
    MostLikely,
}

/// The elements a partial layer drew, and the gates of its keep-or-drop decisions.
///
/// # How a layer uses it
///
/// `sample` returns the elements the layer's output lives on (only the kept ones:
/// dropped elements are removed, so `N` can shrink from draw to draw) and, when keep-or-
/// drop decisions were drawn, `gates`: one value per kept element, exactly 1.0 in the
/// forward pass, carrying the straight-through gradient of its decisions. The layer
/// multiplies output sample `n` by `gates[n]` (equivalently the kernel `K_n` and the
/// bias of sample `n`), e.g. `out [B, C, N, H, W] * gates.reshape([1, 1, N, 1, 1])`.
/// That leaves the forward pass unchanged and sends `d loss / d gate_n =
/// Σ out_n · d loss / d out_n` to the logits: "how much the loss wants element n".
/// Dropped elements are absent, so their logits get no gradient from that draw (as in the
/// reference; the next draw may keep them). The gates are shared by the whole batch.
///
/// The reference code instead scales each kept element's angle by its gate, sending the
/// gradient through the kernel net; a layer that wants that form can build its
/// coordinates from `Elements::new(kind, elements.rotations().mul(gates)?,
/// elements.mirrors().cloned())` instead of multiplying its output.
#[derive(Clone, Debug)]
pub struct PartialSample<B: Backend, E: Element> {
    /// The kept elements (`[N]` or `[B, N]`), angles carrying the gradient to θ.
    pub elements: Elements<B, E>,
    /// `[N]`, 1.0 forward, straight-through gradient to the logits; `None` when no
    /// decision was drawn (nothing to multiply). See the module docs.
    pub gates: Option<Tensor<B, E>>,
}

/// What a partial layer has learned, for the per-epoch report.
#[derive(Clone, Debug, PartialEq)]
pub struct PartialReport {
    /// The group.
    pub kind: GroupKind,
    /// θ (random sampling): the layer covers rotations in [-πθ, πθ).
    pub theta: Option<f64>,
    /// Keep probabilities of the non-identity rotations 2π·i/N_r, i = 1..N_r-1
    /// (deterministic sampling).
    pub rotation_keep: Vec<f64>,
    /// Keep probability of the mirror (E(2)).
    pub mirror_keep: Option<f64>,
}

impl core::fmt::Display for PartialReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(t) = self.theta {
            write!(f, " theta={t:.4}")?;
        }
        if !self.rotation_keep.is_empty() {
            write!(f, " rotations=[")?;
            for (i, p) in self.rotation_keep.iter().enumerate() {
                write!(f, "{}{p:.3}", if i > 0 { ", " } else { "" })?;
            }
            write!(f, "]")?;
        }
        if let Some(m) = self.mirror_keep {
            write!(f, " mirror={m:.3}")?;
        }
        Ok(())
    }
}

/// N' = min(max(⌈N_r·|θ|⌉, 1), N_r): how many rotations a layer with θ uses.
pub fn rotation_count(n_r: usize, theta: f64) -> Result<usize> {
    if !theta.is_finite() {
        return Err(Error::bad_arg(
            "rotation_count",
            alloc::format!("θ is {theta}; training diverged"),
        ));
    }
    let want = num_traits::Float::ceil(n_r as f64 * theta.abs());
    Ok((want.max(1.0) as usize).min(n_r.max(1)))
}

/// The partial rotations `r_i = θ·(-π + 2π·(i + u_b)/N')`, i = 0..N'-1, one row per
/// offset `u_b` in `offsets` (`[N']` for one offset without `batched`, `[B, N']`
/// otherwise): a stratified sample of [-πθ, πθ) whose gradient reaches `theta`
/// (`[1]` or rank 0).
pub fn partial_rotations<B: Backend, E: Element>(
    theta: &Tensor<B, E>,
    n_prime: usize,
    offsets: &[f64],
    batched: bool,
) -> Result<Tensor<B, E>> {
    if theta.numel() != 1 || n_prime == 0 || offsets.is_empty() {
        return Err(Error::bad_shape(
            "partial_rotations",
            theta.dims(),
            alloc::format!(
                "needs a one-element θ, N' ≥ 1 and an offset ({n_prime}, {} offsets)",
                offsets.len()
            ),
        ));
    }
    if !batched && offsets.len() != 1 {
        return Err(Error::bad_arg(
            "partial_rotations",
            "an unbatched draw has exactly one offset",
        ));
    }
    let dims = if batched {
        vec![offsets.len(), n_prime]
    } else {
        vec![n_prime]
    };
    let c = Tensor::from_f64s(theta.backend(), &rotation_factors(n_prime, offsets), dims)?;
    theta.reshape([1])?.mul(&c)
}

/// The factors `c_i` with `r_i = θ·c_i` of [`partial_rotations`]: the stratified grid
/// shifted to [-π, π), per offset.
fn rotation_factors(n_prime: usize, offsets: &[f64]) -> Vec<f64> {
    let mut c = Vec::with_capacity(offsets.len() * n_prime);
    for &u in offsets {
        c.extend(rotation_grid(n_prime, u).iter().map(|r| r - PI));
    }
    c
}

/// What [`partial_rotations`] computes on the device, computed on the host from θ's value:
/// one product in `E` per element, the same single rounding the device's product makes,
/// so the values are equal bit for bit and need not be read back.
fn partial_rotation_values<E: Element>(theta: E, n_prime: usize, offsets: &[f64]) -> Vec<E> {
    rotation_factors(n_prime, offsets)
        .into_iter()
        .map(|c| theta * E::from_f64(c))
        .collect()
}

/// The monotonic loss `weight·Σ_l relu(θ_{l+1} - θ_l)` over the θ of consecutive partial
/// group convolutions (in network order): later layers should not be more equivariant.
/// A rank-0 tensor; 0 for fewer than two layers.
pub fn monotonic_loss<B: Backend, E: Element>(
    backend: &B,
    thetas: &[&Tensor<B, E>],
    weight: f64,
) -> Result<Tensor<B, E>> {
    let mut total = Tensor::scalar(backend, E::zero())?;
    for pair in thetas.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.numel() != 1 || b.numel() != 1 {
            return Err(Error::mismatch(
                "monotonic_loss",
                a.dims(),
                b.dims(),
                "every θ must have one element",
            ));
        }
        let step = b
            .reshape(Vec::new())?
            .sub(&a.reshape(Vec::new())?)?
            .relu()?;
        total = total.add(&step)?;
    }
    total.mul_scalar(E::from_f64(weight))
}

/// Hard keep decisions and, when they were sampled, their straight-through gates.
type Decision<B, E> = (Vec<bool>, Option<Tensor<B, E>>);

/// The learnable subset of a partial group convolution: θ for random sampling, one logit
/// per non-identity rotation for deterministic sampling, and the mirror logit for E(2).
/// Every parameter belongs to the `lr_probs` optimiser group.
#[derive(Clone, Debug)]
pub struct PartialEquivariance<B: Backend, E: Element> {
    backend: B,
    config: PartialConfig,
    n_r: usize,
    theta: Option<Param<B, E>>,
    rotation_logits: Option<Param<B, E>>,
    mirror_logit: Option<Param<B, E>>,
}

impl<B: Backend, E: Element> PartialEquivariance<B, E> {
    /// The parameters at their initial values.
    pub fn new(backend: &B, config: PartialConfig) -> Result<Self> {
        if config.kind == GroupKind::T2 {
            return Err(Error::bad_arg(
                "PartialEquivariance::new",
                "T2 has a trivial stabiliser: there is no subset to learn",
            ));
        }
        let n_r = config.kind.rotations_for(config.no_samples)?;
        let filled = |n: usize, v: f64| -> Result<Param<B, E>> {
            Ok(Param::new(Tensor::full(backend, [n], E::from_f64(v))?))
        };
        let theta = match config.method {
            SamplingMethod::Random => Some(filled(1, config.init_theta)?),
            SamplingMethod::Deterministic => None,
        };
        let rotation_logits = match config.method {
            SamplingMethod::Deterministic if n_r > 1 => Some(filled(n_r - 1, config.init_logit)?),
            _ => None,
        };
        let mirror_logit = if config.kind.has_mirrors() {
            Some(filled(1, config.init_logit)?)
        } else {
            None
        };
        Ok(PartialEquivariance {
            backend: backend.clone(),
            config,
            n_r,
            theta,
            rotation_logits,
            mirror_logit,
        })
    }

    /// The settings this was made with.
    pub fn config(&self) -> &PartialConfig {
        &self.config
    }
    /// θ (random sampling), `[1]`; its tensor is what [`monotonic_loss`] takes.
    pub fn theta(&self) -> Option<&Param<B, E>> {
        self.theta.as_ref()
    }
    /// Logits of the rotations 2π·i/N_r, i = 1..N_r-1 (deterministic sampling).
    pub fn rotation_logits(&self) -> Option<&Param<B, E>> {
        self.rotation_logits.as_ref()
    }
    /// The mirror's logit (E(2)).
    pub fn mirror_logit(&self) -> Option<&Param<B, E>> {
        self.mirror_logit.as_ref()
    }
    /// All parameters (θ, rotation logits, mirror logit, those present, in that order).
    pub fn params(&self) -> Vec<&Param<B, E>> {
        [&self.theta, &self.rotation_logits, &self.mirror_logit]
            .into_iter()
            .flatten()
            .collect()
    }
    /// All parameters, mutably, in the order of [`PartialEquivariance::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        [
            &mut self.theta,
            &mut self.rotation_logits,
            &mut self.mirror_logit,
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The current θ, keep probabilities and mirror probability.
    pub fn report(&self) -> Result<PartialReport> {
        let keep = self.config.keep;
        let values = |p: &Option<Param<B, E>>| -> Result<Vec<f64>> {
            Ok(match p {
                Some(p) => p
                    .tensor()
                    .to_vec()?
                    .iter()
                    .map(|&v| Element::to_f64(v))
                    .collect(),
                None => Vec::new(),
            })
        };
        Ok(PartialReport {
            kind: self.config.kind,
            theta: values(&self.theta)?.first().copied(),
            rotation_keep: values(&self.rotation_logits)?
                .iter()
                .map(|&p| keep.keep_probability(p))
                .collect(),
            mirror_keep: values(&self.mirror_logit)?
                .first()
                .map(|&p| keep.keep_probability(p)),
        })
    }

    /// Keep-or-drop decisions for `logits`: hard values and, when sampled, gates.
    fn decide(
        &self,
        logits: &Param<B, E>,
        mode: KeepMode,
        rng: &mut Rng,
    ) -> Result<Decision<B, E>> {
        match mode {
            KeepMode::Sample { temperature } => {
                let l = self.config.keep.logits(logits.tensor())?;
                let noise = logistic_noise(rng, l.numel());
                let KeepDraw { keep, gates } =
                    straight_through(&relaxed_bernoulli(&l, &noise, temperature)?)?;
                Ok((keep, Some(gates)))
            }
            KeepMode::MostLikely => {
                let keep = logits
                    .tensor()
                    .to_vec()?
                    .iter()
                    .map(|p| self.config.keep.keep_probability(Element::to_f64(*p)) > 0.5)
                    .collect();
                Ok((keep, None))
            }
        }
    }

    /// Draws this layer's elements: with `batch = Some(B)` one random offset per batch
    /// element (`[B, N]` elements; the keep decisions are shared by the batch).
    pub fn sample(
        &self,
        batch: Option<usize>,
        mode: KeepMode,
        rng: &mut Rng,
    ) -> Result<PartialSample<B, E>> {
        let backend = self.backend.clone();
        let rows = batch.unwrap_or(1);
        // 1. The rotations, with their gates (rotation part only).
        // Beside each tensor of angles, its values on the host (equal bit for bit), so
        // that the elements need not read them back: on a GPU every read waits for all
        // queued work.
        // The fifth value: the angles in f64 when they are constants (the discrete grid),
        // None when they carry θ's gradient.
        let (rotations, host, rotation_gates, n, constant) =
            match (&self.theta, &self.rotation_logits) {
                (Some(theta), _) => {
                    let theta_value = theta.tensor().to_scalar()?;
                    let n_prime = rotation_count(self.n_r, Element::to_f64(theta_value))?;
                    // The most likely pass takes the grid as it is; a sampled one shifts it.
                    let offsets: Vec<f64> = match mode {
                        KeepMode::Sample { .. } => (0..rows).map(|_| rng.uniform()).collect(),
                        KeepMode::MostLikely => vec![0.0; rows],
                    };
                    let r = partial_rotations(theta.tensor(), n_prime, &offsets, batch.is_some())?;
                    let host = partial_rotation_values(theta_value, n_prime, &offsets);
                    (r, host, None, n_prime, None)
                }
                (None, logits) => {
                    let grid = rotation_grid(self.n_r, 0.0);
                    let (keep, gates) = match logits {
                        Some(l) => self.decide(l, mode, rng)?,
                        None => (Vec::new(), None),
                    };
                    // The identity (index 0) is always kept.
                    let kept: Vec<usize> =
                        (0..self.n_r).filter(|&i| i == 0 || keep[i - 1]).collect();
                    let values: Vec<f64> = (0..rows)
                        .flat_map(|_| kept.iter().map(|&i| grid[i]))
                        .collect();
                    let dims = match batch {
                        Some(b) => vec![b, kept.len()],
                        None => vec![kept.len()],
                    };
                    let host: Vec<E> = values.iter().map(|&v| E::from_f64(v)).collect();
                    let r = Tensor::from_slice(&backend, &host, dims)?;
                    let gates = match gates {
                        Some(g) => Some(select_gates(&g, &kept)?),
                        None => None,
                    };
                    (r, host, gates, kept.len(), Some(values))
                }
            };
        // 2. The mirror (E(2)): the rotations once more, with m = -1, when it is kept.
        let mirror = match &self.mirror_logit {
            Some(l) => Some(self.decide(l, mode, rng)?),
            None => None,
        };
        let (rotations, host, mirrors, gates) = match mirror {
            None => (rotations, host, None, rotation_gates),
            Some((keep, mirror_gate)) => {
                let with_mirror = keep[0];
                let copies = if with_mirror { 2 } else { 1 };
                // m = +1 for the first n samples, -1 for the copy (as docs/math.md §3).
                let m_rows: Vec<f64> = (0..rows * copies * n)
                    .map(|i| if i % (copies * n) < n { 1.0 } else { -1.0 })
                    .collect();
                let dims = match batch {
                    Some(b) => vec![b, copies * n],
                    None => vec![copies * n],
                };
                let mirrors = Tensor::from_f64s(&backend, &m_rows, dims)?;
                let (rotations, host) = if with_mirror {
                    // Each row's n angles r_i, then the mirrored elements' -r_i: the
                    // reference's (r_i, -1) in pgcnn's parameterisation (docs/math.md §3).
                    // Constant grids wrap into [0, 2π) as the full group's samples do;
                    // θ's angles are negated exactly, so that the gradient passes.
                    let (negated, negated_host) = match &constant {
                        Some(values) => {
                            let h: Vec<E> = values
                                .iter()
                                .map(|&v| E::from_f64(mirrored_rotation(v)))
                                .collect();
                            (
                                Tensor::from_slice(&backend, &h, rotations.dims().to_vec())?,
                                h,
                            )
                        }
                        None => (
                            rotations.mul_scalar(-E::one())?,
                            host.iter().map(|&v| -v).collect(),
                        ),
                    };
                    let host = host
                        .chunks(n)
                        .zip(negated_host.chunks(n))
                        .flat_map(|(row, neg)| row.iter().chain(neg))
                        .copied();
                    (concat_last(&[&rotations, &negated])?, host.collect())
                } else {
                    (rotations, host)
                };
                let plain = match &rotation_gates {
                    Some(g) => g.clone(),
                    None => Tensor::ones(&backend, [n])?,
                };
                let gates = match (with_mirror, mirror_gate) {
                    (true, Some(mg)) => Some(concat_last(&[&plain, &plain.mul(&mg)?])?),
                    (true, None) => rotation_gates.map(|g| concat_last(&[&g, &g])).transpose()?,
                    (false, _) => rotation_gates,
                };
                (rotations, host, Some((mirrors, m_rows)), gates)
            }
        };
        Ok(PartialSample {
            elements: Elements::with_values(self.config.kind, rotations, host, mirrors)?,
            gates,
        })
    }
}

/// The gates of the kept rotations: 1 (constant) for the identity at index 0, the drawn
/// gate of rotation i for every other kept index i (a 0/1 selection matmul, so that the
/// gradient reaches exactly the kept logits).
fn select_gates<B: Backend, E: Element>(
    gates: &Tensor<B, E>,
    kept: &[usize],
) -> Result<Tensor<B, E>> {
    let n_logits = gates.numel();
    let mut sel = vec![E::zero(); n_logits * kept.len()];
    let mut identity = vec![E::zero(); kept.len()];
    for (k, &i) in kept.iter().enumerate() {
        if i == 0 {
            identity[k] = E::one();
        } else {
            sel[(i - 1) * kept.len() + k] = E::one();
        }
    }
    let backend = gates.backend();
    let sel = Tensor::from_slice(backend, &sel, [n_logits, kept.len()])?;
    let identity = Tensor::from_slice(backend, &identity, [kept.len()])?;
    gates
        .reshape([1, n_logits])?
        .matmul(&sel)?
        .reshape([kept.len()])?
        .add(&identity)
}
