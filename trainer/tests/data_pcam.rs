//! PCam (HDF5): files written by h5py (libhdf5, the committed fixture) and by hdf5-pure,
//! exact values and labels, the HWC → CHW transpose, the dataset's own validation split,
//! and every malformed input as a clean error. Without the cargo feature `pcam` only the
//! last test runs: selecting PCam must say the binary lacks the feature.

mod data_support;

use data_support::TempDir;
use pgcnn::config::Dataset as DatasetChoice;
use pgcnn::data::{load, DataParams, DatasetName};

#[test]
fn pcam_is_a_config_choice_and_a_dataset_name() {
    for s in ["PCam", "pcam", "PatchCamelyon"] {
        assert_eq!(s.parse::<DatasetChoice>().unwrap(), DatasetChoice::PCam);
    }
    assert_eq!(DatasetChoice::PCam.image_shape(), [3, 96, 96]);
    assert_eq!(DatasetChoice::PCam.classes(false), 2);
    // The trainer goes from the config's spelling to the data layer's name.
    let name: DatasetName = DatasetChoice::PCam.as_str().parse().unwrap();
    assert_eq!(name, DatasetName::PCam);
    assert_eq!(name.as_str(), "pcam");
    assert_eq!(name.image_shape(), [3, 96, 96]);
    assert_eq!(name.classes(&DataParams::default()), 2);
    // The reference's statistics (its datasets/pcam.py).
    assert_eq!(
        name.normalization(),
        (&[0.701f32, 0.538, 0.692][..], &[0.235f32, 0.277, 0.213][..])
    );
}

#[cfg(not(feature = "pcam"))]
#[test]
fn without_the_feature_selecting_pcam_is_a_clear_error() {
    let dir = TempDir::new("pcam-off");
    for path in [None, Some(dir.path())] {
        let msg = load(DatasetName::PCam, path, &DataParams::default(), 0)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("cargo feature `pcam`") && msg.contains("built without it"),
            "{msg}"
        );
    }
}

#[cfg(feature = "pcam")]
mod with_the_feature {
    use super::*;
    use hdf5_pure::FileBuilder;
    use pgcnn::data::{load_pcam_files, parse_pcam, DataError, Dataset, PCAM_FILES};
    use std::path::Path;

    /// The committed fixture made by h5py (see data_support/pcam/make_fixture.py).
    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_support/pcam");

    /// Byte (n, row, column, channel) of the h5py fixture (make_fixture.py's formula).
    fn fixture_byte(n: usize, h: usize, w: usize, c: usize) -> u8 {
        ((n * 41 + h * 3 + w * 7 + c * 85) % 256) as u8
    }
    const FIXTURE_LABELS: [usize; 5] = [1, 0, 0, 1, 1];

