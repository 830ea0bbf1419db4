//! Inputs the fuzz targets in fuzz/ (or their review) found mishandled, each kept as a
//! test once fixed: the parser must return a clear error, never panic or accept nonsense.

mod data_support;

use data_support::{gzip, idx_images, idx_labels};
use pgcnn::data::{parse_idx_labels, parse_mnist, DataError};

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

/// A gzip IDX file followed by more bytes was accepted, the bytes after the first gzip
/// member ignored (the fuzzer's input: a complete member, then a truncated copy of its
/// start). Such a file is corrupt: now refused. Data split over several complete members
/// (as `cat a.gz b.gz` makes, and `gzip -d` reads) is read whole.
#[test]
fn bytes_after_a_gzip_member_are_not_ignored() {
    let file = idx_labels(&[1, 2, 3]);
    let member = gzip(&file);
    assert_eq!(parse_idx_labels(&member).expect("one member"), [1, 2, 3]);

    let mut junk = member.clone();
    junk.extend_from_slice(b"trailing junk");
    format_reason(parse_idx_labels(&junk));

    let mut truncated = member.clone();
    truncated.extend_from_slice(&member[..member.len() / 2]);
    format_reason(parse_idx_labels(&truncated));

    let mut two = gzip(&file[..6]);
    two.extend_from_slice(&gzip(&file[6..]));
    assert_eq!(parse_idx_labels(&two).expect("two members"), [1, 2, 3]);

    // A second member whose data is more than the header claims is refused.
    let mut extra = member.clone();
    extra.extend_from_slice(&gzip(&[4]));
    let reason = format_reason(parse_idx_labels(&extra));
    assert!(reason.contains("more bytes follow"), "{reason}");
}
