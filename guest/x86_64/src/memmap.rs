//! The domain's own memory map (XENMEM_memory_map) and a hole in it for scratch mappings.
//!
//! A PVH dom0's start info may carry no memory map at all, so ask Xen, which answers with the
//! e820 it built for this domain.

use xenmem_guest_runtime::{xen, PAGE};

use crate::arch::{MAPPED_END, X86};

/// One e820 entry as Xen writes it: addr u64, size u64, type u32, packed (20 bytes).
const E820_ENTRY: usize = 20;
const MAX_ENTRIES: usize = 128;
/// `E820_RAM`.
pub const E820_RAM: u32 = 1;

/// One region of the map.
#[derive(Clone, Copy, Debug, Default)]
pub struct Region {
    pub start: u64,
    pub size: u64,
    pub kind: u32,
}

impl Region {
    fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }
}

/// The domain's memory map, as Xen reported it.
pub struct MemoryMap {
    regions: [Region; MAX_ENTRIES],
    len: usize,
}

impl MemoryMap {
    /// Asks Xen; `Err(errno)` if the hypercall fails.
    pub fn query() -> Result<MemoryMap, i64> {
        let mut raw = [0u8; MAX_ENTRIES * E820_ENTRY];
        let n = xen::memory_map::<X86>(&mut raw)?;
        let mut map = MemoryMap { regions: [Region::default(); MAX_ENTRIES], len: 0 };
        for (slot, e) in map.regions.iter_mut().zip(raw.chunks_exact(E820_ENTRY)).take(n) {
            let u64_at = |o: usize| u64::from_le_bytes(e[o..o + 8].try_into().unwrap_or([0; 8]));
            slot.start = u64_at(0);
            slot.size = u64_at(8);
            slot.kind = u32::from_le_bytes(e[16..20].try_into().unwrap_or([0; 4]));
        }
        map.len = n;
        Ok(map)
    }

    /// The regions, in Xen's order.
    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.len]
    }

    /// The first `align`-aligned run of `pages` pages above all RAM below 4 GiB that no
    /// region (RAM, reserved, anything) overlaps. Above the RAM because holes between RAM
    /// ranges are where firmware tables and the like may still appear; below 4 GiB because
    /// that is what the identity map covers.
    pub fn hole_above_ram(&self, pages: u64, align: u64) -> Option<u64> {
        let len = pages.checked_mul(PAGE)?;
        let ram_end = self
            .regions()
            .iter()
            .filter(|r| r.kind == E820_RAM && r.start < MAPPED_END)
            .map(Region::end)
            .max()?;
        let mut start = ram_end.checked_next_multiple_of(align)?;
        // Each pass either succeeds or moves past one more region: one pass per region, plus one.
        for _ in 0..=self.len {
            let end = start.checked_add(len)?;
            if end > MAPPED_END {
                return None;
            }
            match self.regions().iter().find(|r| r.start < end && start < r.end()) {
                None => return Some(start),
                Some(r) => start = r.end().checked_next_multiple_of(align)?,
            }
        }
        None
    }
}
