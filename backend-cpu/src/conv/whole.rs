//! Convolutions whose kernel covers the whole, unpadded input (one output pixel per
//! image: the `valid` convolution that ends a CKResNet, 7×7 on 7×7 maps), done as one
//! plain product per group, without im2col.
//!
//! Then an image's input channel block `x[b, g·cin_g.., :, :]` is exactly the kernel's
//! `(ci, ky, kx)` vector, so with `K = cin_g·kh·kw`:
//! - forward: `y[b, co] = Σ_k x[b, k] · w[co, k]`;
//! - input gradient: `dx[b, k] = Σ_co dy[b, co] · w[co, k]` (through the general path this
//!   was a convolution of a 1×1 map padded by `k - 1`, almost all of its im2col zeros);
//! - weight gradient: `dw[co, k] = Σ_b dy[b, co] · x[b, k]`.
//!
//! Each product's rows are split over the pool's threads in fixed blocks (each block one
//! single-threaded GEMM), so results are deterministic for a given thread count.

use super::Geometry;
use crate::gemm::{gemm_rows_parallel, MatMut, MatRef};
use crate::par;
use pgcnn_core::Element;

/// Whether `g` is such a convolution.
pub(crate) fn applies(g: &Geometry) -> bool {
    g.pad_h == 0 && g.pad_w == 0 && g.kh == g.in_h && g.kw == g.in_w && g.out_plane() == 1
}

/// The forward convolution: `y [batch, cout]` from `x [batch, cin, kh, kw]` and
/// `w [cout, cin_g·kh·kw]`. The caller has checked the lengths and [`applies`].
pub(crate) fn forward<E: Element>(x: &[E], w: &[E], g: &Geometry) -> Vec<E> {
    let (cog, klen) = (g.cout_g(), g.kernel_len());
    let mut y = vec![E::zero(); g.batch * g.cout];
    if g.batch == 0 {
        return y; // (and `x` may be empty: no group offsets into it)
    }
    for grp in 0..g.groups {
        let a = MatRef {
            data: &x[grp * klen..],
            rows: g.batch,
            cols: klen,
            rs: g.cin * g.in_plane(),
            cs: 1,
        };
        let b = MatRef {
            data: &w[grp * cog * klen..],
            rows: klen,
            cols: cog,
            rs: 1,
            cs: klen,
        };
        let c = MatMut {
            data: &mut y[grp * cog..],
            rows: g.batch,
            cols: cog,
            rs: g.cout,
            cs: 1,
        };
        product(a, b, c);
    }
    y
}

/// The input gradient: `dx [batch, cin, kh, kw]` from `dy [batch, cout]` and `w`.
pub(crate) fn backward_input<E: Element>(dy: &[E], w: &[E], g: &Geometry) -> Vec<E> {
    let (cog, klen) = (g.cout_g(), g.kernel_len());
    let mut dx = vec![E::zero(); g.batch * g.cin * g.in_plane()];
    if g.batch == 0 {
        return dx;
    }
    for grp in 0..g.groups {
        let a = MatRef {
            data: &dy[grp * cog..],
            rows: g.batch,
            cols: cog,
            rs: g.cout,
            cs: 1,
        };
        let b = MatRef {
            data: &w[grp * cog * klen..],
            rows: cog,
            cols: klen,
            rs: klen,
            cs: 1,
        };
        let c = MatMut {
            data: &mut dx[grp * klen..],
            rows: g.batch,
            cols: klen,
            rs: g.cin * g.in_plane(),
            cs: 1,
        };
        product(a, b, c);
    }
    dx
}

/// The weight gradient: `dw [cout, cin_g·kh·kw]` from `x` and `dy [batch, cout]`.
pub(crate) fn backward_weight<E: Element>(x: &[E], dy: &[E], g: &Geometry) -> Vec<E> {
    let (cog, klen) = (g.cout_g(), g.kernel_len());
    let mut dw = vec![E::zero(); g.cout * klen];
    if g.batch == 0 {
        return dw; // no images: nothing to sum
    }
    for grp in 0..g.groups {
        let a = MatRef {
            data: &dy[grp * cog..],
            rows: cog,
            cols: g.batch,
            rs: 1,
            cs: g.cout,
        };
        let b = MatRef {
            data: &x[grp * klen..],
            rows: g.batch,
            cols: klen,
            rs: g.cin * g.in_plane(),
            cs: 1,
        };
        let c = MatMut {
            data: &mut dw[grp * cog * klen..],
            rows: cog,
            cols: klen,
            rs: klen,
            cs: 1,
        };
        product(a, b, c);
    }
    dw
}

/// `c = a · b`, its rows split over the pool's threads when there are enough of them.
fn product<E: Element>(a: MatRef<'_, E>, b: MatRef<'_, E>, c: MatMut<'_, E>) {
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    gemm_rows_parallel(E::one(), a, b, E::zero(), c, par::threads());
}
