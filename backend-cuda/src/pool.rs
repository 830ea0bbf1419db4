//! A caching allocator for device memory.
//!
//! `cuMemAlloc` and `cuMemFree` are slow and `cuMemFree` synchronises the device, so
//! freed blocks go onto a free list by size class and are handed out again. A training
//! step asks for the same sizes every time, so after the first step it allocates
//! nothing. Reusing a block is safe without events because all work runs in order on
//! one stream: the next user's kernels are queued after the last reader's.

use crate::activity::Counters;
use crate::runtime::{AllocError, DeviceRuntime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Counters of the allocator, for tests and for the bench's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Calls to `cuMemAlloc` so far.
    pub device_allocations: u64,
    /// Requests served from the free lists.
    pub reuses: u64,
    /// Bytes in blocks handed out and not yet returned.
    pub bytes_in_use: usize,
    /// Bytes held in the free lists.
    pub bytes_cached: usize,
}

/// The rounded size a request of `bytes` gets (> 0 for `bytes` > 0): multiples of 512 B
/// up to 1 MiB, then eight classes per power of two, so a block is at most 1/8 larger
/// than asked and near sizes share a class.
pub(crate) fn size_class(bytes: usize) -> usize {
    const SMALL: usize = 1 << 20;
    if bytes <= SMALL {
        return bytes.div_ceil(512).max(1) * 512;
    }
    let top = usize::BITS - 1 - bytes.leading_zeros(); // floor(log2(bytes))
    let step = 1usize << (top - 3);
    bytes.div_ceil(step) * step
}

struct State {
    free: HashMap<usize, Vec<u64>>,
    stats: PoolStats,
}

/// The free lists of one device.
pub(crate) struct Pool {
    rt: Arc<dyn DeviceRuntime>,
    /// The device's activity counters, for the wait before freeing the cache.
    activity: Arc<Counters>,
    state: Mutex<State>,
}

