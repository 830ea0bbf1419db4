//! `pgcnn eval` refuses bad input with a message that says what is wrong: missing or
//! corrupt checkpoints, unknown datasets, datasets the model does not fit, bad angle
//! lists and sizes.

mod eval_support;

use clap::Parser;
use eval_support::{best, temp_dir, train_tiny};
use pgcnn::cli::{Cli, Command};
use pgcnn::device::DeviceRequest;
use pgcnn::eval::{eval, EvalOptions};
use std::path::PathBuf;
use std::sync::OnceLock;

fn checkpoint() -> &'static PathBuf {
    static CK: OnceLock<PathBuf> = OnceLock::new();
    CK.get_or_init(|| best(&train_tiny("errors", &[])))
}

fn options(path: impl Into<PathBuf>) -> EvalOptions {
    EvalOptions {
        device: DeviceRequest::Cpu.into(),
        ..EvalOptions::new(path)
    }
}

fn error(opts: EvalOptions) -> String {
    format!("{:#}", eval(opts).expect_err("should be refused"))
}

#[test]
fn missing_and_corrupt_checkpoints() {
    let dir = temp_dir("errors-files");
    let missing = dir.join("nothing.safetensors");
    let e = error(options(&missing));
    assert!(
        e.contains("--checkpoint") && e.contains("nothing.safetensors"),
        "{e}"
    );

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a checkpoint at all").unwrap();
    let e = error(options(&garbage));
    assert!(e.contains("--checkpoint"), "{e}");

    let bytes = std::fs::read(checkpoint()).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = error(options(&cut));
    assert!(e.contains("--checkpoint"), "{e}");
}

#[test]
fn unknown_and_unfitting_datasets() {
    let e = error(EvalOptions {
        dataset: Some("MNIST7".into()),
        ..options(checkpoint())
    });
    assert!(
        e.contains("--dataset") && e.contains("unknown dataset"),
        "{e}"
    );

    // The model has 2 outputs (MNIST6-180); MNIST has 10 classes.
    let e = error(EvalOptions {
        dataset: Some("mnist".into()),
        ..options(checkpoint())
    });
    assert!(
        e.contains("does not fit") && e.contains("2 classes") && e.contains("10 classes"),
        "{e}"
    );

    // Refused on its declared shape, before any file is looked for.
    let e = error(EvalOptions {
        dataset: Some("CIFAR10".into()),
        data_dir: Some(temp_dir("errors-empty-data")),
        ..options(checkpoint())
    });
    assert!(e.contains("does not fit CIFAR10 (3×32×32 images"), "{e}");
}

#[test]
fn bad_sizes_and_empty_transformation_lists() {
    let e = error(EvalOptions {
        batch_size: Some(0),
        ..options(checkpoint())
    });
    assert!(e.contains("--batch-size"), "{e}");
    let e = error(EvalOptions {
        transforms: vec![],
        ..options(checkpoint())
    });
    assert!(e.contains("no transformations"), "{e}");
}

#[test]
fn bad_angle_flags() {
    let parse = |extra: &[&str]| {
        let mut argv = vec!["pgcnn", "eval", "--checkpoint", "x.safetensors"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv)
    };
    // --rotations and --angles exclude each other.
    assert!(parse(&["--rotations", "0,90", "--angles", "4"]).is_err());
    for extra in [
        &["--rotations", "0,,90"][..],
        &["--rotations", "90,-270"],
        &["--rotations", "left"],
        &["--angles", "0"],
    ] {
        let cli = parse(extra).unwrap();
        let Command::Eval(args) = cli.command else {
            panic!("not parsed as eval")
        };
        let e = args.options().expect_err(&format!("{extra:?}"));
        assert!(e.to_string().contains(extra[0]), "{extra:?}: {e}");
    }
    // A negative angle is a value, not a flag.
    let cli = parse(&["--rotations", "-90,45"]).unwrap();
    let Command::Eval(args) = cli.command else {
        panic!("not parsed as eval")
    };
    let angles: Vec<f64> = args
        .options()
        .unwrap()
        .transforms
        .iter()
        .map(|t| t.angle_degrees)
        .collect();
    assert_eq!(angles, [-90.0, 45.0]);
}
