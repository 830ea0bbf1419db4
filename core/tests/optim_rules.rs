//! Adam and SGD against hand-written f64 implementations of PyTorch's formulas, a few
//! known numbers, and convergence on a tiny least-squares problem.

use pgcnn_core::optim::{AdamConfig, Optimizer, ParamGroup, Schedule, SgdConfig};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{random_tensor, tolerance_ratio};
use pgcnn_core::{Element, Gradients, Param, Tensor};

const SHAPE: [usize; 2] = [3, 4];
const N: usize = 12;

/// Random values in ±[0.1, 2): no gradient is close to 0, so Adam's eps stays negligible.
fn random_values(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let m = rng.uniform_range(0.1, 2.0);
            if rng.uniform() < 0.5 {
                -m
            } else {
                m
            }
        })
        .collect()
}

fn tensor<E: Element>(v: &[f64]) -> Tensor<Reference, E> {
    Tensor::from_f64s(&Reference, v, SHAPE.to_vec()).unwrap()
}

fn to_f64<E: Element>(t: &Tensor<Reference, E>) -> Vec<f64> {
    t.to_vec()
        .unwrap()
        .into_iter()
        .map(|x| x.to_f64())
        .collect()
}

/// torch.optim.Adam, one element at a time, in f64.
fn reference_adam(p0: &[f64], grads: &[Vec<f64>], lr: f64, wd: f64) -> Vec<Vec<f64>> {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut p = p0.to_vec();
    let mut m = vec![0.0; p.len()];
    let mut v = vec![0.0; p.len()];
    let mut out = Vec::new();
    for (t, g) in grads.iter().enumerate() {
        let t = (t + 1) as i32;
        for i in 0..p.len() {
            let gi = g[i] + wd * p[i];
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            let bc1 = 1.0 - b1.powi(t);
            let bc2 = 1.0 - b2.powi(t);
            let denom = v[i].sqrt() / bc2.sqrt() + eps;
            p[i] -= lr / bc1 * m[i] / denom;
        }
        out.push(p.clone());
    }
    out
}

/// torch.optim.SGD, one element at a time, in f64.
fn reference_sgd(p0: &[f64], grads: &[Vec<f64>], lr: f64, wd: f64, c: SgdConfig) -> Vec<Vec<f64>> {
    let mut p = p0.to_vec();
    let mut buf: Option<Vec<f64>> = None;
    let mut out = Vec::new();
    for g in grads {
        let mut d: Vec<f64> = (0..p.len()).map(|i| g[i] + wd * p[i]).collect();
        if c.momentum != 0.0 {
            let b = match buf.take() {
                None => d.clone(),
                Some(b) => (0..p.len())
                    .map(|i| c.momentum * b[i] + (1.0 - c.dampening) * d[i])
                    .collect(),
            };
            d = if c.nesterov {
                (0..p.len()).map(|i| d[i] + c.momentum * b[i]).collect()
            } else {
                b.clone()
            };
            buf = Some(b);
        }
        for i in 0..p.len() {
            p[i] -= lr * d[i];
        }
        out.push(p.clone());
    }
    out
}

/// Runs `opt` on one parameter starting at `p0` with the given gradients; the value
/// after every step.
fn run<E: Element>(
    mut opt_for: impl FnMut(&Param<Reference, E>) -> Optimizer<Reference, E>,
    p0: &[f64],
    grads: &[Vec<f64>],
) -> Vec<Vec<f64>> {
    let mut p = Param::new(tensor::<E>(p0));
    let mut opt = opt_for(&p);
    let mut out = Vec::new();
    for g in grads {
        let mut gs = Gradients::new();
        gs.insert(p.id(), tensor::<E>(g));
        opt.step([&mut p], &gs).unwrap();
        assert!(!p.tensor().detach().requires_grad());
        out.push(to_f64(p.tensor()));
    }
    out
}

