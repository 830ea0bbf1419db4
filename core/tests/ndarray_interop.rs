//! Tensors to and from ndarray arrays (feature `ndarray`): round trips of every rank from
//! 0 to 5, empty arrays, and arrays whose memory is not row-major (transposed, permuted,
//! Fortran order, stepped and reversed slices, broadcast views), in f32 and f64.
#![cfg(feature = "ndarray")]

use pgcnn_core::ndarray::{
    arr0, s, Array, Array1, Array2, Array3, ArrayD, ArrayView3, Ix2, Ix3, IxDyn, ShapeBuilder,
};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Error, Tensor};

/// An array of `shape` with distinct values (so that any reordering shows).
fn numbered<E: Element>(shape: &[usize]) -> ArrayD<E> {
    let n: usize = shape.iter().product();
    let v: Vec<E> = (0..n).map(|i| E::from_f64(i as f64 * 0.5 - 3.0)).collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

fn round_trip_every_rank<E: Element>() {
    let b = Reference;
    let mut rng = Rng::seed(7);
    for rank in 0..=5 {
        for _ in 0..6 {
            let shape: Vec<usize> = (0..rank).map(|_| rng.below(4)).collect();
            let a = numbered::<E>(&shape);
            let t = Tensor::from_ndarray(&b, &a).unwrap();
            assert_eq!(t.dims(), shape.as_slice());
            assert_eq!(t.to_vec().unwrap(), a.iter().copied().collect::<Vec<E>>());
            let back = t.to_ndarray().unwrap();
            assert_eq!(back, a, "shape {shape:?}");
            assert_eq!(back.shape(), shape.as_slice());
        }
    }
}

#[test]
fn round_trips_of_every_rank_f32_and_f64() {
    round_trip_every_rank::<f32>();
    round_trip_every_rank::<f64>();
}

#[test]
fn scalars_and_empty_arrays() {
    let b = Reference;
    let t = Tensor::from_ndarray(&b, &arr0(2.5f64)).unwrap();
    assert_eq!((t.rank(), t.to_scalar().unwrap()), (0, 2.5));
    assert_eq!(t.to_ndarray().unwrap(), arr0(2.5).into_dyn());
    let empty = Array2::<f32>::zeros((0, 3));
    let t = Tensor::from_ndarray(&b, &empty).unwrap();
    assert_eq!(t.dims(), &[0, 3]);
    assert_eq!(t.to_ndarray_dim::<Ix2>().unwrap(), empty);
}

/// Arrays whose memory order is not their logical order come out in logical order.
#[test]
fn non_contiguous_arrays_are_copied_in_logical_order() {
    let b = Reference;
    let a = numbered::<f32>(&[2, 3, 4])
        .into_dimensionality::<Ix3>()
        .unwrap();
    let views: Vec<(&str, ArrayView3<f32>)> = vec![
        ("transposed", a.t()),
        ("permuted", a.view().permuted_axes([1, 2, 0])),
        ("stepped", a.slice(s![.., ..;2, 1..])),
        ("reversed", a.slice(s![..;-1, .., ..;-1])),
    ];
    for (what, view) in &views {
        let t = Tensor::from_ndarray(&b, view).unwrap();
        assert_eq!(t.dims(), view.shape(), "{what}");
        // Logical equality: element (i, j, k) of the tensor is element (i, j, k) of the view.
        assert_eq!(t.to_ndarray().unwrap(), view.into_dyn(), "{what}");
        let logical: Vec<f32> = view.iter().copied().collect();
        assert_eq!(t.to_vec().unwrap(), logical, "{what}");
    }
    // The transposed view's memory is not row-major, which is what the test is about.
    assert!(a.t().as_slice().is_none());

    // Fortran (column-major) order.
    let f = Array::from_shape_vec((2, 3).f(), vec![1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap();
    assert!(f.as_slice().is_none());
    let t = Tensor::from_ndarray(&b, &f).unwrap();
    assert_eq!(t.to_vec().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

    // A broadcast view (stride 0) is materialised.
    let row = Array1::from(vec![1.0f32, 2.0, 3.0]);
    let t = Tensor::from_ndarray(&b, &row.broadcast((2, 3)).unwrap()).unwrap();
    assert_eq!(t.to_vec().unwrap(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
}

#[test]
fn fixed_dimensions_and_rank_errors() {
    let b = Reference;
    let t = Tensor::<_, f32>::from_ndarray(&b, &numbered::<f32>(&[2, 3, 4])).unwrap();
    let a3: Array3<f32> = t.to_ndarray_dim().unwrap();
    assert_eq!(a3.dim(), (2, 3, 4));
    let dynamic = t.to_ndarray_dim::<IxDyn>().unwrap();
    assert_eq!(dynamic.shape(), &[2, 3, 4]);
    match t.to_ndarray_dim::<Ix2>() {
        Err(Error::BadShape { op, shape, reason }) => {
            assert_eq!((op, shape), ("to_ndarray_dim", vec![2, 3, 4]));
            assert!(
                reason.contains("dimension 2") && reason.contains("rank 3"),
                "{reason}"
            );
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    // A computed tensor converts like an uploaded one.
    let doubled = t.add(&t).unwrap().to_ndarray_dim::<Ix3>().unwrap();
    assert_eq!(doubled, &a3 * 2.0);
}
