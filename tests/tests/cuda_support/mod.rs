//! Shared by the CUDA tests (conformance_cuda.rs, cuda_network.rs, cuda_models.rs): the
//! two devices they run on, and (for the network and model comparisons) a report that
//! collects every disagreement.
//!
//! Each suite runs twice where it can: on the GPU (skipped, with the reason, when there
//! is none — set PGCNN_REQUIRE_CUDA=1 to make that a failure), and on the kernel
//! emulator, which runs the same host code and kernel sources on the CPU through g++
//! (skipped when g++ is missing). Every case runs before a test reports, so one run
//! lists every disagreement.
#![allow(dead_code)] // each test file uses its own part

use pgcnn_core::testing::tolerance_ratio;
use pgcnn_core::{Element, Result};
use pgcnn_cuda::Cuda;
use std::sync::OnceLock;

// ---- the devices ------------------------------------------------------------------------

/// The GPU, or None after printing why not.
pub fn gpu() -> Option<Cuda> {
    static GPU: OnceLock<std::result::Result<Cuda, String>> = OnceLock::new();
    match GPU.get_or_init(|| Cuda::new(0).map_err(|e| e.to_string())) {
        Ok(c) => Some(c.clone()),
        Err(why) => {
            if std::env::var("PGCNN_REQUIRE_CUDA").is_ok_and(|v| v == "1") {
                panic!("PGCNN_REQUIRE_CUDA=1 but CUDA is unavailable: {why}");
            }
            println!("skipped: {why}");
            None
        }
    }
}

/// The kernel emulator, or None after printing why not.
pub fn emulator() -> Option<Cuda> {
    emulator_with_multiprocessors(2)
}

/// The SM count of an H100 (SXM): the GPU the benchmarks are measured on.
pub const H100_MULTIPROCESSORS: u32 = 132;

/// The kernel emulator planning its grids and the splits of long axes for a GPU with
/// `multiprocessors` SMs, or None after printing why not.
pub fn emulator_with_multiprocessors(multiprocessors: u32) -> Option<Cuda> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgcnn-cuda-emulator");
    match Cuda::emulated_with_multiprocessors(&dir, multiprocessors) {
        Ok(c) => Some(c),
        Err(why) => {
            println!("skipped: the kernel emulator could not be built: {why}");
            None
        }
    }
}

// ---- comparing --------------------------------------------------------------------------

/// Collects disagreements instead of stopping at the first.
pub struct Report {
    device: String,
    rel: f64,
    cases: usize,
    pub failures: Vec<String>,
    /// The tolerance check that came closest to failing (or failed worst): its error as a
    /// fraction of its tolerance, and what it checked. Printed by [`Report::finish`], to
    /// show how much room a tolerance leaves on the device at hand.
    closest: Option<(f64, String)>,
}

impl Report {
    pub fn new(c: &Cuda, rel: f64) -> Self {
        Report {
            device: format!("{c:?}"),
            rel,
            cases: 0,
            failures: vec![],
            closest: None,
        }
    }

    /// `got` must match `want` within `rel` of the largest |want|.
    pub fn check<E: Element>(&mut self, what: impl Into<String>, got: Result<Vec<E>>, want: &[E]) {
        self.check_rel(what, got, want, self.rel)
    }

    pub fn check_rel<E: Element>(
        &mut self,
        what: impl Into<String>,
        got: Result<Vec<E>>,
        want: &[E],
        rel: f64,
    ) {
        self.check_floor(what, got, want, rel, 1e-30)
    }

    /// As [`Report::check_rel`], but within `rel` of the largest |want| or of `floor`,
    /// whichever is larger: for quantities that can be zero up to rounding (the mean of
    /// a symmetric draw), whose rounding noise no relative tolerance covers.
    pub fn check_floor<E: Element>(
        &mut self,
        what: impl Into<String>,
        got: Result<Vec<E>>,
        want: &[E],
        rel: f64,
        floor: f64,
    ) {
        let Some((what, got)) = self.count(what, got) else {
            return;
        };
        let g: Vec<f64> = got.iter().map(|&v| Element::to_f64(v)).collect();
        let w: Vec<f64> = want.iter().map(|&v| Element::to_f64(v)).collect();
        let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(floor);
        let ratio = tolerance_ratio(&g, &w, rel * scale, rel);
        if self.closest.as_ref().is_none_or(|(r, _)| ratio > *r) {
            self.closest = Some((ratio, what.clone()));
        }
        if ratio > 1.0 {
            let worst = (0..g.len().min(w.len()))
                .max_by(|&i, &j| (g[i] - w[i]).abs().total_cmp(&(g[j] - w[j]).abs()));
            let detail = match worst {
                Some(i) => format!("worst at {i}: got {} want {}", g[i], w[i]),
                None => format!("lengths {} and {}", g.len(), w.len()),
            };
            self.failures
                .push(format!("{what}: {ratio:.3}x the tolerance; {detail}"));
        }
    }

    /// `got` must equal `want` bit for bit (for ops whose every backend must round the
    /// same way).
    pub fn check_exact<E: Element>(
        &mut self,
        what: impl Into<String>,
        got: Result<Vec<E>>,
        want: &[E],
    ) {
        let Some((what, got)) = self.count(what, got) else {
            return;
        };
        if got.len() != want.len() {
            return self.failures.push(format!(
                "{what}: {} values, want {}",
                got.len(),
                want.len()
            ));
        }
        let bits = |v: E| Element::to_f64(v).to_bits();
        if let Some(i) = (0..got.len()).find(|&i| bits(got[i]) != bits(want[i])) {
            self.failures.push(format!(
                "{what}: differs at {i}: got {} want {} (bit-exact expected)",
                got[i], want[i]
            ));
        }
    }

    /// Counts a case; its values, or None after recording the error that replaced them.
    fn count<E>(
        &mut self,
        what: impl Into<String>,
        got: Result<Vec<E>>,
    ) -> Option<(String, Vec<E>)> {
        self.cases += 1;
        let what = what.into();
        match got {
            Ok(g) => Some((what, g)),
            Err(e) => {
                self.failures.push(format!("{what}: error {e}"));
                None
            }
        }
    }

    /// `result` must be an error (bad input), not a value or a panic.
    pub fn check_err<T>(&mut self, what: &str, result: Result<T>) {
        self.cases += 1;
        if result.is_ok() {
            self.failures.push(format!("{what}: accepted bad input"));
        }
    }

    pub fn finish(self) {
        let closest = match &self.closest {
            Some((ratio, what)) => format!("; closest to its tolerance: {what} at {ratio:.3}x"),
            None => String::new(),
        };
        println!(
            "{}: {} cases, {} failed{closest}",
            self.device,
            self.cases,
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} cases failed:\n{}",
            self.device,
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
    }
}
