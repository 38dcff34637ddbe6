//! One domain's P2M: GFN → entry, as a radix tree of page-sized tables allocated on demand,
//! the shape of Xen's own P2M (four levels of 512 entries cover a 36-bit GFN space), with
//! 2 MiB superpage entries as Xen uses them: 512 GFNs mapping 512 aligned, consecutive frames
//! of one kind take one word, and are split into a 4 KiB table only when one of them changes.
//!
//! An entry is one `u64`: the machine frame and what kind of mapping it is. Memory grows with
//! the GFNs ever mapped (at most a 4 KiB table per 512 GFNs touched), not with the address
//! space. This module is a data structure only: it takes no references and knows no domains;
//! the architecture code in `crate::physmap` decides what a change means.

/// GFN bits the tree covers.
pub const GFN_BITS_MAX: u32 = 36;
const FANOUT: usize = 512;
const SUPER: u64 = FANOUT as u64;

/// What an entry maps, in Xen's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// One of the domain's own heap pages (`p2m_ram_rw`).
    Ram,
    /// A page owned by someone else, mapped with a reference held by this entry
    /// (`p2m_map_foreign`): `gmfn_foreign` batches and acquire_resource frames.
    Foreign,
    /// One of the domain's own Xen heap pages, shared info or a grant frame (`p2m_ram_rw` on a
    /// xenheap page).
    XenHeap,
    /// A device frame (`p2m_mmio_direct`).
    Mmio,
    /// Populate-on-demand (`p2m_populate_on_demand`, x86 HVM): no frame yet; one comes from
    /// the domain's PoD cache when the GFN is first used.
    Pod,
}

/// A P2M entry: `mfn << 3 | kind`, 0 for an empty slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct Entry(u64);

impl Entry {
    pub(crate) const EMPTY: Entry = Entry(0);

    pub(crate) const fn new(kind: Kind, mfn: u64) -> Entry {
        let tag = match kind {
            Kind::Ram => 1,
            Kind::Foreign => 2,
            Kind::XenHeap => 3,
            Kind::Mmio => 4,
            Kind::Pod => 5,
        };
        Entry((mfn << 3) | tag)
    }

    pub(crate) const fn kind(self) -> Option<Kind> {
        match self.0 & 7 {
            1 => Some(Kind::Ram),
            2 => Some(Kind::Foreign),
            3 => Some(Kind::XenHeap),
            4 => Some(Kind::Mmio),
            5 => Some(Kind::Pod),
            _ => None,
        }
    }

    pub(crate) const fn mfn(self) -> u64 {
        self.0 >> 3
    }

    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Xen's `p2m_is_special`: foreign and MMIO entries, which only their own paths may change.
    pub(crate) fn is_special(self) -> bool {
        matches!(self.kind(), Some(Kind::Foreign | Kind::Mmio))
    }

    /// The entry `i` frames further on (within a superpage).
    const fn plus(self, i: u64) -> Entry {
        Entry(self.0 + (i << 3))
    }
}

type Leaf = [u64; FANOUT];

struct Dir<T> {
    slots: [Option<Box<T>>; FANOUT],
}

impl<T> Dir<T> {
    fn new() -> Box<Dir<T>> {
        Box::new(Dir { slots: [const { None }; FANOUT] })
    }
}

/// The last directory level: each slot is empty, a 4 KiB table, or a superpage (the entry of
/// its first GFN, in `supers`, allocated with the first superpage).
struct L2 {
    leaves: [Option<Box<Leaf>>; FANOUT],
    supers: Option<Box<Leaf>>,
}

impl L2 {
    fn new() -> Box<L2> {
        Box::new(L2 { leaves: [const { None }; FANOUT], supers: None })
    }

    fn superpage(&self, c: usize) -> Entry {
        Entry(self.supers.as_ref().map_or(0, |s| s[c]))
    }
}

/// The tree.
pub(crate) struct P2m {
    /// The top table, inline: one pointer fewer on every walk.
    root: Dir<Dir<L2>>,
    tables: usize,
    entries: u64,
    max_mapped: u64,
}

fn split(gfn: u64) -> (usize, usize, usize, usize) {
    let i = |shift: u32| ((gfn >> shift) as usize) & (FANOUT - 1);
    (i(27), i(18), i(9), i(0))
}

