//! Equivariance of small networks built from the layers: the pooled output of a
//! lifting + residual block + group convolution network is invariant under the
//! transformations its group contains (with norms, pooling, valid padding and a
//! pointwise shortcut inside), and random per-image sampling, per-layer redraws and
//! partial layers at θ = 1 keep exact equivariance under quarter turns when both passes
//! draw the same elements. Errors are printed per case (`-- --nocapture`).

mod equivariance_support;

use equivariance_support::*;
use pgcnn_core::equivariance::{
    check_equivariance, standard_transformations, EquivarianceOptions, EquivarianceReport, Signal,
    Transformation,
};
use pgcnn_core::group::{GroupKind, SamplingMethod};
use pgcnn_core::layers::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Element, Padding, Result, Tensor};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// The last group map and its max- and mean-pooled features.
type Outputs<E> = (
    GroupMap<Reference, E>,
    Tensor<Reference, E>,
    Tensor<Reference, E>,
);

/// lift → layer norm → ReLU → 2×2 pool → residual block (gconv → per-sample norm → ReLU
/// → gconv → per-sample norm → ReLU, plus a pointwise shortcut) → batch norm → ReLU →
/// gconv (valid), then global max and mean pooling.
struct SmallNet<E: Element> {
    lift: LiftingConv<Reference, E>,
    lift_norm: GroupLayerNorm<Reference, E>,
    g1: GroupConv<Reference, E>,
    g2: GroupConv<Reference, E>,
    shortcut: PointwiseGroupConv<Reference, E>,
    block_norm: GroupBatchNorm<Reference, E>,
    last: GroupConv<Reference, E>,
}

impl<E: Element> SmallNet<E> {
    fn new(base: &ConvConfig, seed: u64) -> Self {
        let mut rng = Rng::seed(seed);
        let c = base.out_channels;
        let cfg = |cin: usize, cout: usize| ConvConfig {
            in_channels: cin,
            out_channels: cout,
            ..base.clone()
        };
        let lift = LiftingConv::new(
            &BK,
            ConvConfig {
                partial: false,
                ..cfg(1, c)
            },
            &mut rng,
        )
        .unwrap();
        let g1 = GroupConv::new(&BK, cfg(c, c + 1), &mut rng).unwrap();
        let g2 = GroupConv::new(&BK, cfg(c + 1, c + 1), &mut rng).unwrap();
        let shortcut = PointwiseGroupConv::new(&BK, cfg(c, c + 1), &mut rng).unwrap();
        let last = GroupConv::new(
            &BK,
            ConvConfig {
                padding: Padding::Valid,
                ..cfg(c + 1, c)
            },
            &mut rng,
        )
        .unwrap();
        let mut net = SmallNet {
            lift,
            lift_norm: GroupLayerNorm::new(&BK, c).unwrap(),
            g1,
            g2,
            shortcut,
            block_norm: GroupBatchNorm::new(&BK, c + 1).unwrap(),
            last,
        };
        // Random weights everywhere except θ and the keep logits (kept at their start).
        for layer in [
            &mut net.lift as &mut dyn LayerParams<Reference, E>,
            &mut net.g1,
            &mut net.g2,
            &mut net.shortcut,
            &mut net.last,
        ] {
            let names = layer.param_names();
            for (p, name) in layer.params_mut().into_iter().zip(names) {
                if !name.starts_with("partial.") {
                    let t = random_tensor(&BK, &mut rng, p.dims(), -0.7, 0.7).unwrap();
                    p.set(t).unwrap();
                }
            }
        }
        net
    }

    /// The last group map and the two pooled outputs; `seed` fixes every draw.
    fn run(&mut self, x: &Tensor<Reference, E>, seed: u64) -> Result<Outputs<E>> {
        let mut ctx = ForwardCtx::train(Rng::seed(seed), 0.5);
        let h = self.lift.forward(x, &mut ctx)?;
        let h = self.lift_norm.forward(&h)?.relu()?.spatial_max_pool()?;
        let a = self.g1.forward(&h, &mut ctx)?.per_sample_norm()?.relu()?;
        let a = self.g2.forward(&a, &mut ctx)?.per_sample_norm()?.relu()?;
        let s = self.shortcut.forward(&h, a.elements(), &mut ctx)?;
        let b = self.block_norm.forward(&a.add(&s)?, true)?.relu()?;
        // No ReLU here: a random last layer could silence every output.
        let out = self.last.forward(&b, &mut ctx)?;
        let (mx, mean) = (out.global_max_pool()?, out.global_mean_pool()?);
        Ok((out, mx, mean))
    }
}

