//! Sampled group elements as tensors, so that gradients reach the parameters they were
//! drawn with (docs/math.md §4: θ reaches the loss through the sampled angles).

use super::math::RotoReflection;
use super::GroupKind;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use core::f64::consts::TAU;

/// N elements of the stabiliser of a [`GroupKind`], optionally one set per batch element.
///
/// - `rotations`: angles, `[N]`, or `[B, N]` when every batch element has its own draw.
///   Stored wrapped to [0, 2π] (2π only through rounding of a tiny negative angle);
///   the wrap adds a constant, so gradients pass unchanged.
/// - `mirrors`: for E(2) only, ±1 of the same shape (constants, no gradient). E(2)
///   samples are ordered as all rotations with m = +1, then the same rotations with
///   m = -1 (docs/math.md §3), but nothing here relies on that order.
/// - T(2) has the one element `e`: `rotations` is `[1]` (or `[B, 1]`) zeros.
///
/// Host copies of the values are kept beside the tensors, for the wrap-around of relative
/// angles, reports and tests: read back once by [`Elements::new`], or, where the values
/// were computed on the host (fixed draws, partial sampling), kept from there — on a GPU a
/// read waits for all queued work.
#[derive(Clone, Debug)]
pub struct Elements<B: Backend, E: Element> {
    kind: GroupKind,
    rotations: Tensor<B, E>,
    mirrors: Option<Tensor<B, E>>,
    rotation_values: Vec<f64>,
    mirror_values: Option<Vec<f64>>,
}

impl<B: Backend, E: Element> Elements<B, E> {
    /// Wraps sampled tensors (checked: shapes, mirrors present exactly for E(2) and ±1,
    /// T(2) a single zero). The rotations may carry a gradient; they are wrapped to
    /// [0, 2π) by adding constant multiples of 2π.
    pub fn new(
        kind: GroupKind,
        rotations: Tensor<B, E>,
        mirrors: Option<Tensor<B, E>>,
    ) -> Result<Self> {
        Self::check_shape(kind, rotations.dims())?;
        let raw = rotations.to_vec()?;
        Self::with_host_copies(kind, rotations, raw, mirrors, None)
    }

    /// As [`Elements::new`], given the values the tensors hold on the device (`rotations`
    /// rounded to E, the mirrors' ±1) by a caller that computed them on the host bit for
    /// bit: nothing is read back.
    pub(crate) fn with_values(
        kind: GroupKind,
        rotations: Tensor<B, E>,
        values: Vec<E>,
        mirrors: Option<(Tensor<B, E>, Vec<f64>)>,
    ) -> Result<Self> {
        Self::check_shape(kind, rotations.dims())?;
        if values.len() != rotations.numel() {
            return Err(Error::bad_arg(
                "Elements::with_values",
                alloc::format!(
                    "{} host values for {} rotations",
                    values.len(),
                    rotations.numel()
                ),
            ));
        }
        let (mirrors, mirror_values) = match mirrors {
            Some((m, v)) => (Some(m), Some(v)),
            None => (None, None),
        };
        Self::with_host_copies(kind, rotations, values, mirrors, mirror_values)
    }

    /// Rotations must be `[N]` or `[batch, N]` with N ≥ 1, and N = 1 for T(2).
    fn check_shape(kind: GroupKind, dims: &[usize]) -> Result<()> {
        if !(dims.len() == 1 || dims.len() == 2) || dims[dims.len() - 1] == 0 {
            return Err(Error::bad_shape(
                "Elements::new",
                dims,
                "rotations must be [N] or [batch, N] with N ≥ 1",
            ));
        }
        if kind == GroupKind::T2 && dims[dims.len() - 1] != 1 {
            return Err(Error::bad_shape(
                "Elements::new",
                dims,
                "T2 has exactly one element",
            ));
        }
        Ok(())
    }

    /// The rest of [`Elements::new`], given the rotations' values on the host (`raw`) and,
    /// when known, the mirrors' (`known_mirrors`; downloaded otherwise).
    fn with_host_copies(
        kind: GroupKind,
        rotations: Tensor<B, E>,
        raw: Vec<E>,
        mirrors: Option<Tensor<B, E>>,
        known_mirrors: Option<Vec<f64>>,
    ) -> Result<Self> {
        let dims = rotations.dims().to_vec();
        if raw.iter().any(|v| !v.is_finite()) {
            return Err(Error::bad_arg(
                "Elements::new",
                "a rotation angle is not finite (did θ diverge?)",
            ));
        }
        if kind == GroupKind::T2 && raw.iter().any(|&v| v != E::zero()) {
            return Err(Error::bad_arg(
                "Elements::new",
                "the T2 element is the identity, its rotation must be 0",
            ));
        }
        let mirror_values = match (kind.has_mirrors(), &mirrors) {
            (false, None) => None,
            (true, Some(m)) => {
                if m.dims() != dims.as_slice() {
                    return Err(Error::mismatch(
                        "Elements::new",
                        &dims,
                        m.dims(),
                        "mirrors must have the shape of the rotations",
                    ));
                }
                let v: Vec<f64> = match known_mirrors {
                    Some(v) => v,
                    None => m.to_vec()?.iter().map(|&x| Element::to_f64(x)).collect(),
                };
                if v.iter().any(|&x| x != 1.0 && x != -1.0) {
                    return Err(Error::bad_arg(
                        "Elements::new",
                        "mirrors must be exactly +1 or -1",
                    ));
                }
                Some(v)
            }
            (true, None) => {
                return Err(Error::bad_arg("Elements::new", "E2 elements need mirrors"))
            }
            (false, Some(_)) => {
                return Err(Error::bad_arg(
                    "Elements::new",
                    alloc::format!("{kind} elements have no mirrors"),
                ))
            }
        };
        // Wrap into [0, 2π) with a constant offset, computed in E exactly as the device
        // will add it, so that the host copies equal the device values bit for bit.
        let tau = E::from_f64(TAU);
        let offsets: Vec<E> = raw.iter().map(|&v| wrap_offset(v, tau)).collect();
        let (rotations, values) = if offsets.iter().all(|&o| o == E::zero()) {
            (rotations, raw)
        } else {
            let o = Tensor::from_slice(rotations.backend(), &offsets, dims.clone())?;
            let wrapped: Vec<E> = raw.iter().zip(&offsets).map(|(&v, &o)| v + o).collect();
            (rotations.add(&o)?, wrapped)
        };
        Ok(Elements {
            kind,
            rotations,
            mirrors,
            rotation_values: values.iter().map(|&v| Element::to_f64(v)).collect(),
            mirror_values,
        })
    }

