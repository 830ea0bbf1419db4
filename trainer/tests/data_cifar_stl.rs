//! CIFAR-10, CIFAR-100 and STL-10 binary files: layouts, labels, splits and errors.

mod data_support;

use data_support::TempDir;
use pgcnn::data::{
    load, parse_cifar, parse_stl10, CifarKind, DataError, DataParams, DatasetName, CIFAR100_FILES,
    CIFAR10_FILES, STL10_FILES,
};

/// CIFAR records: label byte(s) then 3,072 pixels; pixel k of record i is (i + k) % 256.
fn cifar_records(labels: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        v.extend_from_slice(l);
        v.extend((0..3072).map(|k| ((i + k) % 256) as u8));
    }
    v
}

#[test]
fn parses_cifar10_and_both_cifar100_label_sets() {
    let ds = parse_cifar(&cifar_records(&[&[3], &[9]]), CifarKind::Cifar10).unwrap();
    assert_eq!(
        (ds.len(), ds.channels, ds.height, ds.width, ds.classes),
        (2, 3, 32, 32, 10)
    );
    assert_eq!(ds.labels, vec![3, 9]);
    // [C, H, W]: green plane, row 2, column 5 of image 1 is pixel 1024 + 69.
    let k = 1024 + 2 * 32 + 5;
    assert_eq!(ds.image(1).unwrap()[k], ((1 + k) % 256) as f32 / 255.0);
    let bytes = cifar_records(&[&[19, 99], &[0, 42]]);
    let fine = parse_cifar(&bytes, CifarKind::Cifar100Fine).unwrap();
    assert_eq!((fine.labels.clone(), fine.classes), (vec![99, 42], 100));
    let coarse = parse_cifar(&bytes, CifarKind::Cifar100Coarse).unwrap();
    assert_eq!((coarse.labels.clone(), coarse.classes), (vec![19, 0], 20));
    assert_eq!(fine.images, coarse.images);
}

#[test]
fn bad_cifar_files_are_errors() {
    let good = cifar_records(&[&[1], &[2]]);
    for bad in [&good[..good.len() - 1], &good[..0], &good[..5]] {
        assert!(matches!(
            parse_cifar(bad, CifarKind::Cifar10),
            Err(DataError::Format { .. })
        ));
    }
    let msg = parse_cifar(&cifar_records(&[&[10]]), CifarKind::Cifar10)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("label 10"), "{msg}");
    // A CIFAR-10 file read as CIFAR-100 does not divide into 3,074-byte records.
    assert!(parse_cifar(&good, CifarKind::Cifar100Fine).is_err());
    assert!(parse_cifar(&cifar_records(&[&[20, 0]]), CifarKind::Cifar100Coarse).is_err());
}

#[test]
fn loads_cifar_directories_and_splits_them() {
    let dir = TempDir::new("cifar10");
    // 5 training batches of 4 and a test batch of 3, in the archive's sub-directory.
    for (b, name) in CIFAR10_FILES.iter().enumerate() {
        let n = if b < 5 { 4 } else { 3 };
        let labels: Vec<[u8; 1]> = (0..n).map(|i| [((b * 4 + i) % 10) as u8]).collect();
        let refs: Vec<&[u8]> = labels.iter().map(|l| &l[..]).collect();
        dir.write(
            &format!("cifar-10-batches-bin/{name}"),
            &cifar_records(&refs),
        );
    }
    let p = DataParams::default();
    let s = load(DatasetName::Cifar10, Some(dir.path()), &p, 0).unwrap();
    // 20 training images, validation 0.1 → 2, as 50,000 → 45,000 + 5,000.
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (18, 2, 3));
    assert_eq!(
        s.train.normalization.as_ref().unwrap().mean,
        vec![0.485, 0.456, 0.406]
    );
    let mut all: Vec<usize> = s
        .train
        .labels
        .iter()
        .chain(&s.val.labels)
        .copied()
        .collect();
    all.sort_unstable();
    let mut want: Vec<usize> = (0..20).map(|i| i % 10).collect();
    want.sort_unstable();
    assert_eq!(all, want);

    let dir = TempDir::new("cifar100");
    dir.write(CIFAR100_FILES[0], &cifar_records(&[&[1u8, 10][..]; 10]));
    dir.write(CIFAR100_FILES[1], &cifar_records(&[&[2u8, 20][..]; 4]));
    let s = load(DatasetName::Cifar100, Some(dir.path()), &p, 0).unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len(), s.test.classes),
        (9, 1, 4, 100)
    );
    assert_eq!(s.test.labels, vec![20; 4]);
    let coarse = DataParams {
        cifar100_coarse: true,
        ..p.clone()
    };
    let s = load(DatasetName::Cifar100, Some(dir.path()), &coarse, 0).unwrap();
    assert_eq!((s.test.labels.clone(), s.test.classes), (vec![2; 4], 20));
}

