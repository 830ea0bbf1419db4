//! Helpers shared by the equivariance property tests: layer construction, host-side
//! image rotations written independently of the library's transformations, and the
//! collection of measured errors into one printed, asserted summary line.

#![allow(dead_code)] // each test binary uses its own subset

use pgcnn_core::group::{GroupKind, SamplingMethod};
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind};
use pgcnn_core::layers::{ConvConfig, LayerParams};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::Tensor;
use proptest::test_runner::Config;
use std::cell::RefCell;

/// The backend of the property tests (the naive reference: obviously correct, and fast
/// enough for these sizes), in f64 so that round-off stays near 1e-15.
pub type Bk = Reference;
pub type T = Tensor<Bk, f64>;
pub const BK: Bk = Reference;

/// Relative errors above this fail the exact-equivariance properties (f64 round-off is
/// ~1e-15; a wrong direction or shift gives errors of order 1).
pub const EXACT_BOUND: f64 = 1e-10;

/// Few cases: the suite runs on 2 cores in CI. `PROPTEST_CASES` overrides.
pub fn proptest_config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A small SIREN kernel net.
pub fn kernel_cfg() -> KernelNetConfig {
    let mut k = KernelNetConfig::new(KernelNetKind::Siren, 8, 2);
    k.omega0 = 4.0;
    k
}

/// A deterministic-grid layer config.
pub fn det_config(kind: GroupKind, cin: usize, cout: usize, k: usize, n: usize) -> ConvConfig {
    let mut c = ConvConfig::new(cin, cout, k, kind, n, kernel_cfg());
    c.sampling = SamplingMethod::Deterministic;
    c
}

/// Replaces every parameter by random values (biases included), so that nothing
/// symmetric survives from the initialisation.
pub fn randomise<L: LayerParams<Bk, f64>>(layer: &mut L, rng: &mut Rng) {
    for p in layer.params_mut() {
        let t = random_tensor(&BK, rng, p.dims(), -0.7, 0.7).unwrap();
        p.set(t).unwrap();
    }
}

/// Host rotation of the last two axes by `k` quarter turns in the docs/math.md §2
/// direction, written out index by index: `out[i, j] = in[H-1-j, i]` per turn (NumPy's
/// `np.rot90(a, k=-1, axes=(-2, -1))`); with `mirror`, the columns are reversed first.
/// Returns the values and the new dims.
pub fn host_transform(v: &[f64], dims: &[usize], k: usize, mirror: bool) -> (Vec<f64>, Vec<usize>) {
    let r = dims.len();
    let (mut h, mut w) = (dims[r - 2], dims[r - 1]);
    let planes = v.len() / (h * w);
    let mut cur = v.to_vec();
    if mirror {
        let mut out = vec![0.0; cur.len()];
        for p in 0..planes {
            for i in 0..h {
                for j in 0..w {
                    out[p * h * w + i * w + j] = cur[p * h * w + i * w + (w - 1 - j)];
                }
            }
        }
        cur = out;
    }
    for _ in 0..k % 4 {
        let (nh, nw) = (w, h);
        let mut out = vec![0.0; cur.len()];
        for p in 0..planes {
            for i in 0..nh {
                for j in 0..nw {
                    out[p * nh * nw + i * nw + j] = cur[p * h * w + (h - 1 - j) * w + i];
                }
            }
        }
        cur = out;
        h = nh;
        w = nw;
    }
    let mut d = dims.to_vec();
    d[r - 2] = h;
    d[r - 1] = w;
    (cur, d)
}

/// Picks samples along axis 2 of `[B, C, N, H, W]` values: `out[.., n, ..] =
/// in[.., sigma[n], ..]`.
pub fn permute_samples(v: &[f64], dims: &[usize], sigma: &[usize]) -> Vec<f64> {
    let (bc, n, hw) = (dims[0] * dims[1], dims[2], dims[3] * dims[4]);
    let mut out = vec![0.0; v.len()];
    for p in 0..bc {
        for s in 0..n {
            let (dst, src) = ((p * n + s) * hw, (p * n + sigma[s]) * hw);
            out[dst..dst + hw].copy_from_slice(&v[src..src + hw]);
        }
    }
    out
}

/// ‖a - b‖ / ‖b‖.
pub fn rel_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared values differ in length");
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let n: f64 = b.iter().map(|y| y * y).sum();
    (d / n).sqrt()
}

/// A tensor from host values.
pub fn tensor(v: &[f64], dims: &[usize]) -> T {
    T::from_slice(&BK, v, dims.to_vec()).unwrap()
}

/// Collects the errors measured in every case of a property, prints each case (run
/// with `--nocapture` to see them), and asserts one summary line against a bound.
#[derive(Default)]
pub struct ErrorLog {
    cases: RefCell<Vec<(String, f64)>>,
}

impl ErrorLog {
    /// Records and prints one case: `label` and its worst relative error.
    pub fn record(&self, label: String, worst: f64) {
        println!("{label}");
        self.cases.borrow_mut().push((label, worst));
    }
    /// Prints and asserts `name: max relative error E over C cases (bound B)`.
    pub fn assert_below(&self, name: &str, bound: f64) {
        let cases = self.cases.borrow();
        let worst =
            cases
                .iter()
                .map(|c| c.1)
                .fold(0.0f64, |a, b| if b.is_nan() { f64::NAN } else { a.max(b) });
        let summary = format!(
            "{name}: max relative equivariance error {worst:.3e} over {} cases (bound {bound:.0e})",
            cases.len()
        );
        println!("{summary}");
        assert!(!cases.is_empty(), "{name}: no case ran");
        assert!(worst <= bound, "{summary}");
    }
}