    /// `n` HWC images whose bytes all differ in a way that shows a wrong transpose:
    /// byte (i, row, column, channel) = (i·13 + row·5 + column·11 + channel·101) % 256.
    fn hwc_bytes(n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n * 96 * 96 * 3);
        for i in 0..n {
            for h in 0..96 {
                for w in 0..96 {
                    for c in 0..3 {
                        v.push(((i * 13 + h * 5 + w * 11 + c * 101) % 256) as u8);
                    }
                }
            }
        }
        v
    }

    /// Checks every value of `ds` against `byte(n, row, column, channel)` in CHW order.
    fn assert_chw(ds: &Dataset, byte: impl Fn(usize, usize, usize, usize) -> u8) {
        assert_eq!(
            (ds.channels, ds.height, ds.width, ds.classes),
            (3, 96, 96, 2)
        );
        for n in 0..ds.len() {
            let img = ds.image(n).unwrap();
            for c in 0..3 {
                for h in 0..96 {
                    for w in 0..96 {
                        let want = f32::from(byte(n, h, w, c)) / 255.0;
                        let got = img[(c * 96 + h) * 96 + w];
                        assert_eq!(got, want, "image {n}, channel {c}, row {h}, column {w}");
                    }
                }
            }
        }
    }

    /// How a test file's dataset is stored.
    #[derive(Clone, Copy)]
    enum Storage {
        Contiguous,
        /// Chunked with this many images per chunk, deflate-compressed.
        Deflate(u64),
    }

    /// An HDF5 file holding one uint8 dataset `name` of `shape`, written by hdf5-pure.
    fn h5_u8(name: &str, data: &[u8], shape: &[u64], storage: Storage) -> Vec<u8> {
        let mut b = FileBuilder::new();
        let ds = b.create_dataset(name);
        ds.with_u8_data(data).with_shape(shape);
        if let Storage::Deflate(rows) = storage {
            let mut chunk = shape.to_vec();
            chunk[0] = rows;
            ds.with_chunks(&chunk).with_deflate(4);
        }
        b.finish().expect("hdf5-pure writes the test file")
    }

    /// A PCam image file of `n` images ([`hwc_bytes`]) and a label file.
    fn pcam_pair(n: usize, labels: &[u8], storage: Storage) -> (Vec<u8>, Vec<u8>) {
        let x = h5_u8("x", &hwc_bytes(n), &[n as u64, 96, 96, 3], storage);
        let y = h5_u8("y", labels, &[labels.len() as u64, 1, 1, 1], storage);
        (x, y)
    }

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    fn fixture_path(which: usize) -> std::path::PathBuf {
        // PCAM_FILES[2] and [3] are the validation split's files.
        Path::new(FIXTURE).join(PCAM_FILES[2 + which])
    }

    #[test]
    fn reads_the_h5py_fixture_exactly() {
        let (x, y) = (fixture_path(0), fixture_path(1));
        // From memory and streamed from disk, the same dataset.
        let from_bytes = parse_pcam(read(&x), read(&y)).unwrap();
        let from_files = load_pcam_files(&x, &y).unwrap();
        assert_eq!(from_bytes, from_files);
        assert_eq!(from_files.labels, FIXTURE_LABELS);
        assert_eq!(from_files.len(), 5);
        assert_chw(&from_files, fixture_byte);
        assert!(from_files.normalization.is_none());
    }

    #[test]
    fn reads_files_written_by_hdf5_pure_in_every_layout() {
        let labels = [0, 1, 1, 0, 1];
        for storage in [
            Storage::Contiguous,
            Storage::Deflate(1),
            Storage::Deflate(2),
            Storage::Deflate(5),
        ] {
            let (x, y) = pcam_pair(5, &labels, storage);
            let ds = parse_pcam(x, y).unwrap();
            assert_eq!(ds.labels, [0, 1, 1, 0, 1]);
            assert_chw(&ds, |n, h, w, c| {
                ((n * 13 + h * 5 + w * 11 + c * 101) % 256) as u8
            });
        }
        // Labels stored as [N] instead of [N, 1, 1, 1] are accepted as well.
        let x = h5_u8("x", &hwc_bytes(2), &[2, 96, 96, 3], Storage::Contiguous);
        let y = h5_u8("y", &[1, 0], &[2], Storage::Contiguous);
        assert_eq!(parse_pcam(x, y).unwrap().labels, [1, 0]);
    }

    #[test]
    fn streams_more_images_than_one_read_window() {
        // 300 images cross the 256-image read window, with chunks of 7 straddling it.
        let n = 300;
        let labels: Vec<u8> = (0..n).map(|i| (i % 3 == 0) as u8).collect();
        let (x, y) = pcam_pair(n, &labels, Storage::Deflate(7));
        let dir = TempDir::new("pcam-stream");
        let (xp, yp) = (dir.write("x.h5", &x), dir.write("y.h5", &y));
        let ds = load_pcam_files(&xp, &yp).unwrap();
        assert_eq!(ds.len(), n);
        let want: Vec<usize> = labels.iter().map(|&l| usize::from(l)).collect();
        assert_eq!(ds.labels, want);
        assert_chw(&ds, |n, h, w, c| {
            ((n * 13 + h * 5 + w * 11 + c * 101) % 256) as u8
        });
    }

    /// A PCam directory: train (4 images) and test (3) by hdf5-pure, the validation split
    /// the h5py fixture, all under `PCam/` as the reference lays them out.
    fn pcam_dir() -> TempDir {
        let dir = TempDir::new("pcam-dir");
        let (tx, ty) = pcam_pair(4, &[0, 1, 0, 1], Storage::Deflate(2));
        let (sx, sy) = pcam_pair(3, &[1, 1, 0], Storage::Contiguous);
        for (file, bytes) in [
            (PCAM_FILES[0], tx),
            (PCAM_FILES[1], ty),
            (PCAM_FILES[2], read(&fixture_path(0))),
            (PCAM_FILES[3], read(&fixture_path(1))),
            (PCAM_FILES[4], sx),
            (PCAM_FILES[5], sy),
        ] {
            dir.write(&format!("PCam/{file}"), &bytes);
        }
        dir
    }

    #[test]
    fn loads_a_directory_with_its_own_validation_split() {
        let dir = pcam_dir();
        let raw = DataParams {
            normalize: false,
            ..DataParams::default()
        };
        let s = load(DatasetName::PCam, Some(dir.path()), &raw, 0).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (4, 5, 3));
        assert_eq!(s.train.labels, [0, 1, 0, 1]);
        assert_eq!(s.val.labels, FIXTURE_LABELS);
        assert_eq!(s.test.labels, [1, 1, 0]);
        assert_chw(&s.val, fixture_byte);
        // The seed does not matter: nothing is shuffled or carved.
        assert_eq!(
            load(DatasetName::PCam, Some(dir.path()), &raw, 7).unwrap(),
            s
        );
        // Normalised with the reference's statistics, per channel.
        let norm = load(
            DatasetName::PCam,
            Some(dir.path()),
            &DataParams::default(),
            0,
        )
        .unwrap();
        let (mean, std) = DatasetName::PCam.normalization();
        for c in 0..3 {
            let k = (c * 96 + 10) * 96 + 20;
            let want = (f32::from(fixture_byte(2, 10, 20, c)) / 255.0 - mean[c]) / std[c];
            assert_eq!(norm.val.image(2).unwrap()[k], want);
        }
        // A validation fraction has nothing to carve: PCam has its own split.
        let carve = DataParams {
            val_fraction: Some(0.1),
            ..DataParams::default()
        };
        let msg = load(DatasetName::PCam, Some(dir.path()), &carve, 0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("own validation split"), "{msg}");
    }

    #[test]
    fn missing_files_name_the_files_the_source_and_the_flag() {
        let dir = TempDir::new("pcam-empty");
        for path in [None, Some(dir.path())] {
            let err = load(DatasetName::PCam, path, &DataParams::default(), 0).unwrap_err();
            assert!(matches!(err, DataError::Missing(_)), "{err}");
            let msg = err.to_string();
            for needle in [
                "`pcam`",
                "camelyonpatch_level_2_split_train_x.h5",
                "camelyonpatch_level_2_split_test_y.h5",
                "https://github.com/basveeling/pcam",
                "gunzip",
                "--data-dir",
            ] {
                assert!(msg.contains(needle), "{needle}: {msg}");
            }
        }
        // Five of the six files are still "not found".
        let partial = pcam_dir();
        std::fs::remove_file(partial.path().join("PCam").join(PCAM_FILES[5])).unwrap();
        let err = load(
            DatasetName::PCam,
            Some(partial.path()),
            &DataParams::default(),
            0,
        );
        assert!(matches!(err, Err(DataError::Missing(_))));
    }

    #[test]
    fn gzipped_files_ask_to_be_unpacked() {
        // The downloads as they come: .h5.gz only.
        let dir = TempDir::new("pcam-gz");
        let (x, y) = pcam_pair(2, &[0, 1], Storage::Contiguous);
        for (i, file) in PCAM_FILES.iter().enumerate() {
            let bytes = if i % 2 == 0 { &x } else { &y };
            dir.write(&format!("{file}.gz"), &data_support::gzip(bytes));
        }
        let msg = load(
            DatasetName::PCam,
            Some(dir.path()),
            &DataParams::default(),
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("gzip-compressed") && msg.contains("gunzip"),
            "{msg}"
        );
        // A gzip stream under the .h5 name.
        let msg = parse_pcam(data_support::gzip(&x), y.clone())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("gunzip it first"), "{msg}");
        let xp = dir.write("x.h5", &data_support::gzip(&x));
        let yp = dir.write("y.h5", &y);
        let msg = load_pcam_files(&xp, &yp).unwrap_err().to_string();
        assert!(
            msg.contains("x.h5") && msg.contains("gunzip it first"),
            "{msg}"
        );
    }

    /// `parse_pcam` of the pair fails with a format error whose message holds `needle`.
    fn assert_format_error(x: Vec<u8>, y: Vec<u8>, needle: &str) {
        let err = parse_pcam(x, y).unwrap_err();
        assert!(matches!(err, DataError::Format { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(needle), "wanted `{needle}` in: {msg}");
    }

    #[test]
    fn malformed_files_are_clean_errors() {
        let (x, y) = pcam_pair(3, &[0, 1, 0], Storage::Contiguous);
        let not_hdf5 = "not a readable HDF5 file";
        assert_format_error(b"definitely not HDF5".to_vec(), y.clone(), not_hdf5);
        assert_format_error(Vec::new(), y.clone(), not_hdf5);
        assert_format_error(x.clone(), hwc_bytes(1), not_hdf5);
        // Wrong dataset names (x and y swapped).
        assert_format_error(y.clone(), x.clone(), "no dataset `x`");
        // Wrong element type.
        let mut b = FileBuilder::new();
        let wide: Vec<u16> = hwc_bytes(1).iter().map(|&v| u16::from(v)).collect();
        b.create_dataset("x")
            .with_u16_data(&wide)
            .with_shape(&[1, 96, 96, 3]);
        assert_format_error(b.finish().unwrap(), y.clone(), "not uint8");
        let mut b = FileBuilder::new();
        b.create_dataset("y")
            .with_f32_data(&[0.0, 1.0, 0.0])
            .with_shape(&[3, 1, 1, 1]);
        assert_format_error(x.clone(), b.finish().unwrap(), "not uint8");
        // Wrong image shapes: CHW instead of HWC, one channel, 32×32.
        for shape in [[3, 3, 96, 96], [9, 96, 96, 1], [27, 32, 32, 3]] {
            let bad = h5_u8("x", &hwc_bytes(3), &shape, Storage::Contiguous);
            assert_format_error(bad, y.clone(), "not [N, 96, 96, 3]");
        }
        // Image and label counts that disagree, labels of a wrong shape.
        let four = h5_u8("y", &[0, 1, 0, 1], &[4, 1, 1, 1], Storage::Contiguous);
        assert_format_error(x.clone(), four, "3 images but labels of shape [4, 1, 1, 1]");
        let wide_y = h5_u8("y", &[0, 1, 0, 1, 0, 1], &[3, 2], Storage::Contiguous);
        assert_format_error(x.clone(), wide_y, "3 images but labels of shape [3, 2]");
        // A label that is not 0 or 1.
        let bad_label = h5_u8("y", &[0, 2, 1], &[3, 1, 1, 1], Storage::Deflate(2));
        assert_format_error(x.clone(), bad_label, "label 2 of image 1 is not 0 or 1");
        // No images at all.
        let mut b = FileBuilder::new();
        b.create_dataset("x")
            .with_u8_data(&[])
            .with_shape(&[0, 96, 96, 3]);
        let empty_y = h5_u8("y", &[], &[0, 1, 1, 1], Storage::Contiguous);
        assert_format_error(b.finish().unwrap(), empty_y, "holds 0 images");
        // And the good pair still parses.
        assert_eq!(parse_pcam(x, y).unwrap().labels, [0, 1, 0]);
    }

    /// An HDF5 dataspace's sizes as it stores them: 8-byte little-endian numbers.
    fn dims(sizes: &[u64]) -> Vec<u8> {
        sizes.iter().flat_map(|d| d.to_le_bytes()).collect()
    }

    /// `file` (written by libhdf5 with its default format, whose object headers carry no
    /// checksum to update) with the bytes `from`, found once or twice, changed to `to`.
    fn patched(file: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at: Vec<usize> = (0..file.len() - from.len())
            .filter(|&i| file[i..].starts_with(from))
            .collect();
        assert!(matches!(at.len(), 1 | 2), "{from:?} occurs at {at:?}");
        let mut out = file.to_vec();
        for i in at {
            out[i..i + to.len()].copy_from_slice(to);
        }
        out
    }

    /// `file` with its dataspace of `from` changed to `to` (its sizes and, where stored,
    /// its maximum sizes).
    fn redeclared(file: &[u8], from: &[u64], to: &[u64]) -> Vec<u8> {
        patched(file, &dims(from), &dims(to))
    }

    fn fixture_file(name: &str) -> Vec<u8> {
        read(&Path::new(FIXTURE).join(name))
    }

    #[test]
    fn declared_sizes_that_the_files_do_not_store_are_refused() {
        // libhdf5's files of datasets created and never written (make_unwritten.py):
        // 1,400 bytes declaring the training split's 262,144 images, 29 GB as f32.
        let (x, y) = (
            fixture_file("unwritten_x.h5"),
            fixture_file("unwritten_y.h5"),
        );
        assert_format_error(
            x.clone(),
            y.clone(),
            "dataset `x` of shape [262144, 96, 96, 3] declares 7247757312 bytes, but no \
             data was ever written (its storage was never allocated)",
        );
        let chunked = fixture_file("unwritten_chunked_x.h5");
        assert_format_error(
            chunked.clone(),
            y.clone(),
            "its chunks of shape [1, 96, 96, 3] split it into more chunks than the 1400-byte \
             file can hold",
        );
        // The same with 5 images: few enough chunks, none of them stored.
        let five = redeclared(&chunked, &[262_144, 96, 96, 3], &[5, 96, 96, 3]);
        let (fx, fy) = (read(&fixture_path(0)), read(&fixture_path(1)));
        assert_format_error(
            five,
            fy.clone(),
            "only 0 of its 5 chunks are stored (the rest would read as fill values)",
        );
        // The h5py fixture declaring 7 images: 6 of its 8 chunks are there.
        let x7 = redeclared(&fx, &[5, 96, 96, 3], &[7, 96, 96, 3]);
        let y7 = redeclared(&fy, &[5, 1, 1, 1], &[7, 1, 1, 1]);
        assert_format_error(x7, y7, "only 6 of its 8 chunks are stored");
        // Good images, labels never written.
        let y5 = redeclared(&y, &[262_144, 1, 1, 1], &[5, 1, 1, 1]);
        assert_format_error(
            fx.clone(),
            y5,
            "dataset `y` of shape [5, 1, 1, 1] declares 5 bytes, but no data was ever written",
        );
        // Contiguous storage allocated, but past the end of the file or shorter than the
        // shape: the layout's address (undefined) and size (the shape's) rewritten.
        let layout = |address: u64, size: u64| dims(&[address, size]);
        let unallocated = layout(u64::MAX, 7_247_757_312);
        assert_format_error(
            patched(&x, &unallocated, &layout(0, 7_247_757_312)),
            y.clone(),
            "its 7247757312 bytes at offset 0 run past the end of the 1400-byte file",
        );
        assert_format_error(
            patched(&x, &unallocated, &layout(0, 1000)),
            y,
            "declares 7247757312 bytes, but the file stores 1000 bytes for it, which cannot \
             hold: truncated or corrupt",
        );
        // Untouched, the h5py files read.
        assert_eq!(parse_pcam(fx, fy).unwrap().labels, FIXTURE_LABELS);
    }

    #[test]
    fn truncated_and_corrupted_files_never_panic() {
        let x = read(&fixture_path(0));
        let y = read(&fixture_path(1));
        // Every cut of the files fails cleanly (or, past the last byte the data needs,
        // still reads the right data).
        for cut in (0..x.len()).step_by(61) {
            if let Ok(ds) = parse_pcam(x[..cut].to_vec(), y.clone()) {
                assert_chw(&ds, fixture_byte);
            }
        }
        for cut in 0..y.len() {
            if let Ok(ds) = parse_pcam(x.clone(), y[..cut].to_vec()) {
                assert_eq!(ds.labels, FIXTURE_LABELS);
            }
        }
        // Bytes overwritten here and there: an error or a dataset, never a panic.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..400 {
            let mut bad = y.clone();
            for _ in 0..2 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state % bad.len() as u64) as usize;
                bad[i] = (state >> 40) as u8;
            }
            let _ = parse_pcam(x.clone(), bad);
        }
    }
}
