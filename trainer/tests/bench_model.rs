//! `pgcnn bench --config`: the flop count against the arithmetic of docs/benchmarks.md
//! and a count by hand, a real (tiny) run that reports positive times, the keys scripts
//! read and the JSON, the reference figures read from a file, and the flags
//! scripts/gpu-check.sh passes.

use clap::Parser;
use pgcnn::bench_model::flops::{conv_layers, forward_flops};
use pgcnn::bench_model::{
    bench_one, config_names, data_shape, machine_line, median, model_bench, write_table,
    CountingAlloc, DeviceProfile, ModelBenchOptions, ReferenceTable, BENCHMARK_CONFIGS,
};
use pgcnn::cli::{Cli, Command};
use pgcnn::config::{build_config, preset, Config};
use pgcnn::device::{DeviceRequest, GpuMath};
use pgcnn::model_config::model_config;
use pgcnn_core::backend::{Capabilities, DeviceKind};
use pgcnn_core::models::ModelConfig;
use pgcnn_cpu::Cpu;

// As in the `pgcnn` binary, so the run below measures its peak with it.
#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

fn model_of(config: &Config) -> ModelConfig {
    let ([c, h, w], classes) = data_shape(config);
    model_config(config, c, classes, [h, w]).unwrap()
}

fn preset_model(name: &str) -> ModelConfig {
    model_of(&preset(name).unwrap().config().unwrap())
}

#[test]
fn rotmnist_se2_partial_has_the_arithmetic_of_benchmarks_md() {
    // "about 144 G multiply-adds forward, so about 0.86 TFLOP per training step ...
    // The two 7×7 group convolutions of block 1 (256 → 256 channel·samples on 14×14)
    // carry half of it."
    let m = preset_model("rotmnist_se2_partial");
    let forward = forward_flops(&m, 64).unwrap();
    let macs = forward / 2.0;
    assert!((macs / 144e9 - 1.0).abs() < 0.01, "{macs:e} multiply-adds");
    assert!(
        (3.0 * forward / 0.86e12 - 1.0).abs() < 0.01,
        "{forward:e} flops"
    );
    let layers = conv_layers(&m, 64).unwrap();
    let block1: f64 = layers
        .iter()
        .filter(|l| l.name == "blocks.0.conv1" || l.name == "blocks.0.conv2")
        .map(|l| l.desc.flops())
        .sum();
    // 80.6 of 143.7 G multiply-adds: "half" in the words of docs/benchmarks.md.
    let share = block1 / forward;
    assert!((share - 0.56).abs() < 0.01, "{share}");
    let b1 = &layers
        .iter()
        .find(|l| l.name == "blocks.0.conv1")
        .unwrap()
        .desc;
    assert_eq!(
        (b1.in_channels, b1.out_channels, b1.in_h, b1.kernel_h),
        (256, 256, 14, 7)
    );
}

