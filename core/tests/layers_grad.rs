//! Finite-difference checks (f64) of gradients through whole layers: d(loss)/d(kernel-net
//! weights, bias) of lifting, group and pointwise convolutions, d(loss)/dθ of partial
//! group convolutions (θ reaches the loss through the sampled elements, docs/math.md §4),
//! and the straight-through d(loss)/d(logit) of the keep decisions, checked by the chain
//! rule with both factors taken by finite differences.

use pgcnn_core::group::*;
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind};
use pgcnn_core::layers::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Result, Tensor};

type T = Tensor<Reference, f64>;
const BK: Reference = Reference;
const EPS: f64 = 1e-6;
const TAU: f64 = 0.5;

fn config(kind: GroupKind, cin: usize, cout: usize, n: usize) -> ConvConfig {
    let mut k = KernelNetConfig::new(KernelNetKind::Siren, 4, 2);
    k.omega0 = 2.0;
    k.learn_omega0 = true;
    ConvConfig::new(cin, cout, 3, kind, n, k)
}

/// A detached input map on a deterministic grid (so that it is closed under rotations
/// and the lifting's draws do not interfere with the layer's).
fn input_map(kind: GroupKind, n: usize, c: usize, rng: &mut Rng) -> GroupMap<Reference, f64> {
    let el = sample_group(&BK, kind, n, SamplingMethod::Deterministic, None, rng).unwrap();
    let t = random_tensor(&BK, rng, &[2, c, el.len(), 4, 4], -1.0, 1.0).unwrap();
    GroupMap::new(t, el).unwrap()
}