fn assert_close(got: &[Vec<f64>], want: &[Vec<f64>], atol: f64, rtol: f64, what: &str) {
    for (step, (g, w)) in got.iter().zip(want).enumerate() {
        let r = tolerance_ratio(g, w, atol, rtol);
        assert!(
            r <= 1.0,
            "{what}, step {}: ratio {r}\n got  {g:?}\n want {w:?}",
            step + 1
        );
    }
}

#[test]
fn adam_matches_pytorch_formulas_in_f64_and_f32() {
    let mut rng = Rng::seed(10);
    for wd in [0.0, 0.05] {
        let p0 = random_values(&mut rng, N);
        let grads: Vec<Vec<f64>> = (0..6).map(|_| random_values(&mut rng, N)).collect();
        let lr = 0.01;
        let want = reference_adam(&p0, &grads, lr, wd);
        let make = |p: &Param<Reference, f64>| {
            let g = ParamGroup::new("all", lr, [p.id()]).with_weight_decay(wd);
            Optimizer::adam(vec![g], AdamConfig::default()).unwrap()
        };
        assert_close(
            &run(make, &p0, &grads),
            &want,
            1e-15,
            1e-12,
            &format!("adam f64 wd {wd}"),
        );
        let make32 = |p: &Param<Reference, f32>| {
            let g = ParamGroup::new("all", lr, [p.id()]).with_weight_decay(wd);
            Optimizer::adam(vec![g], AdamConfig::default()).unwrap()
        };
        assert_close(
            &run(make32, &p0, &grads),
            &want,
            1e-6,
            1e-5,
            &format!("adam f32 wd {wd}"),
        );
    }
}

#[test]
fn adam_first_step_moves_each_element_by_lr_against_the_gradient_sign() {
    let mut rng = Rng::seed(11);
    let p0 = random_values(&mut rng, N);
    let g = random_values(&mut rng, N);
    let lr = 0.003;
    let make = |p: &Param<Reference, f64>| {
        Optimizer::adam(
            vec![ParamGroup::new("all", lr, [p.id()])],
            AdamConfig::default(),
        )
        .unwrap()
    };
    let after = &run(make, &p0, std::slice::from_ref(&g))[0];
    for i in 0..N {
        let moved = after[i] - p0[i];
        // Exactly -lr·g/(|g| + eps): within lr·eps/|g| <= 1e-7·lr of -lr·sign(g).
        assert!(
            (moved + lr * g[i].signum()).abs() <= lr * 1e-7,
            "element {i}: moved {moved}, gradient {}",
            g[i]
        );
    }
}

#[test]
fn sgd_variants_match_pytorch_formulas() {
    let mut rng = Rng::seed(12);
    let configs = [
        ("plain", SgdConfig::default(), 0.0),
        ("plain + weight decay", SgdConfig::default(), 0.1),
        (
            "momentum",
            SgdConfig {
                momentum: 0.9,
                ..Default::default()
            },
            0.0,
        ),
        (
            "momentum + dampening + weight decay",
            SgdConfig {
                momentum: 0.8,
                dampening: 0.3,
                nesterov: false,
            },
            0.02,
        ),
        (
            "nesterov",
            SgdConfig {
                momentum: 0.9,
                dampening: 0.0,
                nesterov: true,
            },
            0.0,
        ),
        (
            "nesterov + weight decay",
            SgdConfig {
                momentum: 0.7,
                dampening: 0.0,
                nesterov: true,
            },
            0.05,
        ),
    ];
    for (name, cfg, wd) in configs {
        let p0 = random_values(&mut rng, N);
        let grads: Vec<Vec<f64>> = (0..5).map(|_| random_values(&mut rng, N)).collect();
        let lr = 0.05;
        let want = reference_sgd(&p0, &grads, lr, wd, cfg);
        let make = |p: &Param<Reference, f64>| {
            let g = ParamGroup::new("all", lr, [p.id()]).with_weight_decay(wd);
            Optimizer::sgd(vec![g], cfg).unwrap()
        };
        assert_close(&run(make, &p0, &grads), &want, 1e-15, 1e-12, name);
    }
}

