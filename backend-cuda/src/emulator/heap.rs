//! The emulator's device memory: host allocations, each handed out filled with NaN bytes
//! and kept between guard zones that are checked after every piece of work (see the
//! module docs of [`crate::emulator`]). The slack between what a user asked for and the
//! block's size is guard zone too: its first bytes are checked after every piece of work,
//! all of it when the block is handed to its next user or freed.

use std::alloc::Layout;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Alignment of emulated device blocks (cudaMalloc gives at least 256).
const ALIGN: usize = 256;
/// Bytes of guard zone on each side of a block (a multiple of [`ALIGN`], so the block
/// stays aligned).
const GUARD: usize = ALIGN;
/// What a guard zone holds.
const GUARD_BYTE: u8 = 0xA5;
/// What a fresh block holds: all-ones words are NaN in f32 and f64.
pub(crate) const POISON_BYTE: u8 = 0xFF;

/// The live blocks of one emulated device.
#[derive(Default)]
pub(crate) struct Heap {
    /// Address handed out → (size in bytes, bytes its current user asked for); the
    /// bytes between the two are guard zone too.
    blocks: Mutex<HashMap<u64, (usize, usize)>>,
}

impl Heap {
    fn blocks(&self) -> MutexGuard<'_, HashMap<u64, (usize, usize)>> {
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A block of `bytes` (> 0) bytes filled with [`POISON_BYTE`], between guard zones.
    pub(crate) fn malloc(&self, bytes: usize) -> Option<u64> {
        let layout = Layout::from_size_align(bytes.checked_add(2 * GUARD)?, ALIGN).ok()?;
        // SAFETY: the size is > 0.
        let base = unsafe { std::alloc::alloc(layout) };
        if base.is_null() {
            return None;
        }
        let ptr = base as u64 + GUARD as u64;
        // SAFETY: the block and its zones lie in the allocation just made.
        unsafe {
            std::ptr::write_bytes(ptr as *mut u8, POISON_BYTE, bytes);
            Self::guard(ptr, bytes, bytes);
        }
        self.blocks().insert(ptr, (bytes, bytes));
        Some(ptr)
    }

    /// Frees a block after checking its guard zones.
    ///
    /// # Safety
    /// `ptr` came from [`Heap::malloc`] with `bytes`, and is not used afterwards.
    pub(crate) unsafe fn free(&self, ptr: u64, bytes: usize) -> Result<(), String> {
        let used = self.blocks().remove(&ptr).map_or(bytes, |(_, used)| used);
        let checked = self.check_block(ptr, bytes, used, Slack::All);
        if let Ok(layout) = Layout::from_size_align(bytes + 2 * GUARD, ALIGN) {
            // SAFETY: the caller's contract; `malloc` allocated from `ptr - GUARD`.
            unsafe { std::alloc::dealloc((ptr - GUARD as u64) as *mut u8, layout) };
        }
        checked.map_err(|e| format!("found when freeing: {e}"))
    }

    /// Prepares a block for a user who asked for `used` of its bytes: those filled with
    /// [`POISON_BYTE`], the rest made guard zone. First checks all of the zones the
    /// previous user's work left (an error then means a write past that user's end).
    ///
    /// # Safety
    /// `ptr` is a live block from [`Heap::malloc`] that nothing else uses now.
    pub(crate) unsafe fn hand_out(&self, ptr: u64, used: usize) -> Result<(), String> {
        let mut blocks = self.blocks();
        let Some(entry) = blocks.get_mut(&ptr) else {
            return Err(format!("{ptr:#x} is not an emulated device block"));
        };
        if used > entry.0 {
            return Err(format!("{used} bytes asked of a block of {}", entry.0));
        }
        let previous = self.check_block(ptr, entry.0, entry.1, Slack::All);
        entry.1 = used;
        // SAFETY: a live block (the caller's contract) and `used` checked.
        unsafe {
            std::ptr::write_bytes(ptr as *mut u8, POISON_BYTE, used);
            Self::guard(ptr, entry.0, used);
        }
        previous.map_err(|e| format!("found when the block was handed out again: {e}"))
    }

