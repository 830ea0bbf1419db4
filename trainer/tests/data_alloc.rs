//! Hostile inputs are refused without large allocations: a counting allocator records the
//! largest single request while each parser runs on a file whose header claims gigabytes,
//! a decompression bomb, a config whose counts add up to millions, or garbage. One test
//! function, so no other test allocates concurrently.

mod data_support;
mod torch_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use data_support::{gzip, idx_images, idx_labels};
use pgcnn::data::{
    parse_amat_bytes, parse_cifar, parse_idx_images, parse_idx_labels, parse_stl10, CifarKind,
};
use pgcnn::interop::torch_pt::parse_state_dict;
use torch_support::{
    floats, globals_sharing_a_name, nested_through_memo, tensor_pickle, torch_zip,
    zip64_claiming_all_entries,
};

struct Counting;

/// A named hostile case that returns the largest allocation it made.
type Case<'a> = (&'static str, Box<dyn Fn() -> usize + 'a>);

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, which must fail, and returns the largest allocation it made.
fn largest_allocation<T, E: std::fmt::Debug>(f: impl FnOnce() -> Result<T, E>) -> usize {
    LARGEST.store(0, Ordering::Relaxed);
    let r = f();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(r.is_err(), "hostile input was accepted");
    largest
}

/// A gzip stream of an IDX header claiming 10 images of 28×28, followed by `extra` zero
/// bytes: a small file that inflates far beyond its claim.
fn bomb(extra: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&idx_images(10, 28, 28, &[])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..extra >> 20 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

/// PCam files of datasets created and never written (by libhdf5; see
/// data_support/pcam/make_unwritten.py): 1,400 bytes declaring 262,144 images, which
/// libhdf5 would read as fill values, 29 GB as f32.
#[cfg(feature = "pcam")]
fn pcam_cases() -> Vec<Case<'static>> {
    let file = |name: &str| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data_support/pcam");
        std::fs::read(std::path::Path::new(dir).join(name)).unwrap()
    };
    let y = file("unwritten_y.h5");
    let mut cases: Vec<Case<'static>> = Vec::new();
    for (what, x) in [
        (
            "PCam: 262,144 images declared, never written",
            "unwritten_x.h5",
        ),
        (
            "PCam: 262,144 images in chunks, none stored",
            "unwritten_chunked_x.h5",
        ),
    ] {
        let (x, y) = (file(x), y.clone());
        cases.push((
            what,
            Box::new(move || largest_allocation(|| pgcnn::data::parse_pcam(x.clone(), y.clone()))),
        ));
    }
    cases
}

/// PyTorch checkpoints (`pgcnn::interop::torch_pt`): views that claim far more values than
/// their storage holds, an archive whose end record claims 2^64 − 1 entries, and pickles
/// that would blow up in a reader that copies what the memo shares.
fn torch_cases() -> Vec<Case<'static>> {
    let six = floats(&[0.0; 6]);
    let view = |size: &'static [i32], stride: &'static [i32]| {
        let file = torch_zip(&tensor_pickle(6, 0, size, stride), &[("0", &six)]);
        Box::new(move || largest_allocation(|| parse_state_dict(&file))) as Box<dyn Fn() -> usize>
    };
    let nested = torch_zip(&nested_through_memo(40), &[]);
    let globals = torch_zip(&globals_sharing_a_name(64 << 10, 5000), &[]);
    let zip64 =
        zip64_claiming_all_entries(torch_zip(&tensor_pickle(6, 0, &[6], &[1]), &[("0", &six)]));
    vec![
        (
            "PyTorch: a view of 2^40 values over 6",
            view(&[1 << 20, 1 << 20], &[0, 0]),
        ),
        (
            "PyTorch: a view whose size overflows",
            view(&[i32::MAX, i32::MAX, i32::MAX], &[1, 1, 1]),
        ),
        (
            "PyTorch: a list nested 40 deep through the memo",
            Box::new(move || largest_allocation(|| parse_state_dict(&nested))),
        ),
        (
            "PyTorch: one 64 KiB name in 5,000 globals",
            Box::new(move || largest_allocation(|| parse_state_dict(&globals))),
        ),
        (
            "PyTorch: a zip64 record claiming 2^64 - 1 entries",
            Box::new(move || largest_allocation(|| parse_state_dict(&zip64))),
        ),
    ]
}

