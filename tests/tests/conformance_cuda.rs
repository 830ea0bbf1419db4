//! The backend conformance suite (`pgcnn-conformance`) on the CUDA backend: on the GPU
//! (skipped, with the reason, without one; PGCNN_REQUIRE_CUDA=1 makes that a failure)
//! and on the kernel emulator (see cuda_support/mod.rs), which runs fewer, smaller cases.
//!
//! TF32 convolutions read f32 inputs with a 10-bit mantissa, so they are held to 2e-3
//! (relative to the result's largest magnitude); strict f32 and f64 to the full-precision
//! tolerance. Each family also runs with a column budget of 1, so that every image is its
//! own chunk.

mod cuda_support;

use cuda_support::{emulator, emulator_with_multiprocessors, gpu, H100_MULTIPROCESSORS};
use pgcnn_conformance::{conv, gemm, Cases, Report, Tolerance};
use pgcnn_cuda::{Cuda, MathMode};

const TF32: Tolerance = Tolerance {
    f32: 2e-3,
    ..Tolerance::FULL
};

fn conv_family(c: &Cuda, cases: &Cases) {
    for (mode, tol) in [(MathMode::Strict, Tolerance::FULL), (MathMode::Tf32, TF32)] {
        for (budget, dev) in [
            ("", c.with_math(mode)),
            (", chunked", c.with_math(mode).with_column_budget(1)),
        ] {
            let mut report = Report::new(format!("{c:?}, {mode:?}{budget}"));
            conv::check_all(&dev, &mut report, cases, tol);
            report.finish();
        }
    }
}

/// The GEMM family in both math modes: plain products keep full f32 in either (the mode
/// is about convolutions), so both are held to the full-precision tolerance.
fn gemm_family(c: &Cuda, cases: &Cases) {
    for mode in [MathMode::Strict, MathMode::Tf32] {
        let mut report = Report::new(format!("{c:?}, {mode:?}"));
        gemm::check_all(&c.with_math(mode), &mut report, cases, Tolerance::FULL);
        report.finish();
    }
}

#[test]
fn gpu_gemm_family() {
    if let Some(c) = gpu() {
        gemm_family(&c, &gemm::THOROUGH);
    }
}

#[test]
fn emulated_gemm_family() {
    if let Some(c) = emulator() {
        gemm_family(&c, &gemm::QUICK);
    }
}

#[test]
fn gpu_conv_family() {
    if let Some(c) = gpu() {
        conv_family(&c, &conv::THOROUGH);
    }
}

// The emulator's GEMM cuts f32 inputs to TF32 as tensor cores do, so its TF32 run checks
// the tolerance the GPU's uses.
#[test]
fn emulated_conv_family() {
    if let Some(c) = emulator() {
        conv_family(&c, &conv::QUICK);
    }
}

// Grids follow the SM count: the plans an H100 gets.
#[test]
fn emulated_conv_family_with_an_h100s_grids() {
    if let Some(c) = emulator_with_multiprocessors(H100_MULTIPROCESSORS) {
        conv_family(&c, &conv::QUICK);
    }
}
