//! The backend conformance suite (`pgcnn-conformance`) on the CPU backend.
//!
//! Every family runs on 1, 2 and 3 threads (rayon pools of those sizes), so that the
//! serial and the split paths of each primitive, with uneven chunks, meet every case. The
//! convolution family also runs with each algorithm forced in turn (im2col + GEMM, FFT)
//! and with the cost model's own choice, so that every path is compared with the
//! reference and checked by finite differences on every case shape, whichever path the
//! cost model would pick for it; the GEMM family's tall cases take the crate's own
//! tall-product kernel.
//!
//! The CPU is held to more than the suite's full-precision tolerance where it can be: its
//! f32 sine, cosine and exponential are its own vector code, at most one ulp from the C
//! library's values the reference gives, and every other math-library function calls the
//! reference's own functions (see [`CPU`]).

mod common;

use common::with_threads;
use pgcnn_conformance::{
    adam, binary, conv, gemm, memory, movement, norm, pool, reduce, unary, Cases, Report, Tolerance,
};
use pgcnn_cpu::{with_conv_algorithm, ConvAlgorithm, Cpu};

/// The suite's full-precision tolerance, with the math-library functions held to one
/// ulp in f32 (sine, cosine and exponential; the others are bit for bit anyway) and to
/// none in f64.
const CPU: Tolerance = Tolerance {
    f32_ulps: 1,
    f64_ulps: 0,
    ..Tolerance::FULL
};

/// Runs `family` on 1, 2 and 3 threads; the digests of the runs' results.
fn on_1_to_3_threads(
    name: &str,
    family: impl Fn(&Cpu, &mut Report, &Cases, Tolerance) + Sync,
    cases: &Cases,
) -> Vec<u64> {
    on_threads(&[1, 2, 3], name, family, cases)
}

/// Runs `family` on each number of `threads`; the digests of the runs' results.
fn on_threads(
    threads: &[usize],
    name: &str,
    family: impl Fn(&Cpu, &mut Report, &Cases, Tolerance) + Sync,
    cases: &Cases,
) -> Vec<u64> {
    threads
        .iter()
        .map(|&threads| {
            let mut report = Report::new(format!("cpu, {name}, {threads} threads"));
            with_threads(threads, || family(&Cpu, &mut report, cases, CPU));
            let digest = report.digest();
            report.finish();
            digest
        })
        .collect()
}

fn conv_family(algorithm: ConvAlgorithm) {
    let family = |b: &Cpu, r: &mut Report, cases: &Cases, tol| {
        with_conv_algorithm(algorithm, || conv::check_all(b, r, cases, tol))
    };
    on_1_to_3_threads(&format!("conv, {algorithm:?}"), family, &conv::THOROUGH);
}

#[test]
fn conv_family_with_the_cost_models_choice() {
    conv_family(ConvAlgorithm::Auto);
}

#[test]
fn conv_family_on_im2col() {
    conv_family(ConvAlgorithm::Im2col);
}

#[test]
fn conv_family_on_fft() {
    conv_family(ConvAlgorithm::Fft);
}

#[test]
fn gemm_family() {
    on_1_to_3_threads("gemm", gemm::check_all, &gemm::THOROUGH);
}

#[test]
fn memory_family() {
    on_1_to_3_threads("memory", memory::check_all, &memory::THOROUGH);
}

#[test]
fn unary_family() {
    on_1_to_3_threads("unary", unary::check_all, &unary::THOROUGH);
}

#[test]
fn binary_family() {
    on_1_to_3_threads("binary", binary::check_all, &binary::THOROUGH);
}

#[test]
fn reduce_family() {
    on_1_to_3_threads("reduce", reduce::check_all, &reduce::THOROUGH);
}

#[test]
fn movement_family() {
    on_1_to_3_threads("movement", movement::check_all, &movement::THOROUGH);
}

#[test]
fn pool_family() {
    on_1_to_3_threads("pool", pool::check_all, &pool::THOROUGH);
}

/// The fused normalisation gives the same bits whatever the number of threads: each
/// channel's sums are one task's, in one order.
#[test]
fn norm_family() {
    let digests = on_threads(&[1, 2, 3, 5], "norm", norm::check_all, &norm::THOROUGH);
    assert!(
        digests.iter().all(|&d| d == digests[0]),
        "the normalisation's bits depend on the number of threads: digests {digests:x?}"
    );
}

#[test]
fn adam_family() {
    on_1_to_3_threads("adam", adam::check_all, &adam::THOROUGH);
}
