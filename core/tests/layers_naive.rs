//! The convolution layers (docs/math.md §6) against naive loops written straight from the
//! formulas: kernels from the host group law and the kernel net evaluated row by row,
//! convolutions as plain sums. Covers SE(2), E(2) and T(2), same and valid padding,
//! per-image element draws (the grouped convolution over the batch) and partial gates.

use pgcnn_core::group::*;
use pgcnn_core::kernel::{KernelNet, KernelNetConfig, KernelNetKind, KernelNetwork};
use pgcnn_core::layers::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{random_tensor, tolerance_ratio};
use pgcnn_core::{Padding, Tensor};

type T = Tensor<Reference, f64>;
const BK: Reference = Reference;

fn kernel_cfg() -> KernelNetConfig {
    let mut k = KernelNetConfig::new(KernelNetKind::Siren, 6, 2);
    k.omega0 = 3.0;
    k
}

fn config(kind: GroupKind, cin: usize, cout: usize, k: usize, n: usize) -> ConvConfig {
    ConvConfig::new(cin, cout, k, kind, n, kernel_cfg())
}

/// Random values for every parameter (so that biases are not zero).
fn randomise(params: Vec<&mut pgcnn_core::Param<Reference, f64>>, rng: &mut Rng) {
    for p in params {
        let t = random_tensor(&BK, rng, p.dims(), -0.5, 0.5).unwrap();
        p.set(t).unwrap();
    }
}

/// The kernel net on one host coordinate row.
fn net_at(net: &KernelNetwork<Reference, f64>, coords: &[f64]) -> Vec<f64> {
    let x = T::from_slice(&BK, coords, [1, coords.len()]).unwrap();
    net.forward(&x).unwrap().to_vec().unwrap()
}

fn as_e2(e: &Elements<Reference, f64>, b: usize, n: usize) -> RotoReflection {
    e.element(b, n).unwrap()
}

/// Relative coordinates of the kernel net for h⁻¹·g, from the host group law.
fn rel_coords(kind: GroupKind, h: RotoReflection, g: RotoReflection) -> Vec<f64> {
    let rel = E2::product(&E2::inverse(&h), &g);
    let c = E2::kernel_coords(&rel);
    c[..kind.stabiliser_dim()].to_vec()
}

/// The plain cross-correlation sum at output (y, x) with padding `pad`.
fn correlate(
    input: &[f64],
    h: usize,
    w: usize,
    k: usize,
    pad: usize,
    y: usize,
    x: usize,
    kernel: impl Fn(usize, usize) -> f64,
) -> f64 {
    let mut s = 0.0;
    for i in 0..k {
        for j in 0..k {
            let (yy, xx) = (y + i, x + j);
            if yy < pad || xx < pad || yy - pad >= h || xx - pad >= w {
                continue;
            }
            s += input[(yy - pad) * w + (xx - pad)] * kernel(i, j);
        }
    }
    s
}

fn out_size(n: usize, k: usize, padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Valid => (n + 1 - k, 0),
        _ => (n, (k - 1) / 2),
    }
}

/// Naive lifting convolution on host values.
fn naive_lifting(
    layer: &LiftingConv<Reference, f64>,
    x: &T,
    elements: &Elements<Reference, f64>,
) -> Vec<f64> {
    let c = layer.config();
    let d = x.dims().to_vec();
    let (b, cin, h, w) = (d[0], d[1], d[2], d[3]);
    let (k, cout, n) = (c.kernel_size, c.out_channels, elements.len());
    let (oh, pad) = out_size(h, k, c.padding);
    let (ow, _) = out_size(w, k, c.padding);
    let grid = KernelGrid::new(k).unwrap();
    let (pts, mask) = (grid.points(), grid.mask());
    let xv = x.to_vec().unwrap();
    let bias = layer.bias().map(|p| p.tensor().to_vec().unwrap());
    let mut out = vec![0.0; b * cout * n * oh * ow];
    for bi in 0..b {
        for ni in 0..n {
            let e = as_e2(
                elements,
                if elements.batch().is_some() { bi } else { 0 },
                ni,
            );
            let a = E2::action_matrix(&E2::inverse(&e));
            let kv: Vec<Vec<f64>> = pts
                .iter()
                .map(|&p| net_at(layer.kernel_net(), &mat_vec(&a, p)))
                .collect();
            for co in 0..cout {
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut s = bias.as_ref().map_or(0.0, |v| v[co]);
                        for ci in 0..cin {
                            let plane = &xv[(bi * cin + ci) * h * w..][..h * w];
                            s += correlate(plane, h, w, k, pad, y, xx, |i, j| {
                                let idx = i * k + j;
                                if mask[idx] {
                                    kv[idx][co * cin + ci]
                                } else {
                                    0.0
                                }
                            });
                        }
                        out[(((bi * cout + co) * n + ni) * oh + y) * ow + xx] = s;
                    }
                }
            }
        }
    }
    out
}

