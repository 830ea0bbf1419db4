//! The small dense DFT matrices the transforms multiply by, and the sizes they imply.
//!
//! A convolution here is stride 1 with zero padding `p` on an `n`-long axis and a
//! `k`-tap kernel. Embedded in a circle of `len` points, the input sits at `0..n` and the
//! kernel tap `t` at `(p − t) mod len`; the circular convolution at `o` then sums
//! `x[o − p + t]` over the taps, which is the cross-correlation's output `o` as long as
//! no tap wraps onto real input. The taps read positions `−p ..= n + p − 1`, so
//! `len ≥ n + p` keeps the wrapped ones on zeros; `len ≥ k` keeps the taps apart and
//! `len ≥ out` the outputs. The same circle serves both gradients: each is the adjoint of
//! an exact linear map, computed exactly (up to rounding) in frequency space.

use super::super::Geometry;
use pgcnn_core::Element;

/// Where the entries of one axis sit on the circle: the data at position `t` of a signal
/// along this axis contributes `e^{∓2πi·κ·φ(t)/len}` to frequency `κ`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Placement {
    /// An image axis (input, output, their gradients): `φ(t) = t`.
    Image,
    /// A kernel axis with padding `p`: tap `t` sits at `φ(t) = p − t`.
    Kernel { pad: usize },
}

impl Placement {
    fn phase(self, t: usize) -> f64 {
        match self {
            Placement::Image => t as f64,
            Placement::Kernel { pad } => pad as f64 - t as f64,
        }
    }
}

/// The circle sizes of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sizes {
    /// Circle length along the rows (height) and along the columns (width).
    pub len_h: usize,
    pub len_w: usize,
    /// Frequencies kept along the width: a real signal's spectrum is conjugate-symmetric,
    /// so `len_w / 2 + 1` columns determine it.
    pub half_w: usize,
}

impl Sizes {
    /// The smallest circles on which `g` (a forward geometry: padding at least 0) is exact.
    pub fn new(g: &Geometry) -> Self {
        let len =
            |n: usize, p: isize, k: usize, out: usize| (n + p.max(0) as usize).max(k).max(out);
        let len_h = len(g.in_h, g.pad_h, g.kh, g.out_h);
        let len_w = len(g.in_w, g.pad_w, g.kw, g.out_w);
        Sizes {
            len_h,
            len_w,
            half_w: len_w / 2 + 1,
        }
    }

    /// Number of frequencies stored per plane: `len_h · half_w`.
    pub fn freqs(&self) -> usize {
        self.len_h * self.half_w
    }
}

/// Analysis along the width: `[re/im, κ][t]` (`2·half_w × n`), the real input at `t`
/// giving `cos ψ` to the real and `−sin ψ` to the imaginary part of frequency `κ`, with
/// `ψ = 2π·κ·φ(t)/len`.
pub(crate) fn analysis_w<E: Element>(n: usize, at: Placement, s: &Sizes) -> Vec<E> {
    let mut m = vec![E::zero(); 2 * s.half_w * n];
    for k in 0..s.half_w {
        for t in 0..n {
            let psi = angle(k, at.phase(t), s.len_w);
            m[k * n + t] = E::from_f64(psi.cos());
            m[(s.half_w + k) * n + t] = E::from_f64(-psi.sin());
        }
    }
    m
}

/// Analysis along the height, a complex product written as a real one: rows
/// `(re/im out, κ)`, columns `(t, re/im in)` (`2·len_h × 2n`), multiplying by
/// `e^{−iθ} = a + ib`, `θ = 2π·κ·φ(t)/len_h`.
pub(crate) fn analysis_h<E: Element>(n: usize, at: Placement, s: &Sizes) -> Vec<E> {
    complex_rows(s.len_h, n, |k, t| {
        let theta = angle(k, at.phase(t), s.len_h);
        (theta.cos(), -theta.sin())
    })
}

/// Synthesis along the height, the inverse of [`analysis_h`] for the `n` positions
/// wanted: rows `(t, re/im out)`, columns `(re/im in, κ)` (`2n × 2·len_h`), multiplying
/// by `e^{+iθ}`. (Unscaled: [`synthesis_w`] divides by both lengths.)
pub(crate) fn synthesis_h<E: Element>(n: usize, at: Placement, s: &Sizes) -> Vec<E> {
    let (rows, cols) = (2 * n, 2 * s.len_h);
    let mut m = vec![E::zero(); rows * cols];
    for t in 0..n {
        for k in 0..s.len_h {
            let theta = angle(k, at.phase(t), s.len_h);
            let (a, b) = (theta.cos(), theta.sin());
            // Re out = a·Re − b·Im; Im out = b·Re + a·Im.
            m[(2 * t) * cols + k] = E::from_f64(a);
            m[(2 * t) * cols + s.len_h + k] = E::from_f64(-b);
            m[(2 * t + 1) * cols + k] = E::from_f64(b);
            m[(2 * t + 1) * cols + s.len_h + k] = E::from_f64(a);
        }
    }
    m
}

