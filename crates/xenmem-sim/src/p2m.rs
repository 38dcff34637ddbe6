//! One domain's P2M: GFN → entry, as a radix tree of page-sized tables allocated on demand,
//! the shape of Xen's own P2M (four levels of 512 entries cover a 36-bit GFN space).
//!
//! An entry is one `u64`: the machine frame and what kind of mapping it is. Memory grows with
//! the GFNs ever mapped (a 4 KiB leaf per 512 GFNs touched), not with the address space. This
//! module is a data structure only: it takes no references and knows no domains; the
//! architecture code in `crate::physmap` decides what a change means.

/// GFN bits the tree covers.
pub const GFN_BITS_MAX: u32 = 36;
const FANOUT: usize = 512;

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
        };
        Entry((mfn << 3) | tag)
    }

    pub(crate) const fn kind(self) -> Option<Kind> {
        match self.0 & 7 {
            1 => Some(Kind::Ram),
            2 => Some(Kind::Foreign),
            3 => Some(Kind::XenHeap),
            4 => Some(Kind::Mmio),
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

/// The tree.
pub(crate) struct P2m {
    root: Box<Dir<Dir<Dir<Leaf>>>>,
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

impl P2m {
    pub(crate) fn new() -> P2m {
        P2m { root: Dir::new(), tables: 1, entries: 0, max_mapped: 0 }
    }

    /// The entry at `gfn`.
    pub(crate) fn get(&self, gfn: u64) -> Entry {
        if !in_range(gfn) {
            return Entry::EMPTY;
        }
        let (a, b, c, d) = split(gfn);
        self.root.slots[a]
            .as_ref()
            .and_then(|l3| l3.slots[b].as_ref())
            .and_then(|l2| l2.slots[c].as_ref())
            .map_or(Entry::EMPTY, |leaf| Entry(leaf[d]))
    }

    fn leaf_mut(&mut self, gfn: u64, create: bool) -> Option<&mut Leaf> {
        let (a, b, c, _) = split(gfn);
        let tables = &mut self.tables;
        let l3 = &mut self.root.slots[a];
        if l3.is_none() {
            if !create {
                return None;
            }
            *l3 = Some(Dir::new());
            *tables += 1;
        }
        let l2 = &mut l3.as_mut()?.slots[b];
        if l2.is_none() {
            if !create {
                return None;
            }
            *l2 = Some(Dir::new());
            *tables += 1;
        }
        let leaf = &mut l2.as_mut()?.slots[c];
        if leaf.is_none() {
            if !create {
                return None;
            }
            *leaf = Some(Box::new([0; FANOUT]));
            *tables += 1;
        }
        leaf.as_deref_mut()
    }

    /// Sets `gfn` to `e` and returns what was there. A GFN beyond the tree is left alone
    /// (callers check the range first).
    pub(crate) fn set(&mut self, gfn: u64, e: Entry) -> Entry {
        if !in_range(gfn) {
            return Entry::EMPTY;
        }
        let Some(leaf) = self.leaf_mut(gfn, !e.is_empty()) else { return Entry::EMPTY };
        let old = Entry(std::mem::replace(&mut leaf[(gfn as usize) & (FANOUT - 1)], e.0));
        self.entries = self.entries + (!e.is_empty()) as u64 - (!old.is_empty()) as u64;
        if !e.is_empty() && gfn > self.max_mapped {
            self.max_mapped = gfn;
        }
        old
    }

    /// Maps `n` GFNs from `gfn` to `kind` frames from `first_mfn` on, calling `old` for every
    /// non-empty entry replaced. The fast path of populate: one leaf lookup per 512 GFNs.
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
            let off = (at as usize) & (FANOUT - 1);
            let chunk = (n - done).min((FANOUT - off) as u64) as usize;
            let Some(leaf) = self.leaf_mut(at, true) else { return };
            let mut added = 0u64;
            for (i, slot) in leaf[off..off + chunk].iter_mut().enumerate() {
                let prev = Entry(*slot);
                *slot = Entry::new(kind, first_mfn + done + i as u64).0;
                if prev.is_empty() {
                    added += 1;
                } else {
                    old(at + i as u64, prev);
                }
            }
            self.entries += added;
            done += chunk as u64;
        }
        let last = gfn + n - 1;
        if n > 0 && last > self.max_mapped {
            self.max_mapped = last;
        }
    }

    /// Non-empty entries from `gfn` on, in GFN order.
    pub(crate) fn iter_from(&self, gfn: u64) -> impl Iterator<Item = (u64, Entry)> + '_ {
        let (a0, b0, c0, d0) = split(gfn.min((1 << GFN_BITS_MAX) - 1));
        let start = if in_range(gfn) { gfn } else { u64::MAX };
        self.root
            .slots
            .iter()
            .enumerate()
            .skip(a0)
            .flat_map(move |(a, l3)| {
                l3.iter().flat_map(move |l3| {
                    l3.slots.iter().enumerate().skip(if a == a0 { b0 } else { 0 }).flat_map(move |(b, l2)| {
                        l2.iter().flat_map(move |l2| {
                            let first = a == a0 && b == b0;
                            l2.slots.iter().enumerate().skip(if first { c0 } else { 0 }).flat_map(
                                move |(c, leaf)| {
                                    let first = first && c == c0;
                                    leaf.iter().flat_map(move |leaf| {
                                        let base =
                                            ((a as u64) << 27) | ((b as u64) << 18) | ((c as u64) << 9);
                                        leaf.iter()
                                            .enumerate()
                                            .skip(if first { d0 } else { 0 })
                                            .filter(|(_, &e)| e != 0)
                                            .map(move |(d, &e)| (base | d as u64, Entry(e)))
                                    })
                                },
                            )
                        })
                    })
                })
            })
            .filter(move |&(g, _)| g >= start)
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
        self.root = Dir::new();
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
}
