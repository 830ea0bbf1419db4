//! Which algorithm runs a convolution: im2col + GEMM, or FFT.
//!
//! The choice is made once per call from the forward geometry, for the forward pass and
//! both gradients alike, by a cost model rather than by timing at run time: a timed
//! choice could differ from run to run, and the two algorithms round differently, so a
//! seed and a thread count would no longer fix a training run bit for bit.
//!
//! The model counts each path's arithmetic and weights it by the rate it runs at on the
//! development machine (2-core AVX-512, `pgcnn bench --kernels`): im2col's GEMMs at the
//! GEMM's rate, the FFT path's per-frequency products somewhat below it (four real GEMMs
//! per complex product, a few hundred rows each), its transforms (products with inner
//! dimension 7 to 62) well below it, and the data it moves (transposes, spectra) at
//! memory speed.

use super::fft;
use super::Geometry;
use core::cell::Cell;

/// A convolution algorithm of the CPU backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConvAlgorithm {
    /// Chosen per shape by the cost model (the default).
    #[default]
    Auto,
    /// im2col + GEMM (with the unpacked AVX-512 products for few output channels), or a
    /// plain product when the kernel covers the whole input.
    Im2col,
    /// Products of spectra on circles just large enough to be exact.
    Fft,
}

thread_local! {
    static FORCED: Cell<ConvAlgorithm> = const { Cell::new(ConvAlgorithm::Auto) };
}

/// Runs `f` with every convolution the calling thread starts (forward and both
/// gradients) using `algorithm` instead of the cost model's choice: for tests that cover
/// each path on every shape, and for benchmarks that compare them. Restores the previous
/// setting afterwards, also when `f` panics.
///
/// ```
/// use pgcnn_core::backend::{Backend, Conv2dDesc};
/// use pgcnn_cpu::{with_conv_algorithm, ConvAlgorithm, Cpu};
///
/// let d = Conv2dDesc {
///     batch: 1, in_channels: 1, out_channels: 1, groups: 1,
///     in_h: 3, in_w: 3, kernel_h: 3, kernel_w: 3, pad_h: 1, pad_w: 1,
/// };
/// let x = vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
/// let w: Vec<f32> = (1..=9).map(|v| v as f32).collect();
/// let fft = with_conv_algorithm(ConvAlgorithm::Fft, || Cpu.conv2d(&x, &w, &d))?;
/// let gemm = with_conv_algorithm(ConvAlgorithm::Im2col, || Cpu.conv2d(&x, &w, &d))?;
/// // A centred impulse returns the kernel flipped, by either path.
/// for (a, b) in fft.iter().zip(&gemm) {
///     assert!((a - b).abs() < 1e-5);
/// }
/// assert!((fft[0] - 9.0).abs() < 1e-5);
/// # Ok::<(), pgcnn_core::Error>(())
/// ```
pub fn with_conv_algorithm<R>(algorithm: ConvAlgorithm, f: impl FnOnce() -> R) -> R {
    struct Restore(ConvAlgorithm);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(FORCED.with(|c| c.replace(algorithm)));
    f()
}

/// Rates relative to the GEMM's (calibrated with `pgcnn bench --kernels`).
const PRODUCT_SLOWDOWN: f64 = 1.3;
const TRANSFORM_SLOWDOWN: f64 = 2.5;
/// GEMM flops that moving one element costs in time.
const FLOPS_PER_ELEMENT_MOVED: f64 = 24.0;
/// Spectra larger than this stay on im2col (whose buffers are bounded), unless forced.
const MAX_SPECTRUM_BYTES: f64 = (1u64 << 30) as f64;

/// What `Auto` picks for `g` (a forward geometry).
pub(crate) fn auto<E>(g: &Geometry) -> ConvAlgorithm {
    if g.pad_h < 0 || g.pad_w < 0 || g.kh * g.kw == 1 {
        return ConvAlgorithm::Im2col;
    }
    let direct = 2.0 * (g.batch * g.cout * g.out_plane()) as f64 * (g.kernel_len() as f64);
    let w = fft::work::<E>(g);
    let fft = PRODUCT_SLOWDOWN * w.product_flops
        + TRANSFORM_SLOWDOWN * w.transform_flops
        + FLOPS_PER_ELEMENT_MOVED * w.elements_moved;
    if fft < direct && w.spectrum_bytes <= MAX_SPECTRUM_BYTES {
        ConvAlgorithm::Fft
    } else {
        ConvAlgorithm::Im2col
    }
}

/// The algorithm a call on `g` (a forward geometry) uses now: the forced one, or `Auto`'s.
/// FFT needs padding of at least 0, which every forward geometry has.
pub(crate) fn current<E>(g: &Geometry) -> ConvAlgorithm {
    match FORCED.with(Cell::get) {
        ConvAlgorithm::Auto => auto::<E>(g),
        ConvAlgorithm::Fft if g.pad_h >= 0 && g.pad_w >= 0 => ConvAlgorithm::Fft,
        _ => ConvAlgorithm::Im2col,
    }
}
