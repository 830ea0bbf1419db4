//! Kernel nets (docs/math.md §7): shapes, initialisation ranges, agreement with naive host
//! evaluation, determinism under the seed, and gradient checks with respect to the input
//! and every parameter.

use pgcnn_core::kernel::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, GradCheck};
use pgcnn_core::Tensor;
use std::collections::HashMap;

type T = Tensor<Reference, f64>;
type Net = KernelNetwork<Reference, f64>;
const B: Reference = Reference;

fn build(cfg: &KernelNetConfig, d: usize, out: usize, seed: u64) -> Net {
    KernelNetwork::new(&B, cfg, d, out, &mut Rng::seed(seed)).unwrap()
}

/// Every configuration worth testing, small.
fn configs() -> Vec<(&'static str, KernelNetConfig)> {
    let mut v = Vec::new();
    v.push(("siren", KernelNetConfig::new(KernelNetKind::Siren, 5, 3)));
    let mut c = KernelNetConfig::new(KernelNetKind::Siren, 5, 2);
    c.learn_omega0 = true;
    c.omega0 = 3.0;
    v.push(("siren learned ω0", c));
    for (name, act) in [
        ("relu", Activation::Relu),
        ("leaky", Activation::LeakyRelu),
        ("swish", Activation::Swish),
        ("tanh", Activation::Tanh),
        ("sine", Activation::Sine),
    ] {
        let mut c = KernelNetConfig::new(KernelNetKind::Mlp, 5, 3);
        c.activation = act;
        v.push((name, c));
    }
    let mut c = KernelNetConfig::new(KernelNetKind::Mlp, 5, 3);
    c.norm = KernelNorm::LayerNorm;
    c.activation = Activation::Swish;
    v.push(("mlp layer norm", c));
    for (name, kind) in [
        ("fourier", KernelNetKind::Fourier),
        ("gabor", KernelNetKind::Gabor),
        ("magnet", KernelNetKind::Magnet),
    ] {
        let mut c = KernelNetConfig::new(kind, 5, 2);
        // A milder frequency scale keeps the finite differences well conditioned.
        c.mfn.input_scale = 4.0;
        v.push((name, c));
    }
    v
}

fn named(net: &Net) -> HashMap<String, Vec<f64>> {
    net.param_names()
        .into_iter()
        .zip(net.params())
        .map(|(n, p)| (n, p.tensor().to_vec().unwrap()))
        .collect()
}

#[test]
fn every_net_maps_positions_to_kernel_values() {
    let mut rng = Rng::seed(1);
    for (name, cfg) in configs() {
        let net = build(&cfg, 3, 8, 2);
        assert_eq!((net.in_dim(), net.out_dim()), (3, 8), "{name}");
        let x: T = random_tensor(&B, &mut rng, &[11, 3], -1.0, 1.0).unwrap();
        let y = net.forward(&x).unwrap();
        assert_eq!(y.dims(), &[11, 8], "{name}");
        assert!(y.to_vec().unwrap().iter().all(|v| v.is_finite()), "{name}");
        // Bookkeeping agrees.
        let n = net.params().len();
        assert_eq!(net.param_names().len(), n, "{name}");
        assert_eq!(net.param_roles().len(), n, "{name}");
        let mut names = net.param_names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "{name}: names repeat");
        assert_eq!(
            net.num_params(),
            net.params().iter().map(|p| p.numel()).sum::<usize>()
        );
        // Bad input is an error, not a panic.
        assert!(
            net.forward(&Tensor::zeros(&B, [4, 2]).unwrap()).is_err(),
            "{name}"
        );
        assert!(
            net.forward(&Tensor::zeros(&B, [4]).unwrap()).is_err(),
            "{name}"
        );
        assert!(net.forward_with(&x, &[]).is_err(), "{name}");
        let mut wrong: Vec<T> = net.params().iter().map(|p| p.tensor().clone()).collect();
        wrong[0] = Tensor::zeros(&B, [1]).unwrap();
        assert!(net.forward_with(&x, &wrong).is_err(), "{name}");
    }
}