/// Naive group convolution (or pointwise, with `spatial` false: k = 1, relative
/// coordinates only) on host values.
fn naive_group_conv(
    net: &KernelNetwork<Reference, f64>,
    c: &ConvConfig,
    bias: Option<Vec<f64>>,
    input: &GroupMap<Reference, f64>,
    out_el: &Elements<Reference, f64>,
    spatial: bool,
) -> Vec<f64> {
    let d = input.dims().to_vec();
    let (b, cin, nin, h, w) = (d[0], d[1], d[2], d[3], d[4]);
    let (k, cout, nout) = (c.kernel_size, c.out_channels, out_el.len());
    let (oh, pad) = out_size(h, k, c.padding);
    let (ow, _) = out_size(w, k, c.padding);
    let grid = KernelGrid::new(k).unwrap();
    let (pts, mask) = (grid.points(), grid.mask());
    let xv = input.tensor().to_vec().unwrap();
    let in_el = input.elements();
    let row = |e: &Elements<Reference, f64>, bi: usize| if e.batch().is_some() { bi } else { 0 };
    let mut out = vec![0.0; b * cout * nout * oh * ow];
    for bi in 0..b {
        for ni in 0..nout {
            let hn = as_e2(out_el, row(out_el, bi), ni);
            let a = E2::action_matrix(&E2::inverse(&hn));
            // kv[j][pos] = net values for input element j at grid position pos.
            let kv: Vec<Vec<Vec<f64>>> = (0..nin)
                .map(|j| {
                    let gj = as_e2(in_el, row(in_el, bi), j);
                    let rel = rel_coords(c.group, hn, gj);
                    pts.iter()
                        .map(|&p| {
                            let mut coords = if spatial {
                                mat_vec(&a, p).to_vec()
                            } else {
                                vec![]
                            };
                            coords.extend_from_slice(&rel);
                            if coords.is_empty() {
                                coords.push(1.0); // T2 pointwise: the constant coordinate
                            }
                            net_at(net, &coords)
                        })
                        .collect()
                })
                .collect();
            for co in 0..cout {
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut s = bias.as_ref().map_or(0.0, |v| v[co]);
                        for ci in 0..cin {
                            for j in 0..nin {
                                let plane = &xv[((bi * cin + ci) * nin + j) * h * w..][..h * w];
                                s += correlate(plane, h, w, k, pad, y, xx, |p, q| {
                                    let idx = p * k + q;
                                    if mask[idx] {
                                        kv[j][idx][co * cin + ci]
                                    } else {
                                        0.0
                                    }
                                });
                            }
                        }
                        out[(((bi * cout + co) * nout + ni) * oh + y) * ow + xx] = s;
                    }
                }
            }
        }
    }
    out
}

fn assert_close(label: &str, got: &[f64], want: &[f64]) {
    let r = tolerance_ratio(got, want, 1e-12, 1e-10);
    assert!(r <= 1.0, "{label}: layer and naive sums differ (ratio {r})");
}