fn in_range(gfn: u64) -> bool {
    gfn >> GFN_BITS_MAX == 0
}

/// The last-level directory for `gfn`, creating the directories on the way (counted in
/// `tables`).
#[inline]
fn l2_walk<'a>(root: &'a mut Dir<Dir<L2>>, tables: &mut usize, gfn: u64) -> &'a mut L2 {
    let (a, b, _, _) = split(gfn);
    let l3 = root.slots[a].get_or_insert_with(|| new_table(tables, Dir::new));
    l3.slots[b].get_or_insert_with(|| new_table(tables, L2::new))
}

/// A new table, counted. Out of line: the walks that find their tables stay short.
#[cold]
#[inline(never)]
fn new_table<T>(tables: &mut usize, make: fn() -> Box<T>) -> Box<T> {
    *tables += 1;
    make()
}

/// The 4 KiB table for slot `c` of `l2`, made from the superpage there (or empty).
#[cold]
#[inline(never)]
fn new_leaf(l2: &mut L2, c: usize, tables: &mut usize) -> Box<Leaf> {
    *tables += 1;
    let s = l2.superpage(c);
    let mut leaf: Box<Leaf> = Box::new([0; FANOUT]);
    if !s.is_empty() {
        for (i, slot) in leaf.iter_mut().enumerate() {
            *slot = s.plus(i as u64).0;
        }
        if let Some(sp) = l2.supers.as_mut() {
            sp[c] = 0;
        }
    }
    leaf
}

impl P2m {
    pub(crate) fn new() -> P2m {
        P2m { root: Dir { slots: [const { None }; FANOUT] }, tables: 1, entries: 0, max_mapped: 0 }
    }

    fn l2(&self, gfn: u64) -> Option<&L2> {
        let (a, b, _, _) = split(gfn);
        self.root.slots[a].as_ref()?.slots[b].as_deref()
    }

    fn l2_mut(&mut self, gfn: u64) -> &mut L2 {
        let P2m { root, tables, .. } = self;
        l2_walk(root, tables, gfn)
    }

    /// The entry at `gfn`.
    #[inline]
    pub(crate) fn get(&self, gfn: u64) -> Entry {
        if !in_range(gfn) {
            return Entry::EMPTY;
        }
        let (_, _, c, d) = split(gfn);
        let Some(l2) = self.l2(gfn) else { return Entry::EMPTY };
        match &l2.leaves[c] {
            Some(leaf) => Entry(leaf[d]),
            None => {
                let s = l2.superpage(c);
                if s.is_empty() {
                    s
                } else {
                    s.plus(d as u64)
                }
            }
        }
    }

    /// The 4 KiB table for `gfn`'s 512 GFNs, splitting a superpage there into one.
    #[inline]
    fn leaf_mut(&mut self, gfn: u64) -> &mut Leaf {
        let (_, _, c, _) = split(gfn);
        let P2m { root, tables, .. } = self;
        let l2 = l2_walk(root, tables, gfn);
        if l2.leaves[c].is_none() {
            let leaf = new_leaf(l2, c, tables);
            l2.leaves[c] = Some(leaf);
        }
        l2.leaves[c].get_or_insert_with(|| Box::new([0; FANOUT]))
    }

    /// The 4 KiB table for `gfn`'s 512 GFNs if there is one (no superpage split, no table
    /// made).
    #[inline]
    fn leaf_if_any(&mut self, gfn: u64) -> Option<&mut Leaf> {
        let (a, b, c, _) = split(gfn);
        self.root.slots[a].as_mut()?.slots[b].as_mut()?.leaves[c].as_deref_mut()
    }

    /// Clears `gfn` if it holds a foreign entry in a 4 KiB table and `take` accepts its frame;
    /// the frame, or `None` with nothing changed. One walk, for unmapping foreign pages.
    #[inline]
    pub(crate) fn take_foreign(&mut self, gfn: u64, take: impl FnOnce(u64) -> bool) -> Option<u64> {
        if !in_range(gfn) {
            return None;
        }
        let slot = &mut self.leaf_if_any(gfn)?[(gfn as usize) & (FANOUT - 1)];
        let e = Entry(*slot);
        if e.kind() != Some(Kind::Foreign) || !take(e.mfn()) {
            return None;
        }
        *slot = 0;
        self.entries -= 1;
        Some(e.mfn())
    }

