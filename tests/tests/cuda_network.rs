//! The CUDA backend against the naive reference through a small network's forward and
//! backward pass, the memory pool's reuse, the device-time profile, the emulator's count of
//! its device time, and clean errors for missing devices; on the GPU and on the kernel
//! emulator (see cuda_support/mod.rs).

mod cuda_support;

use cuda_support::{emulator, gpu, Report};
use pgcnn_core::backend::Backend;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Conv2dOptions, Element, Padding, Param, Result, RunningStats, Tensor};
use pgcnn_cuda::{Cuda, MathMode};

// ---- a network, forward and backward --------------------------------------------------------

/// Loss, parameter gradients and running mean of a small CNN (grouped 3x3 conv, batch
/// norm, ReLU, 2x2 pooling, a 1x1 conv, spatial mean, linear layer, cross entropy).
fn network<B: Backend, E: Element>(b: &B, seed: u64) -> Result<Vec<Vec<E>>> {
    let mut rng = Rng::seed(seed);
    let mut t = |dims: &[usize], scale: f64| -> Result<Tensor<B, E>> {
        let n: usize = dims.iter().product();
        let v: Vec<f64> = (0..n).map(|_| rng.uniform_range(-scale, scale)).collect();
        Tensor::from_f64s(b, &v, dims.to_vec())
    };
    let x = t(&[4, 2, 10, 10], 1.0)?;
    let w1 = Param::new(t(&[6, 1, 3, 3], 0.5)?);
    let w2 = Param::new(t(&[8, 6, 1, 1], 0.5)?);
    let gamma = Param::new(t(&[6], 0.2)?.add_scalar(E::one())?);
    let beta = Param::new(t(&[6], 0.1)?);
    let lin = Param::new(t(&[8, 3], 0.5)?);
    let mut stats = RunningStats::new(b, 6)?;
    let h = x.conv2d(
        w1.tensor(),
        None,
        Conv2dOptions::new(Padding::Same).with_groups(2),
    )?;
    let h = h.batch_norm(
        Some(gamma.tensor()),
        Some(beta.tensor()),
        &mut stats,
        true,
        E::from_f64(1e-5),
    )?;
    let h = h.relu()?.max_pool2d()?;
    let h = h.conv2d(w2.tensor(), None, Conv2dOptions::new(Padding::Valid))?;
    let h = h.mean_axes(&[2, 3], false)?;
    let logits = h.matmul(lin.tensor())?;
    let loss = logits.cross_entropy(&[0, 2, 1, 2])?;
    let grads = loss.backward()?;
    let mut out = vec![loss.to_vec()?];
    for p in [&w1, &w2, &gamma, &beta, &lin] {
        let g = grads
            .get(p)
            .ok_or_else(|| pgcnn_core::Error::Backward("missing gradient".into()))?;
        out.push(g.to_vec()?);
    }
    out.push(stats.mean().to_vec()?);
    Ok(out)
}

fn compare_network<E: Element>(c: &Cuda, rel: f64) {
    let mut r = Report::new(c, rel);
    let want = network::<Reference, E>(&Reference, 3).expect("reference network");
    match network::<Cuda, E>(c, 3) {
        Ok(got) => {
            let names = [
                "loss",
                "dw1",
                "dw2",
                "dgamma",
                "dbeta",
                "dlin",
                "running mean",
            ];
            for ((name, g), w) in names.iter().zip(got).zip(&want) {
                r.check(format!("network {name}"), Ok(g), w);
            }
        }
        Err(e) => r.failures.push(format!("network: error {e}")),
    }
    r.finish();
}

/// After one training-like pass, a second identical pass allocates nothing.
fn pool_is_reused(c: &Cuda) {
    let pass = || network::<Cuda, f32>(c, 5).expect("network");
    pass();
    let warm = c.pool_stats();
    pass();
    let again = c.pool_stats();
    println!("{c:?}: after warm-up {warm:?}, after a second pass {again:?}");
    assert_eq!(
        warm.device_allocations, again.device_allocations,
        "the second pass allocated"
    );
    assert!(again.reuses > warm.reuses);
}

/// The emulator counts the time of its stand-in for the device work (part of the pass's
/// wall time, so that the bench can tell the host code's own time); a GPU, whose work runs
/// beside the host, counts none.
fn emulated_device_time_is_counted(c: &Cuda, emulated: bool) {
    let before = c.activity();
    let start = std::time::Instant::now();
    network::<Cuda, f32>(c, 11).expect("network");
    let wall_ns = start.elapsed().as_nanos();
    let device_ns = c.activity().since(&before).emulated_device_ns;
    println!("{c:?}: device work {device_ns:?} ns of a {wall_ns} ns pass");
    if emulated {
        let ns = u128::from(device_ns.expect("the emulator counts its device time"));
        assert!(ns > 0 && ns <= wall_ns, "{ns} ns of a {wall_ns} ns pass");
    } else {
        assert_eq!(device_ns, None);
    }
}