    /// Checks every live block's guard zones; an error names `after`, the work just done.
    pub(crate) fn check_guards(&self, after: &str) -> Result<(), String> {
        let blocks = self.blocks();
        for (&ptr, &(bytes, used)) in blocks.iter() {
            if let Err(e) = self.check_block(ptr, bytes, used, Slack::Start) {
                // Mended, so that the next check reports the next write, not this one.
                // SAFETY: the zones of a live block, as checked.
                unsafe { Self::guard(ptr, bytes, used) };
                return Err(format!("after {after}: {e}"));
            }
        }
        Ok(())
    }

    /// Fills the zone before a block and the one after its first `used` bytes.
    ///
    /// # Safety
    /// `ptr` is a live block of `bytes` bytes from `malloc`; `used` <= `bytes`.
    unsafe fn guard(ptr: u64, bytes: usize, used: usize) {
        // SAFETY: the caller's contract: both zones lie in the allocation.
        unsafe {
            std::ptr::write_bytes((ptr - GUARD as u64) as *mut u8, GUARD_BYTE, GUARD);
            std::ptr::write_bytes(
                (ptr + used as u64) as *mut u8,
                GUARD_BYTE,
                bytes - used + GUARD,
            );
        }
    }

    /// Checks the zone before a block of `bytes` bytes, and after its first `used`.
    fn check_block(&self, ptr: u64, bytes: usize, used: usize, how: Slack) -> Result<(), String> {
        // The zone before, the slack after the request (where a write one element too
        // far lands) and the zone after the block.
        let slack = match how {
            Slack::Start => (bytes - used).min(GUARD),
            Slack::All => bytes - used,
        };
        // SAFETY: `ptr` is a live block from `malloc`, with its guards around it, and
        // `used` <= `bytes`.
        let zones = unsafe {
            [
                (
                    -(GUARD as i64),
                    std::slice::from_raw_parts((ptr - GUARD as u64) as *const u8, GUARD),
                ),
                (
                    used as i64,
                    std::slice::from_raw_parts((ptr + used as u64) as *const u8, slack),
                ),
                (
                    bytes as i64,
                    std::slice::from_raw_parts((ptr + bytes as u64) as *const u8, GUARD),
                ),
            ]
        };
        for (start, zone) in zones {
            if let Some(i) = zone.iter().position(|&b| b != GUARD_BYTE) {
                return Err(format!(
                    "a write to byte {} of a device block of {used} bytes (at {ptr:#x})",
                    start + i as i64
                ));
            }
        }
        Ok(())
    }
}

/// How much of a block's slack (its bytes past the user's request) a check reads.
#[derive(Clone, Copy)]
enum Slack {
    /// The first [`GUARD`] bytes, where a write one element too far lands: after every
    /// piece of work (scanning big blocks' whole slack each time would slow the emulator
    /// by a fifth).
    Start,
    /// All of it: when the block changes hands or is freed.
    All,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `value` at byte `at` of the block at `ptr` (negative: before it).
    fn poke(ptr: u64, at: isize, value: u8) {
        // SAFETY: the tests poke inside a block or its guard zones.
        unsafe { *((ptr as i64 + at as i64) as *mut u8) = value };
    }

    fn peek(ptr: u64, at: usize) -> u8 {
        // SAFETY: the tests peek inside a block.
        unsafe { *((ptr + at as u64) as *const u8) }
    }

    #[test]
    fn blocks_start_poisoned_and_aligned() {
        let heap = Heap::default();
        let p = heap.malloc(100).unwrap();
        assert_eq!(p % ALIGN as u64, 0);
        assert!((0..100).all(|i| peek(p, i) == POISON_BYTE));
        // Poisoned f32 and f64 are NaN.
        // SAFETY: inside the block.
        unsafe {
            assert!((*(p as *const f32)).is_nan());
            assert!((*(p as *const f64)).is_nan());
        }
        heap.check_guards("nothing").unwrap();
        // SAFETY: from malloc, not used afterwards.
        unsafe { heap.free(p, 100) }.unwrap();
    }

