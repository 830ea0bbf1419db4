//! The bad-input table (README.md, "Bad input"), one test per row: the real binary gets the
//! bad input and must exit with code 1 (2 for command-line syntax, as clap does), print
//! one `error:` message with the words the table promises, and never panic.
//!
//! Run with `--nocapture` to see every message (the table quotes them).

mod cli_support;

use cli_support::{pgcnn, run, tiny_train, Outcome, Scratch};
use pgcnn::checkpoint::Checkpoint;
use std::io::Write;
use std::path::Path;

/// `pgcnn train` of the tiny config (1 epoch of 1 step) with `extra` settings.
fn train_with(dir: &Scratch, extra: &[&str]) -> Outcome {
    let mut args = vec!["--set", "train.epochs=1", "--max-steps", "1"];
    args.extend_from_slice(extra);
    let out = run(tiny_train(&dir.join("run"), &args));
    eprintln!("--- {extra:?}\n{}", out.stderr);
    out
}

/// `pgcnn train --resume DIR`.
fn resume(dir: &Path, extra: &[&str]) -> Outcome {
    let d = dir.display().to_string();
    let mut args = vec!["train", "--resume", d.as_str(), "--no-progress"];
    args.extend_from_slice(extra);
    let out = run(pgcnn(&args));
    eprintln!("--- resume {extra:?}\n{}", out.stderr);
    out
}

// ---------------------------------------------------------------------------------------
// Dataset files: an MNIST "pool" (images-idx3-ubyte + labels-idx1-ubyte) in --data-dir.

fn idx_images(count: u32, rows: u32, cols: u32, pixels: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x0803, count, rows, cols] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend((0..pixels).map(|k| (k * 7 % 256) as u8));
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x0801, labels.len() as u32] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(labels);
    v
}

fn digits(n: usize) -> Vec<u8> {
    (0..n).map(|k| (k % 10) as u8).collect()
}

/// Trains `mnist` from a data directory holding `images` and `labels` as the pool files.
fn mnist_from(images: &[u8], labels: &[u8]) -> Outcome {
    let dir = Scratch::new("mnist-files");
    dir.write("data/images-idx3-ubyte", images);
    dir.write("data/labels-idx1-ubyte", labels);
    let data = dir.join("data").display().to_string();
    train_with(&dir, &["--set", "dataset=mnist", "--data-dir", &data])
}

#[test]
fn idx_truncated() {
    let mut images = idx_images(20, 28, 28, 20 * 784);
    images.truncate(images.len() - 100);
    mnist_from(&images, &idx_labels(&digits(20))).assert_clean_error(&[
        "images-idx3-ubyte",
        "truncated or corrupt",
        "header claims sizes [20, 28, 28], more than the 15580 bytes available",
    ]);
}

#[test]
fn idx_wrong_magic() {
    let mut images = idx_images(20, 28, 28, 20 * 784);
    images[3] = 0x01; // the labels' magic
    mnist_from(&images, &idx_labels(&digits(20))).assert_clean_error(&[
        "images-idx3-ubyte",
        "magic number 0x00000801, expected 0x00000803",
    ]);
}

#[test]
fn idx_image_label_count_mismatch() {
    mnist_from(&idx_images(20, 28, 28, 20 * 784), &idx_labels(&digits(19))).assert_clean_error(&[
        "images-idx3-ubyte and ",
        "labels-idx1-ubyte (IDX): 20 images but 19 labels",
    ]);
}

#[test]
fn idx_header_claims_more_than_the_file_has() {
    // A billion 28×28 images claimed, 20 present: refused before anything is allocated.
    mnist_from(
        &idx_images(1_000_000_000, 28, 28, 20 * 784),
        &idx_labels(&digits(20)),
    )
    .assert_clean_error(&["header claims sizes [1000000000, 28, 28]", "more than"]);
}

#[test]
fn idx_zero_images() {
    mnist_from(&idx_images(0, 28, 28, 0), &idx_labels(&[])).assert_clean_error(&["no images"]);
}

#[test]
fn idx_label_out_of_range() {
    let mut labels = digits(20);
    labels[4] = 10;
    mnist_from(&idx_images(20, 28, 28, 20 * 784), &idx_labels(&labels)).assert_clean_error(&[
        "labels-idx1-ubyte (IDX labels): label 10 of image 4 is not below 10",
    ]);
}

