//! MNIST IDX loading: raw and gzip, both directory layouts, and every kind of bad file.

mod data_support;

use data_support::*;
use pgcnn::data::{
    load, load_mnist_dir, parse_idx_images, parse_idx_labels, parse_mnist, DataError, DataParams,
    DatasetName, MnistSource,
};

#[test]
fn parses_raw_and_gzip_images_and_labels() {
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|v| v as u8 * 10).collect();
    let raw = idx_images(2, 3, 4, &pixels);
    for bytes in [raw.clone(), gzip(&raw)] {
        let img = parse_idx_images(&bytes).unwrap();
        assert_eq!((img.count, img.rows, img.cols), (2, 3, 4));
        assert_eq!(img.pixels, pixels);
    }
    let labels = idx_labels(&[3, 9]);
    assert_eq!(parse_idx_labels(&gzip(&labels)).unwrap(), vec![3, 9]);
    let ds = parse_mnist(&raw, &labels).unwrap();
    assert_eq!(
        (ds.len(), ds.channels, ds.height, ds.width, ds.classes),
        (2, 1, 3, 4, 10)
    );
    assert_eq!(ds.labels, vec![3, 9]);
    // Scaled to [0, 1]: byte 230 → 230/255.
    assert_eq!(ds.images[23], 230.0 / 255.0);
    assert!(ds.normalization.is_none());
}

fn format_err(r: Result<impl std::fmt::Debug, DataError>) -> String {
    match r {
        Err(e @ DataError::Format { .. }) => e.to_string(),
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn bad_idx_files_are_errors() {
    let pixels = vec![7u8; 2 * 28 * 28];
    let good = idx_images(2, 28, 28, &pixels);
    // Truncated payload and truncated header.
    let msg = format_err(parse_idx_images(&good[..good.len() - 1]));
    assert!(msg.contains("truncated"), "{msg}");
    format_err(parse_idx_images(&good[..10]));
    format_err(parse_idx_images(&[]));
    // Trailing bytes.
    let mut long = good.clone();
    long.push(0);
    format_err(parse_idx_images(&long));
    // Wrong magic: a label file given as images, and garbage.
    let msg = format_err(parse_idx_images(&idx_labels(&[1, 2])));
    assert!(msg.contains("magic"), "{msg}");
    format_err(parse_idx_labels(&good));
    // A header that claims far more than the file holds (4 G images of 28×28) and one
    // whose sizes overflow: errors, decided before any allocation.
    format_err(parse_idx_images(&idx_images(u32::MAX, 28, 28, &[1, 2, 3])));
    format_err(parse_idx_images(&idx_images(
        u32::MAX,
        u32::MAX,
        u32::MAX,
        &[],
    )));
    // Zero-sized images.
    format_err(parse_idx_images(&idx_images(1, 0, 28, &[])));
    // Count mismatch between images and labels; label out of range.
    let msg = format_err(parse_mnist(&good, &idx_labels(&[1, 2, 3])));
    assert!(msg.contains("2 images but 3 labels"), "{msg}");
    format_err(parse_mnist(&good, &idx_labels(&[1, 10])));
    // A corrupt and a truncated gzip stream.
    let gz = gzip(&good);
    format_err(parse_idx_images(&gz[..gz.len() / 2]));
    let mut corrupt = gz.clone();
    for b in corrupt.iter_mut().skip(12).take(40) {
        *b ^= 0x5a;
    }
    format_err(parse_idx_images(&corrupt));
}

#[test]
fn loads_the_official_layout_raw_or_gzip_and_the_pool_layout() {
    for gz in [false, true] {
        let dir = TempDir::new("idx-official");
        write_official_mnist(&dir, 30, 12, gz);
        match load_mnist_dir(dir.path(), "mnist").unwrap() {
            MnistSource::TrainTest { train, test } => {
                assert_eq!((train.len(), test.len()), (30, 12));
                assert_eq!(train.labels[..3], [0, 1, 2]);
            }
            other => panic!("expected train/test, got {other:?}"),
        }
        // Through `load`: validation 0.1 of 30 → 3; official test kept.
        let s = load(
            DatasetName::Mnist,
            Some(dir.path()),
            &DataParams::default(),
            1,
        )
        .unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (27, 3, 12));
    }
    // The pool layout, in a sub-directory as data/mnist-10k is.
    let dir = TempDir::new("idx-pool");
    dir.write(
        "mnist-10k/images-idx3-ubyte.gz",
        &gzip(&idx_images(20, 28, 28, &digit_pixels(20))),
    );
    dir.write(
        "mnist-10k/labels-idx1-ubyte.gz",
        &gzip(&idx_labels(&digit_labels(20))),
    );
    assert!(matches!(
        load_mnist_dir(dir.path(), "mnist").unwrap(),
        MnistSource::Pool(ref p) if p.len() == 20
    ));
    // test 0.2 of 20 → 4, validation 0.1 of 16 → 1.
    let s = load(
        DatasetName::Mnist,
        Some(dir.path()),
        &DataParams::default(),
        1,
    )
    .unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (15, 1, 4));
}

#[test]
fn a_bad_file_in_a_directory_names_the_file() {
    let dir = TempDir::new("idx-bad");
    write_official_mnist(&dir, 5, 5, false);
    dir.write("t10k-labels-idx1-ubyte", &idx_labels(&[1, 2, 3]));
    let msg = format_err(load_mnist_dir(dir.path(), "mnist"));
    assert!(msg.contains("t10k-"), "{msg}");
    assert!(msg.contains("5 images but 3 labels"), "{msg}");
}

#[test]
fn a_missing_mnist_names_the_files_the_source_and_the_flag() {
    let dir = TempDir::new("idx-missing");
    for name in [
        DatasetName::Mnist,
        DatasetName::Mnist6_180,
        DatasetName::RotMnistSynthetic,
    ] {
        let err = load(name, Some(dir.path()), &DataParams::default(), 0).unwrap_err();
        assert!(matches!(err, DataError::Missing(_)), "{err:?}");
        let msg = err.to_string();
        for want in [
            "train-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
            "yann.lecun.com",
            "--data-dir",
            name.as_str(),
        ] {
            assert!(msg.contains(want), "`{want}` missing from: {msg}");
        }
    }
}
