//! The CUDA backend against the naive reference, primitive by primitive, on the GPU and
//! on the kernel emulator (see cuda_support/mod.rs).
//!
//! Tolerances are relative to the largest magnitude of the expected tensor: f32 1e-4, f64
//! 1e-11. (Convolutions and GEMM are checked by the conformance suite: conformance_cuda.rs.)

mod cuda_support;

use cuda_support::{
    emulator, emulator_with_multiprocessors, gpu, up, values, Report, H100_MULTIPROCESSORS,
};
use pgcnn_core::backend::{AdamHyper, AdamJob, Backend};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;
use pgcnn_cuda::{Cuda, MathMode};

// ---- the primitive suite ------------------------------------------------------------------

/// The fused Adam update equals the provided body (separate maps) bit for bit: first and
/// later updates, with and without weight decay, odd lengths, extreme gradients.
fn optim<E: Element>(c: &Cuda, r: &mut Report, rng: &mut Rng) {
    for (n, first, weight_decay, step) in [
        (1, true, 0.0, 1u32),
        (1000, true, 1e-4, 1),
        (1000, false, 0.0, 2),
        (4097, false, 5e-4, 37),
        (70_000, false, 1e-2, 1000),
    ] {
        let (b1, b2) = (0.9f64, 0.999f64);
        let t = f64::from(step);
        let h = AdamHyper {
            beta1: b1,
            beta2: b2,
            eps: 1e-8,
            weight_decay,
            step_size: 1e-3 / (1.0 - b1.powf(t)),
            bias_correction2_sqrt: (1.0 - b2.powf(t)).sqrt(),
        };
        let value = values::<E>(rng, n, -2.0, 2.0);
        let mut grad = values::<E>(rng, n, -1.0, 1.0);
        if n > 3 {
            // Tiny, huge and zero gradients (where eps matters and where it does not).
            grad[0] = E::from_f64(1e-30);
            grad[1] = E::from_f64(3e4);
            grad[2] = E::zero();
        }
        let m = values::<E>(rng, n, -0.1, 0.1);
        let v = values::<E>(rng, n, 0.0, 0.01);
        let want = Reference
            .adam_update(&value, &grad, (!first).then_some((&m, &v)), &h)
            .expect("reference");
        let got = (|| {
            let (value, grad) = (up(c, &value)?, up(c, &grad)?);
            let (m, v) = (up(c, &m)?, up(c, &v)?);
            let out = c.adam_update(&value, &grad, (!first).then_some((&m, &v)), &h)?;
            Ok::<_, pgcnn_core::Error>((
                c.download(&out.value)?,
                c.download(&out.exp_avg)?,
                c.download(&out.exp_avg_sq)?,
            ))
        })();
        let case = format!("adam_update n={n} first={first} wd={weight_decay} step={step}");
        match got {
            Ok((value, m, v)) => {
                r.check_exact(format!("{case}: value"), Ok(value), &want.value);
                r.check_exact(format!("{case}: exp_avg"), Ok(m), &want.exp_avg);
                r.check_exact(format!("{case}: exp_avg_sq"), Ok(v), &want.exp_avg_sq);
            }
            Err(e) => r.failures.push(format!("{case}: error {e}")),
        }
    }
    optim_many::<E>(c, r, rng);
    // Mismatched lengths are errors, not reads past a buffer.
    let short = up(c, &values::<E>(rng, 3, -1.0, 1.0));
    let long = up(c, &values::<E>(rng, 4, -1.0, 1.0));
    if let (Ok(short), Ok(long)) = (short, long) {
        let h = AdamHyper {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step_size: 1e-3,
            bias_correction2_sqrt: 1.0,
        };
        r.check_err(
            "adam_update gradient length",
            c.adam_update(&long, &short, None, &h),
        );
        r.check_err(
            "adam_update moment length",
            c.adam_update(&long, &long, Some((&long, &short)), &h),
        );
    }
}

