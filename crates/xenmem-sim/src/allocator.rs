//! The buddy allocator of free machine frames (`alloc_heap_pages` / `get_free_buddy` /
//! `free_heap_pages` in `xen/common/page_alloc.c`).
//!
//! Free memory is kept as naturally aligned blocks of `2^order` frames, never merged across
//! NUMA nodes or zones. As in Xen, an allocation takes memory from the highest address zone
//! that can serve it (keeping low memory for callers that need it), and within that zone the
//! smallest order that has a free block (`get_free_buddy`: zones from `zone_hi` down, orders
//! from the request up); it splits a larger block when no block of the order is free and
//! returns the top of the block it split; freeing merges a block with its free buddy. So a
//! high-order request can fail on a fragmented heap while order 0 still succeeds. This module
//! knows only frame numbers.
//!
//! Xen's free lists are indexed by node, zone and order and hand out their head; the model's
//! are indexed by zone and order (a count per pair, so empty ones are skipped as Xen's
//! `avail[node][zone]` check skips them) and hand out the block at the highest address, which
//! keeps every run deterministic whatever order blocks were freed in. The blocks of one order
//! are a bitmap over the machine with summary levels, so finding the highest free block below
//! an address is a few word operations and freeing a buddy is one bit: the heap costs a
//! quarter of a byte per frame, whatever is free.

/// Largest block (`MAX_ORDER`, `CONFIG_PAGEALLOC_MAX_ORDER` = 18 on x86 and Arm).
pub const MAX_ORDER: u32 = 18;

/// Zones: a frame number's bit width, 0 to 64.
const ZONES: usize = 65;

/// Free frames as buddy blocks.
pub(crate) struct Buddy {
    /// The free blocks of each order, by block number (`first frame >> order`).
    free: Vec<BlockSet>,
    /// For each zone, the free blocks of each order that start in it.
    per_zone: Box<[[u64; MAX_ORDER as usize + 1]; ZONES]>,
    /// For each zone, a bit per order that has a free block there.
    orders_in_zone: [u32; ZONES],
    /// First frame of each NUMA node, and the end of the last.
    nodes: Vec<u64>,
    free_frames: u64,
    /// The block the last allocation split, while only allocations like it followed: its
    /// free part is held here instead of in `free`.
    split: Option<Split>,
}

/// A block being handed out from the top down.
///
/// Splitting the smallest fitting block leaves its lower halves as the only blocks of the
/// smaller orders in that zone and range (had there been one, it would have been taken
/// instead), so the same request made again with nothing freed in between takes the top of
/// the smallest of those halves, and the next the top of what is left: the block's frames in
/// descending order. So the free part, the blocks `[start, next)` splits into, is kept as
/// these two numbers, and goes into the free lists only when anything else (another request,
/// a free, a look at the blocks) needs them there. A guest's order-0 populate or balloon is
/// such a sequence: each allocation is then a subtraction.
#[derive(Clone, Copy)]
struct Split {
    /// The block's first frame.
    start: u64,
    /// One past the part of it still free: the next allocation ends here.
    next: u64,
    /// The request that split it.
    order: u32,
    c: Constraint,
}

impl Split {
    /// The free blocks `[start, next)` is made of, the largest (lowest) first, as the buddy
    /// splits left them.
    fn blocks(self) -> impl Iterator<Item = (u64, u32)> {
        let size = self.next - self.start;
        let mut at = self.start;
        (0..64u32).rev().filter(move |&o| size & (1 << o) != 0).map(move |o| {
            let b = (at, o);
            at += 1 << o;
            b
        })
    }
}

