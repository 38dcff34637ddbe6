//! Machine frames: who owns each one, how many references it holds, and what it contains.
//!
//! One 4-byte record per frame of RAM (owner with Xen's `PGC_allocated` bit, and the count of
//! references beyond the allocation one), so the table costs 4 bytes a frame whatever is
//! mapped. Contents are backed only once written: a frame never written reads as zeros and
//! costs nothing. This module knows nothing of domains or P2Ms; the machine (`crate::mm`)
//! decides when a count reaching zero frees a frame.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Xen's page size.
pub const PAGE_SIZE: usize = 4096;

/// A frame's contents.
pub(crate) type Page = [u8; PAGE_SIZE];

/// The owner of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    /// In the allocator.
    Free,
    /// A Xen heap page (shared info, grant frames); which domain it is shared with lives in
    /// the machine's xenheap table.
    Xen,
    /// A domain heap page of this domain.
    Domain(u16),
}

const OWNER_FREE: u16 = 0x7FF4; // DOMID_INVALID
const OWNER_XEN: u16 = 0x7FF2; // DOMID_XEN
const ALLOCATED: u16 = 0x8000;
const REFS_SPILL: u16 = u16::MAX;

/// The owner an owner code names.
#[inline]
fn decode_owner(code: u16) -> Owner {
    match code & !ALLOCATED {
        OWNER_FREE => Owner::Free,
        OWNER_XEN => Owner::Xen,
        d => Owner::Domain(d),
    }
}

#[derive(Clone, Copy)]
struct FrameInfo {
    /// Owner id, with [`ALLOCATED`] set while the owner's allocation reference is held.
    owner: u16,
    /// References beyond the allocation one; [`REFS_SPILL`] means "look in the spill map".
    refs: u16,
}

/// A fast, deterministic hasher for frame numbers (the multiply-rotate of rustc's FxHasher).
#[derive(Default, Clone, Copy)]
pub(crate) struct FrameHasher(u64);

impl Hasher for FrameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u16(&mut self, v: u16) {
        self.write_u64(v as u64);
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// A hash map keyed by frame numbers.
pub(crate) type FrameMap<V> = HashMap<u64, V, BuildHasherDefault<FrameHasher>>;

/// The frame table and the contents of written frames.
pub(crate) struct FrameTable {
    info: Vec<FrameInfo>,
    spill: FrameMap<u32>,
    contents: FrameMap<Box<Page>>,
}

impl FrameTable {
    /// `frames` frames, all free and zero.
    pub(crate) fn new(frames: u64) -> FrameTable {
        let n = usize::try_from(frames).unwrap_or(usize::MAX);
        FrameTable {
            info: vec![FrameInfo { owner: OWNER_FREE, refs: 0 }; n],
            spill: FrameMap::default(),
            contents: FrameMap::default(),
        }
    }

    /// Frames of RAM.
    pub(crate) fn len(&self) -> u64 {
        self.info.len() as u64
    }

    /// `mfn_valid`: the frame is RAM the frame table describes.
    pub(crate) fn valid(&self, mfn: u64) -> bool {
        mfn < self.len()
    }

    #[inline]
    fn at(&self, mfn: u64) -> Option<&FrameInfo> {
        usize::try_from(mfn).ok().and_then(|i| self.info.get(i))
    }

    #[inline]
    fn at_mut(&mut self, mfn: u64) -> Option<&mut FrameInfo> {
        usize::try_from(mfn).ok().and_then(|i| self.info.get_mut(i))
    }

    /// The owner (Free for a frame that is not RAM).
    #[inline]
    pub(crate) fn owner(&self, mfn: u64) -> Owner {
        self.at(mfn).map_or(Owner::Free, |f| decode_owner(f.owner))
    }

    /// Whether the owner's allocation reference (`PGC_allocated`) is held.
    pub(crate) fn allocated(&self, mfn: u64) -> bool {
        self.at(mfn).is_some_and(|f| f.owner & ALLOCATED != 0)
    }

