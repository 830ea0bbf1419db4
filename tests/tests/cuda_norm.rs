//! The CUDA backend's fused normalisation (`normalize_forward`, `normalize_backward`)
//! against the reference's composed default bodies, on the GPU and on the kernel emulator
//! (see cuda_support/mod.rs).
//!
//! The oracle is the reference run in f64 on the same inputs (exactly promoted), its
//! results rounded to the element type: the CUDA kernels accumulate in double, and an
//! f32 reference summing 50 000 values at an offset of 50 would be the least accurate
//! party. Tolerances, relative to the largest magnitude of each expected tensor: f32 1e-4,
//! f64 1e-11.

mod cuda_support;

use cuda_support::{
    emulator, emulator_with_multiprocessors, gpu, up, values, Report, H100_MULTIPROCESSORS,
};
use pgcnn_core::backend::{Backend, NormLayout};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};
use pgcnn_cuda::Cuda;

fn nl(outer: usize, channels: usize, inner: usize) -> NormLayout {
    NormLayout {
        outer,
        channels,
        inner,
    }
}

/// Edge sizes (one value per channel, one channel, no outer), batch norm of images and
/// of features, instance norm with many channels, and channels long enough to be split
/// into chunks (on the emulator's two "SMs" from about 2000 values).
const LAYOUTS: &[(usize, usize, usize)] = &[
    (4, 3, 5),
    (1, 1, 1),
    (1, 7, 1),
    (5, 1, 1),
    (1, 1, 1000),
    (1, 1, 5000),
    (3, 1, 2000),
    (16, 2, 700),
    (8, 16, 1),
    (64, 10, 1),
    (2, 300, 3),
    (1, 512, 49),
    (1, 1000, 20),
    (64, 4, 784),
];

/// Sizes of real training steps, too slow for the emulator's one thread per CUDA thread:
/// instance norm of [64, 64, 14, 14], batch norm of [64, 128, 14, 14] and of one channel
/// of [64, 1, 28, 28].
const GPU_LAYOUTS: &[(usize, usize, usize)] = &[(1, 4096, 196), (64, 128, 196), (64, 1, 784)];

fn to_f64<E: Element>(v: &[E]) -> Vec<f64> {
    v.iter().map(|&x| Element::to_f64(x)).collect()
}

fn from_f64<E: Element>(v: &[f64]) -> Vec<E> {
    v.iter().map(|&x| E::from_f64(x)).collect()
}

fn down<E: Element>(c: &Cuda, s: &Result<pgcnn_cuda::CudaStorage<E>>) -> Result<Vec<E>> {
    match s {
        Ok(s) => c.download(s),
        Err(e) => Err(e.clone()),
    }
}

/// Forward and backward of one layout, with and without affine, against the oracle.
fn case<E: Element>(c: &Cuda, r: &mut Report, rng: &mut Rng, l: NormLayout, offset: f64) {
    let n = l.numel();
    let eps = E::from_f64(1e-5);
    for affine in [false, true] {
        let what = format!("{l:?} offset={offset} affine={affine}");
        let x = values::<E>(rng, n, offset - 1.0, offset + 1.0);
        let dy = values::<E>(rng, n, -1.0, 1.0);
        let gamma = values::<E>(rng, l.channels, 0.5, 1.5);
        let beta = values::<E>(rng, l.channels, -0.5, 0.5);
        let (x64, g64, b64) = (to_f64(&x), to_f64(&gamma), to_f64(&beta));
        let want = Reference
            .normalize_forward(
                &x64,
                l,
                Element::to_f64(eps),
                affine.then_some((&g64, &b64)),
            )
            .expect("reference forward");
        let got = (|| {
            let (dx, dg, db) = (up(c, &x)?, up(c, &gamma)?, up(c, &beta)?);
            c.normalize_forward(&dx, l, eps, affine.then_some((&dg, &db)))
        })();
        let (y, mean, var, rstd) = match got {
            Ok(f) => (Ok(f.y), Ok(f.mean), Ok(f.var), Ok(f.rstd)),
            Err(e) => (Err(e.clone()), Err(e.clone()), Err(e.clone()), Err(e)),
        };
        for (name, got, want) in [
            ("y", y, &want.y),
            ("mean", mean, &want.mean),
            ("var", var, &want.var),
            ("rstd", rstd, &want.rstd),
        ] {
            r.check(
                format!("forward {name} {what}"),
                down(c, &got),
                &from_f64::<E>(want),
            );
        }

        // Both backends get the same (rounded) statistics.
        let (mean, rstd) = (from_f64::<E>(&want.mean), from_f64::<E>(&want.rstd));
        let want = Reference
            .normalize_backward(
                &to_f64(&dy),
                &x64,
                &to_f64(&mean),
                &to_f64(&rstd),
                affine.then_some(&g64),
                l,
            )
            .expect("reference backward");
        let got = (|| {
            let g = up(c, &gamma)?;
            c.normalize_backward(
                &up(c, &dy)?,
                &up(c, &x)?,
                &up(c, &mean)?,
                &up(c, &rstd)?,
                affine.then_some(&g),
                l,
            )
        })();
        let (dx, dgamma, dbeta) = match got {
            Ok(b) => (Ok(b.dx), Ok(b.dgamma), Ok(b.dbeta)),
            Err(e) => (Err(e.clone()), Err(e.clone()), Err(e)),
        };
        r.check(
            format!("backward dx {what}"),
            down(c, &dx),
            &from_f64::<E>(&want.dx),
        );
        r.check(
            format!("backward dgamma {what}"),
            down(c, &dgamma),
            &from_f64::<E>(&want.dgamma),
        );
        r.check(
            format!("backward dbeta {what}"),
            down(c, &dbeta),
            &from_f64::<E>(&want.dbeta),
        );
    }
}

