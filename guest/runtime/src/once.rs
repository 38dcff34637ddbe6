//! Static buffers handed out once: big scratch space without a heap, a lock, or stack room.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// `N` bytes in .bss that one caller may borrow for the rest of the run.
pub struct OnceBuf<const N: usize> {
    taken: AtomicBool,
    bytes: UnsafeCell<[u8; N]>,
}

// SAFETY: the bytes are reachable only through `take`, which hands out at most one reference
// over the whole run, so no two threads (or callers) can ever share them.
unsafe impl<const N: usize> Sync for OnceBuf<N> {}

impl<const N: usize> OnceBuf<N> {
    /// A buffer not yet handed out.
    pub const fn new() -> Self {
        OnceBuf { taken: AtomicBool::new(false), bytes: UnsafeCell::new([0; N]) }
    }

    /// The buffer, the first time only.
    // A `&mut` out of a shared `&self` is sound here because the flag hands it out only once.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut [u8; N]> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the swap above lets exactly one caller through, so this is the only
        // reference ever made to the bytes; they are a static, so it may be 'static.
        Some(unsafe { &mut *self.bytes.get() })
    }
}

impl<const N: usize> Default for OnceBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}
