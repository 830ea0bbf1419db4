//! Spectra of many planes at once: every transform is a few wide matrix products with the
//! small DFT matrices of the sibling module `dft`, over planes stored with the plane index
//! innermost, so that each product covers all planes and no plane is handled alone.
//!
//! Layouts (`q` the plane, innermost):
//! - real planes: `[t_h][t_w][q]` (`n_h · n_w` rows of `planes`);
//! - spectra: `[re/im][κ_h][κ_w][q]`, `κ_h < len_h`, `κ_w < half_w`: the frequency
//!   `f = (κ_h, κ_w)` of all planes is one contiguous row of `planes` values per part,
//!   which is what the per-frequency products read.

use super::dft::{self, Placement, Sizes};
use crate::fresh::written;
use crate::gemm::MatRef;
use crate::par;
use crate::wide::product_into;
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

/// The spectrum `[re/im][κ_h][κ_w][q]` of `planes` real planes `src [t_h][t_w][q]` (freed
/// as soon as it has been read, to keep the peak of memory down).
///
/// Planes go through in blocks, so that the width transform's intermediate stays near
/// [`BLOCK_BYTES`] however many planes there are (a layer's kernels can be a quarter of a
/// million planes).
pub(crate) fn analyse<E: Element>(src: Vec<E>, planes: usize, sig: Signal, s: &Sizes) -> Vec<E> {
    let per_plane = sig.n_h * 2 * s.half_w * core::mem::size_of::<E>();
    let block = (BLOCK_BYTES / per_plane.max(1)).max(MIN_COLS_PER_PART);
    analyse_in_blocks(src, planes, sig, s, block)
}

/// [`analyse`], `block` planes at a time.
fn analyse_in_blocks<E: Element>(
    src: Vec<E>,
    planes: usize,
    sig: Signal,
    s: &Sizes,
    block: usize,
) -> Vec<E> {
    let (n_h, n_w, hw) = (sig.n_h, sig.n_w, s.half_w);
    assert_eq!(src.len(), n_h * n_w * planes);
    let d_w = dft::analysis_w::<E>(n_w, sig.at_w, s);
    let d_h = dft::analysis_h::<E>(n_h, sig.at_h, s);
    let block = block.clamp(1, planes.max(1));
    written(2 * s.len_h * hw * planes, |spec| {
        for q0 in (0..planes).step_by(block) {
            let qc = block.min(planes - q0);
            // Along the width, one product per row t_h: [re/im, κ_w][q] = D_w · src[t_h].
            let rows = written(n_h * 2 * hw * qc, |rows| {
                for (t_h, out) in rows.chunks_mut(2 * hw * qc).enumerate() {
                    let a = matrix(&d_w, 2 * hw, n_w);
                    let b = MatRef {
                        data: &src[t_h * n_w * planes + q0..],
                        rows: n_w,
                        cols: qc,
                        rs: planes,
                        cs: 1,
                    };
                    product_into(a, b, out, qc, parts(qc));
                }
            });
            // Along the height: rows (t_h, re/im) of `rows` are `half_w · qc` apart; all
            // of a block's planes at once when it is the whole, else one product per κ_w.
            let a = matrix(&d_h, 2 * s.len_h, 2 * n_h);
            if qc == planes {
                let b = matrix(&rows, 2 * n_h, hw * qc);
                product_into(a, b, spec, hw * planes, parts(hw * qc));
            } else {
                for k_w in 0..hw {
                    let b = MatRef {
                        data: &rows[k_w * qc..],
                        rows: 2 * n_h,
                        cols: qc,
                        rs: hw * qc,
                        cs: 1,
                    };
                    let c = &mut spec[k_w * planes + q0..];
                    product_into(a, b, c, hw * planes, parts(qc));
                }
            }
        }
    })
}

/// Bytes of the width transform's intermediate that [`analyse`] aims for per block.
const BLOCK_BYTES: usize = 16 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_in_blocks_give_the_whole_spectrum() {
        let s = Sizes {
            len_h: 9,
            len_w: 8,
            half_w: 5,
        };
        let sig = Signal {
            n_h: 5,
            n_w: 6,
            at_h: Placement::Kernel { pad: 2 },
            at_w: Placement::Image,
        };
        let planes = 37;
        let src: Vec<f64> = (0..5 * 6 * planes)
            .map(|v| ((v * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let whole = analyse_in_blocks(src.clone(), planes, sig, &s, planes);
        for block in [1, 5, 16, 36] {
            let blocked = analyse_in_blocks(src.clone(), planes, sig, &s, block);
            for (a, b) in blocked.iter().zip(&whole) {
                assert!((a - b).abs() < 1e-12, "block {block}: {a} against {b}");
            }
        }
        // And the spectrum transforms back to the planes.
        let back = synthesise(whole, planes, sig, &s);
        for (a, b) in back.iter().zip(&src) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
