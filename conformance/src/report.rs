//! One tolerance rule and one report for every family and backend.

use pgcnn_core::{DType, Element, Result};

/// Relative tolerances, per element type. An element passes when
/// `|got − want| ≤ rel · (max|want| + |want|)`: the absolute part scales with the largest
/// magnitude of the expected result, since a sum's rounding error scales with its terms,
/// not with its (possibly cancelled) value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub f32: f64,
    pub f64: f64,
}

impl Tolerance {
    /// For backends computing in full precision, summing in another order than the
    /// reference: with sums of up to a few thousand terms of magnitude at most 1, the
    /// rounding error stays far below these, while any indexing mistake (a wrong or
    /// missing term) is of the order of the values themselves.
    pub const FULL: Tolerance = Tolerance {
        f32: 1e-4,
        f64: 1e-11,
    };

    /// The tolerance for `E`.
    pub fn of<E: Element>(&self) -> f64 {
        match E::DTYPE {
            DType::F32 => self.f32,
            DType::F64 => self.f64,
        }
    }
}

/// Collects every disagreement instead of stopping at the first, and remembers the check
/// that came closest to its tolerance (to show how much room a tolerance leaves).
#[derive(Debug)]
pub struct Report {
    label: String,
    checks: usize,
    failures: Vec<String>,
    closest: Option<(f64, String)>,
}

impl Report {
    /// An empty report for the backend (or backend setting) named `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Report {
            label: label.into(),
            checks: 0,
            failures: Vec::new(),
            closest: None,
        }
    }

    /// Checks `got` against `want` within `rel` (see [`Tolerance`]); an error is a failure.
    pub fn close<E: Element>(&mut self, what: &str, got: Result<Vec<E>>, want: &[E], rel: f64) {
        self.checks += 1;
        let got = match got {
            Ok(g) => g,
            Err(e) => return self.fail(format!("{what}: error {e}")),
        };
        if got.len() != want.len() {
            return self.fail(format!(
                "{what}: {} elements, the reference gives {}",
                got.len(),
                want.len()
            ));
        }
        let scale = want
            .iter()
            .fold(0.0f64, |m, v| m.max(Element::to_f64(*v).abs()));
        let mut worst = (0.0f64, 0usize);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let (g, w) = (Element::to_f64(*g), Element::to_f64(*w));
            let allowed = rel * (scale + w.abs());
            let ratio = if g == w {
                0.0
            } else if allowed > 0.0 {
                (g - w).abs() / allowed
            } else {
                f64::INFINITY
            };
            let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
            if ratio > worst.0 {
                worst = (ratio, i);
            }
        }
        self.record_ratio(worst.0, what);
        if worst.0 > 1.0 {
            let i = worst.1;
            self.fail(format!(
                "{what}: element {i} is {} but the reference gives {} ({:.3}× the tolerance {rel:e}, scale {scale:e})",
                got[i], want[i], worst.0
            ));
        }
    }

    /// Checks that two scalars agree within `rel` of `scale`.
    pub fn close_scalar(&mut self, what: &str, got: f64, want: f64, rel: f64, scale: f64) {
        self.checks += 1;
        let ratio = (got - want).abs() / (rel * scale.max(f64::MIN_POSITIVE));
        let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
        self.record_ratio(ratio, what);
        if ratio > 1.0 {
            self.fail(format!(
                "{what}: {got} against {want} ({ratio:.3}× the tolerance {rel:e} of {scale:e})"
            ));
        }
    }

    /// Checks that two results are identical bit for bit.
    pub fn same<E: Element>(&mut self, what: &str, a: &[E], b: &[E]) {
        self.checks += 1;
        let differs = a.len() != b.len()
            || a.iter().zip(b).any(|(x, y)| {
                Element::to_f64(*x).to_bits() != Element::to_f64(*y).to_bits()
                    && !(x.is_nan() && y.is_nan())
            });
        if differs {
            self.fail(format!("{what}: the two runs differ"));
        }
    }

    /// Checks that `got` is an error (bad input must be refused, never answered or panicked on).
    pub fn error<T>(&mut self, what: &str, got: Result<T>) {
        self.checks += 1;
        if got.is_ok() {
            self.fail(format!("{what}: accepted, but must be an error"));
        }
    }

    /// Number of checks made.
    pub fn checks(&self) -> usize {
        self.checks
    }

    /// The failures so far.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Prints the summary (checks, the closest call) and panics listing every failure.
    pub fn finish(self) {
        match &self.closest {
            Some((ratio, what)) => println!(
                "{}: {} checks; closest to its tolerance: {what} at {ratio:.3}×",
                self.label, self.checks
            ),
            None => println!("{}: {} checks", self.label, self.checks),
        }
        if !self.failures.is_empty() {
            panic!(
                "{}: {} of {} checks failed:\n{}",
                self.label,
                self.failures.len(),
                self.checks,
                self.failures.join("\n")
            );
        }
    }

    fn record_ratio(&mut self, ratio: f64, what: &str) {
        if self.closest.as_ref().is_none_or(|(r, _)| ratio > *r) {
            self.closest = Some((ratio, what.to_string()));
        }
    }

    fn fail(&mut self, message: String) {
        self.failures.push(message);
    }
}
