//! `pgcnn report`: six valid image files with rendered text, and clear errors.

use pgcnn::metrics::{EpochMetrics, LayerPartial, MetricsLog, METRICS_FILE};
use pgcnn::report::{report, ReportError};
use std::path::{Path, PathBuf};

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgcnn-report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn epoch(n: usize, with_val: bool) -> EpochMetrics {
    let t = n as f64;
    EpochMetrics {
        epoch: n,
        lr: 1e-3,
        train_loss: 2.3 / t,
        train_acc: 1.0 - 0.9 / t,
        val_loss: with_val.then(|| 2.4 / t + 0.05),
        val_acc: with_val.then(|| 1.0 - 0.95 / t),
        val_draw_acc_mean: with_val.then(|| 1.0 - 0.97 / t),
        val_draw_acc_std: with_val.then_some(0.01),
        seconds: 10.0,
        images_per_second: 5000.0,
        partial: vec![
            LayerPartial {
                layer: "lift".into(),
                theta: Some(1.0 - 0.04 * t),
                keep_probs: vec![],
            },
            LayerPartial {
                layer: "blocks.0".into(),
                theta: Some(0.9 - 0.06 * t),
                keep_probs: vec![0.73 - 0.03 * t],
            },
        ],
    }
}

fn write_log(dir: &Path, epochs: &[EpochMetrics]) {
    let mut log = MetricsLog::create(dir).unwrap();
    for m in epochs {
        log.append(m).unwrap();
    }
}

/// The contents of the SVG's `<text>` elements, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// Decodes a PNG, returning (width, height, RGB pixels).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Dark (text-coloured) pixels in a band of rows.
fn dark_pixels(png: &(u32, u32, Vec<u8>), rows: std::ops::Range<u32>) -> usize {
    let (w, _, px) = png;
    rows.flat_map(|y| (0..*w).map(move |x| ((y * w + x) * 3) as usize))
        .filter(|&i| px[i] < 80 && px[i + 1] < 80 && px[i + 2] < 80)
        .count()
}

#[test]
fn report_writes_six_valid_files_with_text() {
    let dir = tempdir("six");
    let epochs: Vec<EpochMetrics> = (1..=8).map(|n| epoch(n, true)).collect();
    write_log(&dir, &epochs);
    let files = report(&dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "loss.png",
            "loss.svg",
            "accuracy.png",
            "accuracy.svg",
            "theta.png",
            "theta.svg"
        ]
    );
    for f in &files {
        assert_eq!(f.parent().unwrap(), dir);
        let bytes = std::fs::read(f).unwrap();
        if f.extension().unwrap() == "png" {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", f.display());
            let img = decode_png(f);
            assert_eq!((img.0, img.1), (1000, 600));
            // The caption (top rows) and the x-axis label (bottom rows) are drawn text.
            assert!(
                dark_pixels(&img, 0..45) > 100,
                "no caption in {}",
                f.display()
            );
            assert!(
                dark_pixels(&img, 560..600) > 50,
                "no axis label in {}",
                f.display()
            );
        } else {
            let text = String::from_utf8(bytes).unwrap();
            let start = text.trim_start();
            assert!(
                start.starts_with("<svg") || start.starts_with("<?xml"),
                "{}",
                f.display()
            );
            assert!(text.contains("<svg") && text.trim_end().ends_with("</svg>"));
            assert!(
                svg_texts(&text).contains(&"epoch".to_string()),
                "no x label in {}",
                f.display()
            );
        }
    }
    let theta = svg_texts(&std::fs::read_to_string(dir.join("theta.svg")).unwrap());
    for label in ["lift θ", "blocks.0 θ", "blocks.0 keep prob."] {
        assert!(
            theta.contains(&label.to_string()),
            "{label:?} not in {theta:?}"
        );
    }
    let loss = svg_texts(&std::fs::read_to_string(dir.join("loss.svg")).unwrap());
    for label in ["Loss", "loss", "train", "validation"] {
        assert!(
            loss.contains(&label.to_string()),
            "{label:?} not in {loss:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_single_epoch_without_validation_or_partial_layers_still_plots() {
    let dir = tempdir("single");
    let mut m = epoch(1, false);
    m.partial.clear();
    m.train_loss = f64::NAN;
    write_log(&dir, &[m]);
    let files = report(&dir).unwrap();
    assert_eq!(files.len(), 6);
    let theta = std::fs::read_to_string(dir.join("theta.svg")).unwrap();
    assert!(theta.contains("no layer learns θ"));
    let acc = svg_texts(&std::fs::read_to_string(dir.join("accuracy.svg")).unwrap());
    assert!(acc.contains(&"train".to_string()));
    assert!(!acc.contains(&"validation".to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_or_empty_metrics_are_clear_errors() {
    let dir = tempdir("missing");
    let err = report(&dir).unwrap_err();
    assert!(matches!(err, ReportError::NoMetrics { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(METRICS_FILE) && msg.contains("pgcnn train"),
        "{msg}"
    );

    std::fs::write(dir.join(METRICS_FILE), "\n").unwrap();
    let err = report(&dir).unwrap_err();
    assert!(matches!(err, ReportError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("no epoch"), "{err}");

    std::fs::write(dir.join(METRICS_FILE), "{\"epoch\":1}\n").unwrap();
    let err = report(&dir).unwrap_err();
    assert!(matches!(err, ReportError::Metrics(_)), "{err}");
    assert!(err.to_string().contains(":1:"), "{err}");
    // Nothing was written on error.
    assert!(!dir.join("loss.png").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