#[test]
fn idx_corrupt_gzip() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx_images(20, 28, 28, 20 * 784)).unwrap();
    let mut images = gz.finish().unwrap();
    let middle = images.len() / 2;
    images.truncate(middle);
    let dir = Scratch::new("gzip");
    dir.write("data/images-idx3-ubyte.gz", &images);
    dir.write("data/labels-idx1-ubyte", &idx_labels(&digits(20)));
    let data = dir.join("data").display().to_string();
    train_with(&dir, &["--set", "dataset=mnist", "--data-dir", &data])
        .assert_clean_error(&["images-idx3-ubyte.gz", "(gzip)"]);
}

#[test]
fn cifar_file_of_the_wrong_size() {
    let dir = Scratch::new("cifar");
    for name in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        // One record (label + 3072 pixels) and 100 bytes of a second.
        dir.write(&format!("data/{name}"), &vec![1u8; 3073 + 100]);
    }
    let data = dir.join("data").display().to_string();
    train_with(&dir, &["--set", "dataset=cifar10", "--data-dir", &data])
        .assert_clean_error(&["data_batch_1.bin", "3173 bytes"]);
}

#[test]
fn amat_line_with_too_few_values() {
    let dir = Scratch::new("amat");
    let line = vec!["0.5"; 100].join(" ") + " 3\n";
    for name in [
        "mnist_all_rotation_normalized_float_train_valid.amat",
        "mnist_all_rotation_normalized_float_test.amat",
    ] {
        dir.write(&format!("data/{name}"), line.as_bytes());
    }
    let data = dir.join("data").display().to_string();
    train_with(&dir, &["--set", "dataset=rotmnist", "--data-dir", &data])
        .assert_clean_error(&["train_valid.amat", "line 1"]);
}

#[test]
fn dataset_missing_without_data_dir() {
    let dir = Scratch::new("missing");
    train_with(&dir, &["--set", "dataset=cifar10"]).assert_clean_error(&[
        "no embedded copy",
        "data_batch_1.bin",
        "test_batch.bin",
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        "--data-dir",
    ]);
}

#[test]
fn dataset_missing_from_data_dir() {
    let dir = Scratch::new("missing-dir");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let data = dir.join("empty").display().to_string();
    train_with(&dir, &["--set", "dataset=mnist", "--data-dir", &data]).assert_clean_error(&[
        "not found in",
        "train-images-idx3-ubyte[.gz]",
        "--data-dir",
    ]);
}

// ---------------------------------------------------------------------------------------
// Shapes the model cannot take.

#[test]
fn even_kernel_size() {
    let dir = Scratch::new("kernel");
    train_with(&dir, &["--set", "kernel.size=4"])
        .assert_clean_error(&["kernel.size = 4", "must be odd"]);
}

#[test]
fn zero_channels() {
    let dir = Scratch::new("channels");
    train_with(&dir, &["--set", "net.no_hidden=0"])
        .assert_clean_error(&["net.no_hidden = 0", "channels must be between 1 and"]);
}

#[test]
fn zero_group_samples() {
    let dir = Scratch::new("samples");
    train_with(&dir, &["--set", "base_group.no_samples=0"])
        .assert_clean_error(&["base_group.no_samples = 0", "samples must be between 1 and"]);
}

#[test]
fn pooling_below_1x1() {
    // 28 → 14 → 7 → 3 → 1: a fifth 2×2 pool has nothing left to pool.
    let dir = Scratch::new("pool");
    train_with(
        &dir,
        &[
            "--set",
            "net.no_blocks=4",
            "--set",
            "net.pool_blocks=[0,1,2,3,4]",
        ],
    )
    .assert_clean_error(&["net.pool_blocks", "1×1 feature map", "too small to pool"]);
}

// ---------------------------------------------------------------------------------------
// Configs and flags.

#[test]
fn unknown_key_in_set_gets_a_suggestion() {
    let dir = Scratch::new("unknown-set");
    train_with(&dir, &["--set", "trian.lr=0.01"])
        .assert_clean_error(&["unknown config key `trian.lr`", "did you mean `train.lr`?"]);
}