/// STL-10 bytes for `n` images: plane c of image i stores pixel (y, x) at x·96 + y with
/// value (i + 3c + y + 2x) % 256.
fn stl_images(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n * 3 * 96 * 96];
    for i in 0..n {
        for c in 0..3 {
            for x in 0..96 {
                for y in 0..96 {
                    v[((i * 3 + c) * 96 + x) * 96 + y] = ((i + 3 * c + y + 2 * x) % 256) as u8;
                }
            }
        }
    }
    v
}

#[test]
fn parses_stl10_column_major_images_and_one_based_labels() {
    let ds = parse_stl10(&stl_images(2), &[1, 10]).unwrap();
    assert_eq!(
        (ds.len(), ds.channels, ds.height, ds.width, ds.classes),
        (2, 3, 96, 96, 10)
    );
    assert_eq!(ds.labels, vec![0, 9]);
    let img = ds.image(1).unwrap();
    for (c, y, x) in [(0, 0, 1), (1, 5, 7), (2, 95, 3)] {
        let want = ((1 + 3 * c + y + 2 * x) % 256) as f32 / 255.0;
        assert_eq!(img[(c * 96 + y) * 96 + x], want, "c {c} y {y} x {x}");
    }
}

#[test]
fn bad_stl10_files_are_errors() {
    let img = stl_images(2);
    assert!(parse_stl10(&img[..img.len() - 1], &[1, 2]).is_err());
    assert!(parse_stl10(&[], &[]).is_err());
    let msg = parse_stl10(&img, &[1]).unwrap_err().to_string();
    assert!(msg.contains("2 images but 1 labels"), "{msg}");
    assert!(parse_stl10(&img, &[0, 1]).is_err());
    assert!(parse_stl10(&img, &[1, 11]).is_err());
}

#[test]
fn loads_an_stl10_directory() {
    let dir = TempDir::new("stl10");
    dir.write(&format!("stl10_binary/{}", STL10_FILES[0]), &stl_images(10));
    dir.write(
        &format!("stl10_binary/{}", STL10_FILES[1]),
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    dir.write(&format!("stl10_binary/{}", STL10_FILES[2]), &stl_images(3));
    dir.write(&format!("stl10_binary/{}", STL10_FILES[3]), &[10, 10, 1]);
    let s = load(
        DatasetName::Stl10,
        Some(dir.path()),
        &DataParams::default(),
        0,
    )
    .unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (9, 1, 3));
    assert_eq!(s.test.labels, vec![9, 9, 0]);
}

#[test]
fn missing_cifar_and_stl10_name_files_source_and_flag() {
    let empty = TempDir::new("missing");
    let cases = [
        (
            DatasetName::Cifar10,
            "data_batch_5.bin",
            "cifar-10-binary.tar.gz",
        ),
        (
            DatasetName::Cifar100,
            "train.bin",
            "cifar-100-binary.tar.gz",
        ),
        (DatasetName::Stl10, "test_y.bin", "stl10_binary.tar.gz"),
    ];
    for (name, file, source) in cases {
        for path in [Some(empty.path()), None] {
            let err = load(name, path, &DataParams::default(), 0).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, DataError::Missing(_)), "{msg}");
            for want in [file, source, "--data-dir", name.as_str()] {
                assert!(msg.contains(want), "`{want}` missing from: {msg}");
            }
        }
    }
    // A path that is a file, not a directory.
    let f = empty.write("not-a-dir", b"x");
    assert!(matches!(
        load(DatasetName::Cifar10, Some(&f), &DataParams::default(), 0),
        Err(DataError::BadParam(_))
    ));
}
