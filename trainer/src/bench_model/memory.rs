//! Peak memory of a benchmark phase.
//!
//! - CPU, with [`CountingAlloc`] installed as the program's global allocator (the
//!   `pgcnn` binary does): the peak of heap bytes live at once during the phase, reset
//!   at its start. Exact and free of other processes' influence; it counts what the
//!   program asked for (model, optimiser state, activations, gradients, scratch), not
//!   the allocator's own overhead or cached pages.
//! - CPU without it (a library user, a test that does not install it): the process's
//!   peak resident set (VmHWM in /proc/self/status), reset at the phase's start by
//!   writing 5 to /proc/self/clear_refs (Linux ≥ 4.0). It includes the binary, the
//!   thread stacks and memory the allocator keeps after a free; where the reset is not
//!   possible it is the peak since the process started, and the report says so.
//! - CUDA: the backend's caching pool. Its cached blocks are released at the start of
//!   the phase; the pool frees nothing while it runs, so the device memory it holds at
//!   the end (in use + cached) is its peak during the phase — what the phase needed
//!   from the driver, like PyTorch's `max_memory_reserved`.

use pgcnn_core::Backend;
use pgcnn_cuda::Cuda;
use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes live and their peak. Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;` in a binary; the
/// counting costs two relaxed atomic operations per allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    fn grew(by: usize) {
        let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
        // Most allocations do not set a new peak: a load instead of a read-modify-write.
        if now > PEAK.load(Ordering::Relaxed) {
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }
    fn shrank(by: usize) {
        CURRENT.fetch_sub(by, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` with the caller's arguments; the counters
// are only bookkeeping.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded under the caller's contract.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                Self::shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Whether [`CountingAlloc`] is the global allocator (it has seen live bytes).
pub fn counting_allocator_installed() -> bool {
    CURRENT.load(Ordering::Relaxed) > 0
}

/// How a peak was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryMethod {
    /// [`CountingAlloc`]: peak live heap bytes during the phase.
    Allocator,
    /// VmHWM, reset at the phase's start.
    ResidentSet,
    /// VmHWM since the process started (the reset was refused).
    ResidentSetSinceStart,
    /// The CUDA pool's held bytes (in use + cached) after releasing the cache.
    CudaPool,
    /// Nothing could be measured.
    Unavailable,
}

impl MemoryMethod {
    /// A short name for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryMethod::Allocator => "heap peak (counting allocator)",
            MemoryMethod::ResidentSet => "peak resident set (VmHWM, reset per phase)",
            MemoryMethod::ResidentSetSinceStart => "peak resident set since process start",
            MemoryMethod::CudaPool => "CUDA pool peak (in use + cached)",
            MemoryMethod::Unavailable => "unavailable",
        }
    }
}

/// Measures one phase: [`MemoryProbe::start`] before it, [`MemoryProbe::peak`] after.
pub struct MemoryProbe<'a> {
    cuda: Option<&'a Cuda>,
    method: MemoryMethod,
}

impl<'a> MemoryProbe<'a> {
    /// The probe for `backend` (the CUDA pool for [`Cuda`], else the CPU's methods).
    pub fn new<B: Backend>(backend: &'a B) -> Self {
        let cuda = (backend as &dyn Any).downcast_ref::<Cuda>();
        let method = if cuda.is_some() {
            MemoryMethod::CudaPool
        } else if counting_allocator_installed() {
            MemoryMethod::Allocator
        } else {
            MemoryMethod::ResidentSet
        };
        MemoryProbe { cuda, method }
    }

    /// How the peak is measured (after [`MemoryProbe::start`]: whether a reset worked).
    pub fn method(&self) -> MemoryMethod {
        self.method
    }

    /// Starts a phase: resets the peak.
    pub fn start(&mut self) -> anyhow::Result<()> {
        match self.method {
            MemoryMethod::Allocator => {
                PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed)
            }
            MemoryMethod::CudaPool => {
                if let Some(c) = self.cuda {
                    c.release_cached_memory()?;
                }
            }
            MemoryMethod::ResidentSet | MemoryMethod::ResidentSetSinceStart => {
                self.method = if std::fs::write("/proc/self/clear_refs", "5").is_ok() {
                    MemoryMethod::ResidentSet
                } else {
                    MemoryMethod::ResidentSetSinceStart
                };
            }
            MemoryMethod::Unavailable => {}
        }
        Ok(())
    }

    /// The peak in bytes since [`MemoryProbe::start`] (`None` when it cannot be read).
    pub fn peak(&mut self) -> Option<u64> {
        let bytes = match self.method {
            MemoryMethod::Allocator => Some(PEAK.load(Ordering::Relaxed) as u64),
            MemoryMethod::CudaPool => self.cuda.map(|c| {
                let s = c.pool_stats();
                (s.bytes_in_use + s.bytes_cached) as u64
            }),
            MemoryMethod::ResidentSet | MemoryMethod::ResidentSetSinceStart => vm_hwm(),
            MemoryMethod::Unavailable => None,
        };
        if bytes.is_none() {
            self.method = MemoryMethod::Unavailable;
        }
        bytes
    }
}

/// VmHWM of this process in bytes.
fn vm_hwm() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