/// Many parameters updated at once (an optimiser step) equal each one's update alone, bit
/// for bit: more jobs than one launch carries, empty and odd-sized parameters, first and
/// later updates, with and without decay, each with its own constants.
fn optim_many<E: Element>(c: &Cuda, r: &mut Report, rng: &mut Rng) {
    const JOBS: usize = 61; // three launches of up to 28
    let sizes = [0usize, 1, 5, 257, 3000, 33];
    let mut host = Vec::new();
    for i in 0..JOBS {
        let n = sizes[i % sizes.len()];
        let (b1, b2) = (0.9f64, 0.999f64);
        let t = (1 + i % 7) as f64;
        let h = AdamHyper {
            beta1: b1,
            beta2: b2,
            eps: 1e-8,
            weight_decay: if i % 3 == 0 { 0.0 } else { 1e-4 * i as f64 },
            step_size: 1e-3 * (1 + i % 5) as f64 / (1.0 - b1.powf(t)),
            bias_correction2_sqrt: (1.0 - b2.powf(t)).sqrt(),
        };
        let first = i % 4 == 1;
        let value = values::<E>(rng, n, -2.0, 2.0);
        let grad = values::<E>(rng, n, -1.0, 1.0);
        let m = values::<E>(rng, n, -0.1, 0.1);
        let v = values::<E>(rng, n, 0.0, 0.01);
        host.push((value, grad, m, v, first, h));
    }
    let got = (|| {
        let mut dev = Vec::new();
        for (value, grad, m, v, ..) in &host {
            dev.push((up(c, value)?, up(c, grad)?, up(c, m)?, up(c, v)?));
        }
        let jobs: Vec<_> = dev
            .iter()
            .zip(&host)
            .map(|((value, grad, m, v), (.., first, h))| AdamJob {
                value,
                grad,
                moments: (!first).then_some((m, v)),
                hyper: *h,
            })
            .collect();
        let before = c.activity();
        let outs = c.adam_update_many(&jobs)?;
        let launches = c.activity().since(&before).launches;
        let mut values = Vec::new();
        for out in &outs {
            values.push((
                c.download(&out.value)?,
                c.download(&out.exp_avg)?,
                c.download(&out.exp_avg_sq)?,
            ));
        }
        Ok::<_, pgcnn_core::Error>((values, launches))
    })();
    let nonempty = host.iter().filter(|j| !j.0.is_empty()).count();
    match got {
        Ok((outs, launches)) => {
            if launches != nonempty.div_ceil(28) as u64 {
                r.failures.push(format!(
                    "adam_update_many: {launches} launches for {nonempty} parameters"
                ));
            }
            for (i, ((value, grad, m, v, first, h), got)) in host.iter().zip(outs).enumerate() {
                let want = Reference
                    .adam_update(value, grad, (!*first).then_some((m, v)), h)
                    .expect("reference");
                let case = format!("adam_update_many job {i} (n={})", value.len());
                r.check_exact(format!("{case}: value"), Ok(got.0), &want.value);
                r.check_exact(format!("{case}: exp_avg"), Ok(got.1), &want.exp_avg);
                r.check_exact(format!("{case}: exp_avg_sq"), Ok(got.2), &want.exp_avg_sq);
            }
        }
        Err(e) => r.failures.push(format!("adam_update_many: error {e}")),
    }
}

fn primitives<E: Element>(c: &Cuda, rel: f64) {
    let mut r = Report::new(c, rel);
    let mut rng = Rng::seed(7);
    optim::<E>(c, &mut r, &mut rng);
    r.finish();
}

// ---- the tests ---------------------------------------------------------------------------------

#[test]
fn gpu_primitives_f32_tf32() {
    if let Some(c) = gpu() {
        primitives::<f32>(&c.with_math(MathMode::Tf32), 1e-4);
    }
}

#[test]
fn gpu_primitives_f32_strict() {
    if let Some(c) = gpu() {
        primitives::<f32>(&c.with_math(MathMode::Strict), 1e-4);
    }
}

#[test]
fn gpu_primitives_f64() {
    if let Some(c) = gpu() {
        primitives::<f64>(&c, 1e-11);
    }
}

// The emulator's GEMM cuts f32 inputs to TF32 as tensor cores do, so its TF32 run checks
// the tolerance the GPU's uses.
#[test]
fn emulated_primitives_f32_tf32() {
    if let Some(c) = emulator() {
        primitives::<f32>(&c.with_math(MathMode::Tf32), 1e-4);
    }
}

#[test]
fn emulated_primitives_f32_strict() {
    if let Some(c) = emulator() {
        primitives::<f32>(&c.with_math(MathMode::Strict), 1e-4);
    }
}

// Grids, and how reductions split long axes, follow the SM count: the plans an H100 gets.
#[test]
fn emulated_primitives_f32_with_an_h100s_grids() {
    if let Some(c) = emulator_with_multiprocessors(H100_MULTIPROCESSORS) {
        primitives::<f32>(&c.with_math(MathMode::Strict), 1e-4);
    }
}

#[test]
fn emulated_primitives_f64() {
    if let Some(c) = emulator() {
        primitives::<f64>(&c, 1e-11);
    }
}