impl Pool {
    pub(crate) fn new(rt: Arc<dyn DeviceRuntime>, activity: Arc<Counters>) -> Arc<Self> {
        Arc::new(Self {
            rt,
            activity,
            state: Mutex::new(State {
                free: HashMap::new(),
                stats: PoolStats::default(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent lists (every update is a
        // single push or pop), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A block of at least `bytes` (> 0) bytes, from the free list or the device. When
    /// the device is out of memory, the cached blocks are released and the call retried.
    pub(crate) fn alloc(self: &Arc<Self>, bytes: usize) -> Result<Block, String> {
        let class = size_class(bytes);
        let ptr = match self.reuse(class) {
            Some(ptr) => ptr,
            None => self.malloc(class)?,
        };
        // A Block from here on, so that an error below still returns it to the pool.
        let block = self.block(ptr, class);
        self.rt.hand_out(ptr, bytes)?;
        Ok(block)
    }

    /// A cached block of `class` bytes, if the free list has one.
    fn reuse(&self, class: usize) -> Option<u64> {
        let mut st = self.lock();
        let ptr = st.free.get_mut(&class).and_then(Vec::pop)?;
        st.stats.reuses += 1;
        st.stats.bytes_cached -= class;
        st.stats.bytes_in_use += class;
        Some(ptr)
    }

    /// A new block of `class` bytes from the device, freeing the cache and trying again
    /// when the device is out of memory.
    fn malloc(&self, class: usize) -> Result<u64, String> {
        let ptr = match self.rt.malloc(class) {
            Ok(p) => p,
            Err(AllocError::OutOfMemory) => {
                // Freeing the cache waits for the device first: a host wait like any.
                self.activity.synchronization();
                self.release_cached()?;
                match self.rt.malloc(class) {
                    Ok(p) => p,
                    Err(AllocError::OutOfMemory) => {
                        let in_use = self.lock().stats.bytes_in_use;
                        return Err(out_of_memory(class, in_use, self.rt.memory_info()));
                    }
                    Err(AllocError::Other(e)) => return Err(e),
                }
            }
            Err(AllocError::Other(e)) => return Err(e),
        };
        let mut st = self.lock();
        st.stats.device_allocations += 1;
        st.stats.bytes_in_use += class;
        Ok(ptr)
    }

    fn block(self: &Arc<Self>, ptr: u64, class: usize) -> Block {
        Block {
            ptr,
            class,
            pool: Arc::clone(self),
        }
    }

    fn give_back(&self, ptr: u64, class: usize) {
        let mut st = self.lock();
        st.stats.bytes_in_use -= class;
        st.stats.bytes_cached += class;
        st.free.entry(class).or_default().push(ptr);
    }

    /// Frees every cached block, after the queued work is done.
    pub(crate) fn release_cached(&self) -> Result<(), String> {
        // Cached blocks may still be read by queued work; wait for it before freeing.
        self.rt.synchronize()?;
        let blocks: Vec<(usize, Vec<u64>)> = self.lock().free.drain().collect();
        let mut first_err = None;
        for (class, ptrs) in blocks {
            for p in ptrs {
                // `p` came from malloc with `class` bytes and is in no one's hands.
                match self.rt.free(p, class) {
                    Ok(()) => self.lock().stats.bytes_cached -= class,
                    Err(e) => first_err = first_err.or(Some(e)),
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        self.lock().stats
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Every block holds the pool alive, so all are cached now. An error here (a dead
        // context) leaves nothing to do: the driver frees a context's memory with it.
        let _ = self.release_cached();
    }
}

/// Device memory from the pool, returned to it when dropped.
pub(crate) struct Block {
    ptr: u64,
    class: usize,
    pool: Arc<Pool>,
}

impl Block {
    pub(crate) fn ptr(&self) -> u64 {
        self.ptr
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.pool.give_back(self.ptr, self.class);
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Block({:#x}, {} B)", self.ptr, self.class)
    }
}

/// The message of an allocation the device could not serve, even with the cache freed;
/// `device` is the driver's (free, total) memory where known.
fn out_of_memory(class: usize, in_use: usize, device: Option<(usize, usize)>) -> String {
    let free = device.map_or(String::new(), |(free, total)| {
        format!(
            "; the GPU has {} free of {}",
            human_bytes(free),
            human_bytes(total)
        )
    });
    format!(
        "out of device memory allocating {} (pgcnn holds {} in live tensors{free}): a \
         smaller batch needs less",
        human_bytes(class),
        human_bytes(in_use)
    )
}

/// `1.5 GiB`, `512 B`: binary units, one decimal.
fn human_bytes(n: usize) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(629_407_744), "600.2 MiB");
        assert_eq!(human_bytes(1 << 44), "16.0 TiB");
        let m = out_of_memory(1 << 44, 3 << 30, None);
        assert!(
            m.contains("allocating 16.0 TiB") && m.contains("holds 3.0 GiB in live tensors)"),
            "{m}"
        );
        let m = out_of_memory(1 << 30, 0, Some((512 << 20, 80 << 30)));
        assert!(
            m.contains("tensors; the GPU has 512.0 MiB free of 80.0 GiB)"),
            "{m}"
        );
    }

    #[test]
    fn classes_cover_the_request_and_waste_at_most_an_eighth() {
        for bytes in (1..5000).chain((1 << 20) - 3..(1 << 20) + 3).chain([
            3 << 20,
            (1 << 30) + 1,
            629_407_744,
            123_456_789,
        ]) {
            let c = size_class(bytes);
            assert!(c >= bytes, "{bytes} -> {c}");
            assert!(c.is_multiple_of(512), "{bytes} -> {c}");
            if bytes > 4096 {
                assert!(c - bytes <= bytes / 8, "{bytes} -> {c}");
            }
        }
    }

    #[test]
    fn classes_are_stable() {
        // Same request, same class: what lets a training step reuse everything.
        for bytes in [1, 511, 512, 513, 1 << 20, (1 << 20) + 1, 50_000_000] {
            assert_eq!(size_class(bytes), size_class(size_class(bytes)));
        }
    }
}
