//! Bilinear sampling (`Tensor::grid_sample_bilinear`) and the image transformations of
//! the Augerino baselines (`models::transform_images`): naive-formula comparisons, exact
//! quarter turns and mirrors, and finite-difference gradients in f64.

use pgcnn_core::equivariance::Transformation;
use pgcnn_core::group::{Elements, GroupKind};
use pgcnn_core::models::transform_images;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, tolerance_ratio, GradCheck};
use pgcnn_core::Tensor;
use std::f64::consts::{FRAC_PI_2, PI};

type T = Tensor<Reference, f64>;
const B: Reference = Reference;

fn rand(rng: &mut Rng, dims: &[usize], lo: f64, hi: f64) -> T {
    random_tensor(&B, rng, dims, lo, hi).unwrap()
}

/// The obvious bilinear interpolation of one image `[H, W]` at (y, x), zeros outside.
fn naive_bilinear(img: &[f64], h: usize, w: usize, y: f64, x: f64) -> f64 {
    let pixel = |r: i64, c: i64| -> f64 {
        if r < 0 || c < 0 || r >= h as i64 || c >= w as i64 {
            0.0
        } else {
            img[r as usize * w + c as usize]
        }
    };
    let (r0, c0) = (y.floor() as i64, x.floor() as i64);
    let (fy, fx) = (y - y.floor(), x - x.floor());
    pixel(r0, c0) * (1.0 - fy) * (1.0 - fx)
        + pixel(r0, c0 + 1) * (1.0 - fy) * fx
        + pixel(r0 + 1, c0) * fy * (1.0 - fx)
        + pixel(r0 + 1, c0 + 1) * fy * fx
}

#[test]
fn bilinear_sampling_matches_the_naive_formula() {
    let mut rng = Rng::seed(3);
    let (b, c, h, w) = (2, 3, 5, 4);
    let img = rand(&mut rng, &[b, c, h, w], -1.0, 1.0);
    // Positions inside, on the border and outside the image.
    let ys = rand(&mut rng, &[2, 7], -1.5, h as f64 + 0.5);
    let xs = rand(&mut rng, &[2, 7], -1.5, w as f64 + 0.5);
    let out = img.grid_sample_bilinear(&ys, &xs).unwrap();
    assert_eq!(out.dims(), &[b, c, 2, 7]);
    let (iv, yv, xv, ov) = (
        img.to_vec().unwrap(),
        ys.to_vec().unwrap(),
        xs.to_vec().unwrap(),
        out.to_vec().unwrap(),
    );
    let mut expected = Vec::new();
    for map in iv.chunks(h * w) {
        for q in 0..yv.len() {
            expected.push(naive_bilinear(map, h, w, yv[q], xv[q]));
        }
    }
    assert!(tolerance_ratio(&ov, &expected, 1e-14, 1e-12) <= 1.0);
}

#[test]
fn sampling_on_the_grid_reads_pixels_exactly() {
    let mut rng = Rng::seed(4);
    let img = rand(&mut rng, &[1, 1, 3, 3], -1.0, 1.0);
    let ys = T::from_f64s(&B, &[0.0, 2.0, 1.0, -1.0], [4]).unwrap();
    let xs = T::from_f64s(&B, &[0.0, 1.0, 2.0, 0.0], [4]).unwrap();
    let out = img
        .grid_sample_bilinear(&ys, &xs)
        .unwrap()
        .to_vec()
        .unwrap();
    let v = img.to_vec().unwrap();
    assert_eq!(out, vec![v[0], v[7], v[5], 0.0]);
}

#[test]
fn bilinear_sampling_gradients_match_finite_differences() {
    let mut rng = Rng::seed(5);
    let img = rand(&mut rng, &[2, 2, 4, 5], -1.0, 1.0);
    // Away from whole pixels, where the derivative in the position jumps.
    let snap = |t: T| {
        let v: Vec<f64> = t
            .to_vec()
            .unwrap()
            .iter()
            .map(|&x| x.floor() + 0.1 + 0.8 * (x - x.floor()))
            .collect();
        T::from_f64s(&B, &v, t.dims().to_vec()).unwrap()
    };
    let ys = snap(rand(&mut rng, &[3, 2], -0.9, 4.0));
    let xs = snap(rand(&mut rng, &[3, 2], -0.9, 5.0));
    let worst = check_gradients(
        &[img, ys, xs],
        |t| t[0].grid_sample_bilinear(&t[1], &t[2]),
        GradCheck::default(),
    )
    .unwrap();
    println!("grid_sample_bilinear: worst tolerance ratio {worst:.3}");
}

