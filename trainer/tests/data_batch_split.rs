//! Mini-batches and splits: coverage, determinism under the seed, parameter errors.

use std::collections::HashSet;

use pgcnn::data::{
    carve, carve_count, epoch_rng, split_pool, DataError, DataParams, Dataset, DatasetName,
};
use pgcnn_core::rng::Rng;

/// `n` 1×2×2 images whose pixels all equal the image index; labels index % 3.
fn toy(n: usize) -> Dataset {
    let images = (0..n).flat_map(|i| [i as f32; 4]).collect();
    Dataset::new(images, (0..n).map(|i| i % 3).collect(), 1, 2, 2, 3).unwrap()
}

#[test]
fn sequential_batches_cover_the_set_and_keep_the_last_partial_batch() {
    let ds = toy(10);
    let batches: Vec<_> = ds.batches(4).unwrap().collect();
    assert_eq!(ds.batches(4).unwrap().num_batches(), 3);
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[2].shape, [2, 1, 2, 2]);
    assert_eq!(batches[2].labels, vec![8 % 3, 9 % 3]);
    assert_eq!(
        batches[2].images,
        vec![8.0, 8.0, 8.0, 8.0, 9.0, 9.0, 9.0, 9.0]
    );
    assert!(matches!(ds.batches(0), Err(DataError::BadParam(_))));
    assert_eq!(toy(0).batches(3).unwrap().count(), 0);
}

#[test]
fn shuffled_batches_are_a_permutation_fixed_by_the_seed() {
    let ds = toy(37);
    let pass = |rng: &mut Rng| -> Vec<usize> {
        ds.shuffled_batches(8, rng)
            .unwrap()
            .flat_map(|b| {
                // Image and label travel together.
                for (k, &l) in b.labels.iter().enumerate() {
                    assert_eq!(b.images[4 * k] as usize % 3, l);
                }
                b.images
                    .chunks(4)
                    .map(|c| c[0] as usize)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let e0 = pass(&mut epoch_rng(5, 0));
    let mut sorted = e0.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..37).collect::<Vec<_>>());
    assert_ne!(e0, sorted);
    assert_eq!(e0, pass(&mut epoch_rng(5, 0)));
    assert_ne!(e0, pass(&mut epoch_rng(5, 1)));
    assert_ne!(e0, pass(&mut epoch_rng(6, 0)));
    // One generator across epochs gives a new order each epoch, fixed by its seed.
    let mut a = Rng::seed(9);
    let mut b = Rng::seed(9);
    let (a1, a2) = (pass(&mut a), pass(&mut a));
    assert_ne!(a1, a2);
    assert_eq!((a1, a2), (pass(&mut b), pass(&mut b)));
}

#[test]
fn carving_is_floor_of_the_fraction_disjoint_and_seeded() {
    assert_eq!(carve_count(2028, 0.2), 405);
    assert_eq!(carve_count(12_000, 1.0 / 6.0), 2_000);
    assert_eq!(carve_count(50_000, 0.1), 5_000);
    assert_eq!(carve_count(10, 0.0), 0);
    let (kept, carved) = carve(100, 0.3, &mut Rng::seed(1));
    assert_eq!((kept.len(), carved.len()), (70, 30));
    let all: HashSet<usize> = kept.iter().chain(&carved).copied().collect();
    assert_eq!(all.len(), 100);
    assert!(kept.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        carve(100, 0.3, &mut Rng::seed(1)),
        (kept.clone(), carved.clone())
    );
    assert_ne!(carve(100, 0.3, &mut Rng::seed(2)).1, carved);
}

#[test]
fn pool_splits_are_disjoint_and_independent_of_each_other() {
    let ds = toy(50);
    let s = split_pool(&ds, 0.2, 0.25, &mut Rng::seed(3)).unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (30, 10, 10));
    let ids = |d: &Dataset| -> HashSet<u32> { d.images.iter().map(|&v| v as u32).collect() };
    let (tr, va, te) = (ids(&s.train), ids(&s.val), ids(&s.test));
    assert_eq!(tr.len() + va.len() + te.len(), 50);
    assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
    // Changing the validation fraction does not move the test set.
    let s2 = split_pool(&ds, 0.2, 0.5, &mut Rng::seed(3)).unwrap();
    assert_eq!(s2.test, s.test);
}

