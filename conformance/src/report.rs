//! One tolerance rule and one report for every family and backend.

use pgcnn_core::{DType, Element, Result};

/// How far a backend's results may be from the reference's, per element type, in two
/// measures:
///
/// - `f32`, `f64`: relative, for results that are sums (products, convolutions,
///   reductions, normalisations), whose rounding depends on the order of the terms. An
///   element passes when `|got − want| ≤ rel · (max|want| + |want|)`: the absolute part
///   scales with the largest finite magnitude of the expected result, since a sum's
///   rounding error scales with its terms, not with its (possibly cancelled) value.
/// - `f32_ulps`, `f64_ulps`: units in the last place, for the math-library functions of the
///   unary family (sine, cosine, exponential, logarithm, tanh, sigmoid, powers), which
///   every library rounds its own way, value by value.
///
/// What IEEE 754 defines to the bit (+, −, ×, ÷, √, comparisons, copies, selections, the
/// Adam step) is compared exactly, whatever the tolerance. Non-finite expected values
/// (NaN, ±∞) must be matched exactly under either measure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub f32: f64,
    pub f64: f64,
    pub f32_ulps: u64,
    pub f64_ulps: u64,
}

impl Tolerance {
    /// For backends computing in full precision, summing in another order than the
    /// reference: with sums of up to a few thousand terms of magnitude at most 1, the
    /// rounding error stays far below the relative bounds, while any indexing mistake (a
    /// wrong or missing term) is of the order of the values themselves. The ulp bounds are
    /// a GPU's: CUDA documents its library functions within 4 ulps (`powf`; most within 1
    /// or 2), the C library the reference calls is within 2, and sigmoid composes an
    /// exponential, a sum and a quotient.
    pub const FULL: Tolerance = Tolerance {
        f32: 1e-4,
        f64: 1e-11,
        f32_ulps: 8,
        f64_ulps: 8,
    };

    /// The relative tolerance for `E`.
    pub fn of<E: Element>(&self) -> f64 {
        match E::DTYPE {
            DType::F32 => self.f32,
            DType::F64 => self.f64,
        }
    }

    /// The ulp bound of the math-library functions for `E`.
    pub fn ulps_of<E: Element>(&self) -> u64 {
        match E::DTYPE {
            DType::F32 => self.f32_ulps,
            DType::F64 => self.f64_ulps,
        }
    }
}

/// Collects every disagreement instead of stopping at the first, remembers the check
/// that came closest to its tolerance (to show how much room a tolerance leaves), and
/// keeps a digest of every result it was shown (so that two runs of the same cases, on
/// different thread counts say, can be compared bit for bit).
#[derive(Debug)]
pub struct Report {
    label: String,
    checks: usize,
    failures: Vec<String>,
    closest: Option<(f64, String)>,
    digest: u64,
}