    /// Sets `gfn` to `e` and returns what was there. A GFN beyond the tree is left alone
    /// (callers check the range first).
    #[inline]
    pub(crate) fn set(&mut self, gfn: u64, e: Entry) -> Entry {
        if !in_range(gfn) {
            return Entry::EMPTY;
        }
        let i = (gfn as usize) & (FANOUT - 1);
        if e.is_empty() {
            // Clearing makes no table: clear in place, or split a superpage, or do nothing.
            let old = if let Some(leaf) = self.leaf_if_any(gfn) {
                Entry(std::mem::take(&mut leaf[i]))
            } else if self.get(gfn).is_empty() {
                return Entry::EMPTY;
            } else {
                Entry(std::mem::take(&mut self.leaf_mut(gfn)[i]))
            };
            self.entries -= (!old.is_empty()) as u64;
            return old;
        }
        let old = Entry(std::mem::replace(&mut self.leaf_mut(gfn)[i], e.0));
        self.entries += old.is_empty() as u64;
        if gfn > self.max_mapped {
            self.max_mapped = gfn;
        }
        old
    }

    /// Sets `gfn` to the non-empty `e` if nothing is mapped there, in one walk; false, with
    /// nothing changed, if something is (or `gfn` is beyond the tree). The common case of
    /// every mapping operation, which must look at what is in the way before it writes.
    #[inline]
    pub(crate) fn fill_empty(&mut self, gfn: u64, e: Entry) -> bool {
        if !in_range(gfn) || e.is_empty() {
            return false;
        }
        let Some(leaf) = self.leaf_if_any(gfn) else { return self.fill_empty_new_leaf(gfn, e) };
        let slot = &mut leaf[(gfn as usize) & (FANOUT - 1)];
        if *slot != 0 {
            return false;
        }
        *slot = e.0;
        self.filled(gfn);
        true
    }

    /// `fill_empty` where `gfn` has no 4 KiB table: a superpage there is in the way;
    /// otherwise a table is made. Out of line: once per 512 GFNs.
    #[cold]
    #[inline(never)]
    fn fill_empty_new_leaf(&mut self, gfn: u64, e: Entry) -> bool {
        let (_, _, c, d) = split(gfn);
        let P2m { root, tables, .. } = self;
        let l2 = l2_walk(root, tables, gfn);
        if !l2.superpage(c).is_empty() {
            return false;
        }
        let mut leaf = new_leaf(l2, c, tables);
        leaf[d] = e.0;
        l2.leaves[c] = Some(leaf);
        self.filled(gfn);
        true
    }

    /// An empty `gfn` was just filled.
    #[inline]
    fn filled(&mut self, gfn: u64) {
        self.entries += 1;
        if gfn > self.max_mapped {
            self.max_mapped = gfn;
        }
    }

    /// Maps `n` GFNs from `gfn` to `kind` frames from `first_mfn` on, calling `old` for every
    /// non-empty entry replaced. The fast path of populate: an aligned run of 512 GFNs onto
    /// 512 aligned frames becomes one superpage entry, as Xen's `p2m_set_entry` picks a 2 MiB
    /// mapping for it.
    pub(crate) fn set_run(
        &mut self,
        gfn: u64,
        n: u64,
        kind: Kind,
        first_mfn: u64,
        mut old: impl FnMut(u64, Entry),
    ) {
        let mut done = 0u64;
        while done < n {
            let at = gfn + done;
            if !in_range(at) {
                return;
            }
            let mfn = first_mfn + done;
            let off = (at as usize) & (FANOUT - 1);
            let chunk = (n - done).min((FANOUT - off) as u64) as usize;
            if chunk == FANOUT && mfn % SUPER == 0 {
                self.set_superpage(at, Entry::new(kind, mfn), &mut old);
            } else {
                let leaf = self.leaf_mut(at);
                let mut added = 0u64;
                for (i, slot) in leaf[off..off + chunk].iter_mut().enumerate() {
                    let prev = Entry(*slot);
                    *slot = Entry::new(kind, mfn + i as u64).0;
                    if prev.is_empty() {
                        added += 1;
                    } else {
                        old(at + i as u64, prev);
                    }
                }
                self.entries += added;
            }
            done += chunk as u64;
        }
        let last = gfn + n - 1;
        if n > 0 && last > self.max_mapped {
            self.max_mapped = last;
        }
    }