/// Where an allocation may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The frames of zone `z`: `[first, last]`.
fn zone_bounds(z: u32) -> (u64, u64) {
    match z {
        0 => (0, 0),
        64 => (1 << 63, u64::MAX),
        _ => (1 << (z - 1), (1 << z) - 1),
    }
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
        let mut b = Buddy {
            free: (0..=MAX_ORDER).map(|o| BlockSet::new(frames.div_ceil(1 << o))).collect(),
            per_zone: Box::new([[0; MAX_ORDER as usize + 1]; ZONES]),
            orders_in_zone: [0; ZONES],
            nodes: bounds,
            free_frames: 0,
            split: None,
        };
        for w in 0..n as usize {
            let (lo, hi) = (b.nodes[w], b.nodes[w + 1]);
            let mut at = lo;
            while at < hi {
                let mut order = MAX_ORDER;
                while order > 0 && (at % (1 << order) != 0 || at + (1 << order) > hi || !one_zone(at, order))
                {
                    order -= 1;
                }
                b.insert(at, order);
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

    fn insert(&mut self, start: u64, order: u32) {
        self.free[order as usize].insert(start >> order);
        let z = zone(start) as usize;
        self.per_zone[z][order as usize] += 1;
        self.orders_in_zone[z] |= 1 << order;
    }

    /// Takes the free block `start` of `order` off its list; false if it is not free.
    fn remove(&mut self, start: u64, order: u32) -> bool {
        if !self.free[order as usize].remove(start >> order) {
            return false;
        }
        let z = zone(start) as usize;
        let count = &mut self.per_zone[z][order as usize];
        *count -= 1;
        if *count == 0 {
            self.orders_in_zone[z] &= !(1 << order);
        }
        true
    }

    fn node_of(&self, mfn: u64) -> usize {
        self.nodes.partition_point(|&s| s <= mfn).saturating_sub(1)
    }

    fn node_range(&self, node: u8) -> Option<(u64, u64)> {
        let i = node as usize;
        Some((*self.nodes.get(i)?, *self.nodes.get(i + 1)?))
    }

    /// `get_free_buddy` for the frames `[lo, hi)`: in the highest zone that has a free block
    /// of at least `order` wholly in the range, the smallest such order, and of those blocks
    /// the highest.
    fn find(&mut self, order: u32, lo: u64, hi: u64) -> Option<(u64, u32)> {
        // No block lies in a higher zone than the last frame below `hi`, nor in a lower one
        // than `lo`'s.
        let end = hi.min(*self.nodes.last().unwrap_or(&0));
        if end <= lo {
            return None;
        }
        let (zlo, zhi) = (zone(lo), zone(end - 1));
        for z in (zlo..=zhi).rev() {
            let mut orders = self.orders_in_zone[z as usize] & (u32::MAX << order);
            while orders != 0 {
                let o = orders.trailing_zeros();
                orders &= orders - 1;
                // The block must fit below `hi` and start in this zone, at or above `lo`.
                let Some(top) = hi.checked_sub(1u64 << o) else { continue };
                let (first, last) = zone_bounds(z);
                let (lower, upper) = (lo.max(first), top.min(last));
                if upper < lower {
                    continue;
                }
                if let Some(block) = self.free[o as usize].last_at_or_below(upper >> o) {
                    let start = block << o;
                    if start >= lower {
                        return Some((start, o));
                    }
                }
            }
        }
        None
    }

    /// Allocates `2^order` contiguous, aligned frames, or `None`.
    #[inline]
    pub(crate) fn alloc(&mut self, order: u32, c: Constraint) -> Option<u64> {
        if let Some(s) = self.split.as_mut().filter(|s| s.order == order && s.c == c) {
            s.next -= 1 << order;
            let top = s.next;
            if s.next == s.start {
                self.split = None;
            }
            self.free_frames -= 1 << order;
            return Some(top);
        }
        self.alloc_searching(order, c)
    }

    /// `alloc` when the block being handed out cannot serve: the search of the free lists.
    #[inline(never)]
    fn alloc_searching(&mut self, order: u32, c: Constraint) -> Option<u64> {
        if order > MAX_ORDER {
            return None;
        }
        self.settle();
        // The preferred node first, then (unless it must be that node) anywhere.
        let mut found = None;
        if let Some(node) = c.node {
            match self.node_range(node) {
                Some((lo, hi)) => found = self.find(order, lo, hi.min(c.limit)),
                None if c.exact => return None,
                None => {}
            }
        }
        if found.is_none() && (!c.exact || c.node.is_none()) {
            found = self.find(order, 0, c.limit);
        }
        let (start, o) = found?;
        self.remove(start, o);
        // Hand out the top and keep the lower halves free, as alloc_heap_pages does; they
        // stay in `split` until something else needs them in the lists.
        self.free_frames -= 1 << order;
        let top = start + (1u64 << o) - (1u64 << order);
        self.split = (top > start).then_some(Split { start, next: top, order, c });
        Some(top)
    }

    /// Puts the free part of the block being handed out into the free lists.
    fn settle(&mut self) {
        if let Some(s) = self.split.take() {
            for (start, o) in s.blocks() {
                self.insert(start, o);
            }
        }
    }

    /// Takes the particular aligned block `mfn..mfn + 2^order` out of the free lists, splitting
    /// the free block that holds it, or `false` if any of it is in use. For domains whose
    /// memory must sit at chosen frames (an Arm hardware domain mapped 1:1 is given the
    /// frames equal to its GFNs, as Xen's `allocate_memory_11` does).
    pub(crate) fn take(&mut self, mfn: u64, order: u32) -> bool {
        if order > MAX_ORDER || mfn % (1u64 << order) != 0 {
            return false;
        }
        self.settle();
        let holder = |o: u32| mfn & !((1u64 << o) - 1);
        let Some(o) = (order..=MAX_ORDER).find(|&o| self.free[o as usize].contains(holder(o) >> o)) else {
            return false;
        };
        let mut at = holder(o);
        self.remove(at, o);
        // Split down to the wanted block, keeping the halves that do not hold it free.
        let mut cur = o;
        while cur > order {
            cur -= 1;
            let half = 1u64 << cur;
            let (keep, other) = if mfn >= at + half { (at + half, at) } else { (at, at + half) };
            self.insert(other, cur);
            at = keep;
        }
        self.free_frames -= 1 << order;
        true
    }

    /// Returns `2^order` frames from `mfn` (aligned) to the heap, merging buddies.
    pub(crate) fn free(&mut self, mfn: u64, order: u32) {
        self.settle();
        let node = self.node_of(mfn);
        let (nlo, nhi) = (self.nodes[node], self.nodes[node + 1]);
        self.free_frames += 1 << order;
        let (mut at, mut o) = (mfn, order);
        while o < MAX_ORDER {
            let size = 1u64 << o;
            let buddy = at ^ size;
            let merged = at & !size;
            if merged < nlo || merged + 2 * size > nhi || !one_zone(merged, o + 1) || !self.remove(buddy, o) {
                break;
            }
            at = merged;
            o += 1;
        }
        self.insert(at, o);
    }

    /// Bytes of model memory the free lists take.
    pub(crate) fn memory_usage(&self) -> usize {
        self.free.iter().map(BlockSet::memory_usage).sum::<usize>() + std::mem::size_of_val(&*self.per_zone)
    }

    /// The free blocks, for invariant checks: `(first frame, order)`.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        let listed = self.free.iter().zip(0..).flat_map(|(s, o)| s.iter().map(move |b| (b << o, o)));
        listed.chain(self.split.into_iter().flat_map(Split::blocks))
    }
}

/// A set of block numbers below a fixed bound: a bitmap, and above it summary levels whose
/// bit `i` says whether word `i` of the level below has a bit set, so the highest member at
/// or below a number takes a word operation per level (four for 2^24 blocks).
struct BlockSet {
    /// `levels[0]` is the bitmap; each next level summarises the one before; the last is one
    /// word.
    levels: Vec<Vec<u64>>,
    /// One past the largest member it may hold.
    bound: u64,
    /// No member is above it. The heap takes the highest block and splits below it, so
    /// searching down from here rather than from the zone's top finds the next block within
    /// a word or two; it is lowered lazily (taking the highest member lowers it by one) so that
    /// taking a block costs no search.
    ceiling: u64,
}

impl BlockSet {
    fn new(bound: u64) -> BlockSet {
        let mut levels = Vec::new();
        let mut bits = bound.max(1);
        loop {
            let words = bits.div_ceil(64);
            levels.push(vec![0u64; usize::try_from(words).unwrap_or(usize::MAX)]);
            if words == 1 {
                break;
            }
            bits = words;
        }
        BlockSet { levels, bound, ceiling: 0 }
    }

    fn insert(&mut self, mut i: u64) {
        self.ceiling = self.ceiling.max(i);
        for level in &mut self.levels {
            let word = &mut level[(i / 64) as usize];
            let was_empty = *word == 0;
            *word |= 1 << (i % 64);
            if !was_empty {
                return;
            }
            i /= 64;
        }
    }

    fn contains(&self, i: u64) -> bool {
        i < self.bound && self.levels[0][(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// Removes `i`; false if it was not a member.
    fn remove(&mut self, i: u64) -> bool {
        if !self.clear(i) {
            return false;
        }
        if self.ceiling == i {
            self.ceiling = i.saturating_sub(1);
        }
        true
    }

    fn clear(&mut self, mut i: u64) -> bool {
        if i >= self.bound {
            return false;
        }
        for (l, level) in self.levels.iter_mut().enumerate() {
            let word = &mut level[(i / 64) as usize];
            let bit = 1 << (i % 64);
            if l == 0 && *word & bit == 0 {
                return false;
            }
            *word &= !bit;
            if *word != 0 {
                return true;
            }
            i /= 64;
        }
        true
    }

    /// The largest member at or below `i`.
    fn last_at_or_below(&mut self, i: u64) -> Option<u64> {
        if i < self.ceiling {
            return self.search(i);
        }
        // A search from the ceiling finds the largest member: the ceiling comes down to it.
        let found = self.search(self.ceiling);
        self.ceiling = found.unwrap_or(0);
        found
    }

    /// `last_at_or_below` through the levels.
    fn search(&self, i: u64) -> Option<u64> {
        let mut i = i.min(self.bound.checked_sub(1)?);
        let mut level = 0;
        // Up: the first level whose word holding `i` has a member at or below it.
        loop {
            let word = self.levels.get(level)?[(i / 64) as usize] & (u64::MAX >> (63 - i % 64));
            if word != 0 {
                i = (i & !63) + 63 - word.leading_zeros() as u64;
                break;
            }
            // Nothing here: the previous word's members, one level up.
            i = (i / 64).checked_sub(1)?;
            level += 1;
        }
        // Down: the highest member under each summary bit.
        while level > 0 {
            level -= 1;
            let word = self.levels[level][i as usize];
            i = i * 64 + 63 - word.leading_zeros() as u64;
        }
        Some(i)
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.levels[0].iter().zip(0u64..).flat_map(|(&w, n)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as u64;
                w &= w - 1;
                Some(n * 64 + b)
            })
        })
    }

    fn memory_usage(&self) -> usize {
        self.levels.iter().map(|l| l.capacity() * 8).sum()
    }
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

    /// The allocation rule stated plainly over a list of free blocks: the highest zone, then
    /// the smallest order, then the highest block, wholly inside the allowed frames.
    struct Reference {
        blocks: std::collections::BTreeSet<(u64, u32)>,
        nodes: Vec<u64>,
    }

    impl Reference {
        fn pick(&self, order: u32, lo: u64, hi: u64) -> Option<(u64, u32)> {
            self.blocks
                .iter()
                .filter(|&&(s, o)| o >= order && s >= lo && s.checked_add(1 << o).is_some_and(|e| e <= hi))
                .max_by_key(|&&(s, o)| (zone(s), std::cmp::Reverse(o), s))
                .copied()
        }

        fn alloc(&mut self, order: u32, c: Constraint) -> Option<u64> {
            let node =
                c.node.and_then(|n| Some((*self.nodes.get(n as usize)?, *self.nodes.get(n as usize + 1)?)));
            let mut found = node.and_then(|(lo, hi)| self.pick(order, lo, hi.min(c.limit)));
            if c.exact && c.node.is_some() && node.is_none() {
                return None;
            }
            if found.is_none() && (!c.exact || c.node.is_none()) {
                found = self.pick(order, 0, c.limit);
            }
            let (s, o) = found?;
            self.blocks.remove(&(s, o));
            // Halve the block down to the request, keeping each lower half free.
            for cur in (order..o).rev() {
                self.blocks.insert((s + (1 << o) - (2 << cur), cur));
            }
            Some(s + (1 << o) - (1 << order))
        }

        fn free(&mut self, mfn: u64, order: u32) {
            let node = self.nodes.partition_point(|&s| s <= mfn) - 1;
            let (nlo, nhi) = (self.nodes[node], self.nodes[node + 1]);
            let (mut at, mut o) = (mfn, order);
            while o < MAX_ORDER {
                let merged = at & !(1 << o);
                if merged < nlo
                    || merged + (2 << o) > nhi
                    || !one_zone(merged, o + 1)
                    || !self.blocks.remove(&(at ^ (1 << o), o))
                {
                    break;
                }
                at = merged;
                o += 1;
            }
            self.blocks.insert((at, o));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// The free lists by zone and order pick exactly the block the rule names, and free
        /// and merge alike, through any sequence of allocations (any order, address limit and
        /// node) and frees.
        #[test]
        fn same_choices_as_the_rule(
            frames in 1u64..5000,
            nodes in 1u8..4,
            ops in proptest::collection::vec(
                (0u32..12, 0u32..14, 0u8..5, proptest::bool::ANY, 0usize..64, 1usize..12),
                1..200,
            ),
        ) {
            let mut b = Buddy::new(frames, nodes);
            let mut r = Reference { blocks: b.blocks().collect(), nodes: b.nodes.clone() };
            let mut held: Vec<(u64, u32)> = Vec::new();
            for (order, bits, node, exact, pick, times) in ops {
                if pick % 3 == 0 && !held.is_empty() {
                    let (m, o) = held.swap_remove(pick % held.len());
                    b.free(m, o);
                    r.free(m, o);
                } else {
                    // The same request several times over, as a populate makes it.
                    let limit = if bits == 0 { u64::MAX } else { 1u64 << bits };
                    let c = Constraint { limit, node: (node < 4).then_some(node), exact };
                    for _ in 0..times {
                        let got = b.alloc(order, c);
                        proptest::prop_assert_eq!(got, r.alloc(order, c));
                        held.extend(got.map(|m| (m, order)));
                    }
                }
                let mut now: Vec<_> = b.blocks().collect();
                now.sort();
                proptest::prop_assert_eq!(&now, &r.blocks.iter().copied().collect::<Vec<_>>());
                proptest::prop_assert_eq!(b.free_frames(), r.blocks.iter().map(|&(_, o)| 1u64 << o).sum::<u64>());
            }
        }
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
