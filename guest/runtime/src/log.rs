//! A domU's output channel where it has no console: a log area in the domU's RAM that dom0
//! keeps foreign-mapped and prints once the domU has stopped. (On x86_64 an unprivileged
//! domain's console_io is refused by a non-debug Xen, and port 0xE9 output comes back
//! re-wrapped by Xen; this way dom0 prints the domU's lines exactly as written. An arm64
//! dom0less domU has a console of its own and never installs a log.)
//!
//! Layout, little-endian, shared by the writer (domU) and the reader (dom0):
//! - `@0 magic u32` = [`MAGIC`], written by dom0 before the domU starts;
//! - `@4 state u32`: 0 (running: dom0's initial value), [`DONE`] or [`FAILED`] (the domU's
//!   last word before it shuts down);
//! - `@8 len u32`: text bytes written so far; `@12 observations u32`: the domU suite's count;
//! - `@16 dropped u32`: bytes that did not fit;
//! - text from [`TEXT`] on: whole lines, the domU's own tags included.
//!
//! The domU only appends and updates the header after the text it covers; dom0 reads only
//! after the domU has shut down, so no lock is needed.

use core::sync::atomic::{compiler_fence, AtomicU64, Ordering};

pub const MAGIC: u32 = 0x474f_4c58; // "XLOG"
pub const DONE: u32 = 1;
pub const FAILED: u32 = 2;
/// Where the text starts; the header rounds up to a cache line.
pub const TEXT: usize = 64;

const STATE: usize = 4;
const LEN: usize = 8;
const OBSERVATIONS: usize = 12;
const DROPPED: usize = 16;

/// The header, as dom0 writes it before the domU starts.
pub fn initial_header() -> [u8; TEXT] {
    let mut h = [0u8; TEXT];
    h[..4].copy_from_slice(&MAGIC.to_le_bytes());
    h
}

/// A decoded header.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    pub magic: u32,
    pub state: u32,
    pub len: u32,
    pub observations: u32,
    pub dropped: u32,
}

impl Header {
    /// Decodes the first [`TEXT`] bytes of a log area.
    pub fn decode(h: &[u8; TEXT]) -> Header {
        let at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        Header {
            magic: at(0),
            state: at(STATE),
            len: at(LEN),
            observations: at(OBSERVATIONS),
            dropped: at(DROPPED),
        }
    }
}

// The domU's writer: where its log area is (0 = none yet) and how big.
static BASE: AtomicU64 = AtomicU64::new(0);
static SIZE: AtomicU64 = AtomicU64::new(0);

/// Sends the domU's output to the log area at `base` (`size` bytes).
///
/// # Safety
///
/// `base..base + size` must be RAM of this domain, addressable at those addresses, set aside
/// for the log by the builder, that no Rust object occupies; `size` must exceed [`TEXT`].
pub unsafe fn install(base: u64, size: u64) {
    BASE.store(base, Ordering::Relaxed);
    SIZE.store(size, Ordering::Relaxed);
}

fn write_u32(offset: usize, v: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: the header lies inside the area `install`'s caller vouched for; volatile because
    // dom0 reads the same bytes through its own mapping.
    unsafe { core::ptr::write_volatile((base as usize + offset) as *mut u32, v) };
}

fn read_u32(offset: usize) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: as in `write_u32`.
    unsafe { core::ptr::read_volatile((base as usize + offset) as *const u32) }
}

/// Appends bytes; what does not fit is counted as dropped.
pub fn append(bytes: &[u8]) {
    let (base, size) = (BASE.load(Ordering::Relaxed), SIZE.load(Ordering::Relaxed));
    if base == 0 {
        return;
    }
    let len = read_u32(LEN) as usize;
    let room = (size as usize - TEXT).saturating_sub(len);
    let n = bytes.len().min(room);
    for (i, &b) in bytes[..n].iter().enumerate() {
        // SAFETY: `TEXT + len + i < size`, inside the area `install`'s caller vouched for.
        unsafe { core::ptr::write_volatile((base as usize + TEXT + len + i) as *mut u8, b) };
    }
    // The text before the length that covers it.
    compiler_fence(Ordering::Release);
    write_u32(LEN, (len + n) as u32);
    if n < bytes.len() {
        write_u32(DROPPED, read_u32(DROPPED).saturating_add((bytes.len() - n) as u32));
    }
}

/// The domU's last word: its verdict and the suite's count, after all text.
pub fn finish(state: u32, observations: u32) {
    write_u32(OBSERVATIONS, observations);
    compiler_fence(Ordering::Release);
    write_u32(STATE, state);
}
