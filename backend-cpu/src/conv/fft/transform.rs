//! Spectra of many planes at once: every transform is a few wide matrix products with the
//! small DFT matrices of [`dft`](super::dft), over planes stored with the plane index
//! innermost, so that each product covers all planes and no plane is handled alone.
//!
//! Layouts (`q` the plane, innermost):
//! - real planes: `[t_h][t_w][q]` (`n_h · n_w` rows of `planes`);
//! - spectra: `[re/im][κ_h][κ_w][q]`, `κ_h < len_h`, `κ_w < half_w`: the frequency
//!   `f = (κ_h, κ_w)` of all planes is one contiguous row of `planes` values per part,
//!   which is what the per-frequency products read.

use super::dft::{self, Placement, Sizes};
use crate::gemm::{MatMut, MatRef};
use crate::par;
use crate::wide::product;
use pgcnn_core::Element;

/// The geometry of one kind of plane: its extent and where its entries sit on the circle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Signal {
    pub n_h: usize,
    pub n_w: usize,
    pub at_h: Placement,
    pub at_w: Placement,
}

/// Products narrower than this many columns per thread stay on one thread.
const MIN_COLS_PER_PART: usize = 256;

fn parts(cols: usize) -> usize {
    par::threads().min(cols / MIN_COLS_PER_PART).max(1)
}

/// The spectrum `[re/im][κ_h][κ_w][q]` of `planes` real planes `src [t_h][t_w][q]`.
pub(crate) fn analyse<E: Element>(src: &[E], planes: usize, sig: Signal, s: &Sizes) -> Vec<E> {
    let (n_h, n_w, hw) = (sig.n_h, sig.n_w, s.half_w);
    debug_assert_eq!(src.len(), n_h * n_w * planes);
    // Along the width, one product per row t_h: [re/im, κ_w][q] = D_w · src[t_h].
    let d_w = dft::analysis_w::<E>(n_w, sig.at_w, s);
    let mut rows = vec![E::zero(); n_h * 2 * hw * planes];
    for (t_h, out) in rows.chunks_mut(2 * hw * planes).enumerate() {
        let a = MatRef {
            data: &d_w,
            rows: 2 * hw,
            cols: n_w,
            rs: n_w,
            cs: 1,
        };
        let b = MatRef {
            data: &src[t_h * n_w * planes..],
            rows: n_w,
            cols: planes,
            rs: planes,
            cs: 1,
        };
        let c = MatMut {
            data: out,
            rows: 2 * hw,
            cols: planes,
            rs: planes,
            cs: 1,
        };
        product(a, b, c, parts(planes));
    }
    // Along the height, one product for everything: rows (t_h, re/im) of `rows` are
    // `half_w · planes` apart, columns (κ_w, q) adjacent.
    let d_h = dft::analysis_h::<E>(n_h, sig.at_h, s);
    let cols = hw * planes;
    let mut spec = vec![E::zero(); 2 * s.len_h * cols];
    let a = MatRef {
        data: &d_h,
        rows: 2 * s.len_h,
        cols: 2 * n_h,
        rs: 2 * n_h,
        cs: 1,
    };
    let b = MatRef {
        data: &rows,
        rows: 2 * n_h,
        cols,
        rs: cols,
        cs: 1,
    };
    let c = MatMut {
        data: &mut spec,
        rows: 2 * s.len_h,
        cols,
        rs: cols,
        cs: 1,
    };
    product(a, b, c, parts(cols));
    spec
}

/// The real planes `[t_h][t_w][q]` (`sig.n_h × sig.n_w` positions each) whose spectrum is
/// `spec [re/im][κ_h][κ_w][q]`: the inverse of [`analyse`] at the positions `sig` names.
pub(crate) fn synthesise<E: Element>(spec: &[E], planes: usize, sig: Signal, s: &Sizes) -> Vec<E> {
    let (n_h, n_w, hw) = (sig.n_h, sig.n_w, s.half_w);
    debug_assert_eq!(spec.len(), 2 * s.freqs() * planes);
    // Along the height: rows (t_h, re/im) from rows (re/im, κ_h), `half_w · planes` apart.
    let m_h = dft::synthesis_h::<E>(n_h, sig.at_h, s);
    let cols = hw * planes;
    let mut rows = vec![E::zero(); 2 * n_h * cols];
    let a = MatRef {
        data: &m_h,
        rows: 2 * n_h,
        cols: 2 * s.len_h,
        rs: 2 * s.len_h,
        cs: 1,
    };
    let b = MatRef {
        data: spec,
        rows: 2 * s.len_h,
        cols,
        rs: cols,
        cs: 1,
    };
    let c = MatMut {
        data: &mut rows,
        rows: 2 * n_h,
        cols,
        rs: cols,
        cs: 1,
    };
    product(a, b, c, parts(cols));
    // Along the width, one product per row t_h: out[t_h] = M_w · rows[t_h].
    let m_w = dft::synthesis_w::<E>(n_w, sig.at_w, s);
    let mut out = vec![E::zero(); n_h * n_w * planes];
    for (t_h, dst) in out.chunks_mut(n_w * planes).enumerate() {
        let a = MatRef {
            data: &m_w,
            rows: n_w,
            cols: 2 * hw,
            rs: 2 * hw,
            cs: 1,
        };
        let b = MatRef {
            data: &rows[t_h * 2 * cols..],
            rows: 2 * hw,
            cols: planes,
            rs: planes,
            cs: 1,
        };
        let c = MatMut {
            data: dst,
            rows: n_w,
            cols: planes,
            rs: planes,
            cs: 1,
        };
        product(a, b, c, parts(planes));
    }
    out
}