/// Synthesis along the width from the half spectrum to `n` real values: `[t][re/im, κ]`
/// (`n × 2·half_w`), with the whole inverse's `1 / (len_h · len_w)` and each frequency
/// other than 0 and `len_w / 2` counted twice (it stands for its conjugate too).
pub(crate) fn synthesis_w<E: Element>(n: usize, at: Placement, s: &Sizes) -> Vec<E> {
    let cols = 2 * s.half_w;
    let scale = 1.0 / (s.len_h * s.len_w) as f64;
    let mut m = vec![E::zero(); n * cols];
    for t in 0..n {
        for k in 0..s.half_w {
            let twice = k != 0 && 2 * k != s.len_w;
            let weight = if twice { 2.0 * scale } else { scale };
            let psi = angle(k, at.phase(t), s.len_w);
            m[t * cols + k] = E::from_f64(weight * psi.cos());
            m[t * cols + s.half_w + k] = E::from_f64(-weight * psi.sin());
        }
    }
    m
}

/// `2π·κ·φ/len`, with `κ·φ` reduced modulo `len` first so that large products keep their
/// precision.
fn angle(k: usize, phase: f64, len: usize) -> f64 {
    let turns = (k as f64 * phase).rem_euclid(len as f64);
    core::f64::consts::TAU * turns / len as f64
}

/// A complex `rows × n` matrix, entry `(a + ib)` at `(κ, t)`, as the real
/// `2·rows × 2n` matrix with rows `(re/im out, κ)` and columns `(t, re/im in)`.
fn complex_rows<E: Element>(
    rows: usize,
    n: usize,
    entry: impl Fn(usize, usize) -> (f64, f64),
) -> Vec<E> {
    let cols = 2 * n;
    let mut m = vec![E::zero(); 2 * rows * cols];
    for k in 0..rows {
        for t in 0..n {
            let (a, b) = entry(k, t);
            // Re out = a·Re − b·Im; Im out = b·Re + a·Im.
            m[k * cols + 2 * t] = E::from_f64(a);
            m[k * cols + 2 * t + 1] = E::from_f64(-b);
            m[(rows + k) * cols + 2 * t] = E::from_f64(b);
            m[(rows + k) * cols + 2 * t + 1] = E::from_f64(a);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(n: usize, k: usize, p: usize) -> Geometry {
        Geometry {
            batch: 1,
            cin: 1,
            cout: 1,
            groups: 1,
            in_h: n,
            in_w: n,
            kh: k,
            kw: k,
            pad_h: p as isize,
            pad_w: p as isize,
            out_h: n + 2 * p + 1 - k,
            out_w: n + 2 * p + 1 - k,
        }
    }

    #[test]
    fn circles_are_the_smallest_exact_ones() {
        // Same padding: n + p.
        assert_eq!(Sizes::new(&geometry(14, 7, 3)).len_h, 17);
        assert_eq!(Sizes::new(&geometry(7, 7, 3)).len_w, 10);
        // No padding: the kernel length.
        assert_eq!(Sizes::new(&geometry(7, 7, 0)).len_h, 7);
        // Padding wider than the kernel: the output length.
        assert_eq!(Sizes::new(&geometry(2, 1, 3)).len_h, 8);
        assert_eq!(Sizes::new(&geometry(14, 7, 3)).half_w, 9);
    }

    #[test]
    fn analysis_then_synthesis_is_the_identity() {
        // A signal through the height analysis and back, then the width pair, recovers it.
        let s = Sizes {
            len_h: 5,
            len_w: 6,
            half_w: 4,
        };
        let ah: Vec<f64> = analysis_h(5, Placement::Image, &s);
        let sh: Vec<f64> = synthesis_h(5, Placement::Image, &s);
        // sh · ah = len_h · identity on the (t, re/im) coordinates.
        for i in 0..10 {
            for j in 0..10 {
                let mut v = 0.0;
                for k in 0..10 {
                    // ah rows (ri, κ) = k, columns (t, ri) = j; sh rows (t, ri) = i.
                    v += sh[i * 10 + k] * ah[k * 10 + j];
                }
                let want = if i == j { 5.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-12, "({i}, {j}): {v}");
            }
        }
        let aw: Vec<f64> = analysis_w(6, Placement::Image, &s);
        let sw: Vec<f64> = synthesis_w(6, Placement::Image, &s);
        for i in 0..6 {
            for j in 0..6 {
                let v: f64 = (0..8).map(|k| sw[i * 8 + k] * aw[k * 6 + j]).sum();
                // The width pair also divides by len_h.
                let want = if i == j { 1.0 / 5.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-12, "({i}, {j}): {v}");
            }
        }
    }
}
