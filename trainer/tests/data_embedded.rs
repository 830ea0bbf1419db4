//! The embedded 10,000 digits and the datasets built from them: sizes, class counts,
//! exact 180° / mirror pairs, determinism and disjoint splits.

mod data_support;

use std::collections::HashSet;

use data_support::image_keys;
use pgcnn::data::{
    embedded, load, mnist6, rotate::rotate180, rotate_randomly, DataParams, Dataset, DatasetName,
    SixTransform, Splits,
};
use pgcnn_core::rng::Rng;

#[test]
fn embedded_set_has_ten_thousand_digits_with_the_readme_class_counts() {
    let ds = embedded::load().unwrap();
    assert_eq!(ds.len(), 10_000);
    assert_eq!(
        (ds.channels, ds.height, ds.width, ds.classes),
        (1, 28, 28, 10)
    );
    assert_eq!(
        ds.class_counts(),
        vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    );
    assert!(ds.images.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // The MNIST mean the normalisation assumes (0.1307) fits these digits.
    let mean = ds.images.iter().map(|&v| v as f64).sum::<f64>() / ds.images.len() as f64;
    assert!((mean - 0.1307).abs() < 0.01, "mean {mean}");
    // Every digit is a different image, so disjoint splits have disjoint image sets.
    let keys: HashSet<_> = image_keys(&ds).into_iter().collect();
    assert_eq!(keys.len(), 10_000);
}

fn sizes(s: &Splits) -> (usize, usize, usize) {
    (s.train.len(), s.val.len(), s.test.len())
}

fn assert_disjoint(s: &Splits) {
    let train: HashSet<_> = image_keys(&s.train).into_iter().collect();
    let val: HashSet<_> = image_keys(&s.val).into_iter().collect();
    let test: HashSet<_> = image_keys(&s.test).into_iter().collect();
    assert_eq!(
        train.len() + val.len() + test.len(),
        s.train.len() + s.val.len() + s.test.len()
    );
    assert!(train.is_disjoint(&val) && train.is_disjoint(&test) && val.is_disjoint(&test));
}

#[test]
fn default_mnist_splits_the_pool_deterministically_and_disjointly() {
    let p = DataParams::default();
    let a = load(DatasetName::Mnist, None, &p, 7).unwrap();
    assert_eq!(sizes(&a), (7_200, 800, 2_000));
    assert_disjoint(&a);
    assert_eq!(a, load(DatasetName::Mnist, None, &p, 7).unwrap());
    let b = load(DatasetName::Mnist, None, &p, 8).unwrap();
    assert_ne!(a.test.labels, b.test.labels);
    // Normalised as documented: (x - 0.1307) / 0.3081.
    let n = a.train.normalization.as_ref().unwrap();
    assert_eq!(
        (n.mean.as_slice(), n.std.as_slice()),
        (&[0.1307f32][..], &[0.3081f32][..])
    );
    let min = a.train.images.iter().cloned().fold(f32::INFINITY, f32::min);
    assert!((min - (-0.1307 / 0.3081)).abs() < 1e-6, "min {min}");
    // Fractions are honoured.
    let p = DataParams {
        test_fraction: 0.5,
        val_fraction: Some(0.0),
        ..DataParams::default()
    };
    assert_eq!(
        sizes(&load(DatasetName::Mnist, None, &p, 7).unwrap()),
        (5_000, 0, 5_000)
    );
}

#[test]
fn mnist6_180_pairs_every_six_with_its_exact_180_degree_rotation() {
    let digits = embedded::load().unwrap();
    let ds = mnist6(&digits, SixTransform::Rotate180, 0.0, &mut Rng::seed(0)).unwrap();
    assert_eq!(ds.len(), 2 * 1014);
    assert_eq!(ds.classes, 2);
    assert_eq!(ds.class_counts(), vec![1014, 1014]);
    let sixes: Vec<usize> = (0..digits.len())
        .filter(|&i| digits.labels[i] == 6)
        .collect();
    for (k, &i) in sixes.iter().enumerate() {
        // Interleaved: the six at 2k, its rotation at 2k + 1.
        let kept = ds.image(2 * k).unwrap();
        let turned = ds.image(2 * k + 1).unwrap();
        assert_eq!(kept, digits.image(i).unwrap());
        // Exact pixel reversal, bit for bit.
        let reversed: Vec<f32> = kept.iter().rev().copied().collect();
        assert_eq!(turned, reversed.as_slice());
        assert_eq!((ds.labels[2 * k], ds.labels[2 * k + 1]), (0, 1));
    }
}

#[test]
fn mnist6_with_rot_interval_rotates_first_then_pairs_exactly() {
    let digits = embedded::load().unwrap();
    let ds = mnist6(&digits, SixTransform::Rotate180, 30.0, &mut Rng::seed(3)).unwrap();
    let plain = mnist6(&digits, SixTransform::Rotate180, 0.0, &mut Rng::seed(3)).unwrap();
    let mut changed = 0;
    for k in 0..1014 {
        let kept = ds.image(2 * k).unwrap();
        assert_eq!(
            ds.image(2 * k + 1).unwrap(),
            rotate180(kept, 1, 28, 28).unwrap()
        );
        if kept != plain.image(2 * k).unwrap() {
            changed += 1;
        }
    }
    assert!(changed > 1000, "only {changed} sixes were rotated");
    assert!(mnist6(&digits, SixTransform::Rotate180, 181.0, &mut Rng::seed(3)).is_err());
    assert!(mnist6(
        &digits,
        SixTransform::Rotate180,
        f64::NAN,
        &mut Rng::seed(3)
    )
    .is_err());
}

#[test]
fn mnist6_m_pairs_every_six_with_its_mirror_image() {
    let digits = embedded::load().unwrap();
    let ds = mnist6(&digits, SixTransform::MirrorX, 0.0, &mut Rng::seed(0)).unwrap();
    assert_eq!(ds.len(), 2028);
    for k in 0..1014 {
        let kept = ds.image(2 * k).unwrap();
        let mirrored: Vec<f32> = kept
            .chunks(28)
            .flat_map(|r| r.iter().rev().copied())
            .collect();
        assert_eq!(ds.image(2 * k + 1).unwrap(), mirrored.as_slice());
    }
}

#[test]
fn mnist6_splits_keep_every_six_with_its_transformed_copy() {
    for name in [DatasetName::Mnist6_180, DatasetName::Mnist6M] {
        let p = DataParams::default();
        let s = load(name, None, &p, 0).unwrap();
        // The 10,000 digits are split first (2,000 test, 800 validation, 7,200 train),
        // then every split is built: 1,014 sixes in all, each with its copy.
        let (train, val, test) = sizes(&s);
        assert_eq!(train + val + test, 2_028);
        assert!((340..=470).contains(&test), "test {test}");
        assert!((120..=210).contains(&val), "val {val}");
        assert_eq!(s.train.classes, 2);
        assert_disjoint(&s);
        assert_eq!(s, load(name, None, &p, 0).unwrap());
        for part in [&s.train, &s.val, &s.test] {
            // Exactly balanced and in pairs (six, copy), so a fully invariant model scores
            // exactly 50% on every split.
            assert_eq!(part.len() % 2, 0);
            assert!(part.labels.iter().enumerate().all(|(i, &l)| l == i % 2));
        }
        // Without validation, every non-test six trains.
        let p = DataParams {
            val_fraction: Some(0.0),
            ..p
        };
        let s0 = load(name, None, &p, 0).unwrap();
        assert_eq!(sizes(&s0), (train + val, 0, test));
    }
}

#[test]
fn synthetic_rotmnist_rotates_every_digit() {
    let digits = embedded::load().unwrap();
    let small = digits.subset(&(0..200).collect::<Vec<_>>()).unwrap();
    let rot = rotate_randomly(&small, &mut Rng::seed(5)).unwrap();
    assert_eq!(rot.labels, small.labels);
    assert_eq!(rot, rotate_randomly(&small, &mut Rng::seed(5)).unwrap());
    let changed = (0..200).filter(|&i| rot.image(i) != small.image(i)).count();
    assert!(changed >= 199, "{changed}");
    // Ink is roughly preserved (digits sit well inside the frame).
    for i in 0..200 {
        let ink = |d: &Dataset| d.image(i).unwrap().iter().sum::<f32>();
        let (a, b) = (ink(&small), ink(&rot));
        assert!((a - b).abs() < 0.1 * a, "image {i}: ink {a} → {b}");
    }
    let s = load(
        DatasetName::RotMnistSynthetic,
        None,
        &DataParams::default(),
        0,
    )
    .unwrap();
    assert_eq!(sizes(&s), (7_200, 800, 2_000));
    assert_disjoint(&s);
}
