//! Helpers shared by the dataset tests: scratch directories and writers of the small
//! dataset files the tests parse.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "pgcnn-data-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to `name` (sub-directories created) and returns the path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create sub-dir");
        }
        std::fs::write(&p, bytes).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An IDX image file: magic 0x803, sizes, then the pixels.
pub fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [count, rows, cols] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

/// An IDX label file: magic 0x801, count, then the labels.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

/// gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip write");
    enc.finish().expect("gzip finish")
}

/// `n` distinct-looking 28×28 digits: pixel bytes depend on the image index and position.
pub fn digit_pixels(n: usize) -> Vec<u8> {
    (0..n * 784)
        .map(|k| ((k / 784) * 37 + (k % 784) * 11 % 251) as u8)
        .collect()
}

/// Labels cycling through 0..10, so every class (and some sixes) appear.
pub fn digit_labels(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 10) as u8).collect()
}

/// Writes an MNIST directory in the official layout (gzip or raw) with `n_train` and
/// `n_test` images.
pub fn write_official_mnist(dir: &TempDir, n_train: usize, n_test: usize, gz: bool) {
    let enc = |b: Vec<u8>| if gz { gzip(&b) } else { b };
    let ext = if gz { ".gz" } else { "" };
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        dir.write(
            &format!("{prefix}-images-idx3-ubyte{ext}"),
            &enc(idx_images(n as u32, 28, 28, &digit_pixels(n))),
        );
        dir.write(
            &format!("{prefix}-labels-idx1-ubyte{ext}"),
            &enc(idx_labels(&digit_labels(n))),
        );
    }
}

/// The bit patterns of each image, to compare image sets exactly.
pub fn image_keys(ds: &pgcnn::data::Dataset) -> Vec<Vec<u32>> {
    (0..ds.len())
        .map(|i| ds.image(i).unwrap().iter().map(|v| v.to_bits()).collect())
        .collect()
}