/// Two runs of the same inputs give the same bits (fixed reduction orders, no atomics).
fn deterministic<E: Element>(c: &Cuda, r: &mut Report, rng: &mut Rng) {
    let l = nl(16, 2, 700);
    let x = values::<E>(rng, l.numel(), -1.0, 3.0);
    let dy = values::<E>(rng, l.numel(), -1.0, 1.0);
    let run = || -> Result<Vec<Vec<E>>> {
        let xs = up(c, &x)?;
        let f = c.normalize_forward(&xs, l, E::from_f64(1e-5), None)?;
        let b = c.normalize_backward(&up(c, &dy)?, &xs, &f.mean, &f.rstd, None, l)?;
        [&f.y, &f.mean, &f.var, &f.rstd, &b.dx, &b.dgamma, &b.dbeta]
            .into_iter()
            .map(|s| c.download(s))
            .collect()
    };
    match (run(), run()) {
        (Ok(a), Ok(b)) => {
            let bits = |v: &Vec<Vec<E>>| -> Vec<u64> {
                v.iter()
                    .flatten()
                    .map(|&x| Element::to_f64(x).to_bits())
                    .collect()
            };
            if bits(&a) != bits(&b) {
                r.failures.push("two runs differ in their bits".into());
            }
        }
        (Err(e), _) | (_, Err(e)) => r.failures.push(format!("determinism: error {e}")),
    }
}

fn bad_input<E: Element>(c: &Cuda, r: &mut Report, rng: &mut Rng) {
    let x = values::<E>(rng, 30, -1.0, 1.0);
    let three = values::<E>(rng, 3, 0.5, 1.5);
    let eps = E::from_f64(1e-5);
    r.check_err(
        "forward with a short input",
        (|| c.normalize_forward(&up(c, &x[..29])?, nl(2, 3, 5), eps, None))(),
    );
    r.check_err(
        "forward with a short gamma",
        (|| {
            let (g, b) = (up(c, &three[..2])?, up(c, &three)?);
            c.normalize_forward(&up(c, &x)?, nl(2, 3, 5), eps, Some((&g, &b)))
        })(),
    );
    r.check_err(
        "forward with no values per channel",
        (|| c.normalize_forward(&up(c, &x[..0])?, nl(0, 3, 5), eps, None))(),
    );
    r.check_err(
        "forward with an overflowing layout",
        (|| c.normalize_forward(&up(c, &x)?, nl(usize::MAX, 3, 5), eps, None))(),
    );
    r.check_err(
        "backward with a short mean",
        (|| {
            let (xs, m) = (up(c, &x)?, up(c, &three[..2])?);
            c.normalize_backward(&xs, &xs, &m, &up(c, &three)?, None, nl(2, 3, 5))
        })(),
    );
    r.check_err(
        "backward with a short dy",
        (|| {
            let (xs, m) = (up(c, &x)?, up(c, &three)?);
            c.normalize_backward(&up(c, &x[..20])?, &xs, &m, &m, None, nl(2, 3, 5))
        })(),
    );
    // No channels: empty results, no launch.
    let got = (|| -> Result<usize> {
        let f = c.normalize_forward(&up(c, &x[..0])?, nl(4, 0, 3), eps, None)?;
        Ok(f.y.len() + f.mean.len() + f.var.len() + f.rstd.len())
    })();
    match got {
        Ok(0) => {}
        other => r.failures.push(format!("no channels: {other:?}")),
    }
}

fn norm_suite<E: Element>(c: &Cuda, rel: f64, extra: &[(usize, usize, usize)]) {
    let mut r = Report::new(c, rel);
    let mut rng = Rng::seed(11);
    for &(outer, channels, inner) in LAYOUTS.iter().chain(extra) {
        for offset in [0.0, 50.0] {
            case::<E>(c, &mut r, &mut rng, nl(outer, channels, inner), offset);
        }
    }
    deterministic::<E>(c, &mut r, &mut rng);
    bad_input::<E>(c, &mut r, &mut rng);
    r.finish();
}

// ---- the tests ---------------------------------------------------------------------------------

#[test]
fn gpu_norm_f32() {
    if let Some(c) = gpu() {
        norm_suite::<f32>(&c, 1e-4, GPU_LAYOUTS);
    }
}

#[test]
fn gpu_norm_f64() {
    if let Some(c) = gpu() {
        norm_suite::<f64>(&c, 1e-11, GPU_LAYOUTS);
    }
}

#[test]
fn emulated_norm_f32() {
    if let Some(c) = emulator() {
        norm_suite::<f32>(&c, 1e-4, &[]);
    }
}

// The normalisations split long axes by the SM count: the plans an H100 gets.
#[test]
fn emulated_norm_f32_with_an_h100s_grids() {
    if let Some(c) = emulator_with_multiprocessors(H100_MULTIPROCESSORS) {
        norm_suite::<f32>(&c, 1e-4, &[]);
    }
}

#[test]
fn emulated_norm_f64() {
    if let Some(c) = emulator() {
        norm_suite::<f64>(&c, 1e-11, &[]);
    }
}