    #[test]
    fn writes_outside_a_block_are_caught_once_and_named() {
        let heap = Heap::default();
        let p = heap.malloc(512).unwrap();
        let q = heap.malloc(64).unwrap();
        // SAFETY: a live block; its user asks for 40 of its 512 bytes.
        unsafe { heap.hand_out(p, 40) }.unwrap();
        poke(p, 0, 1);
        poke(p, 39, 1);
        heap.check_guards("writes inside").unwrap();
        // Past what was asked for, inside what the pool's size class would round to.
        poke(p, 40, 1);
        let e = heap.check_guards("kernel_a").unwrap_err();
        assert!(
            e.starts_with("after kernel_a: a write to byte 40 of a device block of 40 bytes"),
            "{e}"
        );
        // Mended: the next check reports only new writes.
        heap.check_guards("kernel_b").unwrap();
        poke(q, -3, 7);
        let e = heap.check_guards("kernel_c").unwrap_err();
        assert!(
            e.contains("a write to byte -3 of a device block of 64 bytes"),
            "{e}"
        );
        poke(q, 64 + GUARD as isize - 1, 7);
        assert!(heap.check_guards("kernel_d").is_err());
        // A block freed with a damaged zone says so.
        poke(q, 64, 9);
        // SAFETY: from malloc, not used afterwards.
        let e = unsafe { heap.free(q, 64) }.unwrap_err();
        assert!(e.contains("byte 64 of a device block of 64 bytes"), "{e}");
        // SAFETY: as above.
        unsafe { heap.free(p, 512) }.unwrap();
    }

    #[test]
    fn a_block_handed_out_again_is_poisoned_again() {
        let heap = Heap::default();
        let p = heap.malloc(1024).unwrap();
        // SAFETY: a live block.
        unsafe { heap.hand_out(p, 1024) }.unwrap();
        for i in 0..1024 {
            poke(p, i, 0);
        }
        // SAFETY: as above; asking for more than the block holds is refused.
        unsafe {
            heap.hand_out(p, 600).unwrap();
            assert!(heap.hand_out(p, 2000).is_err());
            assert!(heap.hand_out(p + 8, 8).is_err());
        }
        assert!((0..600).all(|i| peek(p, i) == POISON_BYTE));
        heap.check_guards("hand_out").unwrap();
        // SAFETY: from malloc, not used afterwards.
        unsafe { heap.free(p, 1024) }.unwrap();
    }

    /// A write deep into the slack (past the bytes checked after every launch) is caught
    /// when the block is handed out again, and when it is freed.
    #[test]
    fn writes_deep_in_the_slack_are_caught_when_the_block_changes_hands() {
        let heap = Heap::default();
        let p = heap.malloc(4096).unwrap();
        // SAFETY: a live block; its user asks for 100 of its 4096 bytes.
        unsafe { heap.hand_out(p, 100) }.unwrap();
        let deep = 100 + GUARD as isize + 50;
        poke(p, deep, 1);
        heap.check_guards("kernel_a").unwrap();
        // SAFETY: as above, for the next user.
        let e = unsafe { heap.hand_out(p, 200) }.unwrap_err();
        assert!(
            e.contains("handed out again")
                && e.contains(&format!("byte {deep} of a device block of 100 bytes")),
            "{e}"
        );
        // The zones are whole again for the next user.
        heap.check_guards("kernel_b").unwrap();
        // SAFETY: as above.
        unsafe { heap.hand_out(p, 300) }.unwrap();
        poke(p, 300 + GUARD as isize + 7, 1);
        // SAFETY: from malloc, not used afterwards.
        let e = unsafe { heap.free(p, 4096) }.unwrap_err();
        assert!(e.contains("found when freeing"), "{e}");
    }

    #[test]
    fn impossible_sizes_are_refused() {
        assert_eq!(Heap::default().malloc(usize::MAX - 10), None);
    }
}