#[test]
fn small_se2_partial_layers_by_hand() {
    // SE(2) with 4 samples, 8 channels everywhere, 7×7 kernels, pool after the lifting
    // layer and block 1: 28 → 14 → 7, and the last convolution (valid) 7 → 1.
    let layers = conv_layers(&preset_model("small_se2_partial"), 64).unwrap();
    let got: Vec<(&str, usize, usize, usize, usize, usize)> = layers
        .iter()
        .map(|l| {
            let d = &l.desc;
            (
                l.name.as_str(),
                d.in_channels,
                d.out_channels,
                d.in_h,
                d.kernel_h,
                d.out_h(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("lift", 1, 32, 28, 7, 28),
            ("blocks.0.conv1", 32, 32, 14, 7, 14),
            ("blocks.0.conv2", 32, 32, 14, 7, 14),
            ("blocks.0.shortcut", 32, 32, 14, 1, 14),
            ("blocks.1.conv1", 32, 32, 7, 7, 7),
            ("blocks.1.conv2", 32, 32, 7, 7, 7),
            ("blocks.1.shortcut", 32, 32, 7, 1, 7),
            ("last", 32, 32, 7, 7, 1),
        ]
    );
    let by_hand = 2.0
        * 64.0
        * (32.0 * 784.0 * 49.0
            + 2.0 * 32.0 * 196.0 * 32.0 * 49.0
            + 32.0 * 196.0 * 32.0
            + 2.0 * 32.0 * 49.0 * 32.0 * 49.0
            + 32.0 * 49.0 * 32.0
            + 32.0 * 32.0 * 49.0);
    let counted = forward_flops(&preset_model("small_se2_partial"), 64).unwrap();
    assert!((counted - by_hand).abs() < 1.0, "{counted} vs {by_hand}");
}

#[test]
fn t2_counts_one_sample_and_flops_scale_with_the_batch() {
    let t2 = preset_model("rotmnist_t2");
    let lift = &conv_layers(&t2, 64).unwrap()[0].desc;
    assert_eq!(lift.out_channels, t2.no_hidden, "T(2): one sample");
    let f64_ = forward_flops(&t2, 64).unwrap();
    let f32_ = forward_flops(&t2, 32).unwrap();
    assert!((f64_ / f32_ - 2.0).abs() < 1e-12);
}

#[test]
fn all_stands_for_every_benchmark_config() {
    assert_eq!(config_names("all"), BENCHMARK_CONFIGS.map(String::from));
    assert_eq!(config_names("rotmnist_t2"), ["rotmnist_t2"]);
    for name in BENCHMARK_CONFIGS {
        assert!(
            forward_flops(&preset_model(name), 64).unwrap() > 0.0,
            "{name}"
        );
    }
}

/// The reference benchmark's JSON lines, as its script prints them.
const REFERENCE_LINES: &str = r#"
{"config": "small_se2_partial", "device": "cpu", "batch": 4, "params": 9111, "train_step_s_median": 0.088, "train_step_s_min": 0.08, "eval_fwd_s_median": 0.033, "steps": 20, "threads": 2, "loss": 2.3}
{"config": "rotmnist_t2", "device": "cpu", "batch": 64, "train_step_s_median": 0.25, "eval_fwd_s_median": 0.085, "threads": 2}

{"config": "mnist6_180_se2_partial", "device": "cpu", "error": "RuntimeError('out of memory')"}
"#;

#[test]
fn reference_figures_come_from_a_file_and_only_compare_like_with_like() {
    let t = ReferenceTable::parse(REFERENCE_LINES, "ref.jsonl").unwrap();
    let cpu = Capabilities::HOST;
    let gpu = Capabilities {
        device: DeviceKind::Gpu,
        emulated: false,
        device_profile: true,
    };
    let f = t.figures_for("small_se2_partial", 4, cpu).unwrap();
    assert_eq!((f.train_step_ms, f.eval_forward_ms), (88.0, 33.0));
    assert_eq!((f.batch, f.threads, f.device.as_str()), (4, Some(2), "cpu"));
    assert_eq!(f.source, "ref.jsonl line 2");
    // Another batch, another device, a stand-in for a device, a config it failed on or
    // lacks: no ratio, and why.
    let why = |c: &str, b: usize, d: Capabilities| t.figures_for(c, b, d).unwrap_err();
    assert!(why("rotmnist_t2", 32, cpu).contains("batch 64, this run is batch 32"));
    assert!(why("rotmnist_t2", 64, gpu).contains("measured on cpu, this run is on cuda"));
    let emulator = Capabilities {
        emulated: true,
        ..gpu
    };
    assert!(why("rotmnist_t2", 64, emulator).contains("kernel emulator"));
    assert!(why("mnist6_180_se2_partial", 64, cpu).contains("out of memory"));
    assert!(why("cifar10_se2_partial", 64, cpu).contains("no cifar10_se2_partial"));
}

#[test]
fn bad_reference_files_are_errors_naming_the_line() {
    let err = |text: &str| {
        format!(
            "{:#}",
            ReferenceTable::parse(text, "ref.jsonl").unwrap_err()
        )
    };
    assert!(err("").contains("no figures"));
    assert!(err("torch 2.15\n").contains("ref.jsonl line 1: not a JSON object"));
    assert!(err("[1, 2]").contains("line 1: not a JSON object"));
    let ok =
        r#"{"config": "a", "batch": 64, "train_step_s_median": 1.0, "eval_fwd_s_median": 0.5}"#;
    assert!(ReferenceTable::parse(ok, "f").is_ok());
    let without = |key: &str| {
        let v: serde_json::Value = serde_json::from_str(ok).unwrap();
        let mut o = v.as_object().unwrap().clone();
        o.remove(key);
        format!("\n{}", serde_json::Value::Object(o))
    };
    assert!(err(&without("config")).contains("line 2: missing \"config\""));
    assert!(err(&without("batch")).contains("missing \"batch\""));
    assert!(err(&without("train_step_s_median")).contains("missing \"train_step_s_median\""));
    assert!(err(&without("eval_fwd_s_median")).contains("missing \"eval_fwd_s_median\""));
    assert!(err(&ok.replace("1.0", "-1.0")).contains("must be positive"));
    assert!(err(&ok.replace("64", "6.5")).contains("not a whole number"));
    let on = |device: &str| ok.replace("\"batch\"", &format!("\"device\": {device}, \"batch\""));
    assert!(ReferenceTable::parse(&on("\"cuda\""), "f").is_ok());
    assert!(err(&on("\"c]pu\""))
        .contains("line 1: \"device\" is \"c]pu\", expected \"cpu\" or \"cuda\""));
    assert!(err(&on("3")).contains("\"device\" is 3"));
}

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert!(median(&[]).is_nan());
}

/// Runs the benchmark for real on a small batch and checks what it reports.
#[test]
fn a_tiny_run_reports_positive_times_and_the_expected_keys() {
    let config = build_config(Some("small_se2_partial"), None, &["train.batch_size=4"]).unwrap();
    let opts = ModelBenchOptions {
        batch: None,
        warmup: 1,
        steps: 2,
        profile_steps: 1,
        reference: None,
    };
    let r = bench_one(&Cpu, "cpu", "small_se2_partial", &config, &opts).unwrap();
    assert_eq!((r.batch, r.steps, r.params), (4, 2, 9_111));
    // The CPU has no device to profile; asking is not an error.
    assert!(r.device_profile.is_none() && r.device_work.is_none());
    assert_eq!(r.train_step_times_ms.len(), 2);
    assert_eq!(r.eval_forward_times_ms.len(), 2);
    for t in r.train_step_times_ms.iter().chain(&r.eval_forward_times_ms) {
        assert!(*t > 0.0 && t.is_finite(), "{t}");
    }
    assert!(r.train_step_min_ms <= r.train_step_ms && r.eval_forward_min_ms <= r.eval_forward_ms);
    let flops = forward_flops(&model_of(&config), 4).unwrap();
    assert!((r.forward_gflop - flops / 1e9).abs() < 1e-9);
    assert!((r.train_gflops - 3.0 * r.forward_gflop / (r.train_step_ms / 1e3)).abs() < 1e-6);
    assert!(r.train_peak_memory_mb.unwrap() > 0.0);
    assert!(r.eval_peak_memory_mb.unwrap() > 0.0);
    assert!(
        r.memory_method.contains("counting allocator"),
        "{}",
        r.memory_method
    );
    assert!(r.first_loss.is_finite() && r.last_loss.is_finite());
    // No reference file: no reference figures, no ratio.
    assert!(r.reference.is_none() && r.train_speedup.is_none() && r.reference_note.is_none());
    // With one: the ratio to its figures for this config and batch.
    let opts = ModelBenchOptions {
        reference: Some(ReferenceTable::parse(REFERENCE_LINES, "ref.jsonl").unwrap()),
        ..opts
    };
    let r = bench_one(&Cpu, "cpu", "small_se2_partial", &config, &opts).unwrap();
    assert_eq!(r.reference.as_ref().unwrap().train_step_ms, 88.0);
    assert!((r.train_speedup.unwrap() - 88.0 / r.train_step_ms).abs() < 1e-9);
    assert!((r.eval_speedup.unwrap() - 33.0 / r.eval_forward_ms).abs() < 1e-9);

    let line = machine_line(&r);
    for key in [
        "config=small_se2_partial",
        "batch=4",
        "train_step_ms=",
        "eval_forward_ms=",
        "train_gflops=",
        "peak_memory_mb=",
    ] {
        assert!(line.contains(key), "{key} missing from {line}");
    }
    let value = |key: &str| -> f64 {
        let rest = &line[line.find(&format!(" {key}=")).unwrap() + key.len() + 2..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!((value("train_step_ms") - r.train_step_ms).abs() < 1e-3);
    assert!((value("eval_forward_ms") - r.eval_forward_ms).abs() < 1e-3);
}

#[test]
fn the_command_prints_lines_and_a_table_and_writes_json() {
    let dir = std::env::temp_dir().join(format!("pgcnn-bench-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("bench.json");
    let mut out = Vec::new();
    let opts = ModelBenchOptions {
        batch: Some(2),
        warmup: 0,
        steps: 1,
        profile_steps: 0,
        reference: None,
    };
    let set = vec!["net.no_hidden=4".to_string()];
    let results = model_bench(
        "small_se2_partial",
        &set,
        &opts,
        DeviceRequest::Cpu,
        Some(&json),
        &mut out,
    )
    .unwrap();
    assert_eq!(results.len(), 1);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("train_step_ms="), "{text}");
    assert!(text.contains("eval_forward_ms="), "{text}");
    assert!(text.contains("speed-up"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let row = &v.as_array().unwrap()[0];
    for key in [
        "config",
        "device",
        "batch",
        "train_step_ms",
        "eval_forward_ms",
        "train_gflops",
        "eval_gflops",
        "train_peak_memory_mb",
        "memory_method",
        "reference",
        "train_speedup",
        "load_average",
    ] {
        assert!(row.get(key).is_some(), "{key} missing from {row}");
    }
    assert_eq!(row["batch"], 2);
    assert!(row["train_step_ms"].as_f64().unwrap() > 0.0);
    std::fs::remove_dir_all(&dir).unwrap();

    let bad = model_bench(
        "small_se2_partial",
        &[],
        &ModelBenchOptions {
            steps: 0,
            ..opts.clone()
        },
        DeviceRequest::Cpu,
        None,
        &mut Vec::new(),
    );
    assert!(bad.unwrap_err().to_string().contains("--steps"));
    let unknown = model_bench(
        "no_such_config",
        &[],
        &opts,
        DeviceRequest::Cpu,
        None,
        &mut Vec::new(),
    );
    assert!(format!("{:#}", unknown.unwrap_err()).contains("no_such_config"));
}

#[test]
fn the_flags_gpu_check_passes_parse() {
    // scripts/gpu-check.sh: `pgcnn bench --batch 64 --warmup 5 --steps 20 --profile
    // --device cuda --config C`.
    let cli = Cli::try_parse_from(
        "pgcnn bench --batch 64 --warmup 5 --steps 20 --profile --device cuda --config small_se2_partial --json out.json"
            .split(' '),
    )
    .unwrap();
    let Command::Bench(args) = cli.command else {
        panic!("not bench: {:?}", cli.command)
    };
    assert_eq!(args.config.as_deref(), Some("small_se2_partial"));
    assert_eq!(
        (args.batch, args.warmup, args.steps),
        (Some(64), Some(5), 20)
    );
    assert_eq!(args.device.request, DeviceRequest::Cuda(0));
    assert_eq!(args.device.gpu_math, GpuMath::Tf32);
    assert!(args.profile);
    assert!(Cli::try_parse_from("pgcnn bench --kernels --config all".split(' ')).is_err());
    assert!(Cli::try_parse_from("pgcnn bench --kernels --profile".split(' ')).is_err());
    assert!(Cli::try_parse_from("pgcnn bench --kernels --warmup 2".split(' ')).is_ok());
}

/// A GPU's profile (made up here: its measurement is tested in pgcnn-tests'
/// cuda_network.rs) is reported per step, on the machine line and as a table.
#[test]
fn a_device_profile_is_reported_per_step() {
    use pgcnn_cuda::{Profile, ProfileRow};
    let row = |op: &'static str, work: &str, calls: u64, device_ms: f64| ProfileRow {
        op,
        work: work.to_string(),
        calls,
        device_ms,
    };
    let mut rows = vec![
        row("conv2d", "cuBLAS GEMM", 40, 8.0),
        row("conv2d", "im2col_f32", 40, 4.0),
    ];
    rows.extend((0..20).map(|i| row("unary", &format!("kernel_{i}"), 2, 0.1)));
    let profile = Profile {
        rows,
        wall_ms: 30.0,
    };
    let p = DeviceProfile::from_profile(&profile, 2);
    assert_eq!(p.steps, 2);
    assert!(
        (p.device_ms_per_step - 7.0).abs() < 1e-12,
        "{}",
        p.device_ms_per_step
    );
    assert!((p.wall_ms_per_step - 15.0).abs() < 1e-12);
    assert_eq!(p.rows[0].work, "cuBLAS GEMM");
    assert!((p.rows[0].calls_per_step - 20.0).abs() < 1e-12);
    assert!((p.rows[1].ms_per_step - 2.0).abs() < 1e-12);

    let config = build_config(Some("small_se2_partial"), None, &["net.no_hidden=4"]).unwrap();
    let opts = ModelBenchOptions {
        batch: Some(2),
        warmup: 0,
        steps: 1,
        profile_steps: 0,
        reference: None,
    };
    let mut r = bench_one(&Cpu, "cpu", "small_se2_partial", &config, &opts).unwrap();
    r.device_profile = Some(p);
    let line = machine_line(&r);
    assert!(
        line.contains(" profiled_device_ms_per_step=7.000 "),
        "{line}"
    );
    assert!(
        line.ends_with(" profiled_wall_ms_per_step=15.000"),
        "{line}"
    );
    let mut out = Vec::new();
    write_table(&[r], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("7.00 ms of device work in 15.00 ms"),
        "{text}"
    );
    let gemm = text.lines().find(|l| l.contains("cuBLAS GEMM")).unwrap();
    assert!(
        gemm.contains("20.0") && gemm.contains("4.000") && gemm.contains("57.1%"),
        "{gemm}"
    );
    // 15 rows, then the other 7 summed: 7 × 1 call and 0.05 ms per step.
    let rest = text.lines().find(|l| l.contains("(7 more rows)")).unwrap();
    assert!(
        rest.contains("7.0") && rest.contains("0.350") && rest.contains("5.0%"),
        "{rest}"
    );
}

/// `--gpu-math` reaches the CUDA backend: on the kernel emulator (which runs the CUDA
/// backend's host code on the CPU; skipped without g++, and where `pgcnn` was built
/// without its `emulator` feature, which the workspace's test build turns on through
/// tests/Cargo.toml), the device line names the math
/// in use, TF32 by default and strict f32 when asked; and the emulator's bench says what a
/// step's host code took by itself.
#[test]
fn gpu_math_reaches_the_cuda_backend() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgcnn-cuda-emulator");
    for (flags, want) in [
        (&[][..], "TF32 convolutions"),
        (&["--gpu-math", "strict"][..], "strict f32"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgcnn"))
            .args(["bench", "--config", "rotmnist_t2", "--device", "cuda"])
            .args(["--batch", "2", "--steps", "1", "--warmup", "0"])
            .args(["--set", "net.no_hidden=4"])
            .args(flags)
            .env("PGCNN_CUDA_EMULATOR", &dir)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if stderr.contains("the kernel emulator could not be built")
            || stderr.contains("built without the kernel emulator")
        {
            println!("skipped: {stderr}");
            return;
        }
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let device = stdout
            .lines()
            .find(|l| l.starts_with("device: "))
            .unwrap_or_else(|| panic!("no device line in {stdout}"));
        assert!(
            device.contains("kernel emulator") && device.contains(want),
            "{device}"
        );
        // The emulator also says what the step's host code took by itself: part of the
        // step's wall time.
        let line = stdout
            .lines()
            .find(|l| l.starts_with("bench config="))
            .unwrap_or_else(|| panic!("no machine line in {stdout}"));
        let value = |key: &str| -> f64 {
            let field = line
                .split(' ')
                .find_map(|f| f.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {line}"));
            field.parse().unwrap()
        };
        let (host, step) = (value("emulated_host_ms_per_step="), value("train_step_ms="));
        assert!(host > 0.0 && host < step, "{line}");
        assert!(stdout.contains("a step's host code took"), "{stdout}");
    }
}