    /// References beyond the allocation one.
    pub(crate) fn refs(&self, mfn: u64) -> u32 {
        match self.at(mfn) {
            None => 0,
            Some(f) if f.refs == REFS_SPILL => self.spill.get(&mfn).copied().unwrap_or(0),
            Some(f) => f.refs as u32,
        }
    }

    /// Xen's `count_info` reference count: the allocation reference plus the others.
    pub(crate) fn count(&self, mfn: u64) -> u32 {
        self.refs(mfn).saturating_add(self.allocated(mfn) as u32)
    }

    /// Gives `n` free frames from `first` to `owner`, allocation reference held and no other.
    pub(crate) fn assign(&mut self, first: u64, n: u64, owner: Owner) {
        let code = match owner {
            Owner::Free => OWNER_FREE,
            Owner::Xen => OWNER_XEN,
            Owner::Domain(d) => d,
        } | ALLOCATED;
        let (Ok(lo), Ok(n)) = (usize::try_from(first), usize::try_from(n)) else { return };
        let hi = lo.saturating_add(n).min(self.info.len());
        if let Some(s) = self.info.get_mut(lo..hi) {
            s.fill(FrameInfo { owner: code, refs: 0 });
        }
    }

    /// Returns a frame to the free state and forgets its contents (the model scrubs freed
    /// frames so that every allocation reads as zeros; Xen only guarantees that for pages of
    /// dying domains).
    pub(crate) fn release(&mut self, mfn: u64) {
        if let Some(f) = self.at_mut(mfn) {
            *f = FrameInfo { owner: OWNER_FREE, refs: 0 };
        }
        self.spill.remove(&mfn);
        self.contents.remove(&mfn);
    }

    /// Drops the allocation reference.
    pub(crate) fn clear_allocated(&mut self, mfn: u64) {
        if let Some(f) = self.at_mut(mfn) {
            f.owner &= !ALLOCATED;
        }
    }

    /// Takes one more reference.
    pub(crate) fn get_ref(&mut self, mfn: u64) {
        let Some(f) = self.at_mut(mfn) else { return };
        if f.refs < REFS_SPILL - 1 {
            f.refs += 1;
            return;
        }
        self.get_ref_spilled(mfn);
    }

    /// `get_ref` for a count that no longer fits the record. Out of line: rare.
    #[cold]
    #[inline(never)]
    fn get_ref_spilled(&mut self, mfn: u64) {
        let Some(f) = self.at_mut(mfn) else { return };
        let now = if f.refs == REFS_SPILL { None } else { Some(f.refs as u32) };
        f.refs = REFS_SPILL;
        let slot = self.spill.entry(mfn).or_insert(now.unwrap_or(0));
        *slot = slot.saturating_add(1);
    }

    /// `page_get_owner_and_reference`'s frame-table half: if the frame is in use (its count is
    /// not zero), takes a reference and returns its owner. One lookup, for the hot paths.
    #[inline]
    pub(crate) fn reference(&mut self, mfn: u64) -> Option<Owner> {
        let f = self.at_mut(mfn)?;
        if f.owner & ALLOCATED == 0 && f.refs == 0 {
            return None;
        }
        let owner = decode_owner(f.owner);
        if f.refs < REFS_SPILL - 1 {
            f.refs += 1;
        } else {
            self.get_ref_spilled(mfn);
        }
        Some(owner)
    }

    /// Drops one reference (never below zero).
    pub(crate) fn put_ref(&mut self, mfn: u64) {
        self.drop_ref(mfn);
    }

    /// `put_page`'s frame-table half: drops one reference if there is one beyond the
    /// allocation reference, and says whether one was dropped and the count is now zero (the
    /// frame is to be freed). One lookup, for the hot paths.
    #[inline]
    pub(crate) fn drop_ref(&mut self, mfn: u64) -> Option<bool> {
        let f = self.at_mut(mfn)?;
        match f.refs {
            0 => None,
            REFS_SPILL => self.drop_ref_spilled(mfn),
            _ => {
                f.refs -= 1;
                Some(f.refs == 0 && f.owner & ALLOCATED == 0)
            }
        }
    }

