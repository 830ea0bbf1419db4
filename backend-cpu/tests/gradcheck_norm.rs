//! The norms on the CPU backend, whose fused `normalize_forward` / `normalize_backward`
//! replace the composed defaults: finite-difference gradient checks in f64, and values
//! and gradients of whole training-mode batch norms, layer norms and instance norms
//! against the reference backend in f32 (at sizes that also take the parallel paths).

mod common;

use common::{values, with_threads};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, tolerance_ratio, GradCheck};
use pgcnn_core::{Backend, Param, Result, RunningStats, Tensor};
use pgcnn_cpu::Cpu;

type T = Tensor<Cpu, f64>;

fn rand(rng: &mut Rng, dims: &[usize], lo: f64, hi: f64) -> T {
    random_tensor(&Cpu, rng, dims, lo, hi).unwrap()
}

#[test]
fn norms_on_cpu_match_finite_differences() {
    let mut rng = Rng::seed(30);
    for dims in [&[4usize, 3][..], &[2, 3, 2, 2], &[2, 2, 3, 1, 2]] {
        let c = dims[1];
        let x = rand(&mut rng, dims, -1.0, 2.0);
        let gamma = rand(&mut rng, &[c], 0.5, 1.5);
        let beta = rand(&mut rng, &[c], -0.5, 0.5);
        let affine = [x.clone(), gamma, beta];
        check_gradients(
            &affine,
            |xs| {
                let mut stats = RunningStats::new(&Cpu, c)?;
                xs[0].batch_norm(Some(&xs[1]), Some(&xs[2]), &mut stats, true, 1e-5)
            },
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("batch_norm {dims:?}: {e}"));
        check_gradients(
            &affine,
            |xs| xs[0].layer_norm(Some(&xs[1]), Some(&xs[2]), 1e-12),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("layer_norm {dims:?}: {e}"));
        if dims.len() >= 3 {
            check_gradients(
                std::slice::from_ref(&x),
                |xs| xs[0].instance_norm(1e-5),
                GradCheck::default(),
            )
            .unwrap_or_else(|e| panic!("instance_norm {dims:?}: {e}"));
        }
        check_gradients(
            &[x],
            |xs| xs[0].normalize(&[-1], 1e-5),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("normalize {dims:?}: {e}"));
    }
}

/// A norm under test, as a function of (x, gamma, beta).
type NormFn<B> = dyn Fn(&[Tensor<B, f32>]) -> Result<Tensor<B, f32>> + Sync;

/// `f` on backend `b` from host values: the output and the gradients of `Σ w · f` for
/// every input, all on the host.
fn run<B: Backend>(
    b: &B,
    inputs: &[(Vec<f32>, Vec<usize>)],
    w: &[f32],
    f: &NormFn<B>,
) -> Vec<Vec<f32>> {
    let params: Vec<Param<B, f32>> = inputs
        .iter()
        .map(|(v, d)| Param::new(Tensor::from_slice(b, v, d.clone()).unwrap()))
        .collect();
    let leaves: Vec<_> = params.iter().map(|p| p.tensor().clone()).collect();
    let y = f(&leaves).unwrap();
    let wt = Tensor::from_slice(b, w, y.dims().to_vec()).unwrap();
    let grads = y.mul(&wt).unwrap().sum_all().unwrap().backward().unwrap();
    let mut out = vec![y.to_vec().unwrap()];
    out.extend(
        params
            .iter()
            .map(|p| grads.get(p).unwrap().to_vec().unwrap()),
    );
    out
}

#[test]
fn norms_on_cpu_match_reference_in_f32() {
    let mut rng = Rng::seed(31);
    // The small shape runs serially, the large one (73 728 values) over threads.
    for dims in [vec![3usize, 4, 2, 3], vec![8, 16, 4, 12, 12]] {
        let c = dims[1];
        let n: usize = dims.iter().product();
        let inputs = vec![
            (values(&mut rng, n, -1.0, 3.0), dims.clone()),
            (values(&mut rng, c, 0.5, 1.5), vec![c]),
            (values(&mut rng, c, -0.5, 0.5), vec![c]),
        ];
        let w: Vec<f32> = values(&mut rng, n, -1.0, 1.0);
        fn bn<B: Backend>(xs: &[Tensor<B, f32>]) -> Result<Tensor<B, f32>> {
            let mut s = RunningStats::new(xs[0].backend(), xs[1].numel())?;
            xs[0].batch_norm(Some(&xs[1]), Some(&xs[2]), &mut s, true, 1e-5)
        }
        fn ln<B: Backend>(xs: &[Tensor<B, f32>]) -> Result<Tensor<B, f32>> {
            xs[0].layer_norm(Some(&xs[1]), Some(&xs[2]), 1e-12)
        }
        fn inorm<B: Backend>(xs: &[Tensor<B, f32>]) -> Result<Tensor<B, f32>> {
            // gamma and beta are unused; they get zero gradients on both sides.
            xs[0]
                .instance_norm(1e-5)?
                .add(&xs[1].mul_scalar(0.0)?.sum_all()?)?
                .add(&xs[2].mul_scalar(0.0)?.sum_all()?)
        }
        for (name, fr, fc) in [
            (
                "batch_norm",
                &bn::<Reference> as &NormFn<Reference>,
                &bn::<Cpu> as &NormFn<Cpu>,
            ),
            ("layer_norm", &ln::<Reference>, &ln::<Cpu>),
            ("instance_norm", &inorm::<Reference>, &inorm::<Cpu>),
        ] {
            let want = run(&Reference, &inputs, &w, fr);
            let got = with_threads(3, || run(&Cpu, &inputs, &w, fc));
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
                let r: Vec<f64> = r.iter().map(|&v| v as f64).collect();
                let scale = r.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                let ratio = tolerance_ratio(&g, &r, 1e-4 * scale, 1e-4);
                assert!(ratio <= 1.0, "{name} {dims:?} output {i}: ratio {ratio}");
            }
        }
    }
}
