//! The input transformations of `pgcnn eval`: the same sense as the core's equivariance
//! harness (docs/math.md §2), exact pixel permutations at multiples of 90°, background fill
//! for other angles on normalised data; the angle lists; the relative error.

use pgcnn::data::Normalization;
use pgcnn::eval::{equally_spaced, parse_rotations, relative_error, transform_list, Transform};
use pgcnn_core::equivariance::Transformation;
use pgcnn_core::reference::Reference;
use pgcnn_core::Tensor;

fn t(angle_degrees: f64, mirror: bool) -> Transform {
    Transform {
        angle_degrees,
        mirror,
    }
}

/// Two images of 2 channels, 5×5 (or `h`×`w`), all values different.
fn images(h: usize, w: usize) -> Vec<f32> {
    (0..2 * 2 * h * w).map(|i| i as f32 * 0.37 - 3.0).collect()
}

/// The core harness's exact transformation of a `[2, 2, h, w]` batch.
fn core(g: Transformation, x: &[f32], h: usize, w: usize) -> Vec<f32> {
    let x = Tensor::<_, f32>::from_slice(&Reference, x, [2, 2, h, w]).unwrap();
    g.apply_spatial(&x).unwrap().to_vec().unwrap()
}

#[test]
fn quarter_turns_and_mirrors_match_the_core_harness() {
    let x = images(5, 5);
    for k in 0..4u8 {
        let deg = 90.0 * f64::from(k);
        let rot = t(deg, false).apply(&x, [2, 5, 5], None).unwrap();
        assert_eq!(rot, core(Transformation::rot90(k), &x, 5, 5), "{deg}°");
        let refl = t(deg, true).apply(&x, [2, 5, 5], None).unwrap();
        assert_eq!(
            refl,
            core(Transformation::reflection(k), &x, 5, 5),
            "{deg}° mirrored"
        );
        // -270° is +90°, 450° is 90°: the same rotation.
        let again = t(deg - 360.0, false).apply(&x, [2, 5, 5], None).unwrap();
        assert_eq!(again, rot);
    }
    // 180° is exact on any frame.
    let x = images(4, 6);
    let rot = t(180.0, false).apply(&x, [2, 4, 6], None).unwrap();
    assert_eq!(rot, core(Transformation::rot90(2), &x, 4, 6));
    assert!(t(180.0, true).is_exact(4, 6) && !t(90.0, false).is_exact(4, 6));
    assert!(t(-90.0, false).is_exact(5, 5) && !t(45.0, false).is_exact(5, 5));
}

#[test]
fn a_positive_angle_turns_the_content_clockwise() {
    // One bright pixel right of the centre of a 3×3 image ends up below it at +90°.
    let mut x = vec![0.0f32; 9];
    x[5] = 1.0;
    let out = t(90.0, false).apply(&x, [1, 3, 3], None).unwrap();
    let mut want = vec![0.0f32; 9];
    want[7] = 1.0;
    assert_eq!(out, want);
}

#[test]
fn exact_turns_keep_normalised_values_and_bilinear_ones_fill_with_background() {
    let norm = Normalization {
        mean: vec![0.5],
        std: vec![0.25],
    };
    // A uniformly bright 9×9 image, normalised: (1 - 0.5) / 0.25 = 2.
    let x = vec![2.0f32; 81];
    let exact = t(270.0, false).apply(&x, [1, 9, 9], Some(&norm)).unwrap();
    assert_eq!(exact, x);
    let turned = t(45.0, false).apply(&x, [1, 9, 9], Some(&norm)).unwrap();
    // The centre stays; a corner (4√2 from the centre) samples wholly outside the
    // frame: background 0, normalised -2.
    assert!((turned[40] - 2.0).abs() < 1e-6);
    assert!((turned[0] + 2.0).abs() < 1e-6, "corner {}", turned[0]);
    // Without normalisation the fill is 0.
    let raw = t(45.0, false).apply(&x, [1, 9, 9], None).unwrap();
    assert_eq!(raw[0], 0.0);
}

#[test]
fn a_batch_of_the_wrong_length_is_an_error() {
    assert!(t(90.0, false).apply(&[0.0; 7], [1, 2, 2], None).is_err());
    assert!(t(90.0, false).apply(&[], [0, 2, 2], None).is_err());
}

#[test]
fn angle_lists() {
    assert_eq!(
        parse_rotations("0,90,180,270").unwrap(),
        [0.0, 90.0, 180.0, 270.0]
    );
    assert_eq!(parse_rotations(" -45 , 22.5").unwrap(), [-45.0, 22.5]);
    assert_eq!(
        equally_spaced(8).unwrap(),
        [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0]
    );
    for bad in [
        "", "0,,90", "90,", "ninety", "0,inf", "NaN", "90,450", "0,-360",
    ] {
        let e = parse_rotations(bad).expect_err(bad);
        assert!(e.to_string().contains("--rotations"), "{bad}: {e}");
    }
    let many: Vec<String> = (0..400)
        .map(|i| format!("{}", f64::from(i) * 0.5))
        .collect();
    assert!(parse_rotations(&many.join(",")).is_err());
    assert!(equally_spaced(0).is_err());
    assert!(equally_spaced(100_000).is_err());
    let list = transform_list(&[0.0, 90.0], true);
    assert_eq!(
        list,
        [t(0.0, false), t(90.0, false), t(0.0, true), t(90.0, true)]
    );
    assert!(list[0].is_identity() && !list[2].is_identity());
}

#[test]
fn relative_error_of_logits() {
    assert_eq!(relative_error(&[3.0, 4.0], &[3.0, 4.0]), 0.0);
    assert!((relative_error(&[3.0, 4.0], &[3.0, 5.0]) - 0.2).abs() < 1e-12);
    assert!((relative_error(&[3.0, 4.0], &[-3.0, -4.0]) - 2.0).abs() < 1e-12);
    // A zero reference does not divide by zero.
    assert!(relative_error(&[0.0, 0.0], &[1.0, 0.0]).is_finite());
}