/// Invariance of both pooled outputs and equivariance of the last map.
fn measure<E: Element>(
    base: &ConvConfig,
    size: usize,
    seed: u64,
    ts: &[Transformation],
) -> [EquivarianceReport; 3] {
    let mut net = SmallNet::<E>::new(base, seed);
    let x = random_tensor::<_, E>(
        &BK,
        &mut Rng::seed(seed ^ 0x77),
        &[2, 1, size, size],
        -1.0,
        1.0,
    )
    .unwrap();
    // A dead network (all zeros) would pass vacuously.
    let (_, mx, mean) = net.run(&x, seed.wrapping_add(1)).unwrap();
    for t in [mx, mean] {
        assert!(
            t.to_vec()
                .unwrap()
                .iter()
                .any(|&v| Element::to_f64(v).abs() > 1e-3),
            "the network output is ~0"
        );
    }
    let input = Signal::Image(x);
    let opts = EquivarianceOptions::default();
    let draw = seed.wrapping_add(1);
    let mut pick = |i: usize| {
        check_equivariance(
            &input,
            |s: &Signal<Reference, E>| {
                let (map, mx, mean) = net.run(s.tensor(), draw)?;
                Ok(match i {
                    0 => Signal::Invariant(mx),
                    1 => Signal::Invariant(mean),
                    _ => Signal::Group(map),
                })
            },
            ts,
            opts,
        )
        .unwrap()
    };
    [pick(0), pick(1), pick(2)]
}

fn worst(reports: &[EquivarianceReport]) -> f64 {
    reports
        .iter()
        .map(|r| r.max_relative_error())
        .fold(0.0, |a, b| if b.is_nan() { f64::NAN } else { a.max(b) })
}

#[test]
fn pooled_output_of_a_small_network_is_invariant() {
    let log = ErrorLog::default();
    // Even sizes: 2×2 pooling drops an odd last row, which no rotation preserves.
    let strategy = (
        any::<u64>(),
        prop_oneof![Just(6usize), Just(8), Just(10)],
        prop_oneof![
            Just((GroupKind::Se2, 4usize)),
            Just((GroupKind::Se2, 8)),
            Just((GroupKind::E2, 8))
        ],
    );
    TestRunner::new(proptest_config(4))
        .run(&strategy, |(seed, size, (kind, n))| {
            let base = det_config(kind, 1, 2, 3, n);
            let r = measure::<f64>(&base, size, seed, &standard_transformations(kind));
            let line = format!(
                "{kind} N={n} {size}x{size}: max-pooled [{}] mean-pooled [{}] last map [{}]",
                r[0], r[1], r[2]
            );
            prop_assert!(worst(&r) <= EXACT_BOUND, "{}", line);
            log.record(line, worst(&r));
            Ok(())
        })
        .unwrap();
    log.assert_below("pooled small network, invariance (f64)", EXACT_BOUND);
}

#[test]
fn pooled_output_is_invariant_to_f32_round_off() {
    let log = ErrorLog::default();
    for (kind, n, seed) in [(GroupKind::Se2, 4, 1u64), (GroupKind::E2, 8, 2)] {
        let base = det_config(kind, 1, 2, 3, n);
        let r = measure::<f32>(&base, 8, seed, &standard_transformations(kind));
        log.record(
            format!(
                "f32 {kind} N={n}: max-pooled [{}] mean-pooled [{}]",
                r[0], r[1]
            ),
            worst(&r[..2]),
        );
    }
    log.assert_below("pooled small network, invariance (f32)", 1e-5);
}

#[test]
fn random_per_image_draws_redraws_and_partial_layers_stay_equivariant() {
    let log = ErrorLog::default();
    let strategy = (
        any::<u64>(),
        prop_oneof![Just(6usize), Just(8)],
        prop_oneof![
            Just((GroupKind::Se2, 4usize)),
            Just((GroupKind::Se2, 8)),
            Just((GroupKind::E2, 8))
        ],
        any::<bool>(),
        any::<bool>(),
    );
    TestRunner::new(proptest_config(4))
        .run(&strategy, |(seed, size, (kind, n), partial, per_layer)| {
            let mut base = det_config(kind, 1, 2, 3, n);
            base.sampling = SamplingMethod::Random;
            base.sample_per_batch_element = true;
            base.sample_per_layer = per_layer;
            base.partial = partial; // θ = 1: the whole circle, a random stratified grid
            // A random grid is closed under quarter turns (N_r divisible by 4), not mirrors.
            let r = measure::<f64>(&base, size, seed, &Transformation::quarter_turns());
            let line = format!(
                "{kind} N={n} {size}x{size} random per image, per layer {per_layer}, partial {partial}: max-pooled [{}] last map [{}]",
                r[0], r[2]
            );
            prop_assert!(worst(&r) <= EXACT_BOUND, "{}", line);
            log.record(line, worst(&r));
            Ok(())
        })
        .unwrap();
    log.assert_below(
        "random sampling per image / per layer / partial at θ = 1",
        EXACT_BOUND,
    );
}
