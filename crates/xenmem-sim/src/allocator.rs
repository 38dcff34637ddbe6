//! The buddy allocator of free machine frames (`alloc_heap_pages` / `free_heap_pages` in
//! `xen/common/page_alloc.c`).
//!
//! Free memory is kept as naturally aligned blocks of `2^order` frames, one ordered set per
//! order, never merged across NUMA nodes. As in Xen, an allocation takes memory from the
//! highest address zone that can serve it (keeping low memory for callers that need it),
//! splits a larger block when no block of the order is free, and returns the top of the block
//! it split; freeing merges a block with its free buddy. So a high-order request can fail on a
//! fragmented heap while order 0 still succeeds. This module knows only frame numbers.

use std::collections::BTreeSet;

/// Largest block (`MAX_ORDER`, `CONFIG_PAGEALLOC_MAX_ORDER` = 18 on x86 and Arm).
pub const MAX_ORDER: u32 = 18;

/// Free frames as buddy blocks.
pub(crate) struct Buddy {
    free: Vec<BTreeSet<u64>>,
    /// First frame of each NUMA node, and the end of the last.
    nodes: Vec<u64>,
    free_frames: u64,
}

/// Where an allocation may come from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Constraint {
    /// Frames must lie below this frame number (from `XENMEMF_address_bits`).
    pub limit: u64,
    /// Preferred NUMA node.
    pub node: Option<u8>,
    /// Fail rather than use another node.
    pub exact: bool,
}

impl Constraint {
    pub(crate) const ANY: Constraint = Constraint { limit: u64::MAX, node: None, exact: false };
}

/// Xen's zone of a frame: its number's bit width.
fn zone(mfn: u64) -> u32 {
    64 - mfn.leading_zeros()
}

/// Whether a block of `2^order` frames from `start` stays in one zone (Xen keeps a heap per
/// zone, so no block spans two: an address limit, a power of two, then never cuts a block).
fn one_zone(start: u64, order: u32) -> bool {
    zone(start) == zone(start + (1u64 << order) - 1)
}

impl Buddy {
    /// All of `frames` free, split evenly into `nodes` NUMA nodes.
    pub(crate) fn new(frames: u64, nodes: u8) -> Buddy {
        let n = nodes.max(1) as u64;
        let mut bounds: Vec<u64> = (0..n).map(|i| frames / n * i).collect();
        bounds.push(frames);
        let mut b =
            Buddy { free: vec![BTreeSet::new(); MAX_ORDER as usize + 1], nodes: bounds, free_frames: 0 };
        for w in 0..n as usize {
            let (lo, hi) = (b.nodes[w], b.nodes[w + 1]);
            let mut at = lo;
            while at < hi {
                let mut order = MAX_ORDER;
                while order > 0 && (at % (1 << order) != 0 || at + (1 << order) > hi || !one_zone(at, order))
                {
                    order -= 1;
                }
                b.free[order as usize].insert(at);
                b.free_frames += 1 << order;
                at += 1 << order;
            }
        }
        b
    }

    /// Frames currently free.
    pub(crate) fn free_frames(&self) -> u64 {
        self.free_frames
    }

    fn node_of(&self, mfn: u64) -> usize {
        self.nodes.partition_point(|&s| s <= mfn).saturating_sub(1)
    }

    fn node_range(&self, node: u8) -> Option<(u64, u64)> {
        let i = node as usize;
        Some((*self.nodes.get(i)?, *self.nodes.get(i + 1)?))
    }

    /// The best free block of at least `order` with its whole extent in `[lo, hi)`.
    fn find(&self, order: u32, lo: u64, hi: u64) -> Option<(u64, u32)> {
        let mut best: Option<(u64, u32)> = None;
        // No block can lie in a higher zone than the last frame below `hi`: once one does,
        // the smallest order holding it wins (Xen's zone-major, order-minor search), and
        // the larger orders need not be looked at.
        let top_frame = hi.min(*self.nodes.last().unwrap_or(&0)).saturating_sub(1);
        let cap = zone(top_frame);
        for o in order..=MAX_ORDER {
            let size = 1u64 << o;
            let Some(top) = hi.checked_sub(size) else { continue };
            if top < lo {
                continue;
            }
            if let Some(&start) = self.free[o as usize].range(lo..=top).next_back() {
                // Highest zone first, then the smallest block in it (no needless splits).
                if best.is_none_or(|(b, _)| zone(start) > zone(b)) {
                    best = Some((start, o));
                }
                if zone(start) >= cap {
                    break;
                }
            }
        }
        best
    }

    /// Allocates `2^order` contiguous, aligned frames, or `None`.
    pub(crate) fn alloc(&mut self, order: u32, c: Constraint) -> Option<u64> {
        if order > MAX_ORDER {
            return None;
        }
        let mut ranges = Vec::with_capacity(2);
        if let Some(node) = c.node {
            match self.node_range(node) {
                Some(r) => ranges.push(r),
                None if c.exact => return None,
                None => {}
            }
        }
        if !c.exact || c.node.is_none() {
            ranges.push((0, u64::MAX));
        }
        let (start, o) = ranges.iter().find_map(|&(lo, hi)| self.find(order, lo, hi.min(c.limit)))?;
        self.free[o as usize].remove(&start);
        // Keep the lower halves free and hand out the top, as alloc_heap_pages does.
        let mut cur = o;
        while cur > order {
            cur -= 1;
            self.free[cur as usize].insert(lower_half(start, o, cur));
        }
        self.free_frames -= 1 << order;
        Some(start + (1u64 << o) - (1u64 << order))
    }

