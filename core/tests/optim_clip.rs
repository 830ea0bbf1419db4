//! Gradient clipping by global norm, against a norm computed by hand.

use pgcnn_core::optim::{clip_grad_norm, global_norm};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Gradients, Param, Tensor};

type G = Gradients<Reference, f64>;

/// Random gradients for three parameters and their values, in id order.
fn random_grads(rng: &mut Rng, scale: f64) -> (G, Vec<Vec<f64>>) {
    let mut g = Gradients::new();
    let mut vals = Vec::new();
    for dims in [&[2usize, 3][..], &[5], &[]] {
        let p: Param<Reference, f64> =
            Param::new(Tensor::zeros(&Reference, dims.to_vec()).unwrap());
        let t: Tensor<Reference, f64> =
            random_tensor(&Reference, rng, dims, -scale, scale).unwrap();
        vals.push(t.to_vec().unwrap());
        g.insert(p.id(), t);
    }
    (g, vals)
}

fn all_values(g: &G) -> Vec<Vec<f64>> {
    g.iter().map(|(_, t)| t.to_vec().unwrap()).collect()
}

fn naive_norm(vals: &[Vec<f64>]) -> f64 {
    vals.iter().flatten().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn clipping_scales_to_max_norm() {
    let mut rng = Rng::seed(30);
    let (mut g, vals) = random_grads(&mut rng, 3.0);
    let want = naive_norm(&vals);
    let max_norm = want / 4.0;
    let total = clip_grad_norm(&mut g, max_norm).unwrap();
    assert!((total - want).abs() <= 1e-12 * want, "{total} vs {want}");
    let after = all_values(&g);
    let coef = max_norm / (want + 1e-6);
    for (a, v) in after.iter().flatten().zip(vals.iter().flatten()) {
        assert!((a - v * coef).abs() <= 1e-14, "{a} vs {}", v * coef);
    }
    let new_norm = naive_norm(&after);
    assert!(
        (new_norm - max_norm).abs() <= 1e-6 * max_norm,
        "{new_norm} vs {max_norm}"
    );
    assert!((global_norm(&g).unwrap() - new_norm).abs() <= 1e-12);
}

#[test]
fn gradients_within_the_limit_are_untouched() {
    let mut rng = Rng::seed(31);
    let (mut g, vals) = random_grads(&mut rng, 1.0);
    let norm = naive_norm(&vals);
    for max_norm in [norm * 2.0, norm + 1.0, 0.0, -1.0, f64::INFINITY, f64::NAN] {
        let total = clip_grad_norm(&mut g, max_norm).unwrap();
        assert!((total - norm).abs() <= 1e-12 * norm);
        assert_eq!(all_values(&g), vals, "max_norm {max_norm}");
    }
}

#[test]
fn a_non_finite_norm_is_returned_and_nothing_is_scaled() {
    for bad in [f64::NAN, f64::INFINITY] {
        let mut rng = Rng::seed(32);
        let (mut g, _) = random_grads(&mut rng, 1.0);
        let p: Param<Reference, f64> = Param::new(Tensor::zeros(&Reference, [2]).unwrap());
        g.insert(
            p.id(),
            Tensor::from_slice(&Reference, &[1.0, bad], [2]).unwrap(),
        );
        let before = all_values(&g);
        let total = clip_grad_norm(&mut g, 1.0).unwrap();
        assert!(!total.is_finite(), "{bad}: total {total}");
        let after = all_values(&g);
        let same = before
            .iter()
            .flatten()
            .zip(after.iter().flatten())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{bad}: gradients changed");
    }
}

#[test]
fn no_gradients_have_norm_zero() {
    let mut g = G::new();
    assert_eq!(clip_grad_norm(&mut g, 1.0).unwrap(), 0.0);
}

#[test]
fn clipping_works_in_f32() {
    let mut rng = Rng::seed(33);
    let mut g = Gradients::<Reference, f32>::new();
    let p: Param<Reference, f32> = Param::new(Tensor::zeros(&Reference, [100]).unwrap());
    g.insert(
        p.id(),
        random_tensor(&Reference, &mut rng, &[100], -5.0, 5.0).unwrap(),
    );
    let total = clip_grad_norm(&mut g, 0.5).unwrap();
    assert!(total > 0.5);
    let after = global_norm(&g).unwrap();
    assert!((after - 0.5).abs() < 1e-5, "{after}");
}