#[test]
fn lifting_matches_the_naive_formula() {
    let mut rng = Rng::seed(1);
    for (kind, n, padding, per_image) in [
        (GroupKind::Se2, 3, Padding::Same, false),
        (GroupKind::E2, 4, Padding::Valid, false),
        (GroupKind::Se2, 2, Padding::Same, true),
        (GroupKind::T2, 1, Padding::Same, false),
    ] {
        let mut cfg = config(kind, 2, 3, 3, n);
        cfg.padding = padding;
        cfg.sample_per_batch_element = per_image;
        let mut layer = LiftingConv::<_, f64>::new(&BK, cfg, &mut rng).unwrap();
        randomise(layer.params_mut(), &mut rng);
        let x: T = random_tensor(&BK, &mut rng, &[2, 2, 5, 4], -1.0, 1.0).unwrap();
        let mut ctx = ForwardCtx::train(Rng::seed(7), 0.5);
        let out = layer.forward(&x, &mut ctx).unwrap();
        assert_eq!(out.elements().batch().is_some(), per_image, "{kind}");
        let want = naive_lifting(&layer, &x, out.elements());
        assert_close(
            &format!("lifting {kind} {padding:?}"),
            &out.tensor().to_vec().unwrap(),
            &want,
        );
    }
}

#[test]
fn group_conv_matches_the_naive_formula() {
    let mut rng = Rng::seed(2);
    for (kind, n, padding, per_image, per_layer) in [
        (GroupKind::Se2, 3, Padding::Same, false, true),
        (GroupKind::E2, 4, Padding::Valid, false, false),
        (GroupKind::E2, 2, Padding::Same, true, true),
        (GroupKind::Se2, 2, Padding::Valid, true, false),
        (GroupKind::T2, 1, Padding::Same, false, false),
    ] {
        let mut cfg = config(kind, 2, 2, 3, n);
        cfg.padding = padding;
        cfg.sample_per_batch_element = per_image;
        cfg.sample_per_layer = per_layer;
        let lift = LiftingConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
        let mut layer = GroupConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
        randomise(layer.params_mut(), &mut rng);
        let x: T = random_tensor(&BK, &mut rng, &[2, 2, 5, 5], -1.0, 1.0).unwrap();
        let mut ctx = ForwardCtx::train(Rng::seed(3), 0.5);
        let h = lift.forward(&x, &mut ctx).unwrap();
        let out = layer.forward(&h, &mut ctx).unwrap();
        let bias = layer.bias().map(|b| b.tensor().to_vec().unwrap());
        let want = naive_group_conv(layer.kernel_net(), &cfg, bias, &h, out.elements(), true);
        let label = format!("group conv {kind} {padding:?} per image {per_image}");
        assert_close(&label, &out.tensor().to_vec().unwrap(), &want);
        if !per_layer {
            let same = out.elements().rotation_values() == h.elements().rotation_values();
            assert!(
                same,
                "{label}: without sample_per_layer the input's elements are reused"
            );
        }
    }
}

#[test]
fn pointwise_conv_matches_the_naive_formula() {
    let mut rng = Rng::seed(3);
    for (kind, n) in [(GroupKind::Se2, 3), (GroupKind::E2, 4), (GroupKind::T2, 1)] {
        let mut cfg = config(kind, 2, 3, 3, n);
        cfg.sampling = SamplingMethod::Random;
        let lift = LiftingConv::<_, f64>::new(
            &BK,
            ConvConfig {
                out_channels: 2,
                ..cfg.clone()
            },
            &mut rng,
        )
        .unwrap();
        let mut layer = PointwiseGroupConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
        assert_eq!(layer.config().kernel_size, 1);
        assert_eq!(
            layer.config().kernel.hidden,
            3,
            "half the block's kernel-net width"
        );
        assert!(!layer.config().bias && !layer.config().partial);
        randomise(layer.params_mut(), &mut rng);
        let x: T = random_tensor(&BK, &mut rng, &[2, 2, 4, 3], -1.0, 1.0).unwrap();
        let mut ctx = ForwardCtx::train(Rng::seed(4), 0.5);
        let h = lift.forward(&x, &mut ctx).unwrap();
        // Onto other elements (a fresh draw), as a shortcut of a resampling block does.
        let out_el = sample_group(&BK, kind, n, SamplingMethod::Random, None, &mut rng).unwrap();
        let out = layer.forward(&h, &out_el, &mut ctx).unwrap();
        let want = naive_group_conv(layer.kernel_net(), layer.config(), None, &h, &out_el, false);
        assert_close(
            &format!("pointwise {kind}"),
            &out.tensor().to_vec().unwrap(),
            &want,
        );
    }
}