    fn set_superpage(&mut self, at: u64, e: Entry, old: &mut impl FnMut(u64, Entry)) {
        let (_, _, c, _) = split(at);
        let mut freed_table = false;
        let mut replaced = 0u64;
        let l2 = self.l2_mut(at);
        if let Some(leaf) = l2.leaves[c].take() {
            freed_table = true;
            for (i, &p) in leaf.iter().enumerate() {
                if p != 0 {
                    replaced += 1;
                    old(at + i as u64, Entry(p));
                }
            }
        } else {
            let s = l2.superpage(c);
            if !s.is_empty() {
                replaced = SUPER;
                for i in 0..SUPER {
                    old(at + i, s.plus(i));
                }
            }
        }
        let new_array = l2.supers.is_none();
        l2.supers.get_or_insert_with(|| Box::new([0; FANOUT]))[c] = e.0;
        // The first superpage of this directory brings its array; a replaced table goes.
        self.tables = self.tables + new_array as usize - freed_table as usize;
        self.entries = self.entries + SUPER - replaced;
    }

    /// The first non-empty entry among the `n` GFNs from `gfn` that `pick` accepts, one table
    /// lookup per 512 GFNs (tables never created are skipped whole).
    pub(crate) fn find_in_run(
        &self,
        gfn: u64,
        n: u64,
        mut pick: impl FnMut(Entry) -> bool,
    ) -> Option<(u64, Entry)> {
        let mut done = 0u64;
        while done < n {
            let at = gfn.checked_add(done)?;
            if !in_range(at) {
                return None;
            }
            let (_, _, c, off) = split(at);
            let chunk = (n - done).min((FANOUT - off) as u64) as usize;
            if let Some(l2) = self.l2(at) {
                match &l2.leaves[c] {
                    Some(leaf) => {
                        for (i, &e) in leaf[off..off + chunk].iter().enumerate() {
                            if e != 0 && pick(Entry(e)) {
                                return Some((at + i as u64, Entry(e)));
                            }
                        }
                    }
                    None => {
                        let s = l2.superpage(c);
                        if !s.is_empty() {
                            for i in off..off + chunk {
                                if pick(s.plus(i as u64)) {
                                    return Some((at + (i - off) as u64, s.plus(i as u64)));
                                }
                            }
                        }
                    }
                }
            }
            done += chunk as u64;
        }
        None
    }

    /// The first non-empty entry at or after `gfn`.
    fn next_from(&self, mut gfn: u64) -> Option<(u64, Entry)> {
        while in_range(gfn) {
            let (a, b, c, d) = split(gfn);
            let Some(l3) = self.root.slots[a].as_ref() else {
                gfn = ((a as u64) + 1) << 27;
                continue;
            };
            let Some(l2) = l3.slots[b].as_ref() else {
                gfn = (gfn | ((1 << 18) - 1)) + 1;
                continue;
            };
            match &l2.leaves[c] {
                Some(leaf) => {
                    if let Some(i) = leaf[d..].iter().position(|&e| e != 0) {
                        return Some((gfn + i as u64, Entry(leaf[d + i])));
                    }
                }
                None => {
                    let s = l2.superpage(c);
                    if !s.is_empty() {
                        return Some((gfn, s.plus(d as u64)));
                    }
                }
            }
            gfn = (gfn | (SUPER - 1)) + 1;
        }
        None
    }