#[test]
fn hostile_inputs_fail_without_large_allocations() {
    const LIMIT: usize = 1 << 20;
    // The counter sees allocations (else every check below would pass vacuously).
    let seen = largest_allocation(|| -> Result<(), ()> {
        let v = std::hint::black_box(vec![1u8; 2 * LIMIT]);
        drop(v);
        Err(())
    });
    assert!(seen >= 2 * LIMIT, "counter saw {seen}");
    let bomb = bomb(64 << 20);
    let huge_claim_gz = gzip(&idx_images(4_000_000, 28, 28, &[0; 100]));
    let cases: Vec<Case> = vec![
        (
            "IDX images claiming 4 G × 28 × 28",
            Box::new(|| {
                largest_allocation(|| parse_idx_images(&idx_images(u32::MAX, 28, 28, &[1; 64])))
            }),
        ),
        (
            "IDX images whose sizes overflow",
            Box::new(|| {
                largest_allocation(|| {
                    parse_idx_images(&idx_images(u32::MAX, u32::MAX, u32::MAX, &[]))
                })
            }),
        ),
        (
            "IDX labels claiming 4 G",
            Box::new(|| {
                let mut bytes = idx_labels(&[1, 2, 3]);
                bytes[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
                largest_allocation(|| parse_idx_labels(&bytes))
            }),
        ),
        (
            "gzip IDX claiming 3 GB",
            Box::new(|| largest_allocation(|| parse_idx_images(&huge_claim_gz))),
        ),
        (
            "gzip bomb: 64 MiB behind a 7,840-byte claim",
            Box::new(|| largest_allocation(|| parse_idx_images(&bomb))),
        ),
        (
            "CIFAR-10 bytes of a wrong length",
            Box::new(|| {
                largest_allocation(|| parse_cifar(&[7u8; 3073 * 3 + 1], CifarKind::Cifar10))
            }),
        ),
        (
            "STL-10 with mismatched labels",
            Box::new(|| {
                let images = vec![0u8; 3 * 96 * 96];
                largest_allocation(|| parse_stl10(&images, &[1, 2]))
            }),
        ),
        (
            "config: 4,000 block-width pairs of 256 blocks each, for 4 blocks",
            Box::new(|| {
                let pairs = "1.0, 256.0, ".repeat(4000);
                let text = format!("[net]\nno_blocks = 4\nblock_width_factors = [{pairs}]\n");
                let config = pgcnn::config::Config::from_toml_str(&text).unwrap();
                largest_allocation(|| config.validate())
            }),
        ),
        (
            "amat: one endless line",
            Box::new(|| {
                let text = vec![b'0'; 4 << 20];
                largest_allocation(|| parse_amat_bytes(&text))
            }),
        ),
    ];
    let cases: Vec<Case> = cases.into_iter().chain(torch_cases()).collect();
    #[cfg(feature = "pcam")]
    let cases: Vec<Case> = cases.into_iter().chain(pcam_cases()).collect();
    for (what, run) in cases {
        let largest = run();
        assert!(
            largest < LIMIT,
            "{what}: largest allocation {largest} bytes"
        );
    }
    // Garbage of every length up to 64 bytes: errors from every parser, never a panic.
    for len in 0..64 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 73 + 11) as u8).collect();
        assert!(parse_idx_images(&junk).is_err());
        assert!(parse_idx_labels(&junk).is_err());
        assert!(parse_cifar(&junk, CifarKind::Cifar100Fine).is_err());
        assert!(parse_stl10(&junk, &junk).is_err());
        assert!(parse_amat_bytes(&junk).is_err());
    }
}