/// Checks every element of every parameter the filter accepts: autodiff against the
/// central difference of `loss(seed)` (same seed, so the same draws).
fn check_params<L: LayerParams<Reference, f64>>(
    label: &str,
    layer: &mut L,
    mut run: impl FnMut(&L) -> Result<T>,
    accept: impl Fn(&str) -> bool,
) -> usize {
    let out = run(layer).unwrap();
    let mut wrng = Rng::seed(99);
    let w: T = random_tensor(&BK, &mut wrng, out.dims(), -1.0, 1.0).unwrap();
    let grads = out.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    let names = layer.param_names();
    let mut checked = 0;
    for (pi, name) in names.iter().enumerate() {
        if !accept(name) {
            continue;
        }
        let p = &layer.params()[pi];
        let analytic = match grads.get(p) {
            Some(g) => g.to_vec().unwrap(),
            None => vec![0.0; p.numel()],
        };
        let orig = p.tensor().to_vec().unwrap();
        let dims = p.dims().to_vec();
        for j in 0..orig.len() {
            let mut eval = |v: f64| -> f64 {
                let mut vals = orig.clone();
                vals[j] = v;
                let t = T::from_slice(&BK, &vals, dims.clone()).unwrap();
                layer.params_mut()[pi].set(t).unwrap();
                let y = run(layer).unwrap().mul(&w).unwrap().sum_all().unwrap();
                y.to_scalar().unwrap()
            };
            let numeric = (eval(orig[j] + EPS) - eval(orig[j] - EPS)) / (2.0 * EPS);
            let t = T::from_slice(&BK, &orig, dims.clone()).unwrap();
            layer.params_mut()[pi].set(t).unwrap();
            let err = (analytic[j] - numeric).abs() / (1e-6 + 1e-5 * numeric.abs());
            assert!(
                err <= 1.0,
                "{label}: {name}[{j}]: autodiff {} vs finite difference {numeric}",
                analytic[j]
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn lifting_gradients_match_finite_differences() {
    let mut rng = Rng::seed(1);
    for kind in [GroupKind::Se2, GroupKind::E2] {
        let mut cfg = config(kind, 2, 2, 4);
        cfg.sample_per_batch_element = true;
        let mut layer = LiftingConv::<_, f64>::new(&BK, cfg, &mut rng).unwrap();
        let x: T = random_tensor(&BK, &mut rng, &[2, 2, 5, 5], -1.0, 1.0).unwrap();
        let n = check_params(
            &format!("lifting {kind}"),
            &mut layer,
            |l| {
                let mut ctx = ForwardCtx::train(Rng::seed(5), TAU);
                Ok(l.forward(&x, &mut ctx)?.tensor().clone())
            },
            |_| true,
        );
        assert!(n > 20);
    }
}

#[test]
fn partial_group_conv_gradients_reach_theta_and_the_weights() {
    let mut rng = Rng::seed(2);
    for kind in [GroupKind::Se2, GroupKind::E2] {
        let n_samples = 8;
        let mut cfg = config(kind, 2, 2, n_samples);
        cfg.partial = true;
        cfg.sampling = SamplingMethod::Random;
        cfg.sample_per_batch_element = kind == GroupKind::E2;
        let mut layer = GroupConv::<_, f64>::new(&BK, cfg, &mut rng).unwrap();
        // θ = 0.7, away from the steps of N' = ⌈N_r·θ⌉.
        set_param(&mut layer, "partial.theta", &[0.7]);
        let theta = layer.theta().unwrap().tensor().to_vec().unwrap()[0];
        assert_eq!(theta, 0.7);
        let input = input_map(kind, n_samples, 2, &mut rng);
        let run = |l: &GroupConv<Reference, f64>| -> Result<T> {
            let mut ctx = ForwardCtx::train(Rng::seed(11), TAU);
            Ok(l.forward(&input, &mut ctx)?.tensor().clone())
        };
        // The mirror decision is a hard threshold: its logit is checked below.
        let n = check_params(&format!("partial {kind}"), &mut layer, run, |name| {
            name != "partial.mirror_logit"
        });
        assert!(n > 20);
        // θ really gets a gradient.
        let out = run(&layer).unwrap();
        let g = out.sum_all().unwrap().backward().unwrap();
        let gt = g.get(layer.theta().unwrap()).unwrap().to_scalar().unwrap();
        assert!(gt.abs() > 1e-8, "{kind}: dθ = {gt}");
    }
}

#[test]
fn pointwise_gradients_match_finite_differences() {
    let mut rng = Rng::seed(3);
    for kind in [GroupKind::Se2, GroupKind::E2, GroupKind::T2] {
        let n = if kind == GroupKind::T2 { 1 } else { 4 };
        let mut layer =
            PointwiseGroupConv::<_, f64>::new(&BK, config(kind, 2, 3, n), &mut rng).unwrap();
        let input = input_map(kind, n, 2, &mut rng);
        let out_el = sample_group(&BK, kind, n, SamplingMethod::Random, None, &mut rng).unwrap();
        let checked = check_params(
            &format!("pointwise {kind}"),
            &mut layer,
            |l| {
                let mut ctx = ForwardCtx::train(Rng::seed(1), TAU);
                Ok(l.forward(&input, &out_el, &mut ctx)?.tensor().clone())
            },
            |_| true,
        );
        assert!(checked > 10);
    }
}

/// Sets the parameter called `name` to `values`.
fn set_param<L: LayerParams<Reference, f64>>(layer: &mut L, name: &str, values: &[f64]) {
    let i = layer.param_names().iter().position(|n| n == name).unwrap();
    let dims = layer.params()[i].dims().to_vec();
    layer.params_mut()[i]
        .set(T::from_slice(&BK, values, dims).unwrap())
        .unwrap();
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The straight-through gradient of a keep logit is Σ_n dL/dgate_n · dgate_n/dy · dy/dl
/// with y = sigmoid((l + noise)/τ) the relaxed sample. Both dL/dgate_n (gates through
/// the whole layer) and dy/dl are taken by central differences here.
#[test]
fn keep_logit_gradients_follow_the_straight_through_chain_rule() {
    let mut rng = Rng::seed(4);
    let mut checked = 0;
    let mut outcomes = Vec::new();
    for seed in 0..6u64 {
        let mut cfg = config(GroupKind::E2, 2, 2, 8);
        cfg.partial = true;
        cfg.sampling = SamplingMethod::Deterministic;
        let mut layer = GroupConv::<_, f64>::new(&BK, cfg, &mut rng).unwrap();
        // Spread the logits so that keeps and drops both occur.
        set_param(&mut layer, "partial.rotation_logits", &[0.3, -0.4, 1.5]);
        let input = input_map(GroupKind::E2, 8, 2, &mut rng);
        // The layer's only draws: 3 rotation decisions, then the mirror decision.
        let mut nrng = Rng::seed(seed);
        let noise_r = logistic_noise(&mut nrng, 3);
        let noise_m = logistic_noise(&mut nrng, 1);
        let logits = [0.3, -0.4, 1.5];
        let ml = layer
            .partial()
            .unwrap()
            .mirror_logit()
            .unwrap()
            .tensor()
            .to_scalar()
            .unwrap();
        let relaxed = |l: f64, noise: f64| sigmoid((l + noise) / TAU);
        let keep: Vec<bool> = (0..3)
            .map(|i| relaxed(logits[i], noise_r[i]) > 0.5)
            .collect();
        let mirror_kept = relaxed(ml, noise_m[0]) > 0.5;
        let kept: Vec<usize> = (0..4).filter(|&i| i == 0 || keep[i - 1]).collect();

        let mut ctx = ForwardCtx::train(Rng::seed(seed), TAU);
        let drawn = layer.output_elements(&input, &mut ctx).unwrap();
        let n = drawn.elements.len();
        assert_eq!(
            n,
            kept.len() * if mirror_kept { 2 } else { 1 },
            "reproduced draws"
        );
        let mut ctx = ForwardCtx::train(Rng::seed(seed), TAU);
        let out = layer.forward(&input, &mut ctx).unwrap();
        let mut wrng = Rng::seed(7);
        let w: T = random_tensor(&BK, &mut wrng, out.dims(), -1.0, 1.0).unwrap();
        let grads = out
            .tensor()
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();

        // dL/dgate_n by central differences of the gates through the layer.
        let loss_with_gates = |g: &[f64]| -> f64 {
            let gates = T::from_slice(&BK, g, [n]).unwrap();
            let mut c = ForwardCtx::train(Rng::seed(0), TAU);
            let y = layer
                .forward_on(&input, &drawn.elements, Some(&gates), &mut c)
                .unwrap();
            y.tensor()
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        let dl_dgate: Vec<f64> = (0..n)
            .map(|i| {
                let mut up = vec![1.0; n];
                let mut down = vec![1.0; n];
                up[i] += EPS;
                down[i] -= EPS;
                (loss_with_gates(&up) - loss_with_gates(&down)) / (2.0 * EPS)
            })
            .collect();
        let dy =
            |l: f64, noise: f64| (relaxed(l + EPS, noise) - relaxed(l - EPS, noise)) / (2.0 * EPS);

        let rot_grad = grads
            .get(layer.partial().unwrap().rotation_logits().unwrap())
            .map(|g| g.to_vec().unwrap())
            .unwrap_or(vec![0.0; 3]);
        for i in 1..4 {
            let want = match kept.iter().position(|&k| k == i) {
                None => 0.0, // dropped: no gradient from this draw
                Some(pos) => {
                    let mut s = dl_dgate[pos];
                    if mirror_kept {
                        s += dl_dgate[kept.len() + pos];
                    }
                    s * dy(logits[i - 1], noise_r[i - 1])
                }
            };
            let got = rot_grad[i - 1];
            assert!(
                (got - want).abs() <= 1e-6 + 1e-5 * want.abs(),
                "seed {seed}: rotation logit {i}: autodiff {got} vs chain rule {want}"
            );
            checked += 1;
        }
        let mirror_grad = grads
            .get(layer.partial().unwrap().mirror_logit().unwrap())
            .map(|g| g.to_scalar().unwrap())
            .unwrap_or(0.0);
        let want = if mirror_kept {
            dl_dgate[kept.len()..].iter().sum::<f64>() * dy(ml, noise_m[0])
        } else {
            0.0
        };
        assert!(
            (mirror_grad - want).abs() <= 1e-6 + 1e-5 * want.abs(),
            "seed {seed}: mirror logit: autodiff {mirror_grad} vs chain rule {want}"
        );
        checked += 1;
        outcomes.push((kept.len(), mirror_kept));
    }
    assert_eq!(checked, 24);
    // The seeds cover drops of rotations and of the mirror, and keeps of both.
    assert!(outcomes.iter().any(|o| o.0 < 4) && outcomes.iter().any(|o| o.0 > 1));
    assert!(
        outcomes.iter().any(|o| o.1) && outcomes.iter().any(|o| !o.1),
        "{outcomes:?}"
    );
}