#[test]
fn initialisation_is_deterministic_under_the_seed() {
    for (name, cfg) in configs() {
        let a = named(&build(&cfg, 2, 3, 7));
        let b = named(&build(&cfg, 2, 3, 7));
        let c = named(&build(&cfg, 2, 3, 8));
        assert_eq!(a, b, "{name}");
        assert_ne!(a, c, "{name}");
    }
}

#[test]
fn parameter_groups_single_out_omega0() {
    let mut cfg = KernelNetConfig::new(KernelNetKind::Siren, 4, 3);
    cfg.learn_omega0 = true;
    let net = build(&cfg, 2, 2, 1);
    let groups = net.param_roles();
    let names = net.param_names();
    for (g, n) in groups.iter().zip(&names) {
        assert_eq!(*g == ParamRole::Omega0, n == "omega0", "{n}");
    }
    assert_eq!(named(&net)["omega0"], vec![10.0]);
    cfg.learn_omega0 = false;
    let net = build(&cfg, 2, 2, 1);
    assert!(net.param_roles().iter().all(|&g| g == ParamRole::Main));
    assert!(!net.param_names().contains(&"omega0".to_string()));
}

fn within(values: &[f64], bound: f64, what: &str) {
    let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(max <= bound, "{what}: {max} exceeds {bound}");
    if values.len() >= 200 {
        assert!(
            max > 0.9 * bound,
            "{what}: {max} does not reach towards {bound}"
        );
    }
}

#[test]
fn siren_and_mlp_initialise_as_specified() {
    let (d, h, out) = (3, 64, 40);
    let cfg = KernelNetConfig::new(KernelNetKind::Siren, h, 3);
    let p = named(&build(&cfg, d, out, 3));
    within(&p["layers.0.weight"], 1.0 / d as f64, "siren first layer");
    let later = (6.0 / h as f64).sqrt() / 10.0;
    within(&p["layers.1.weight"], later, "siren hidden layer");
    within(&p["output.weight"], later, "siren output layer");
    for b in ["layers.0.bias", "layers.1.bias", "output.bias"] {
        assert!(p[b].iter().all(|&v| v == 0.0), "{b}");
    }
    let cfg = KernelNetConfig::new(KernelNetKind::Mlp, h, 3);
    let p = named(&build(&cfg, d, out, 3));
    within(
        &p["layers.0.weight"],
        1.0 / (d as f64).sqrt(),
        "mlp first layer",
    );
    within(&p["layers.1.weight"], 1.0 / (h as f64).sqrt(), "mlp hidden");
    within(&p["output.weight"], 1.0 / (h as f64).sqrt(), "mlp output");
    assert!(KernelNetwork::<Reference, f64>::new(
        &B,
        &KernelNetConfig::new(KernelNetKind::Siren, 4, 1),
        2,
        2,
        &mut Rng::seed(0)
    )
    .is_err());
    assert!(KernelNetwork::<Reference, f64>::new(
        &B,
        &KernelNetConfig::new(KernelNetKind::Mlp, 0, 3),
        2,
        2,
        &mut Rng::seed(0)
    )
    .is_err());
}