#[test]
fn unknown_key_in_config_file_gets_a_suggestion() {
    let dir = Scratch::new("unknown-file");
    let file = dir.write("c.toml", b"seed = 3\n[kernal]\nsize = 5\n");
    let file = file.display().to_string();
    train_with(&dir, &["--config", &file]).assert_clean_error(&[
        "c.toml`, line 2",
        "unknown config key `kernal.size`",
        "did you mean `kernel.size`?",
    ]);
}

#[test]
fn unknown_key_far_from_any_lists_its_group() {
    let dir = Scratch::new("unknown-far");
    train_with(&dir, &["--set", "train.learning_rate=0.01"]).assert_clean_error(&[
        "unknown config key `train.learning_rate`",
        "the keys of `train` are",
        "lr,",
    ]);
}

#[test]
fn set_without_equals() {
    let dir = Scratch::new("set-syntax");
    train_with(&dir, &["--set", "train.lr"])
        .assert_clean_error(&["--set `train.lr`", "expected key=value"]);
}

#[test]
fn set_with_a_value_of_the_wrong_type() {
    let dir = Scratch::new("set-type");
    train_with(&dir, &["--set", "train.lr=fast"])
        .assert_clean_error(&["bad value for `train.lr`", "expected f64"]);
}

#[test]
fn set_with_broken_toml() {
    let dir = Scratch::new("set-toml");
    train_with(&dir, &["--set", "net.pool_blocks=[1,2"])
        .assert_clean_error(&["`[1,2` is not a valid TOML value"]);
}

#[test]
fn config_file_with_broken_toml() {
    let dir = Scratch::new("file-toml");
    let file = dir.write("c.toml", b"[train]\nlr = \n");
    let file = file.display().to_string();
    train_with(&dir, &["--config", &file]).assert_clean_error(&["line 2", "invalid TOML"]);
}

#[test]
fn config_file_missing() {
    let dir = Scratch::new("file-missing");
    let file = dir.join("nowhere.toml").display().to_string();
    let out = train_with(&dir, &["--config", &file]);
    out.assert_clean_error(&["cannot read config file", "nowhere.toml"]);
    // The OS's reason once, not repeated by the cause chain.
    assert_eq!(out.stderr.matches("os error").count(), 1, "{}", out.stderr);
}

#[test]
fn unknown_preset_gets_a_suggestion() {
    let out = run(pgcnn(&["train", "--preset", "small_se2_partal"]));
    eprintln!("{}", out.stderr);
    out.assert_clean_error(&["unknown preset", "did you mean `small_se2_partial`?"]);
}

#[test]
fn value_out_of_range() {
    let dir = Scratch::new("range");
    train_with(&dir, &["--set", "train.lr=-1"])
        .assert_clean_error(&["train.lr = -1", "must be a finite number > 0"]);
}

#[test]
fn zero_threads() {
    let out = run({
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pgcnn"));
        c.args(["--threads", "0", "train", "--max-steps", "1"]);
        c
    });
    eprintln!("{}", out.stderr);
    out.assert_clean_error(&["--threads must be at least 1"]);
}

#[test]
fn zero_max_steps() {
    let dir = Scratch::new("max-steps");
    let out = run(tiny_train(&dir.join("run"), &["--max-steps", "0"]));
    eprintln!("{}", out.stderr);
    out.assert_clean_error(&["--max-steps must be at least 1"]);
}

#[test]
fn eval_draws_with_most_likely_mode() {
    let dir = Scratch::new("draws-most-likely");
    train_with(&dir, &["--eval-draws", "5", "--eval-mode", "most-likely"])
        .assert_clean_error(&["train.eval_draws = 5", "most-likely draws nothing"]);
}

#[test]
fn unknown_eval_mode() {
    let out = run(pgcnn(&[
        "eval",
        "--checkpoint",
        "x",
        "--eval-mode",
        "likely",
    ]));
    eprintln!("{}", out.stderr);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    out.assert_no_panic();
    for words in [
        "unknown evaluation mode `likely`",
        "expected one of sample, most-likely",
    ] {
        assert!(out.stderr.contains(words), "{}", out.stderr);
    }
}