/// A profiled pass times every call it queued (as many as the activity counters saw),
/// computes what an unprofiled pass computes, and a profile sees only its own calls.
fn profile_times_every_call(c: &Cuda) {
    let pass = || network::<Cuda, f32>(c, 7).expect("network");
    let plain = pass();
    assert!(
        c.finish_profile().expect("finish").rows.is_empty(),
        "nothing was started"
    );

    let before = c.activity();
    c.start_profile();
    let profiled = pass();
    let profile = c.finish_profile().expect("finish");
    let work = c.activity().since(&before);
    assert_eq!(plain, profiled, "profiling changed the results");
    println!(
        "{c:?}: {work}; profile: {} calls, {:.3} ms of device time in {:.3} ms",
        profile.calls(),
        profile.device_ms(),
        profile.wall_ms
    );
    for row in &profile.rows {
        println!(
            "  {:<16} {:<24} {:>5} {:>10.4} ms",
            row.op, row.work, row.calls, row.device_ms
        );
    }
    // finish_profile's own wait is counted in the activity, not in the profile.
    assert_eq!(profile.calls(), work.queued_calls() + work.downloads);
    let count = |work_name: &str| -> u64 {
        profile
            .rows
            .iter()
            .filter(|r| r.work == work_name)
            .map(|r| r.calls)
            .sum()
    };
    assert_eq!(count("cuBLAS GEMM"), work.gemms);
    assert_eq!(count("download"), work.downloads);
    for (op, launches) in &work.launches_by_op {
        let kernels: u64 = profile
            .rows
            .iter()
            .filter(|r| {
                r.op == *op
                    && !matches!(
                        r.work.as_str(),
                        "cuBLAS GEMM" | "fill" | "device copy" | "upload" | "download"
                    )
            })
            .map(|r| r.calls)
            .sum();
        assert_eq!(kernels, *launches, "kernel launches of {op}");
    }
    assert!(profile
        .rows
        .iter()
        .all(|r| r.device_ms >= 0.0 && r.calls > 0));
    assert!(profile.device_ms() > 0.0);
    // The pairs bracket disjoint stretches of one stream's work.
    assert!(
        profile.device_ms() <= profile.wall_ms * 1.001,
        "{} ms of device time in {} ms",
        profile.device_ms(),
        profile.wall_ms
    );
    let by_op = profile.by_op();
    assert!(
        by_op.windows(2).all(|w| w[0].2 >= w[1].2),
        "by_op is sorted"
    );
    assert_eq!(by_op.iter().map(|o| o.1).sum::<u64>(), profile.calls());

    // After finishing, calls are no longer timed; a new profile starts empty.
    pass();
    c.start_profile();
    let empty = c.finish_profile().expect("finish");
    assert!(empty.rows.is_empty(), "{:?}", empty.rows);
}

/// An allocation the device cannot serve is an error that says so (not a panic, not an
/// abort), and the device keeps working after it.
fn out_of_memory_is_an_error(c: &Cuda) {
    let huge = [1usize << 42]; // 16 TiB of f32
    let before = c.activity();
    let e = Tensor::<Cuda, f32>::zeros(c, huge).expect_err("16 TiB allocated");
    // The retry after freeing the cache waited for the device once, and says so.
    assert_eq!(c.activity().since(&before).synchronizations, 1);
    let text = e.to_string();
    println!("{c:?}: {text}");
    assert!(
        text.contains("out of device memory allocating 16.0 TiB"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    let after = network::<Cuda, f32>(c, 9).expect("a network after the failed allocation");
    assert!(after[0][0].is_finite());
}

// ---- the tests ---------------------------------------------------------------------------------

#[test]
fn gpu_network_matches_reference() {
    if let Some(c) = gpu() {
        compare_network::<f64>(&c, 1e-10);
        compare_network::<f32>(&c.with_math(MathMode::Strict), 1e-3);
        compare_network::<f32>(&c, 1e-2);
    }
}

#[test]
fn gpu_pool_is_reused_after_warm_up() {
    if let Some(c) = gpu() {
        pool_is_reused(&c);
    }
}

#[test]
fn gpu_profile_times_every_call() {
    if let Some(c) = gpu() {
        profile_times_every_call(&c);
    }
}

#[test]
fn emulated_profile_times_every_call() {
    if let Some(c) = emulator() {
        profile_times_every_call(&c);
    }
}

#[test]
fn gpu_counts_no_emulated_device_time() {
    if let Some(c) = gpu() {
        emulated_device_time_is_counted(&c, false);
    }
}

#[test]
fn emulated_device_time_is_part_of_the_wall_time() {
    if let Some(c) = emulator() {
        emulated_device_time_is_counted(&c, true);
    }
}

#[test]
fn gpu_out_of_memory_is_an_error() {
    if let Some(c) = gpu() {
        out_of_memory_is_an_error(&c);
    }
}

#[test]
fn emulated_out_of_memory_is_an_error() {
    // The emulator's device memory is the host's heap: where the kernel hands out any
    // amount (overcommit_memory = 1), 16 TiB would "succeed".
    if std::fs::read_to_string("/proc/sys/vm/overcommit_memory").is_ok_and(|m| m.trim() == "1") {
        println!("skipped: this host overcommits memory without limit");
        return;
    }
    if let Some(c) = emulator() {
        out_of_memory_is_an_error(&c);
    }
}

#[test]
fn emulated_network_matches_reference() {
    if let Some(c) = emulator() {
        compare_network::<f64>(&c, 1e-10);
        compare_network::<f32>(&c.with_math(MathMode::Strict), 1e-3);
        // TF32 as the GPU computes it (the emulator cuts GEMM inputs the same way).
        compare_network::<f32>(&c, 1e-2);
    }
}

#[test]
fn emulated_pool_is_reused_after_warm_up() {
    if let Some(c) = emulator() {
        pool_is_reused(&c);
    }
}

#[test]
fn missing_devices_are_errors_not_panics() {
    // Whatever this machine has, a device number far out of range is refused cleanly.
    let e = Cuda::new(1 << 20).expect_err("no machine has that many GPUs");
    let msg = e.to_string();
    assert!(!msg.contains('\n') && !msg.is_empty(), "{msg:?}");
    println!("Cuda::new(1 << 20): {msg}");
}