    /// Non-empty entries from `gfn` on, in GFN order.
    pub(crate) fn iter_from(&self, gfn: u64) -> impl Iterator<Item = (u64, Entry)> + '_ {
        let mut next = self.next_from(gfn);
        std::iter::from_fn(move || {
            let cur = next?;
            next = cur.0.checked_add(1).and_then(|g| self.next_from(g));
            Some(cur)
        })
    }

    /// All non-empty entries, in GFN order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, Entry)> + '_ {
        self.iter_from(0)
    }

    /// Non-empty entries.
    pub(crate) fn len(&self) -> u64 {
        self.entries
    }

    /// The highest GFN ever mapped (`max_mapped_pfn` / `max_mapped_gfn`: never lowered by
    /// removals), 0 when nothing ever was.
    pub(crate) fn max_mapped(&self) -> u64 {
        self.max_mapped
    }

    /// Drops every table (domain teardown); the high-water mark stays.
    pub(crate) fn clear(&mut self) {
        self.root = Dir { slots: [const { None }; FANOUT] };
        self.tables = 1;
        self.entries = 0;
    }

    /// Bytes of model memory the tree takes (every table is one 4 KiB page).
    pub(crate) fn memory_usage(&self) -> usize {
        self.tables * FANOUT * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_ordered() {
        let mut p = P2m::new();
        assert_eq!(p.get(5), Entry::EMPTY);
        p.set(0xF_FFFF_FFFF, Entry::new(Kind::Ram, 7));
        p.set(3, Entry::new(Kind::Mmio, 9));
        assert_eq!(p.len(), 2);
        assert_eq!(p.memory_usage(), 7 * 4096);
        let all: Vec<_> = p.iter().map(|(g, e)| (g, e.kind(), e.mfn())).collect();
        assert_eq!(all, vec![(3, Some(Kind::Mmio), 9), (0xF_FFFF_FFFF, Some(Kind::Ram), 7)]);
        assert_eq!(p.max_mapped(), 0xF_FFFF_FFFF);
        assert_eq!(p.set(3, Entry::EMPTY).kind(), Some(Kind::Mmio));
        assert_eq!(p.len(), 1);
        assert_eq!(p.set(1 << 36, Entry::new(Kind::Ram, 1)), Entry::EMPTY);
        assert_eq!(p.get(1 << 36), Entry::EMPTY);
    }

    #[test]
    fn runs_cross_leaves() {
        let mut p = P2m::new();
        p.set(600, Entry::new(Kind::Foreign, 1));
        let mut olds = Vec::new();
        p.set_run(500, 200, Kind::Ram, 1000, |g, e| olds.push((g, e.kind())));
        assert_eq!(olds, vec![(600, Some(Kind::Foreign))]);
        assert_eq!(p.len(), 200);
        assert_eq!(p.get(699).mfn(), 1199);
        assert_eq!(p.iter_from(650).next().map(|(g, _)| g), Some(650));
        assert_eq!(p.iter_from(700).next(), None);
    }

    #[test]
    fn superpages_split_on_change() {
        let mut p = P2m::new();
        p.set(1024 + 7, Entry::new(Kind::Foreign, 3));
        let mut olds = Vec::new();
        // An aligned run onto aligned frames: one superpage, replacing the table.
        p.set_run(1024, 512, Kind::Ram, 4096, |g, e| olds.push((g, e.kind())));
        assert_eq!(olds, vec![(1024 + 7, Some(Kind::Foreign))]);
        assert_eq!(p.len(), 512);
        assert_eq!(p.get(1024 + 100), Entry::new(Kind::Ram, 4196));
        // Root, L3, L2 and the superpage array: no 4 KiB table for the 512 GFNs.
        assert_eq!(p.memory_usage(), 4 * 4096);
        assert_eq!(p.find_in_run(1000, 100, |e| e.mfn() == 4097), Some((1025, Entry::new(Kind::Ram, 4097))));
        // Changing one GFN splits it.
        assert_eq!(p.set(1024 + 5, Entry::EMPTY), Entry::new(Kind::Ram, 4101));
        assert_eq!(p.len(), 511);
        assert_eq!(p.get(1024 + 6), Entry::new(Kind::Ram, 4102));
        assert_eq!(p.iter().count(), 511);
        // Replacing a whole superpage reports all 512 old entries.
        p.set_run(2048, 512, Kind::Ram, 8192, |_, _| {});
        let mut n = 0;
        p.set_run(2048, 512, Kind::XenHeap, 0, |_, _| n += 1);
        assert_eq!(n, 512);
        assert_eq!(p.len(), 1023);
        let first: Vec<_> = p.iter_from(2047).take(2).collect();
        assert_eq!(first, vec![(2048, Entry::new(Kind::XenHeap, 0)), (2049, Entry::new(Kind::XenHeap, 1))]);
    }
}