#[test]
fn per_image_draws_equal_separate_runs_per_image() {
    let mut rng = Rng::seed(4);
    let mut cfg = config(GroupKind::E2, 1, 2, 3, 4);
    cfg.sample_per_batch_element = true;
    cfg.sample_per_layer = true;
    let lift = LiftingConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
    let layer = GroupConv::<_, f64>::new(
        &BK,
        ConvConfig {
            in_channels: 2,
            ..cfg
        },
        &mut rng,
    )
    .unwrap();
    let x: T = random_tensor(&BK, &mut rng, &[3, 1, 5, 5], -1.0, 1.0).unwrap();
    let mut ctx = ForwardCtx::train(Rng::seed(5), 0.5);
    let h = lift.forward(&x, &mut ctx).unwrap();
    let out = layer.forward(&h, &mut ctx).unwrap();
    assert_eq!(out.elements().batch(), Some(3));
    let rows = out.elements().rotation_values();
    assert!(rows[0] != rows[4], "each image draws its own offset");
    for b in 0..3 {
        let pick = |e: &Elements<Reference, f64>| {
            let n = e.len();
            Elements::from_values(
                &BK,
                GroupKind::E2,
                &e.rotation_values()[b * n..(b + 1) * n],
                Some(&e.mirror_values().unwrap()[b * n..(b + 1) * n]),
                None,
            )
            .unwrap()
        };
        let xb = x.narrow(0, b, 1).unwrap();
        let hb = lift.forward_on(&xb, &pick(h.elements()), &mut ctx).unwrap();
        let ob = layer
            .forward_on(&hb, &pick(out.elements()), None, &mut ctx)
            .unwrap();
        let got = out.tensor().narrow(0, b, 1).unwrap().to_vec().unwrap();
        assert_close(&format!("image {b}"), &got, &ob.tensor().to_vec().unwrap());
    }
}

#[test]
fn partial_layers_multiply_output_samples_by_their_gates() {
    let mut rng = Rng::seed(6);
    let mut cfg = config(GroupKind::E2, 2, 2, 3, 8);
    cfg.sampling = SamplingMethod::Deterministic;
    cfg.partial = true;
    let lift = LiftingConv::<_, f64>::new(
        &BK,
        ConvConfig {
            partial: false,
            ..cfg.clone()
        },
        &mut rng,
    )
    .unwrap();
    let layer = GroupConv::<_, f64>::new(&BK, cfg, &mut rng).unwrap();
    let x: T = random_tensor(&BK, &mut rng, &[1, 2, 5, 5], -1.0, 1.0).unwrap();
    let mut ctx = ForwardCtx::train(Rng::seed(8), 0.5);
    let h = lift.forward(&x, &mut ctx).unwrap();
    let mut draw_ctx = ForwardCtx::train(Rng::seed(9), 0.5);
    let drawn = layer.output_elements(&h, &mut draw_ctx).unwrap();
    let gates = drawn
        .gates
        .clone()
        .expect("deterministic partial layers draw gates");
    assert!(
        gates.to_vec().unwrap().iter().all(|&g| g == 1.0),
        "forward gates are exactly 1"
    );
    let mut ctx2 = ForwardCtx::train(Rng::seed(9), 0.5);
    let out = layer.forward(&h, &mut ctx2).unwrap();
    let plain = layer
        .forward_on(&h, &drawn.elements, None, &mut ctx2)
        .unwrap();
    assert_eq!(
        out.tensor().to_vec().unwrap(),
        plain.tensor().to_vec().unwrap()
    );
    // Gates 2 double exactly the gated samples.
    let twos = T::full(&BK, [drawn.elements.len()], 2.0).unwrap();
    let doubled = layer
        .forward_on(&h, &drawn.elements, Some(&twos), &mut ctx2)
        .unwrap();
    let want: Vec<f64> = plain
        .tensor()
        .to_vec()
        .unwrap()
        .iter()
        .map(|v| 2.0 * v)
        .collect();
    assert_close("gates", &doubled.tensor().to_vec().unwrap(), &want);
}
