//! Inputs the fuzz targets in fuzz/ (or their review) found mishandled, each kept as a
//! test once fixed: the parser must return a clear error, never panic or accept nonsense.

mod data_support;

use data_support::{gzip, idx_images, idx_labels};
use pgcnn::data::{parse_mnist, DataError};

/// The reason of a format error (the test fails on any other outcome).
fn format_reason<T: std::fmt::Debug>(r: Result<T, DataError>) -> String {
    match r {
        Err(DataError::Format { reason, .. }) => reason,
        other => panic!("expected a format error, got {other:?}"),
    }
}

/// An IDX pair of 0 images and 0 labels was accepted as an empty dataset (of whatever
/// image size the header claimed, here 65536×65536), where the other formats refuse an
/// empty file; an empty MNIST test set would then reach evaluation.
#[test]
fn idx_pair_without_images_is_refused() {
    let images = idx_images(0, 65536, 65536, &[]);
    let labels = idx_labels(&[]);
    let reason = format_reason(parse_mnist(&images, &labels));
    assert!(reason.contains("no images"), "{reason}");
    let reason = format_reason(parse_mnist(&gzip(&images), &gzip(&labels)));
    assert!(reason.contains("no images"), "{reason}");
    // One image is still fine.
    let ds = parse_mnist(&idx_images(1, 2, 2, &[0, 85, 170, 255]), &idx_labels(&[3]))
        .expect("one 2×2 image");
    assert_eq!((ds.len(), ds.height, ds.width), (1, 2, 2));
}