#[test]
fn bad_shapes_are_errors() {
    let img = T::zeros(&B, [1, 1, 3, 3]).unwrap();
    let ys = T::zeros(&B, [4]).unwrap();
    let xs = T::zeros(&B, [3]).unwrap();
    assert!(img.grid_sample_bilinear(&ys, &xs).is_err());
    assert!(T::zeros(&B, [3, 3])
        .unwrap()
        .grid_sample_bilinear(&ys, &ys)
        .is_err());
    let nan = T::from_f64s(&B, &[f64::NAN], [1]).unwrap();
    assert!(img.grid_sample_bilinear(&nan, &nan).is_err());
}

fn se2(angles: &[f64]) -> Elements<Reference, f64> {
    Elements::from_values(&B, GroupKind::Se2, angles, None, None).unwrap()
}

#[test]
fn quarter_turns_and_mirrors_are_exact_pixel_permutations() {
    let mut rng = Rng::seed(6);
    let img = rand(&mut rng, &[2, 3, 5, 5], -1.0, 1.0);
    let angles = [0.0, FRAC_PI_2, PI, 3.0 * FRAC_PI_2];
    let copies = transform_images(&img, &se2(&angles)).unwrap();
    assert_eq!(copies.dims(), &[8, 3, 5, 5]);
    for k in 0..4u8 {
        let want = Transformation::rot90(k).apply_spatial(&img).unwrap();
        let got = copies.narrow(0, 2 * k as usize, 2).unwrap();
        let r = tolerance_ratio(&got.to_vec().unwrap(), &want.to_vec().unwrap(), 1e-12, 0.0);
        assert!(r <= 1.0, "rot90({k}): ratio {r}");
    }
    // E(2): (π/2, -1) is the mirror, then a quarter turn.
    let e2 = Elements::from_values(
        &B,
        GroupKind::E2,
        &[0.0, FRAC_PI_2],
        Some(&[-1.0, -1.0]),
        None,
    )
    .unwrap();
    let copies = transform_images(&img, &e2).unwrap();
    for k in 0..2u8 {
        let want = Transformation::reflection(k).apply_spatial(&img).unwrap();
        let got = copies.narrow(0, 2 * k as usize, 2).unwrap();
        let r = tolerance_ratio(&got.to_vec().unwrap(), &want.to_vec().unwrap(), 1e-12, 0.0);
        assert!(r <= 1.0, "reflection({k}): ratio {r}");
    }
}

#[test]
fn a_rotation_matches_the_naive_resampling() {
    let mut rng = Rng::seed(7);
    let (h, w) = (6, 4);
    let img = rand(&mut rng, &[1, 1, h, w], -1.0, 1.0);
    let r = 0.4;
    let got = transform_images(&img, &se2(&[r]))
        .unwrap()
        .to_vec()
        .unwrap();
    let v = img.to_vec().unwrap();
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let mut want = Vec::new();
    for i in 0..h {
        for j in 0..w {
            let (y, x) = (i as f64 - cy, j as f64 - cx);
            // A(r)⁻¹ = R(-r): (y, x) ↦ (cos r·y - sin r·x, sin r·y + cos r·x).
            let (sy, sx) = (r.cos() * y - r.sin() * x, r.sin() * y + r.cos() * x);
            want.push(naive_bilinear(&v, h, w, sy + cy, sx + cx));
        }
    }
    assert!(tolerance_ratio(&got, &want, 1e-13, 1e-12) <= 1.0);
}

#[test]
fn transform_gradients_reach_the_angles_and_the_images() {
    let mut rng = Rng::seed(8);
    let img = rand(&mut rng, &[2, 1, 5, 5], -1.0, 1.0);
    let angles = T::from_f64s(&B, &[0.3, -1.1, 2.0], [3]).unwrap();
    let worst = check_gradients(
        &[img, angles],
        |t| {
            let e = Elements::new(GroupKind::Se2, t[1].clone(), None)?;
            transform_images(&t[0], &e)
        },
        GradCheck::default(),
    )
    .unwrap();
    println!("transform_images: worst tolerance ratio {worst:.3}");
}

#[test]
fn transforms_need_one_set_of_elements() {
    let img = T::zeros(&B, [2, 1, 3, 3]).unwrap();
    let batched = Elements::from_values(&B, GroupKind::Se2, &[0.0, 1.0], None, Some(2)).unwrap();
    assert!(transform_images(&img, &batched).is_err());
    assert!(transform_images(&T::zeros(&B, [3, 3]).unwrap(), &se2(&[0.0])).is_err());
}