#[test]
fn multiplicative_filter_nets_initialise_as_specified() {
    let (d, h, out, l) = (2, 128, 8, 2);
    let scale = 256.0 / ((l + 1) as f64).sqrt();
    let base = 1.0 / (d as f64).sqrt();
    for kind in [
        KernelNetKind::Fourier,
        KernelNetKind::Gabor,
        KernelNetKind::Magnet,
    ] {
        let p = named(&build(&KernelNetConfig::new(kind, h, l), d, out, 4));
        for j in 0..=l {
            within(
                &p[&format!("filters.{j}.bias")],
                std::f64::consts::PI,
                "filter bias",
            );
            let w = &p[&format!("filters.{j}.weight")];
            match kind {
                KernelNetKind::Fourier => {
                    within(w, base * scale, "fourier filter");
                    assert!(!p.contains_key(&format!("filters.{j}.gamma")));
                }
                _ => {
                    let gamma = &p[&format!("filters.{j}.gamma")];
                    let per_row = if kind == KernelNetKind::Gabor { 1 } else { d };
                    assert_eq!(gamma.len(), h * per_row);
                    assert!(gamma.iter().all(|&g| g > 0.0));
                    within(&p[&format!("filters.{j}.mu")], 1.0, "μ");
                    // Each weight is a U(±1/√d) draw times scale·γ.
                    for row in 0..h {
                        for c in 0..d {
                            let g = gamma[row * per_row + if per_row == 1 { 0 } else { c }];
                            assert!(w[row * d + c].abs() <= base * scale * g + 1e-9);
                        }
                    }
                    // Gamma(α/(L+1)) for Gabor, Gamma(α/(j+1)) for MAGNet: mean shape/β.
                    let shape = if kind == KernelNetKind::Gabor {
                        6.0 / (l + 1) as f64
                    } else {
                        6.0 / (j + 1) as f64
                    };
                    let mean = gamma.iter().sum::<f64>() / gamma.len() as f64;
                    let sd = (shape / gamma.len() as f64).sqrt();
                    assert!(
                        (mean - shape).abs() < 5.0 * sd,
                        "{kind:?} filter {j}: γ mean {mean}, expected {shape}"
                    );
                }
            }
        }
        for j in 0..l {
            within(
                &p[&format!("layers.{j}.weight")],
                (1.0 / h as f64).sqrt(),
                "hidden linear",
            );
        }
        within(
            &p["output.weight"],
            1.0 / (h as f64).sqrt(),
            "output linear",
        );
    }
}

// ---- naive host evaluation ----------------------------------------------------------

fn dense(w: &[f64], b: &[f64], x: &[f64]) -> Vec<f64> {
    let n_in = x.len();
    (0..b.len())
        .map(|o| b[o] + (0..n_in).map(|i| w[o * n_in + i] * x[i]).sum::<f64>())
        .collect()
}

fn naive(name: &str, cfg: &KernelNetConfig, p: &HashMap<String, Vec<f64>>, x: &[f64]) -> Vec<f64> {
    let lin = |prefix: &str, v: &[f64]| {
        dense(
            &p[&format!("{prefix}.weight")],
            &p[&format!("{prefix}.bias")],
            v,
        )
    };
    match cfg.kind {
        KernelNetKind::Siren => {
            let omega = p.get("omega0").map_or(cfg.omega0, |v| v[0]);
            let mut h = x.to_vec();
            for i in 0..cfg.layers - 1 {
                h = lin(&format!("layers.{i}"), &h)
                    .iter()
                    .map(|z| (omega * z).sin())
                    .collect();
            }
            lin("output", &h)
        }
        KernelNetKind::Mlp => {
            let mut h = x.to_vec();
            for i in 0..cfg.layers - 1 {
                h = lin(&format!("layers.{i}"), &h);
                if cfg.norm == KernelNorm::LayerNorm {
                    let n = h.len() as f64;
                    let mean = h.iter().sum::<f64>() / n;
                    let var = h.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                    let (s, b) = (
                        &p[&format!("norms.{i}.scale")],
                        &p[&format!("norms.{i}.shift")],
                    );
                    h = h
                        .iter()
                        .enumerate()
                        .map(|(k, v)| (v - mean) / (var + 1e-5).sqrt() * s[k] + b[k])
                        .collect();
                }
                h = h
                    .iter()
                    .map(|&v| match cfg.activation {
                        Activation::Relu => v.max(0.0),
                        Activation::LeakyRelu => {
                            if v > 0.0 {
                                v
                            } else {
                                0.01 * v
                            }
                        }
                        Activation::Swish => v / (1.0 + (-v).exp()),
                        Activation::Tanh => v.tanh(),
                        Activation::Sine => v.sin(),
                    })
                    .collect();
            }
            lin("output", &h)
        }
        _ => {
            let filter = |j: usize| -> Vec<f64> {
                let s: Vec<f64> = lin(&format!("filters.{j}"), x)
                    .iter()
                    .map(|z| z.sin())
                    .collect();
                let Some(mu) = p.get(&format!("filters.{j}.mu")) else {
                    return s;
                };
                let gamma = &p[&format!("filters.{j}.gamma")];
                let d = x.len();
                let per_row = gamma.len() / s.len();
                s.iter()
                    .enumerate()
                    .map(|(k, v)| {
                        let q: f64 = (0..d)
                            .map(|c| {
                                (gamma[k * per_row + if per_row == 1 { 0 } else { c }]
                                    * (x[c] - mu[k * d + c]))
                                    .powi(2)
                            })
                            .sum();
                        v * (-0.5 * q).exp()
                    })
                    .collect()
            };
            let mut z = filter(0);
            for j in 1..=cfg.layers {
                let f = filter(j);
                z = lin(&format!("layers.{}", j - 1), &z)
                    .iter()
                    .zip(&f)
                    .map(|(a, b)| a * b)
                    .collect();
            }
            let _ = name;
            lin("output", &z)
        }
    }
}

