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
use crate::gemm::MatRef;
use crate::par;
use crate::wide::product_into;
use pgcnn_core::Element;
use std::mem::MaybeUninit;

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

/// The spectrum `[re/im][κ_h][κ_w][q]` of `planes` real planes `src [t_h][t_w][q]` (freed
/// as soon as it has been read, to keep the peak of memory down).
pub(crate) fn analyse<E: Element>(src: Vec<E>, planes: usize, sig: Signal, s: &Sizes) -> Vec<E> {
    let (n_h, n_w, hw) = (sig.n_h, sig.n_w, s.half_w);
    debug_assert_eq!(src.len(), n_h * n_w * planes);
    // Along the width, one product per row t_h: [re/im, κ_w][q] = D_w · src[t_h].
    let d_w = dft::analysis_w::<E>(n_w, sig.at_w, s);
    let rows = written(n_h * 2 * hw * planes, |rows| {
        for (t_h, out) in rows.chunks_mut(2 * hw * planes).enumerate() {
            let a = matrix(&d_w, 2 * hw, n_w);
            let b = matrix(&src[t_h * n_w * planes..], n_w, planes);
            product_into(a, b, out, planes, parts(planes));
        }
    });
    drop(src);
    // Along the height, one product for everything: rows (t_h, re/im) of `rows` are
    // `half_w · planes` apart, columns (κ_w, q) adjacent.
    let d_h = dft::analysis_h::<E>(n_h, sig.at_h, s);
    let cols = hw * planes;
    written(2 * s.len_h * cols, |spec| {
        let a = matrix(&d_h, 2 * s.len_h, 2 * n_h);
        let b = matrix(&rows, 2 * n_h, cols);
        product_into(a, b, spec, cols, parts(cols));
    })
}

/// The real planes `[t_h][t_w][q]` (`sig.n_h × sig.n_w` positions each) whose spectrum is
/// `spec [re/im][κ_h][κ_w][q]`: the inverse of [`analyse`] at the positions `sig` names
/// (`spec` is freed as soon as it has been read).
pub(crate) fn synthesise<E: Element>(
    spec: Vec<E>,
    planes: usize,
    sig: Signal,
    s: &Sizes,
) -> Vec<E> {
    let (n_h, n_w, hw) = (sig.n_h, sig.n_w, s.half_w);
    debug_assert_eq!(spec.len(), 2 * s.freqs() * planes);
    // Along the height: rows (t_h, re/im) from rows (re/im, κ_h), `half_w · planes` apart.
    let m_h = dft::synthesis_h::<E>(n_h, sig.at_h, s);
    let cols = hw * planes;
    let rows = written(2 * n_h * cols, |rows| {
        let a = matrix(&m_h, 2 * n_h, 2 * s.len_h);
        let b = matrix(&spec, 2 * s.len_h, cols);
        product_into(a, b, rows, cols, parts(cols));
    });
    drop(spec);
    // Along the width, one product per row t_h: out[t_h] = M_w · rows[t_h].
    let m_w = dft::synthesis_w::<E>(n_w, sig.at_w, s);
    written(n_h * n_w * planes, |out| {
        for (t_h, dst) in out.chunks_mut(n_w * planes).enumerate() {
            let a = matrix(&m_w, n_w, 2 * hw);
            let b = matrix(&rows[t_h * 2 * cols..], 2 * hw, planes);
            product_into(a, b, dst, planes, parts(planes));
        }
    })
}

/// The row-major `rows × cols` matrix at the start of `data`.
fn matrix<E>(data: &[E], rows: usize, cols: usize) -> MatRef<'_, E> {
    MatRef {
        data,
        rows,
        cols,
        rs: cols,
        cs: 1,
    }
}

/// A buffer of `len` elements that `fill` writes in full (it is never zeroed first: the
/// products write every element of their results).
fn written<E: Element>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<E>])) -> Vec<E> {
    let mut v: Vec<E> = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: every caller's `fill` writes all `len` elements: its products cover whole
    // row-major results laid end to end (`product_into` writes every element of its view).
    unsafe { v.set_len(len) };
    v
}