#[test]
fn zero_eval_draws() {
    let dir = Scratch::new("zero-draws");
    let run_dir = finished_run(&dir);
    let ck = run_dir.join("best.safetensors").display().to_string();
    let out = run(pgcnn(&["eval", "--checkpoint", &ck, "--eval-draws", "0"]));
    eprintln!("{}", out.stderr);
    out.assert_clean_error(&["--eval-draws must be at least 1"]);
}

#[test]
fn out_directory_holding_a_run() {
    let dir = Scratch::new("out-holds-run");
    let run_dir = finished_run(&dir);
    let out = run(tiny_train(
        &run_dir,
        &["--set", "train.epochs=1", "--max-steps", "1"],
    ));
    eprintln!("{}", out.stderr);
    out.assert_clean_error(&[
        "a new run does not write over it",
        "--resume",
        "--overwrite",
    ]);
}

#[test]
fn resume_with_overrides_is_a_usage_error() {
    let out = run(pgcnn(&["train", "--resume", "x", "--set", "train.lr=1"]));
    eprintln!("{}", out.stderr);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    out.assert_no_panic();
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

#[test]
fn unknown_device() {
    let out = run(pgcnn(&["train", "--device", "gpu"]));
    eprintln!("{}", out.stderr);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    out.assert_no_panic();
    assert!(
        out.stderr.contains("use auto, cpu, cuda or cuda:N"),
        "{}",
        out.stderr
    );
}

/// `--device cuda` where no GPU works: a clear error, no fallback. On a machine with a
/// working GPU the run trains instead, which is checked too.
#[test]
fn cuda_without_a_gpu() {
    let dir = Scratch::new("cuda");
    let mut args: Vec<&str> = vec!["train"];
    args.extend(
        cli_support::TINY
            .iter()
            .filter(|a| **a != "cpu" && **a != "--device"),
    );
    let out_dir = dir.join("run").display().to_string();
    args.extend([
        "--device",
        "cuda",
        "--set",
        "train.epochs=1",
        "--max-steps",
        "1",
        "--out",
        &out_dir,
    ]);
    let out = run(pgcnn(&args));
    eprintln!("{}", out.stderr);
    if out.code == Some(0) {
        assert!(out.stderr.contains("cuda"), "{}", out.stderr);
        out.assert_no_panic();
    } else {
        out.assert_clean_error(&["--device cuda:0 is not usable"]);
    }
}

// ---------------------------------------------------------------------------------------
// Training and checkpoints.

/// Divergence (SGD with a learning rate of 1000): the run stops naming where, the last
/// good checkpoint is named, and it loads, holding finite weights of the epoch it says.
#[test]
fn non_finite_loss_keeps_the_last_good_checkpoint() {
    let dir = Scratch::new("diverge");
    let run_dir = dir.join("run");
    let out = run(tiny_train(
        &run_dir,
        &[
            "--set",
            "train.epochs=3",
            "--max-steps",
            "3",
            "--set",
            "train.optimizer=SGD",
            "--set",
            "train.lr=1000",
        ],
    ));
    eprintln!("{}", out.stderr);
    let last = run_dir.join("last.safetensors");
    out.assert_clean_error(&[
        "training stopped at ",
        "training diverged",
        &format!("the last good checkpoint is {}", last.display()),
    ]);
    let msg = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap();
    // Where: "epoch E, step S of 3", or the validation / end of epoch E.
    let place = msg.split("training stopped at ").nth(1).unwrap();
    assert!(
        place.starts_with("epoch ") || place.contains(" of epoch "),
        "{msg}"
    );
    if place.starts_with("epoch ") {
        assert!(
            place.contains(", step ") && place.contains(" of 3"),
            "{msg}"
        );
    }
    // Which: "(after epoch K)" or "(the initial state)" = epoch 0.
    let saved_epoch = match msg.split("(after epoch ").nth(1) {
        Some(rest) => rest.split(')').next().unwrap().parse::<u64>().unwrap(),
        None => {
            assert!(msg.contains("(the initial state)"), "{msg}");
            0
        }
    };
    let ck = Checkpoint::load(&last).expect("the last good checkpoint loads");
    assert_eq!(ck.u64("run.epoch").unwrap(), saved_epoch);
    assert!(pgcnn::train::first_non_finite(&ck).is_none());
    assert!(!run_dir.join("final.json").exists());
}

/// A finished tiny run to tamper with.
fn finished_run(dir: &Scratch) -> std::path::PathBuf {
    let run_dir = dir.join("run");
    run(tiny_train(
        &run_dir,
        &["--set", "train.epochs=1", "--max-steps", "1"],
    ))
    .assert_ok();
    run_dir
}

#[test]
fn checkpoint_from_a_different_config() {
    let dir = Scratch::new("other-config");
    let run_dir = finished_run(&dir);
    // The last checkpoint of a run with 6 channels put into this run's directory.
    let other = dir.join("other");
    run(tiny_train(
        &other,
        &[
            "--set",
            "train.epochs=1",
            "--max-steps",
            "1",
            "--set",
            "net.no_hidden=6",
        ],
    ))
    .assert_ok();
    std::fs::copy(
        other.join("last.safetensors"),
        run_dir.join("last.safetensors"),
    )
    .unwrap();
    resume(&run_dir, &[]).assert_clean_error(&[
        "does not belong to the run in",
        "different configuration (1 key differs: net.no_hidden)",
        "net.no_hidden: checkpoint 6, this run 4",
    ]);
}

#[test]
fn checkpoint_with_a_tensor_of_the_wrong_shape() {
    let dir = Scratch::new("shape");
    let run_dir = finished_run(&dir);
    let path = run_dir.join("last.safetensors");
    let mut ck = Checkpoint::load(&path).unwrap();
    let t = ck
        .tensors
        .iter_mut()
        .find(|t| t.name == "lift.bias")
        .unwrap();
    t.data.push(0.0);
    t.dims = vec![t.data.len()];
    ck.save_atomic(&path).unwrap();
    resume(&run_dir, &[]).assert_clean_error(&[
        "resuming from the last checkpoint",
        "tensor \"lift.bias\" has shape [5] in the checkpoint, the model expects [4]",
    ]);
}

/// A finished tiny run whose `last.safetensors` was changed by `edit`: the scratch
/// directory (removed when dropped), the run directory and the checkpoint's path.
fn tampered_run(
    tag: &str,
    edit: impl FnOnce(&mut Vec<u8>),
) -> (Scratch, std::path::PathBuf, std::path::PathBuf) {
    let dir = Scratch::new(tag);
    let run_dir = finished_run(&dir);
    let path = run_dir.join("last.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    edit(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    (dir, run_dir, path)
}

#[test]
fn truncated_checkpoint() {
    let (_dir, run_dir, _) = tampered_run("truncated-ck", |b| b.truncate(b.len() / 2));
    resume(&run_dir, &[])
        .assert_clean_error(&["cannot read the checkpoint", "not a valid pgcnn checkpoint"]);
}

#[test]
fn checkpoint_header_claims_more_than_the_file_has() {
    let (_dir, run_dir, _) = tampered_run("header-ck", |b| {
        b[..8].copy_from_slice(&1_000_000_000_000u64.to_le_bytes())
    });
    resume(&run_dir, &[]).assert_clean_error(&[
        "the header length prefix claims 1000000000000 bytes but only",
        "(truncated or corrupt)",
    ]);
}

#[test]
fn checkpoint_with_a_corrupt_header() {
    // The header's opening `{` overwritten.
    let (_dir, run_dir, _) = tampered_run("json-ck", |b| b[8] = b'#');
    resume(&run_dir, &[]).assert_clean_error(&["not a valid pgcnn checkpoint"]);
}

#[test]
fn safetensors_file_of_another_tool() {
    let dir = Scratch::new("foreign-ck");
    let run_dir = finished_run(&dir);
    // A valid safetensors file without the pgcnn entries.
    let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&1.0f32.to_le_bytes());
    std::fs::write(run_dir.join("last.safetensors"), &bytes).unwrap();
    resume(&run_dir, &[]).assert_clean_error(&["no \"pgcnn.format\" entry", "another tool"]);
}

#[test]
fn checkpoint_with_a_nan_written_into_a_tensor() {
    let (_dir, _, path) = tampered_run("nan-ck", |bytes| {
        // The first value of `lift.bias`, found through the header's offsets.
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let at = 8 + n + header["lift.bias"]["data_offsets"][0].as_u64().unwrap() as usize;
        bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let p = path.display().to_string();
    let out = run(pgcnn(&[
        "eval",
        "--checkpoint",
        p.as_str(),
        "--device",
        "cpu",
    ]));
    eprintln!("--- eval\n{}", out.stderr);
    out.assert_clean_error(&[
        &format!("--checkpoint {p}: {p}: not a valid pgcnn checkpoint"),
        "tensor \"lift.bias\": its bytes do not match the checksum stored with them",
        "the file was altered or damaged after it was written",
    ]);
}

#[test]
fn resume_without_a_checkpoint() {
    let dir = Scratch::new("no-ck");
    resume(&dir.join("nothing"), &[])
        .assert_clean_error(&["there is no checkpoint", "to continue from"]);
}

#[test]
fn resume_with_other_max_steps() {
    let dir = Scratch::new("resume-steps");
    let run_dir = finished_run(&dir);
    resume(&run_dir, &["--max-steps", "2"])
        .assert_clean_error(&["--max-steps 2 differs from the run's (1)"]);
}

// ---------------------------------------------------------------------------------------
// The table itself.

/// Every row of the bad-input table (the README's "Bad input" section; docs/bad-input.md
/// is also read if present) names a test of this file in its last column, and every test here has a row.
#[test]
fn the_table_lists_exactly_these_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let table = ["docs/bad-input.md", "README.md"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(root.join(f)).ok())
        .find(|text| text.contains("| Bad input | Tried with |"))
        .expect("the bad-input table is in README.md");
    let rows: std::collections::BTreeSet<String> = table
        .lines()
        .skip_while(|l| !l.starts_with("| Bad input |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let last = l.trim_end_matches('|').rsplit('|').next().unwrap();
            last.trim().trim_matches('`').to_string()
        })
        .collect();
    let source = include_str!("cli_bad_input.rs");
    let tests: std::collections::BTreeSet<String> = source
        .split("#[test]\nfn ")
        .skip(1)
        .map(|rest| rest.split('(').next().unwrap().to_string())
        .filter(|name| name != "the_table_lists_exactly_these_tests")
        .collect();
    let missing_rows: Vec<_> = tests.difference(&rows).collect();
    let missing_tests: Vec<_> = rows.difference(&tests).collect();
    assert!(
        missing_rows.is_empty() && missing_tests.is_empty(),
        "tests without a row: {missing_rows:?}; rows without a test: {missing_tests:?}"
    );
}

// ---------------------------------------------------------------------------------------
// `pgcnn export`.

/// `pgcnn export SOURCE --onnx TARGET`.
fn export_to(source: &Path, target: &Path) -> Outcome {
    let (s, t) = (source.display().to_string(), target.display().to_string());
    let out = run(pgcnn(&["export", s.as_str(), "--onnx", t.as_str()]));
    eprintln!("--- export {s} --onnx {t}\n{}", out.stderr);
    out
}

#[test]
fn export_onnx_into_a_missing_directory() {
    let dir = Scratch::new("export-missing-dir");
    export_to(&dir.join("run"), &dir.join("nowhere/model.onnx")).assert_clean_error(&[
        "--onnx",
        "nowhere/model.onnx",
        "does not exist",
    ]);
    assert!(!dir.join("nowhere").exists());
}

#[test]
fn export_of_a_file_that_is_not_a_checkpoint() {
    let dir = Scratch::new("export-not-ck");
    let notes = dir.write("notes.txt", b"these are notes, not weights\n");
    let target = dir.join("model.onnx");
    export_to(&notes, &target).assert_clean_error(&["notes.txt", "not a valid pgcnn checkpoint"]);
    assert!(!target.exists());
}

#[test]
fn export_of_a_directory_without_a_best_checkpoint() {
    let dir = Scratch::new("export-empty-dir");
    std::fs::create_dir_all(dir.join("run")).unwrap();
    export_to(&dir.join("run"), &dir.join("model.onnx"))
        .assert_clean_error(&["holds no best.safetensors", "last.safetensors"]);
}