    /// Takes the particular aligned block `mfn..mfn + 2^order` out of the free lists, splitting
    /// the free block that holds it, or `false` if any of it is in use. For domains whose
    /// memory must sit at chosen frames (an Arm hardware domain mapped 1:1 is given the
    /// frames equal to its GFNs, as Xen's `allocate_memory_11` does).
    pub(crate) fn take(&mut self, mfn: u64, order: u32) -> bool {
        if order > MAX_ORDER || mfn % (1u64 << order) != 0 {
            return false;
        }
        let Some(o) =
            (order..=MAX_ORDER).find(|&o| self.free[o as usize].contains(&(mfn & !((1u64 << o) - 1))))
        else {
            return false;
        };
        let base = mfn & !((1u64 << o) - 1);
        self.free[o as usize].remove(&base);
        // Split down to the wanted block, keeping the halves that do not hold it free.
        let mut cur = o;
        let mut at = base;
        while cur > order {
            cur -= 1;
            let half = 1u64 << cur;
            let (keep, other) = if mfn >= at + half { (at + half, at) } else { (at, at + half) };
            self.free[cur as usize].insert(other);
            at = keep;
        }
        self.free_frames -= 1 << order;
        true
    }

    /// Returns `2^order` frames from `mfn` (aligned) to the heap, merging buddies.
    pub(crate) fn free(&mut self, mfn: u64, order: u32) {
        let node = self.node_of(mfn);
        let (nlo, nhi) = (self.nodes[node], self.nodes[node + 1]);
        self.free_frames += 1 << order;
        let (mut at, mut o) = (mfn, order);
        while o < MAX_ORDER {
            let size = 1u64 << o;
            let buddy = at ^ size;
            let merged = at & !size;
            if merged < nlo
                || merged + 2 * size > nhi
                || !one_zone(merged, o + 1)
                || !self.free[o as usize].remove(&buddy)
            {
                break;
            }
            at = merged;
            o += 1;
        }
        self.free[o as usize].insert(at);
    }

    /// Bytes of model memory the free lists take.
    pub(crate) fn memory_usage(&self) -> usize {
        // A B-tree node holds up to 11 keys; count a generous 16 bytes a key.
        self.free.iter().map(|s| s.len() * 16).sum()
    }

    /// The free blocks, for invariant checks: `(first frame, order)`.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.free.iter().enumerate().flat_map(|(o, s)| s.iter().map(move |&m| (m, o as u32)))
    }
}

/// When a block of order `o` at `start` is split down to `cur`, the free piece of order `cur`
/// is the lower half of the upper part still being split: its offset from `start`.
fn lower_half(start: u64, o: u32, cur: u32) -> u64 {
    // Splitting [start, start + 2^o) and keeping the top: at each step the lower half of the
    // current block becomes free. The current block before step `cur` starts at
    // start + 2^o - 2^(cur + 1).
    start + (1u64 << o) - (1u64 << (cur + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_merges() {
        let mut b = Buddy::new(1024, 1);
        assert_eq!(b.free_frames(), 1024);
        let a = b.alloc(0, Constraint::ANY).unwrap();
        assert_eq!(a, 1023, "the top of the highest zone, as Xen hands out");
        assert_eq!(b.free_frames(), 1023);
        let big = b.alloc(8, Constraint::ANY).unwrap();
        assert_eq!(big, 512, "the lower half of zone 10, split by the first allocation");
        b.free(a, 0);
        b.free(big, 8);
        assert_eq!(b.free_frames(), 1024);
        // One block per zone: {0}, {1}, [2,4), ..., [512,1024).
        let mut blocks = b.blocks().collect::<Vec<_>>();
        blocks.sort();
        assert_eq!(
            blocks,
            vec![
                (0, 0),
                (1, 0),
                (2, 1),
                (4, 2),
                (8, 3),
                (16, 4),
                (32, 5),
                (64, 6),
                (128, 7),
                (256, 8),
                (512, 9)
            ]
        );
    }

    #[test]
    fn fragmentation_defeats_high_orders_only() {
        let mut b = Buddy::new(16, 1);
        let all: Vec<u64> = (0..16).map(|_| b.alloc(0, Constraint::ANY).unwrap()).collect();
        for m in all.iter().filter(|&&m| m % 2 == 0) {
            b.free(*m, 0);
        }
        assert_eq!(b.free_frames(), 8);
        assert_eq!(b.alloc(1, Constraint::ANY), None);
        assert!(b.alloc(0, Constraint::ANY).is_some());
    }

    #[test]
    fn take_carves_a_chosen_block() {
        let mut b = Buddy::new(1024, 1);
        assert!(!b.take(601, 3), "misaligned");
        assert!(b.take(608, 3));
        assert!(!b.take(608, 0), "already taken");
        assert_eq!(b.free_frames(), 1024 - 8);
        assert!(b.take(0, 0));
        b.free(608, 3);
        b.free(0, 0);
        assert_eq!(b.free_frames(), 1024);
        assert_eq!(b.blocks().filter(|&(_, o)| o == 9).count(), 1, "merged back whole");
    }

    #[test]
    fn address_limit_and_nodes() {
        let mut b = Buddy::new(4096, 2);
        let low = b.alloc(0, Constraint { limit: 128, node: None, exact: false }).unwrap();
        assert!(low < 128);
        let n0 = b.alloc(3, Constraint { limit: u64::MAX, node: Some(0), exact: true }).unwrap();
        assert!(n0 < 2048);
        assert_eq!(b.alloc(0, Constraint { limit: u64::MAX, node: Some(5), exact: true }), None);
        assert!(b.alloc(0, Constraint { limit: u64::MAX, node: Some(5), exact: false }).is_some());
    }
}
