//! rotMNIST from `.amat` text: parsing, errors, and loading a small directory.

mod data_support;

use data_support::TempDir;
use pgcnn::data::{
    load, parse_amat_bytes, DataError, DataParams, DatasetName, AMAT_TEST_FILE, AMAT_TRAIN_FILE,
};

/// `n` rows of 784 pixels in [0, 1] and a float label, in the files' number style.
fn amat_text(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        for k in 0..784 {
            let v = ((i * 31 + k * 7) % 101) as f64 / 100.0;
            s.push_str(&format!("{v:.16e} "));
        }
        s.push_str(&format!("{:.7e}\n", (i % 10) as f64));
    }
    s
}

#[test]
fn parses_rows_of_784_pixels_and_a_label() {
    let ds = parse_amat_bytes(amat_text(3).as_bytes()).unwrap();
    assert_eq!(
        (ds.len(), ds.channels, ds.height, ds.width, ds.classes),
        (3, 1, 28, 28, 10)
    );
    assert_eq!(ds.labels, vec![0, 1, 2]);
    // Row 1, pixel 5: ((31 + 35) % 101) / 100.
    assert!((ds.images[784 + 5] - 0.66).abs() < 1e-6);
    // Blank lines and Windows line ends are fine.
    let text = format!("\n{}\r\n\n", amat_text(2).replace('\n', "\r\n"));
    assert_eq!(parse_amat_bytes(text.as_bytes()).unwrap().len(), 2);
}

fn format_err(bytes: &[u8]) -> String {
    match parse_amat_bytes(bytes) {
        Err(e @ DataError::Format { .. }) => e.to_string(),
        Err(other) => panic!("expected a format error, got {other:?}"),
        Ok(ds) => panic!("expected a format error, got {} images", ds.len()),
    }
}

#[test]
fn bad_amat_text_is_an_error() {
    let good = amat_text(2);
    let lines: Vec<&str> = good.lines().collect();
    // Empty input.
    format_err(b"");
    format_err(b"\n\n");
    // A truncated row (the file cut inside its second line) and a row with one value
    // too many.
    let msg = format_err(&good.as_bytes()[..good.len() / 2 + 100]);
    assert!(msg.contains("line 2"), "{msg}");
    format_err(format!("{} 1.0\n", lines[0]).as_bytes());
    // Labels: out of range, fractional, not a number.
    for label in ["1.0e+01", "2.5", "-1", "seven"] {
        let row = lines[0].rsplit_once(' ').unwrap().0;
        format_err(format!("{row} {label}\n").as_bytes());
    }
    // A pixel that is not a number, or far outside [0, 1].
    format_err(lines[0].replacen("0.0000000000000000e0", "x", 1).as_bytes());
    format_err(format!("7 {}", &lines[0][lines[0].find(' ').unwrap() + 1..]).as_bytes());
    format_err(format!("NaN {}", &lines[0][lines[0].find(' ').unwrap() + 1..]).as_bytes());
    // Binary garbage and an endless line.
    format_err(&[0xff, 0xfe, 0x00, 0x80]);
    format_err(&vec![b'1'; 200_000]);
}

#[test]
fn loads_a_directory_split_10_to_2_like_the_real_files() {
    let dir = TempDir::new("amat");
    dir.write(
        &format!("mnist_rotation_new/{AMAT_TRAIN_FILE}"),
        amat_text(12).as_bytes(),
    );
    dir.write(
        &format!("mnist_rotation_new/{AMAT_TEST_FILE}"),
        amat_text(5).as_bytes(),
    );
    let p = DataParams::default();
    let s = load(DatasetName::RotMnist, Some(dir.path()), &p, 4).unwrap();
    // Validation fraction 1/6: 12 → 10 + 2, as 12,000 → 10,000 + 2,000.
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (10, 2, 5));
    let n = s.test.normalization.as_ref().unwrap();
    assert_eq!((n.mean[0], n.std[0]), (0.13, 0.297));
    assert_eq!(
        s,
        load(DatasetName::RotMnist, Some(dir.path()), &p, 4).unwrap()
    );
}

#[test]
fn missing_rotmnist_names_the_files_and_the_flag() {
    let dir = TempDir::new("amat-missing");
    dir.write(AMAT_TRAIN_FILE, amat_text(1).as_bytes());
    for path in [Some(dir.path()), None] {
        let err = load(DatasetName::RotMnist, path, &DataParams::default(), 0).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::Missing(_)), "{msg}");
        for want in [
            AMAT_TRAIN_FILE,
            AMAT_TEST_FILE,
            "mnist_rotation_new.zip",
            "--data-dir",
        ] {
            assert!(msg.contains(want), "`{want}` missing from: {msg}");
        }
    }
}