#[test]
fn nets_agree_with_naive_evaluation() {
    let mut rng = Rng::seed(5);
    for (name, cfg) in configs() {
        let (d, out, pts) = (3, 4, 7);
        let net = build(&cfg, d, out, 6);
        let x: T = random_tensor(&B, &mut rng, &[pts, d], -1.0, 1.0).unwrap();
        let got = net.forward(&x).unwrap().to_vec().unwrap();
        let xv = x.to_vec().unwrap();
        let p = named(&net);
        for i in 0..pts {
            let want = naive(name, &cfg, &p, &xv[i * d..(i + 1) * d]);
            for o in 0..out {
                let g = got[i * out + o];
                assert!(
                    (g - want[o]).abs() <= 1e-10 * (1.0 + want[o].abs()),
                    "{name} point {i} out {o}: {g} vs {}",
                    want[o]
                );
            }
        }
    }
}

#[test]
fn nets_have_correct_gradients_for_input_and_every_parameter() {
    let mut rng = Rng::seed(8);
    for (name, cfg) in configs() {
        let net = build(&cfg, 3, 4, 9);
        let x: T = random_tensor(&B, &mut rng, &[5, 3], -1.0, 1.0).unwrap();
        let mut inputs = vec![x];
        inputs.extend(net.params().iter().map(|p| p.tensor().detach()));
        let worst = check_gradients(
            &inputs,
            |xs| net.forward_with(&xs[0], &xs[1..]),
            GradCheck {
                rtol: 1e-4,
                ..GradCheck::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        println!("{name}: worst tolerance ratio {worst:.3}");
    }
    // The full-size Fourier frequencies too, on the input alone.
    let net = build(&KernelNetConfig::new(KernelNetKind::Fourier, 6, 2), 2, 3, 1);
    let x: T = random_tensor(&B, &mut rng, &[4, 2], -1.0, 1.0).unwrap();
    check_gradients(
        &[x],
        |xs| net.forward(&xs[0]),
        GradCheck {
            eps: 1e-7,
            atol: 1e-4,
            rtol: 1e-4,
            ..GradCheck::default()
        },
    )
    .unwrap();
}

#[test]
fn training_updates_reach_every_parameter() {
    // A backward pass through `forward` gives every parameter a gradient (none is cut off).
    let mut rng = Rng::seed(10);
    for (name, cfg) in configs() {
        let net = build(&cfg, 2, 3, 11);
        let x: T = random_tensor(&B, &mut rng, &[6, 2], -1.0, 1.0).unwrap();
        let grads = net
            .forward(&x)
            .unwrap()
            .square()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (p, n) in net.params().iter().zip(net.param_names()) {
            assert!(grads.get(p).is_some(), "{name}: {n} gets no gradient");
        }
    }
    assert_eq!(
        "MAGNet".parse::<KernelNetKind>().unwrap(),
        KernelNetKind::Magnet
    );
    assert_eq!(
        "SIREN".parse::<KernelNetKind>().unwrap(),
        KernelNetKind::Siren
    );
    assert!("resnet".parse::<KernelNetKind>().is_err());
}