#[test]
fn sgd_known_numbers() {
    // p = 1, g = 2, lr 0.1, momentum 0.5: step 1 buffer 2 → p 0.8; step 2 buffer
    // 0.5·2 + 2 = 3 → p 0.5. Nesterov: step 1 d = 2 + 0.5·2 = 3 → p 0.7;
    // step 2 buffer 3, d = 2 + 0.5·3 = 3.5 → p 0.35.
    let b = Reference;
    let grads = |p: &Param<Reference, f64>| {
        let mut g = Gradients::new();
        g.insert(p.id(), Tensor::from_slice(&b, &[2.0], [1]).unwrap());
        g
    };
    for (nesterov, want) in [(false, [0.8, 0.5]), (true, [0.7, 0.35])] {
        let mut p = Param::new(Tensor::<_, f64>::from_slice(&b, &[1.0], [1]).unwrap());
        let cfg = SgdConfig {
            momentum: 0.5,
            dampening: 0.0,
            nesterov,
        };
        let mut opt = Optimizer::sgd(vec![ParamGroup::new("p", 0.1, [p.id()])], cfg).unwrap();
        for w in want {
            let g = grads(&p);
            opt.step([&mut p], &g).unwrap();
            let v = p.tensor().to_scalar().unwrap();
            assert!((v - w).abs() < 1e-15, "nesterov {nesterov}: {v} != {w}");
        }
    }
}

/// min over x of mean((A x − b)²) for a random well-conditioned A and b = A x*.
fn least_squares(
    opt_for: impl Fn(&Param<Reference, f64>) -> Optimizer<Reference, f64>,
    mut schedule: Schedule,
    iters: usize,
) -> (f64, f64) {
    let b = Reference;
    let mut rng = Rng::seed(13);
    let a: Tensor<Reference, f64> = random_tensor(&b, &mut rng, &[8, 3], -1.0, 1.0).unwrap();
    let x_true = Tensor::from_slice(&b, &[0.5, -1.5, 2.0], [3, 1]).unwrap();
    let target = a.matmul(&x_true).unwrap();
    let mut x = Param::new(Tensor::zeros(&b, [3, 1]).unwrap());
    let mut opt = opt_for(&x);
    opt.apply_schedule(&schedule).unwrap();
    let mut loss = f64::INFINITY;
    for _ in 0..iters {
        let l = a
            .matmul(x.tensor())
            .unwrap()
            .sub(&target)
            .unwrap()
            .square()
            .unwrap()
            .mean_all()
            .unwrap();
        loss = l.to_scalar().unwrap();
        let grads = l.backward().unwrap();
        opt.step([&mut x], &grads).unwrap();
        schedule.on_iteration_end();
        opt.apply_schedule(&schedule).unwrap();
    }
    let err = x
        .tensor()
        .to_vec()
        .unwrap()
        .iter()
        .zip([0.5, -1.5, 2.0])
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    (loss, err)
}

#[test]
fn least_squares_converges_with_adam_and_sgd() {
    let adam = |x: &Param<Reference, f64>| {
        Optimizer::adam(
            vec![ParamGroup::new("x", 0.1, [x.id()])],
            AdamConfig::default(),
        )
        .unwrap()
    };
    let (loss, err) = least_squares(adam, Schedule::warmup_cosine(20, 600, 1e-6).unwrap(), 600);
    assert!(
        loss < 1e-6 && err < 1e-3,
        "adam: loss {loss}, max error {err}"
    );

    let sgd = |x: &Param<Reference, f64>| {
        let cfg = SgdConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: true,
        };
        Optimizer::sgd(vec![ParamGroup::new("x", 0.1, [x.id()])], cfg).unwrap()
    };
    let (loss, err) = least_squares(sgd, Schedule::constant(), 600);
    assert!(
        loss < 1e-12 && err < 1e-5,
        "sgd: loss {loss}, max error {err}"
    );
}