    /// Constant elements from host values: `rotations` (and for E(2) `mirrors`) hold
    /// `batch.unwrap_or(1) · N` values, batch-major.
    pub fn from_values(
        backend: &B,
        kind: GroupKind,
        rotations: &[f64],
        mirrors: Option<&[f64]>,
        batch: Option<usize>,
    ) -> Result<Self> {
        let b = batch.unwrap_or(1);
        if b == 0 || rotations.is_empty() || !rotations.len().is_multiple_of(b) {
            return Err(Error::bad_arg(
                "Elements::from_values",
                alloc::format!(
                    "{} rotations cannot be split into {b} batch rows of N ≥ 1",
                    rotations.len()
                ),
            ));
        }
        let n = rotations.len() / b;
        let dims: Vec<usize> = match batch {
            Some(b) => alloc::vec![b, n],
            None => alloc::vec![n],
        };
        // The values as the device holds them (rounded to E), kept on the host as they
        // are: no download (which on a GPU would wait for all queued work).
        let raw: Vec<E> = rotations.iter().map(|&v| E::from_f64(v)).collect();
        let r = Tensor::from_slice(backend, &raw, dims.clone())?;
        let m = match mirrors {
            Some(m) => {
                if m.len() != rotations.len() {
                    return Err(Error::bad_arg(
                        "Elements::from_values",
                        alloc::format!("{} mirrors for {} rotations", m.len(), rotations.len()),
                    ));
                }
                let host: Vec<f64> = m.iter().map(|&v| E::from_f64(v).to_f64()).collect();
                Some((Tensor::from_f64s(backend, m, dims)?, host))
            }
            None => None,
        };
        Self::with_values(kind, r, raw, m)
    }

    /// The identity alone (`N = 1`): the only element of T(2).
    pub fn identity(backend: &B, kind: GroupKind) -> Result<Self> {
        let mirrors = kind.has_mirrors().then_some(&[1.0][..]);
        Self::from_values(backend, kind, &[0.0], mirrors, None)
    }

    /// The group these elements belong to.
    pub fn kind(&self) -> GroupKind {
        self.kind
    }
    /// The number of elements N (per batch row).
    pub fn len(&self) -> usize {
        let d = self.rotations.dims();
        d[d.len() - 1]
    }
    /// Always false: there is at least one element.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// `Some(B)` when every batch element has its own draw (`[B, N]` tensors).
    pub fn batch(&self) -> Option<usize> {
        let d = self.rotations.dims();
        (d.len() == 2).then(|| d[0])
    }
    /// The leading dims every derived tensor gets: `[]` or `[B]`.
    pub fn batch_dims(&self) -> Vec<usize> {
        self.batch().into_iter().collect()
    }
    /// The angles, `[N]` or `[B, N]`, possibly carrying a gradient.
    pub fn rotations(&self) -> &Tensor<B, E> {
        &self.rotations
    }
    /// The mirrors (E(2) only), ±1, same shape.
    pub fn mirrors(&self) -> Option<&Tensor<B, E>> {
        self.mirrors.as_ref()
    }
    /// Host copy of the angles, batch-major.
    pub fn rotation_values(&self) -> &[f64] {
        &self.rotation_values
    }
    /// Host copy of the mirrors (E(2) only).
    pub fn mirror_values(&self) -> Option<&[f64]> {
        self.mirror_values.as_deref()
    }
    /// Element `n` of batch row `b` (row 0 when unbatched) as (r, m); `m = 1` without
    /// mirrors. Out-of-range indices are an error.
    pub fn element(&self, b: usize, n: usize) -> Result<RotoReflection> {
        let rows = self.batch().unwrap_or(1);
        if b >= rows || n >= self.len() {
            return Err(Error::bad_arg(
                "Elements::element",
                alloc::format!(
                    "index ({b}, {n}) is out of range for {rows} rows of {} elements",
                    self.len()
                ),
            ));
        }
        let i = b * self.len() + n;
        let m = self.mirror_values.as_ref().map_or(1.0, |m| m[i]);
        Ok(RotoReflection {
            r: self.rotation_values[i],
            mirrored: m < 0.0,
        })
    }
    /// True when the angles carry a gradient (to θ).
    pub fn requires_grad(&self) -> bool {
        self.rotations.requires_grad()
    }
    /// The same elements, cut from the graph.
    pub fn detach(&self) -> Self {
        Elements {
            rotations: self.rotations.detach(),
            ..self.clone()
        }
    }
}

/// The multiple of 2π that moves `v` into [0, 2π] when added in `E` (the quotient can
/// round up just below a multiple of 2π, hence the correction).
pub(crate) fn wrap_offset<E: Element>(v: E, tau: E) -> E {
    let o = -tau * (v / tau).floor();
    if v + o < E::zero() {
        o + tau
    } else {
        o
    }
}