#[test]
fn bad_parameters_are_errors() {
    let ds = toy(5);
    assert!(split_pool(&ds, 1.0, 0.1, &mut Rng::seed(0)).is_err());
    assert!(split_pool(&ds, -0.1, 0.1, &mut Rng::seed(0)).is_err());
    assert!(split_pool(&ds, 0.2, f64::NAN, &mut Rng::seed(0)).is_err());
    // A carve that rounds down to nothing is fine; an empty training set is an error.
    assert!(split_pool(&toy(1), 0.0, 0.9, &mut Rng::seed(0)).is_ok());
    assert!(split_pool(&toy(0), 0.0, 0.0, &mut Rng::seed(0)).is_err());
    let load = |p: DataParams| pgcnn::data::load(DatasetName::Mnist6_180, None, &p, 0);
    for p in [
        DataParams {
            rot_interval: -1.0,
            ..DataParams::default()
        },
        DataParams {
            rot_interval: 270.0,
            ..DataParams::default()
        },
        DataParams {
            test_fraction: 1.5,
            ..DataParams::default()
        },
        DataParams {
            val_fraction: Some(1.0),
            ..DataParams::default()
        },
    ] {
        assert!(matches!(load(p), Err(DataError::BadParam(_))));
    }
    // Dataset construction checks sizes and labels.
    assert!(Dataset::new(vec![0.0; 7], vec![0, 1], 1, 2, 2, 3).is_err());
    assert!(Dataset::new(vec![0.0; 8], vec![0, 3], 1, 2, 2, 3).is_err());
    assert!(Dataset::new(vec![], vec![], 1, 0, 2, 3).is_err());
    assert!(ds.subset(&[0, 5]).is_err());
    let mut n = toy(2);
    assert!(n.normalize(&[0.5], &[0.0]).is_err());
    assert!(n.normalize(&[0.5, 0.5], &[1.0, 1.0]).is_err());
    n.normalize(&[1.0], &[2.0]).unwrap();
    assert_eq!(n.images, vec![-0.5, -0.5, -0.5, -0.5, 0.0, 0.0, 0.0, 0.0]);
    assert!(n.normalize(&[1.0], &[2.0]).is_err());
}

#[test]
fn dataset_names_parse_in_flag_and_reference_spellings() {
    for name in DatasetName::ALL {
        assert_eq!(name.as_str().parse::<DatasetName>().unwrap(), name);
        assert_eq!(name.to_string(), name.as_str());
    }
    for (s, want) in [
        ("rotMNIST", DatasetName::RotMnist),
        ("MNIST6-180", DatasetName::Mnist6_180),
        ("MNIST6_M", DatasetName::Mnist6M),
        ("CIFAR100", DatasetName::Cifar100),
        ("STL10", DatasetName::Stl10),
    ] {
        assert_eq!(s.parse::<DatasetName>().unwrap(), want);
    }
    let msg = "imagenet".parse::<DatasetName>().unwrap_err().to_string();
    assert!(
        msg.contains("mnist6-180") && msg.contains("imagenet"),
        "{msg}"
    );
    assert_eq!(DatasetName::Mnist6_180.classes(&DataParams::default()), 2);
    let coarse = DataParams {
        cifar100_coarse: true,
        ..DataParams::default()
    };
    assert_eq!(DatasetName::Cifar100.classes(&coarse), 20);
    assert_eq!(DatasetName::Stl10.image_shape(), [3, 96, 96]);
}
