//! Helpers shared by the fuzz targets in `src/bin/` (one file per parser of outside
//! input; see README.md).
//!
//! A target feeds the fuzzer's bytes to a parser. Any panic, hang (libFuzzer's `-timeout`)
//! or large allocation (`-rss_limit_mb` / `-malloc_limit_mb`) is a finding. When the parser
//! accepts the input, the target also checks what it returned against the bytes
//! ([`check_dataset`] and per-target checks), so a parser that silently returns nonsense is
//! a finding too.
//!
//! Every target reports through [`outcome`], which, when the environment variable
//! [`SEEDS_MUST_PARSE`] is set, turns a rejected input into a panic: `.ci/fuzz.sh` runs the
//! seed corpus that way, so seeds that no longer parse (after a format change) are caught
//! instead of silently fuzzing only the error paths.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Debug;
use std::io::Write;
use std::sync::OnceLock;

use pgcnn::data::Dataset;

/// The largest single allocation a parser may make on a fuzz input. Inputs are at most
/// 1 MiB (libFuzzer's cap) and become at most 4 bytes per input byte (`f32` pixels), so
/// anything near this is an allocation sized by a header's claim rather than by the data.
pub const MAX_ALLOCATION: usize = 64 << 20;

/// The global allocator of every target: the system allocator, except that a request
/// over [`MAX_ALLOCATION`] prints a backtrace and aborts, which libFuzzer reports as a
/// crash and keeps the input. libFuzzer's own `-malloc_limit_mb` needs a sanitizer's
/// allocator hooks, so with `-s none` (stable Rust) this is what catches huge
/// allocations; `-rss_limit_mb` only sees memory that is touched.
pub struct LimitedAlloc;

impl LimitedAlloc {
    fn check(size: usize) {
        if size > MAX_ALLOCATION {
            // Allocations made while reporting are small, so this does not recurse.
            let bt = std::backtrace::Backtrace::force_capture();
            let _ = writeln!(
                std::io::stderr(),
                "pgcnn-fuzz: allocation of {size} bytes, over the {MAX_ALLOCATION} limit\n{bt}"
            );
            std::process::abort();
        }
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator (after a size check
// that either returns or aborts, never unwinds).
unsafe impl GlobalAlloc for LimitedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (all allocations go there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        // SAFETY: as for `dealloc`; the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LimitedAlloc = LimitedAlloc;

/// Name of the environment variable that makes [`outcome`] panic on a rejected input.
pub const SEEDS_MUST_PARSE: &str = "PGCNN_FUZZ_SEEDS_MUST_PARSE";

/// Records the outcome of parsing one input. Returns the value on success. With
/// [`SEEDS_MUST_PARSE`] set, an error panics (the input was meant to be valid).
pub fn outcome<T, E: Debug>(what: &str, result: Result<T, E>) -> Option<T> {
    static STRICT: OnceLock<bool> = OnceLock::new();
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            if *STRICT.get_or_init(|| std::env::var_os(SEEDS_MUST_PARSE).is_some()) {
                panic!("{what}: a seed was rejected: {e:?}");
            }
            None
        }
    }
}

/// Splits one fuzz input into two buffers (e.g. an image file and a label file): the
/// first 4 bytes, big-endian, give the length of the first buffer (clamped to what is
/// there); the rest is the second. Inputs shorter than 4 bytes give two empty buffers.
pub fn split_pair(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<4>() else {
        return (&[], &[]);
    };
    let n = (u32::from_be_bytes(*head) as usize).min(rest.len());
    rest.split_at(n)
}

/// The inverse of [`split_pair`] (for writing seeds and regression inputs).
pub fn join_pair(first: &[u8], second: &[u8]) -> Vec<u8> {
    let n = u32::try_from(first.len()).expect("first buffer under 4 GiB");
    let mut v = n.to_be_bytes().to_vec();
    v.extend_from_slice(first);
    v.extend_from_slice(second);
    v
}

/// Checks the invariants every successfully parsed dataset must satisfy: the expected
/// image shape and class count, at least one image, `len · c · h · w` values, every label
/// below `classes`, every pixel in `[0, 1]` (loaders do not normalise), no normalisation
/// recorded.
pub fn check_dataset(ds: &Dataset, channels: usize, height: usize, width: usize, classes: usize) {
    assert_eq!(
        (ds.channels, ds.height, ds.width, ds.classes),
        (channels, height, width, classes),
        "shape or classes"
    );
    assert!(!ds.is_empty(), "a parsed dataset has no images");
    let per = channels
        .checked_mul(height)
        .and_then(|v| v.checked_mul(width))
        .expect("image size overflows");
    assert_eq!(
        Some(ds.images.len()),
        ds.len().checked_mul(per),
        "{} values for {} images of {channels}×{height}×{width}",
        ds.images.len(),
        ds.len()
    );
    if let Some(l) = ds.labels.iter().find(|&&l| l >= classes) {
        panic!("label {l} not below {classes}");
    }
    if let Some(p) = ds.images.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        panic!("pixel {p} outside [0, 1]");
    }
    assert!(ds.normalization.is_none(), "a parser normalised");
}

/// Checks that `ds.images` is exactly `bytes / 255` (the loaders' scaling of byte pixels).
pub fn check_scaled(images: &[f32], bytes: &[u8]) {
    assert_eq!(images.len(), bytes.len(), "pixel count");
    for (k, (&v, &b)) in images.iter().zip(bytes).enumerate() {
        assert_eq!(v, f32::from(b) / 255.0, "pixel {k}");
    }
}

/// For an input that starts like gzip: the bytes it inflates to, reading every member to
/// the end of the input (as `gzip -d` does). Panics when the input is not gzip through to
/// its last byte (a corrupt member, or trailing bytes that are not a member), since a
/// parser that accepted it has ignored part of its input. `None` for an input that does
/// not start like gzip.
pub fn inflate_whole(data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    if !(data.len() >= 2 && data[..2] == [0x1f, 0x8b]) {
        return None;
    }
    let mut out = Vec::new();
    if let Err(e) = flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out) {
        panic!("accepted gzip input that does not inflate whole: {e}");
    }
    Some(out)
}
