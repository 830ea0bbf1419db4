//! Relative group elements h_n⁻¹·g_j and the kernel-net inputs of group convolutions
//! (docs/math.md §2, §6).

use super::concat::{concat_last, stack_last};
use super::elements::wrap_offset;
use super::grid::{acted_grid, KernelGrid};
use super::{Elements, GroupKind};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use core::f64::consts::{PI, TAU};

/// The batch dims shared by two sets of elements: `[]` when neither is batched, `[B]`
/// when one or both are (both: the same B).
fn common_batch<B: Backend, E: Element>(
    op: &'static str,
    out: &Elements<B, E>,
    inp: &Elements<B, E>,
) -> Result<Option<usize>> {
    if out.kind() != inp.kind() {
        return Err(Error::bad_arg(
            op,
            alloc::format!(
                "output elements are {} but input elements are {}",
                out.kind(),
                inp.kind()
            ),
        ));
    }
    match (out.batch(), inp.batch()) {
        (Some(a), Some(b)) if a != b => Err(Error::mismatch(
            op,
            out.rotations().dims(),
            inp.rotations().dims(),
            "output and input elements are drawn for different batch sizes",
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// Kernel-net coordinates of the relative elements `h_n⁻¹·g_j` for output elements `out`
/// (h) and input elements `inp` (g): `[Nout, Nin, s]`, or `[B, Nout, Nin, s]` when either
/// side is batched (the other is shared by the batch).
///
/// The rotation part is `ρ/π - 1` with `ρ = m_g·(r_g - r_h) mod 2π` (so in [-1, 1)); for
/// E(2) the mirror part `m_h·m_g` follows. `ρ` is the rotation of `h⁻¹·g` written in the
/// reference implementation's parameterisation of O(2), so that kernel nets trained there
/// mean the same here (docs/math.md §2; in pgcnn's own parameterisation the rotation of
/// `h⁻¹·g` is `m_h·(r_g - r_h)`; both are functions of `h⁻¹·g` alone, hence equivariant).
/// Both sides' angles pass their gradients; the mod adds constants. This is the pointwise group convolution's kernel-net input, and
/// the last `s` coordinates of [`group_conv_coords`]. T(2) gives an empty last axis.
pub fn relative_coords<B: Backend, E: Element>(
    out: &Elements<B, E>,
    inp: &Elements<B, E>,
) -> Result<Tensor<B, E>> {
    let batch = common_batch("relative_coords", out, inp)?;
    let (n_out, n_in) = (out.len(), inp.len());
    let mut dims: Vec<usize> = batch.into_iter().collect();
    dims.extend_from_slice(&[n_out, n_in]);
    let backend = out.rotations().backend();
    if out.kind() == GroupKind::T2 {
        let mut d = dims;
        d.push(0);
        return Tensor::zeros(backend, d);
    }

    // Host mirror of the device arithmetic, in E, to find the wrap offsets.
    let rows = batch.unwrap_or(1);
    let tau = E::from_f64(TAU);
    let mut offsets = Vec::with_capacity(rows * n_out * n_in);
    let mut mirror_products = Vec::with_capacity(rows * n_out * n_in);
    for b in 0..rows {
        for n in 0..n_out {
            let h = out.element(b.min(out.batch().unwrap_or(1) - 1), n)?;
            for j in 0..n_in {
                let g = inp.element(b.min(inp.batch().unwrap_or(1) - 1), j)?;
                let d = (E::from_f64(g.r) - E::from_f64(h.r)) * E::from_f64(g.m());
                offsets.push(wrap_offset(d, tau));
                mirror_products.push(h.m() * g.m());
            }
        }
    }

    let with_axis = |t: &Tensor<B, E>, axis_from_end: usize| -> Result<Tensor<B, E>> {
        let mut d = t.dims().to_vec();
        d.insert(d.len() + 1 - axis_from_end, 1);
        t.reshape(d)
    };
    let h = with_axis(out.rotations(), 1)?; // [.., Nout, 1]
    let g = with_axis(inp.rotations(), 2)?; // [.., 1, Nin]
    let mut rel = g.sub(&h)?;
    if let Some(m) = inp.mirrors() {
        rel = rel.mul(&with_axis(m, 2)?)?;
    }
    let rel = rel.add(&Tensor::from_slice(backend, &offsets, dims.clone())?)?;
    let rot = rel
        .mul_scalar(E::from_f64(1.0 / PI))?
        .add_scalar(-E::one())?;
    if out.kind() == GroupKind::E2 {
        let mirror = Tensor::from_f64s(backend, &mirror_products, dims)?;
        stack_last(&[&rot, &mirror])
    } else {
        stack_last(&[&rot])
    }
}

/// The group convolution's kernel-net input (docs/math.md §6):
/// `concat(A(h_n⁻¹)·p, coords(h_n⁻¹·g_j))` for every output element `h_n`, input element
/// `g_j` and grid position `p`, as `[Nout, Nin, k, k, 2 + s]` (`[B, ..]` when batched).
/// Reshape to `[Nout·Nin·k·k, 2 + s]` for the kernel net; its `[.., Cout·Cin]` output then
/// reads as `[Nout, Nin, k, k, Cout, Cin]`.
pub fn group_conv_coords<B: Backend, E: Element>(
    out: &Elements<B, E>,
    inp: &Elements<B, E>,
    grid: &KernelGrid,
) -> Result<Tensor<B, E>> {
    let batch = common_batch("group_conv_coords", out, inp)?;
    let k = grid.size();
    let spatial = acted_grid(out, grid)?; // [.., Nout, k, k, 2]
    let mut sd = out.batch_dims();
    sd.extend_from_slice(&[out.len(), 1, k, k, 2]);
    let spatial = spatial.reshape(sd)?;
    if out.kind() == GroupKind::T2 {
        let mut full: Vec<usize> = batch.into_iter().collect();
        full.extend_from_slice(&[out.len(), inp.len(), k, k, 2]);
        return spatial.broadcast_to(&full);
    }
    let rel = relative_coords(out, inp)?; // [.., Nout, Nin, s]
    let s = out.kind().stabiliser_dim();
    let mut rd: Vec<usize> = batch.into_iter().collect();
    rd.extend_from_slice(&[out.len(), inp.len(), 1, 1, s]);
    let rel = rel.reshape(rd)?;
    concat_last(&[&spatial, &rel])
}
