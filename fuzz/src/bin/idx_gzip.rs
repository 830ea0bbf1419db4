//! Fuzzes the gzip path of the IDX parsers through its header logic: the input is a raw
//! IDX file, which the target gzip-compresses before parsing (mutating compressed bytes
//! rarely yields a valid stream, so `idx_images` alone would seldom get past the decoder).
//! Raw and compressed must be accepted or refused alike, with the same result.
#![no_main]

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use libfuzzer_sys::fuzz_target;
use pgcnn::data::{parse_idx_images, parse_idx_labels};
use pgcnn_fuzz::outcome;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 2 && data[..2] == [0x1f, 0x8b] {
        // Already gzip: the raw parse would decompress it, the compressed one not twice.
        return;
    }
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).expect("gzip into a Vec cannot fail");
    let gz = enc.finish().expect("gzip into a Vec cannot fail");

    let (raw_img, gz_img) = (parse_idx_images(data), parse_idx_images(&gz));
    assert_eq!(
        raw_img.as_ref().ok(),
        gz_img.as_ref().ok(),
        "images: raw vs gzip"
    );
    let (raw_lab, gz_lab) = (parse_idx_labels(data), parse_idx_labels(&gz));
    assert_eq!(
        raw_lab.as_ref().ok(),
        gz_lab.as_ref().ok(),
        "labels: raw vs gzip"
    );
    // A seed is either an image file or a label file.
    let ok = raw_img.is_ok() || raw_lab.is_ok();
    outcome(
        "IDX (gzip)",
        ok.then_some(()).ok_or("neither images nor labels"),
    );
});
