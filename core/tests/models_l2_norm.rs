//! `Tensor::l2_norm` (the weight-decay penalty's norm): value, finite-difference
//! gradient, and the gradient 0 at 0 (where √(Σx²) would give NaN).

use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, GradCheck};
use pgcnn_core::Tensor;

type T = Tensor<Reference, f64>;

#[test]
fn l2_norm_matches_the_formula_and_finite_differences() {
    let x = random_tensor::<_, f64>(&Reference, &mut Rng::seed(1), &[3, 4], -2.0, 2.0).unwrap();
    let want: f64 = x
        .to_vec()
        .unwrap()
        .iter()
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt();
    let n = x.l2_norm().unwrap();
    assert_eq!(n.dims(), &[] as &[usize]);
    assert!((n.to_scalar().unwrap() - want).abs() < 1e-14);
    check_gradients(&[x], |t| t[0].l2_norm(), GradCheck::default()).unwrap();
}

#[test]
fn the_gradient_at_zero_is_zero() {
    let p = pgcnn_core::Param::new(T::zeros(&Reference, [5]).unwrap());
    let loss = p.tensor().l2_norm().unwrap().mul_scalar(3.0).unwrap();
    assert_eq!(loss.to_scalar().unwrap(), 0.0);
    let grads = loss.backward().unwrap();
    assert_eq!(grads.get(&p).unwrap().to_vec().unwrap(), vec![0.0; 5]);
    // The f32 path too: the clamp's smallest positive value is representable.
    let p = pgcnn_core::Param::new(Tensor::<Reference, f32>::zeros(&Reference, [2]).unwrap());
    let grads = p.tensor().l2_norm().unwrap().backward().unwrap();
    assert_eq!(grads.get(&p).unwrap().to_vec().unwrap(), vec![0.0f32; 2]);
}
