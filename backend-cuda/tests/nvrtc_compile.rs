//! Every kernel source compiles with NVRTC, alone and as the one program the backend
//! loads, for each GPU generation CUDA 13 supports, and the disk cache hands back what
//! NVRTC made — no GPU needed, only libnvrtc.
//! Without libnvrtc the test says "skipped: <reason>" and passes, unless
//! PGCNN_REQUIRE_NVRTC=1 (set by .ci/nvrtc-check.sh, which installs NVRTC from PyPI) makes
//! a missing library a failure.

use pgcnn_cuda::kernel_cache::{ImageSource, KernelCache};
use pgcnn_cuda::kernels::{kernel_names, program, single_source, SOURCES};
use pgcnn_cuda::nvrtc::{self, Target};
use std::time::Instant;

/// Turing, Ampere (A100, consumer), Ada, Hopper (H100), Blackwell, where supported.
const ARCHS: &[u32] = &[75, 80, 86, 89, 90, 100, 120];

fn nvrtc_or_skip() -> Option<Vec<u32>> {
    if let Err(why) = nvrtc::available() {
        if std::env::var("PGCNN_REQUIRE_NVRTC").is_ok_and(|v| v == "1") {
            panic!("PGCNN_REQUIRE_NVRTC=1 but {why}");
        }
        println!("skipped: {why}");
        return None;
    }
    let (major, minor) = nvrtc::version().expect("nvrtcVersion");
    let supported = nvrtc::supported_archs().expect("nvrtcGetSupportedArchs");
    println!("NVRTC {major}.{minor}, architectures {supported:?}");
    Some(supported)
}

#[test]
fn every_source_compiles_alone_for_hopper() {
    let Some(supported) = nvrtc_or_skip() else {
        return;
    };
    assert!(
        supported.contains(&90),
        "NVRTC without sm_90: {supported:?}"
    );
    for (file, _) in SOURCES {
        let src = single_source(file).expect("listed source");
        if let Err(log) = nvrtc::compile(&src, file, Target::Cubin(90)) {
            panic!("{log}");
        }
    }
}

#[test]
fn the_program_compiles_for_every_supported_generation() {
    let Some(supported) = nvrtc_or_skip() else {
        return;
    };
    for &arch in ARCHS.iter().filter(|a| supported.contains(a)) {
        for target in [Target::Cubin(arch), Target::Ptx(arch)] {
            let t = Instant::now();
            let image = nvrtc::compile(&program(), "pgcnn_kernels.cu", target)
                .unwrap_or_else(|log| panic!("{log}"));
            println!(
                "{}: {} bytes in {:.2} s",
                target.arch_flag(),
                image.len(),
                t.elapsed().as_secs_f64()
            );
            assert!(!image.is_empty());
            if let Target::Ptx(_) = target {
                // Every kernel the backend loads is an entry point of the module.
                let ptx = String::from_utf8_lossy(&image);
                for name in kernel_names() {
                    assert!(
                        ptx.contains(&format!(".entry {name}(")),
                        "{name} missing for {arch}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_broken_source_reports_the_compiler_log() {
    if nvrtc_or_skip().is_none() {
        return;
    }
    let err = nvrtc::compile(
        "__global__ void f() { undefined_thing; }",
        "broken.cu",
        Target::Cubin(90),
    )
    .expect_err("must not compile");
    assert!(err.contains("undefined_thing"), "{err}");
}

/// The second process on a machine reads the program from the disk cache instead of
/// compiling it: the same bytes, in a fraction of the time.
#[test]
fn the_disk_cache_returns_what_nvrtc_compiled() {
    if nvrtc_or_skip().is_none() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kernel-cache-{}", std::process::id()));
    let cache = KernelCache::at(&dir);
    let compile = || nvrtc::compile(&program(), "pgcnn_kernels.cu", Target::Cubin(90));
    let t = Instant::now();
    let (compiled, first) = cache
        .get_or_compile("sm_90", "nvrtc_compile test", compile)
        .unwrap_or_else(|log| panic!("{log}"));
    let compile_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (cached, second) = cache
        .get_or_compile("sm_90", "nvrtc_compile test", || {
            Err("compiled a second time".to_string())
        })
        .unwrap();
    let read_s = t.elapsed().as_secs_f64();
    println!(
        "sm_90 program: compiled in {compile_s:.2} s, read back from the cache in {:.1} ms",
        read_s * 1e3
    );
    assert_eq!((first, second), (ImageSource::Compiled, ImageSource::Disk));
    assert_eq!(compiled, cached);
    std::fs::remove_dir_all(&dir).unwrap();
}