impl Report {
    /// An empty report for the backend (or backend setting) named `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Report {
            label: label.into(),
            checks: 0,
            failures: Vec::new(),
            closest: None,
            digest: FNV_OFFSET,
        }
    }

    /// Checks `got` against `want` within the relative tolerance `rel` (see [`Tolerance`]);
    /// an error is a failure.
    pub fn close<E: Element>(&mut self, what: &str, got: Result<Vec<E>>, want: &[E], rel: f64) {
        self.close_above(what, got, want, rel, 0.0)
    }

    /// As [`Report::close`], with the scale at least `floor`: for results that cancel,
    /// whose rounding error scales with terms larger than the result (the caller knows
    /// their size).
    pub fn close_above<E: Element>(
        &mut self,
        what: &str,
        got: Result<Vec<E>>,
        want: &[E],
        rel: f64,
        floor: f64,
    ) {
        let Some(got) = self.values(what, got, want.len()) else {
            return;
        };
        let scale = want
            .iter()
            .map(|v| Element::to_f64(*v).abs())
            .filter(|v| v.is_finite())
            .fold(floor, f64::max);
        let ratio = |g: E, w: E| {
            let (g, w) = (Element::to_f64(g), Element::to_f64(w));
            if g == w || (g.is_nan() && w.is_nan()) {
                return 0.0;
            }
            let allowed = rel * (scale + w.abs());
            if !g.is_finite() || !w.is_finite() || allowed == 0.0 {
                return f64::INFINITY;
            }
            (g - w).abs() / allowed
        };
        self.compare(
            what,
            &got,
            want,
            ratio,
            &format!("{rel:e} of scale {scale:e}"),
        );
    }

    /// Checks that `got` is within `ulps` units in the last place of `want`, element by
    /// element (0: equal values, the two zeros being equal and NaN matching NaN); an error
    /// is a failure.
    pub fn within_ulps<E: Element>(
        &mut self,
        what: &str,
        got: Result<Vec<E>>,
        want: &[E],
        ulps: u64,
    ) {
        let Some(got) = self.values(what, got, want.len()) else {
            return;
        };
        let ratio = |g: E, w: E| match ulp_distance(g, w) {
            0 => 0.0,
            d if ulps == 0 || d == u64::MAX => f64::INFINITY,
            d => d as f64 / ulps as f64,
        };
        self.compare(what, &got, want, ratio, &format!("{ulps} ulps"));
    }

    /// Checks that `got` equals `want` value for value (see [`Report::within_ulps`]).
    pub fn exact<E: Element>(&mut self, what: &str, got: Result<Vec<E>>, want: &[E]) {
        self.within_ulps(what, got, want, 0)
    }

    /// Checks that two scalars agree within `rel` of `scale`.
    pub fn close_scalar(&mut self, what: &str, got: f64, want: f64, rel: f64, scale: f64) {
        self.checks += 1;
        self.absorb(&[got]);
        let ratio = (got - want).abs() / (rel * scale.max(f64::MIN_POSITIVE));
        let ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
        self.record_ratio(ratio, what);
        if ratio > 1.0 {
            self.fail(format!(
                "{what}: {got} against {want} ({ratio:.3}× the tolerance {rel:e} of {scale:e})"
            ));
        }
    }

    /// Checks that `got` equals `want` bit for bit (any NaN matching any NaN): for copies
    /// and fills, which change no sign of a zero.
    pub fn identical<E: Element>(&mut self, what: &str, got: Result<Vec<E>>, want: &[E]) {
        let Some(got) = self.values(what, got, want.len()) else {
            return;
        };
        let ratio = |g: E, w: E| {
            let same = Element::to_f64(g).to_bits() == Element::to_f64(w).to_bits();
            if same || (g.is_nan() && w.is_nan()) {
                0.0
            } else {
                f64::INFINITY
            }
        };
        self.compare(what, &got, want, ratio, "bit for bit");
    }

    /// Counts a check of a property that `holds` or not; `failure` is the message when
    /// it does not.
    pub fn holds(&mut self, failure: &str, holds: bool) {
        self.checks += 1;
        if !holds {
            self.fail(failure.to_string());
        }
    }

    /// Checks that two results are identical bit for bit (any NaN matching any NaN).
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

    /// Checks that two runs of the same call give the same bits, where both succeeded (a
    /// failing call is reported by the comparison with the reference).
    pub fn repeatable<E: Element>(
        &mut self,
        what: &str,
        first: &Result<Vec<E>>,
        again: Result<Vec<E>>,
    ) {
        if let (Ok(a), Ok(b)) = (first, again) {
            self.same(&format!("{what}, repeated"), a, &b);
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

    /// A digest (FNV-1a) of the bits of every result checked so far, in order: equal for
    /// two runs of the same cases exactly when they gave the same bits (but for the
    /// digest's collisions).
    pub fn digest(&self) -> u64 {
        self.digest
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

    /// Counts a check and takes its values into the digest; `None` after recording the
    /// failure when it gave an error or the wrong number of values.
    fn values<E: Element>(
        &mut self,
        what: &str,
        got: Result<Vec<E>>,
        want: usize,
    ) -> Option<Vec<E>> {
        self.checks += 1;
        match got {
            Err(e) => {
                self.fail(format!("{what}: error {e}"));
                None
            }
            Ok(g) => {
                self.absorb(&g);
                if g.len() != want {
                    self.fail(format!(
                        "{what}: {} elements, the reference gives {want}",
                        g.len()
                    ));
                    return None;
                }
                Some(g)
            }
        }
    }

    /// Fails the check when some element's `ratio` (its error over what it is allowed)
    /// exceeds 1, naming the worst one.
    fn compare<E: Element>(
        &mut self,
        what: &str,
        got: &[E],
        want: &[E],
        ratio: impl Fn(E, E) -> f64,
        tolerance: &str,
    ) {
        let mut worst = (0.0f64, 0usize);
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let r = ratio(g, w);
            if r > worst.0 {
                worst = (r, i);
            }
        }
        self.record_ratio(worst.0, what);
        if worst.0 > 1.0 {
            let i = worst.1;
            self.fail(format!(
                "{what}: element {i} is {} but the reference gives {} ({:.3}× the tolerance, {tolerance})",
                got[i], want[i], worst.0
            ));
        }
    }

    fn absorb<E: Element>(&mut self, values: &[E]) {
        for v in values {
            for byte in Element::to_f64(*v).to_bits().to_le_bytes() {
                self.digest = (self.digest ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
            }
        }
        // The length too, so that where one run's values end is part of the digest.
        for byte in (values.len() as u64).to_le_bytes() {
            self.digest = (self.digest ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// How many representable values of `E` lie between `a` and `b` (0 when equal, the two
/// zeros included, or both NaN; `u64::MAX` when only one is NaN): the distance of their
/// positions on the line of all values of `E`, which the bit patterns give once the
/// negative ones are mirrored below zero.
pub fn ulp_distance<E: Element>(a: E, b: E) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    let position = |v: E| -> i128 {
        let (bits, sign) = match E::DTYPE {
            DType::F32 => {
                let b = (Element::to_f64(v) as f32).to_bits();
                (i128::from(b & 0x7fff_ffff), b >> 31 == 1)
            }
            DType::F64 => {
                let b = Element::to_f64(v).to_bits();
                (i128::from(b & 0x7fff_ffff_ffff_ffff), b >> 63 == 1)
            }
        };
        if sign {
            -bits
        } else {
            bits
        }
    };
    (position(a) - position(b)).unsigned_abs() as u64
}