    /// `drop_ref` for a count kept in the spill map. Out of line: rare.
    #[cold]
    #[inline(never)]
    fn drop_ref_spilled(&mut self, mfn: u64) -> Option<bool> {
        // A count in the spill map is at least `REFS_SPILL - 1`, so never zero.
        let left = self.spill.get(&mfn).copied()?.saturating_sub(1);
        let f = self.at_mut(mfn)?;
        if left < (REFS_SPILL - 1) as u32 {
            f.refs = left as u16;
            self.spill.remove(&mfn);
        } else {
            self.spill.insert(mfn, left);
        }
        let f = self.at(mfn)?;
        Some(f.refs == 0 && f.owner & ALLOCATED == 0)
    }

    /// Reads `buf.len()` bytes at `offset` of the frame (zeros if never written).
    pub(crate) fn read(&self, mfn: u64, offset: usize, buf: &mut [u8]) {
        let Some(end) = offset.checked_add(buf.len()).filter(|&e| e <= PAGE_SIZE) else { return };
        match self.contents.get(&mfn) {
            Some(page) => buf.copy_from_slice(&page[offset..end]),
            None => buf.fill(0),
        }
    }

    /// Writes `data` at `offset` of the frame, backing it on first write.
    pub(crate) fn write(&mut self, mfn: u64, offset: usize, data: &[u8]) {
        let Some(end) = offset.checked_add(data.len()).filter(|&e| e <= PAGE_SIZE) else { return };
        if data.iter().all(|&b| b == 0) && !self.contents.contains_key(&mfn) {
            return;
        }
        let page = self.contents.entry(mfn).or_insert_with(|| Box::new([0; PAGE_SIZE]));
        page[offset..end].copy_from_slice(data);
    }

    /// Zeroes the frame (`clear_domain_page`): it reads as zeros and needs no storage.
    pub(crate) fn scrub(&mut self, mfn: u64) {
        self.contents.remove(&mfn);
    }

    /// Whether the frame has backing storage.
    pub(crate) fn backed(&self, mfn: u64) -> bool {
        self.contents.contains_key(&mfn)
    }

    /// Every frame and its owner code, for scans (destruction, invariants).
    pub(crate) fn owned_by(&self, d: u16) -> impl Iterator<Item = u64> + '_ {
        self.info.iter().enumerate().filter(move |(_, f)| f.owner & !ALLOCATED == d).map(|(i, _)| i as u64)
    }

    /// Every frame's owner, in MFN order.
    pub(crate) fn owners(&self) -> impl Iterator<Item = (u64, Owner)> + '_ {
        (0..self.len()).map(|m| (m, self.owner(m)))
    }

    /// Bytes of model memory held by the table and the backed contents.
    pub(crate) fn memory_usage(&self) -> (usize, usize) {
        let table = self.info.capacity() * std::mem::size_of::<FrameInfo>()
            + self.spill.capacity() * (std::mem::size_of::<(u64, u32)>() + 1);
        let contents = self.contents.len() * PAGE_SIZE
            + self.contents.capacity() * (std::mem::size_of::<(u64, Box<Page>)>() + 1);
        (table, contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refcounts_spill_beyond_u16() {
        let mut t = FrameTable::new(4);
        t.assign(1, 1, Owner::Domain(3));
        for _ in 0..70_000 {
            t.get_ref(1);
        }
        assert_eq!(t.refs(1), 70_000);
        assert_eq!(t.count(1), 70_001);
        for _ in 0..70_000 {
            t.put_ref(1);
        }
        assert_eq!(t.refs(1), 0);
        assert!(t.spill.is_empty());
        assert_eq!(t.owner(1), Owner::Domain(3));
    }

    #[test]
    fn contents_are_lazy() {
        let mut t = FrameTable::new(2);
        let mut b = [1u8; 8];
        t.read(0, 4088, &mut b);
        assert_eq!(b, [0; 8]);
        t.write(0, 0, &[0; 16]);
        assert!(!t.backed(0));
        t.write(0, 4094, &[7, 8]);
        t.read(0, 4094, &mut b[..2]);
        assert_eq!(&b[..2], &[7, 8]);
        t.release(0);
        assert!(!t.backed(0));
    }
}
