//! Image rotation and mirroring: the conventions of docs/math.md §2, exact multiples of
//! 90°, and bilinear interpolation elsewhere.

use std::f64::consts::{FRAC_PI_2, PI};

use pgcnn::data::rotate::{mirror_x, rotate, rotate180, transform};

/// An h×w image with distinct values 0..h·w (row-major).
fn ramp(h: usize, w: usize) -> Vec<f32> {
    (0..h * w).map(|v| v as f32).collect()
}

#[test]
fn four_quarter_turns_return_the_original_exactly() {
    for n in [4, 5, 28] {
        let img: Vec<f32> = (0..2 * n * n).map(|v| (v as f32 * 0.37).sin()).collect();
        let mut x = img.clone();
        for _ in 0..4 {
            x = rotate(&x, 2, n, n, FRAC_PI_2).unwrap();
        }
        assert_eq!(x, img, "n = {n}");
        // A quarter turn is a permutation of the pixels, never an interpolation.
        let q = rotate(&img, 2, n, n, FRAC_PI_2).unwrap();
        let mut a: Vec<u32> = img.iter().map(|v| v.to_bits()).collect();
        let mut b: Vec<u32> = q.iter().map(|v| v.to_bits()).collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
    }
}

#[test]
fn a_quarter_turn_moves_the_pixel_right_of_the_centre_below_it() {
    // docs/math.md §2: content at p moves to R(r)·p,
    // R(90°)·(y, x) = (x, -y): (0, 1) → (1, 0).
    let mut img = vec![0.0f32; 9];
    img[3 + 2] = 1.0; // row 1, column 2: right of the centre (1, 1)
    let out = rotate(&img, 1, 3, 3, FRAC_PI_2).unwrap();
    let mut want = vec![0.0f32; 9];
    want[3 * 2 + 1] = 1.0; // row 2, column 1: below the centre
    assert_eq!(out, want);
    // In index form on a square n×n image: out[i][j] = in[n-1-j][i].
    let n = 5;
    let img = ramp(n, n);
    let out = rotate(&img, 1, n, n, FRAC_PI_2).unwrap();
    for i in 0..n {
        for j in 0..n {
            assert_eq!(out[i * n + j], img[(n - 1 - j) * n + i]);
        }
    }
}

#[test]
fn half_turn_is_exact_reversal_on_any_shape_and_mirror_reverses_rows() {
    let (h, w) = (3, 6);
    let img = ramp(h, w);
    let rev: Vec<f32> = img.iter().rev().copied().collect();
    assert_eq!(rotate180(&img, 1, h, w).unwrap(), rev);
    assert_eq!(rotate(&img, 1, h, w, PI).unwrap(), rev);
    assert_eq!(rotate(&img, 1, h, w, -PI).unwrap(), rev);
    let mirrored: Vec<f32> = img
        .chunks(w)
        .flat_map(|r| r.iter().rev().copied())
        .collect();
    assert_eq!(mirror_x(&img, 1, h, w).unwrap(), mirrored);
    assert_eq!(transform(&img, 1, h, w, 0.0, true).unwrap(), mirrored);
    // Per channel: two channels reverse independently.
    let two: Vec<f32> = img.iter().chain(img.iter()).copied().collect();
    let want: Vec<f32> = rev.iter().chain(rev.iter()).copied().collect();
    assert_eq!(rotate180(&two, 2, h, w).unwrap(), want);
}

/// O(2) product of docs/math.md §2: (r1, m1)·(r2, m2) = (r1 + m1·r2, m1·m2).
fn product(g1: (f64, bool), g2: (f64, bool)) -> (f64, bool) {
    let m1 = if g1.1 { -1.0 } else { 1.0 };
    (g1.0 + m1 * g2.0, g1.1 != g2.1)
}

#[test]
fn transforms_compose_as_the_group_product_on_the_dihedral_grid() {
    let n = 6;
    let img = ramp(n, n);
    let elems: Vec<(f64, bool)> = (0..4)
        .flat_map(|k| [(k as f64 * FRAC_PI_2, false), (k as f64 * FRAC_PI_2, true)])
        .collect();
    for &g1 in &elems {
        for &g2 in &elems {
            let t2 = transform(&img, 1, n, n, g2.0, g2.1).unwrap();
            let t12 = transform(&t2, 1, n, n, g1.0, g1.1).unwrap();
            let g = product(g1, g2);
            assert_eq!(
                t12,
                transform(&img, 1, n, n, g.0, g.1).unwrap(),
                "{g1:?}·{g2:?}"
            );
        }
    }
}

#[test]
fn bilinear_rotation_keeps_constants_inside_and_inverts_approximately() {
    let n = 28;
    // A constant image stays constant where the rotated frame covers the source.
    let ones = vec![1.0f32; n * n];
    let out = rotate(&ones, 1, n, n, 0.3).unwrap();
    let c = (n as f64 - 1.0) / 2.0;
    for i in 0..n {
        for j in 0..n {
            let r = ((i as f64 - c).powi(2) + (j as f64 - c).powi(2)).sqrt();
            if r < c - 1.0 {
                assert!((out[i * n + j] - 1.0).abs() < 1e-6);
            }
        }
    }
    // Zero fill: the corners come from outside the frame.
    assert_eq!(out[0], 0.0);
    // A smooth off-centre blob f rotated by θ matches f(R(-θ)·p) sampled on the grid
    // (docs/math.md §2 for any angle, not only quarter turns), and rotating back
    // restores it.
    let f = |y: f64, x: f64| (-((y - 2.0).powi(2) + 2.0 * (x - 4.0).powi(2)) / 40.0).exp();
    let sample = |theta: f64| -> Vec<f32> {
        let (cs, sn) = (theta.cos(), theta.sin());
        (0..n * n)
            .map(|k| {
                let (py, px) = ((k / n) as f64 - c, (k % n) as f64 - c);
                f(cs * py - sn * px, sn * py + cs * px) as f32
            })
            .collect()
    };
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let blob = sample(0.0);
    let there = rotate(&blob, 1, n, n, 0.7).unwrap();
    assert!(max_diff(&there, &blob) > 0.5);
    // Bilinear error bound: h²/8 · |f''| per axis ≈ 0.0125 each for this blob.
    let err = max_diff(&there, &sample(0.7));
    assert!(err < 0.03, "rotated vs analytic: max error {err}");
    assert!(
        max_diff(&there, &sample(-0.7)) > 0.3,
        "rotated the wrong way"
    );
    let back = rotate(&there, 1, n, n, -0.7).unwrap();
    let err = max_diff(&back, &blob);
    assert!(err < 0.05, "round trip: max error {err}");
    // θ and θ + 2π agree.
    let wrapped = rotate(&blob, 1, n, n, 0.7 + 2.0 * PI).unwrap();
    assert!(max_diff(&there, &wrapped) < 1e-5);
}

#[test]
fn bad_arguments_are_errors() {
    let img = ramp(3, 3);
    assert!(rotate(&img, 1, 3, 4, 0.1).is_err());
    assert!(rotate(&img, 1, 3, 3, f64::NAN).is_err());
    assert!(rotate180(&img, 2, 3, 3).is_err());
    assert!(mirror_x(&[], 1, 0, 0).is_err());
    assert!(transform(&img, usize::MAX, usize::MAX, 2, 0.0, false).is_err());
}
