//! x86's P2M operations (`xen/arch/x86/mm/p2m.c`, `physmap.c`, `mm.c`).
//!
//! What sets x86 apart: a PV domain is not translated (Xen's view of its P2M is the identity,
//! and "GFNs" it passes are MFNs); replacing an entry is refused where Arm replaces silently
//! (`p2m_add_page` crashes the domain rather than drop a foreign, grant or MMIO entry;
//! `set_typed_p2m_entry` likewise); add_to_physmap frees an ordinary RAM page it displaces and
//! *moves* a Xen heap page mapped elsewhere; only the hardware domain among translated domains
//! may map foreign pages.

use crate::error::errno::*;
use crate::frames::Owner;
use crate::machine::Machine;
use crate::p2m::{Entry, Kind};
use xenmem::abi::{
    DOMID_XEN, XENMAPSPACE_GMFN, XENMAPSPACE_GMFN_FOREIGN, XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO,
};

/// Offset of `arch.max_pfn` in a 64-bit x86 `struct shared_info`: 32 `vcpu_info` of 64
/// bytes, `evtchn_pending` and `evtchn_mask` (512 bytes each), `wc_version`, `wc_sec`,
/// `wc_nsec`, `wc_sec_hi` (4 each).
const SHARED_INFO_MAX_PFN: usize = 32 * 64 + 512 + 512 + 16;

/// `dom_xen`'s id for XSM checks.
const DOM_XEN: u16 = DOMID_XEN;

impl Machine {
    /// `guest_physmap_add_page`: PV records the pages' M2P (here, also the pseudo-physical map
    /// the guest's own P2M list would hold); translated goes through `p2m_add_page`.
    pub(super) fn x86_guest_physmap_add_page(
        &mut self,
        d: u16,
        gfn: u64,
        mfn: u64,
        order: u32,
    ) -> Result<(), i32> {
        let n = 1u64 << order;
        if !self.dom(d).translated {
            let dom = self.dom_mut(d);
            for i in 0..n {
                dom.pv_m2p.insert(mfn + i, gfn.wrapping_add(i));
            }
            if self.gfn_range_ok(gfn, n) {
                self.dom_mut(d).p2m.set_run(gfn, n, Kind::Ram, mfn, |_, _| {});
            }
            return Ok(());
        }
        self.x86_p2m_add_page(d, gfn, mfn, order)
    }

    /// `p2m_add_page(d, gfn, mfn, order, p2m_ram_rw)`: a special entry (foreign, MMIO) in the
    /// way crashes the domain and fails `-EPERM`; RAM in the way loses its M2P entry (the page
    /// stays allocated to the domain, unmapped); then the entries are written and the new
    /// pages' M2P set. One P2M leaf lookup per 512 pages for the check.
    pub(super) fn x86_p2m_add_page(&mut self, d: u16, gfn: u64, mfn: u64, order: u32) -> Result<(), i32> {
        let n = 1u64 << order;
        if n == 1 && self.x86_add_page_to_empty(d, gfn, mfn) {
            return Ok(());
        }
        let p2m = &self.dom(d).p2m;
        if p2m.find_in_run(gfn, n, Entry::is_special).is_some() {
            self.domain_crash(d);
            return Err(EPERM);
        }
        // RAM in the way loses its M2P entry when the new entries replace it
        // (`p2m_write_run`); a failure below leaves it as it was, as Xen's error path restores.
        self.x86_p2m_set_entry_check(d, gfn, n)?;
        let kind = self.own_kind(mfn);
        self.p2m_write_run(d, gfn, n, kind, mfn);
        self.xenheap_mapped(mfn, gfn, kind);
        Ok(())
    }

    /// A Xen heap page just mapped at `gfn` in its owner's P2M: its M2P entry.
    fn xenheap_mapped(&mut self, mfn: u64, gfn: u64, kind: Kind) {
        if kind == Kind::XenHeap {
            if let Some(x) = self.xenheap.get_mut(&mfn) {
                x.gfn = Some(gfn);
            }
        }
    }

    /// `guest_physmap_add_page`'s common case in one P2M walk: one page of a translated
    /// domain onto an empty GFN, where nothing is in the way and `p2m_set_entry`'s checks
    /// pass. False, with nothing changed, otherwise.
    #[inline]
    pub(super) fn x86_add_page_to_empty(&mut self, d: u16, gfn: u64, mfn: u64) -> bool {
        let dom = self.dom(d);
        if !dom.translated || dom.is_dying() || !self.gfn_range_ok(gfn, 1) {
            return false;
        }
        let kind = self.own_kind(mfn);
        if !self.dom_mut(d).p2m.fill_empty(gfn, Entry::new(kind, mfn)) {
            return false;
        }
        self.xenheap_mapped(mfn, gfn, kind);
        true
    }

    /// What `p2m_set_entry` refuses: a GFN beyond the P2M (`-ENOENT` from the page-table
    /// walk), and, in the model, a domain whose P2M was torn down (`-ENOMEM`: its paging pool
    /// is gone).
    #[inline]
    fn x86_p2m_set_entry_check(&self, d: u16, gfn: u64, n: u64) -> Result<(), i32> {
        if !self.gfn_range_ok(gfn, n) {
            return Err(self.gfn_range_errno());
        }
        if self.dom(d).is_dying() {
            return Err(ENOMEM);
        }
        Ok(())
    }

    /// `get_gfn(d, gfn)` (`P2M_ALLOC`): the entry at `gfn`, a PoD entry demand-populated
    /// first (`p2m_pod_demand_populate`; if that fails the PoD entry is what stays).
    fn x86_get_gfn(&mut self, d: u16, gfn: u64) -> Entry {
        let e = self.dom(d).p2m.get(gfn);
        if e.kind() == Some(Kind::Pod) && self.dom(d).translated && self.pod_demand_populate(d, gfn) {
            return self.dom(d).p2m.get(gfn);
        }
        e
    }

    /// `p2m_remove_page`: the entries must still map `mfn..` (`-EILSEQ` otherwise, for RAM
    /// and MMIO entries), then they are cleared.
    pub(super) fn x86_p2m_remove_page(&mut self, d: u16, gfn: u64, mfn: u64, order: u32) -> Result<(), i32> {
        let n = 1u64 << order;
        for i in 0..n {
            let e = self.dom(d).p2m.get(gfn.wrapping_add(i));
            let valid_type = matches!(e.kind(), Some(Kind::Ram | Kind::XenHeap | Kind::Mmio));
            if valid_type && (!self.frames.valid(mfn) || e.kind() == Some(Kind::Mmio) || e.mfn() != mfn + i) {
                return Err(EILSEQ);
            }
        }
        self.x86_p2m_set_entry_check(d, gfn, n)?;
        self.p2m_clear_run(d, gfn, n);
        Ok(())
    }

    /// `remove_from_physmap`'s work once its checks passed, for a translated domain:
    /// `get_page_from_gfn`, `guest_physmap_remove_page`, `put_page`, in one P2M lookup and one
    /// write. The entry `get_page_from_gfn` found is still there when `p2m_remove_page` looks
    /// (taking a reference changes no P2M), so its `-EILSEQ` check passes: the frame was just
    /// referenced, so it is valid, and the entry maps it. `None` for an entry of another kind
    /// (a hole, MMIO, populate-on-demand), which the full path answers.
    #[inline]
    pub(super) fn x86_remove_mapped(&mut self, d: u16, gfn: u64) -> Option<Result<(), i32>> {
        let dom = self.dom(d);
        if !dom.translated {
            return None;
        }
        let e = dom.p2m.get(gfn);
        let mfn = e.mfn();
        let referenced = match e.kind()? {
            Kind::Ram | Kind::XenHeap => self.get_page(mfn, d),
            Kind::Foreign => match self.page_get_owner_and_reference(mfn) {
                Some(o) if o != d => true,
                Some(_) => {
                    self.put_page(mfn);
                    false
                }
                None => false,
            },
            Kind::Mmio | Kind::Pod => return None,
        };
        if !referenced {
            return Some(Err(ENOENT));
        }
        let rc = self.x86_p2m_set_entry_check(d, gfn, 1);
        if rc.is_ok() {
            let old = self.dom_mut(d).p2m.set(gfn, Entry::EMPTY);
            self.settle_replaced(d, gfn, old);
        }
        self.put_page(mfn);
        Some(rc)
    }

    /// `remove_from_physmap`'s common case in one P2M walk: another domain's page,
    /// mapped foreign in a 4 KiB table of a translated domain that is not dying, at a GFN
    /// within the P2M. Takes the lookup's reference, clears the entry and gives the entry's
    /// reference back (never the last: the lookup's is held); the caller drops the lookup's.
    /// `None`, with nothing changed, in any other case.
    #[inline]
    pub(super) fn x86_take_foreign(&mut self, d: u16, gfn: u64) -> Option<u64> {
        if !self.gfn_range_ok(gfn, 1) {
            return None;
        }
        let Machine { frames, domains, .. } = self;
        let dom = domains.get_mut(&d)?;
        if !dom.translated || dom.is_dying() {
            return None;
        }
        let mfn = dom.p2m.take_foreign(gfn, |mfn| match frames.reference(mfn) {
            Some(Owner::Domain(o)) if o != d => true,
            // Referenced, so in use: giving it back frees nothing.
            Some(_) => {
                frames.drop_ref(mfn);
                false
            }
            None => false,
        })?;
        frames.drop_ref(mfn);
        Some(mfn)
    }

    /// `guest_remove_page` on x86: a hole is `-ENOENT`, direct MMIO `-EPERM`, a page that is
    /// not the domain's (foreign, another's) `-ENXIO`; otherwise unmapped and its allocation
    /// reference dropped. For PV the "GFN" is the MFN itself.
    pub(super) fn x86_guest_remove_page(&mut self, d: u16, gfn: u64) -> Result<(), i32> {
        let mfn = if self.dom(d).translated {
            let e = self.dom(d).p2m.get(gfn);
            match e.kind() {
                None => return Err(ENOENT),
                Some(Kind::Mmio) => return Err(EPERM),
                // get_gfn_query does not populate: a PoD entry has no valid MFN.
                Some(Kind::Pod) => return Err(EINVAL),
                Some(_) => e.mfn(),
            }
        } else {
            if !self.frames.valid(gfn) {
                return Err(EINVAL);
            }
            gfn
        };
        if !self.get_page(mfn, d) {
            return Err(ENXIO);
        }
        let rc = if self.dom(d).translated {
            self.x86_p2m_remove_page(d, gfn, mfn, 0)
        } else {
            self.pv_forget(d, mfn);
            Ok(())
        };
        if rc.is_ok() {
            self.put_page_alloc_ref(mfn);
        }
        self.put_page(mfn);
        rc
    }

    /// A PV page leaves the pseudo-physical map its owner's P2M list would show.
    fn pv_forget(&mut self, d: u16, mfn: u64) {
        let dom = self.dom_mut(d);
        if let Some(g) = dom.pv_m2p.remove(&mfn) {
            let e = dom.p2m.get(g);
            if e.kind() == Some(Kind::Ram) && e.mfn() == mfn {
                dom.p2m.set(g, crate::p2m::Entry::EMPTY);
            }
        }
    }

    /// `get_page_from_gfn` on x86 (`p2m_get_page_from_gfn`; PV: the GFN is the MFN).
    #[inline]
    pub(super) fn x86_get_page_from_gfn(&mut self, d: u16, gfn: u64) -> Option<(u64, Kind)> {
        let dom = self.dom(d);
        if !dom.translated {
            return self.pv_get_page(d, gfn);
        }
        let e = dom.p2m.get(gfn);
        let mfn = e.mfn();
        match e.kind()? {
            kind @ (Kind::Ram | Kind::XenHeap) => self.get_page(mfn, d).then_some((mfn, kind)),
            Kind::Foreign => match self.page_get_owner_and_reference(mfn) {
                Some(o) if o != d => Some((mfn, Kind::Foreign)),
                Some(_) => {
                    self.put_page(mfn);
                    None
                }
                None => None,
            },
            Kind::Mmio => None,
            Kind::Pod => self.pod_get_page(d, gfn),
        }
    }

    /// `get_page_from_gfn` for a PV domain: the GFN is the MFN. Out of line, as the rare
    /// cases below are, so the translated lookup stays short.
    #[cold]
    #[inline(never)]
    fn pv_get_page(&mut self, d: u16, gfn: u64) -> Option<(u64, Kind)> {
        (self.frames.valid(gfn) && self.get_page(gfn, d)).then_some((gfn, Kind::Ram))
    }

    /// `get_page_from_gfn` on a PoD entry: `P2M_ALLOC` populates it from the cache first.
    #[cold]
    #[inline(never)]
    fn pod_get_page(&mut self, d: u16, gfn: u64) -> Option<(u64, Kind)> {
        if !self.pod_demand_populate(d, gfn) {
            return None;
        }
        let e = self.dom(d).p2m.get(gfn);
        self.get_page(e.mfn(), d).then_some((e.mfn(), Kind::Ram))
    }

    /// x86 `xenmem_add_to_physmap_one` (`xen/arch/x86/mm/p2m.c`).
    pub(super) fn x86_add_to_physmap_one(
        &mut self,
        caller: u16,
        d: u16,
        space: u32,
        foreign: u16,
        idx: u64,
        gpfn: u64,
    ) -> Result<(), i32> {
        // The page to map, and a reference to drop at the end.
        let (mfn, held) = match space {
            XENMAPSPACE_SHARED_INFO => ((idx == 0).then(|| self.dom(d).shared_info), None),
            XENMAPSPACE_GRANT_TABLE => {
                let m = self.gnttab_map_frame_begin(d, idx)?;
                (Some(m), Some(m))
            }
            XENMAPSPACE_GMFN => {
                // get_gfn_unshare (P2M_ALLOC: a PoD entry is filled first, or the domain
                // crashed and nothing found) + get_page_from_mfn: one of the domain's own pages.
                let e = self.x86_get_gfn(d, idx);
                // Xen heap pages the domain mapped are p2m_ram_rw too.
                let rw_ram = matches!(e.kind(), Some(Kind::Ram | Kind::XenHeap));
                if !rw_ram && self.cfg.xen.x86_gmfn_source_must_be_rw_ram() {
                    return Err(EACCES);
                }
                match e.kind() {
                    Some(Kind::Ram | Kind::XenHeap) if self.get_page(e.mfn(), d) => {
                        (Some(e.mfn()), Some(e.mfn()))
                    }
                    _ => (None, None),
                }
            }
            XENMAPSPACE_GMFN_FOREIGN => return self.x86_p2m_add_foreign(caller, d, idx, gpfn, foreign),
            _ => (None, None),
        };
        let rc = match mfn {
            None => Err(EINVAL),
            Some(mfn) => self.x86_add_to_physmap_one_tail(d, space, idx, gpfn, mfn),
        };
        if let Some(m) = held {
            self.put_page(m);
        }
        rc
    }

    fn x86_add_to_physmap_one_tail(
        &mut self,
        d: u16,
        space: u32,
        idx: u64,
        gpfn: u64,
        mfn: u64,
    ) -> Result<(), i32> {
        // get_gfn(d, gpfn): P2M_ALLOC fills a PoD entry there too (or crashes the domain,
        // and the PoD entry is then simply replaced below).
        let prev = self.x86_get_gfn(d, gpfn);
        // The page's M2P entry: where it is mapped in the domain's own P2M.
        let old_gpfn = if self.is_xen_heap(mfn) {
            self.xenheap.get(&mfn).and_then(|x| x.gfn)
        } else if space == XENMAPSPACE_GMFN {
            Some(idx)
        } else {
            None
        };
        if space == XENMAPSPACE_GMFN && old_gpfn != Some(idx) {
            return Err(EXDEV);
        }
        // Remove what was at gpfn.
        match prev.kind() {
            Some(Kind::Mmio) => return Err(EPERM),
            // A PoD entry left unfilled has no valid MFN: nothing to remove (p2m_add_page
            // replaces it and takes it off the PoD count).
            Some(Kind::Pod) => {}
            Some(_) if self.is_xen_heap(prev.mfn()) => self.x86_p2m_remove_page(d, gpfn, prev.mfn(), 0)?,
            Some(_) if prev.mfn() != mfn => self.x86_guest_remove_page(d, gpfn)?,
            _ => {}
        }
        // Unmap from the old location, then map at the new one.
        if let Some(o) = old_gpfn.filter(|&o| o != gpfn) {
            self.x86_p2m_remove_page(d, o, mfn, 0)?;
        }
        self.x86_p2m_add_page(d, gpfn, mfn, 0)
    }

    /// `p2m_add_foreign`'s checks on the domains alone, before it looks at a page: `tdom`
    /// may hold foreign mappings, `foreign` is another domain `caller` names (or `DOMID_XEN`),
    /// and `tdom` may map its pages. The domain to take the page from.
    pub(super) fn x86_foreign_source(&self, caller: u16, tdom: u16, foreign: u16) -> Result<u16, i32> {
        if !self.arch_acquire_resource_check(tdom) {
            return Err(EPERM);
        }
        let fdom = if foreign == DOMID_XEN {
            DOM_XEN
        } else {
            let f = self.lookup_remote(caller, foreign)?;
            if f == tdom {
                return Err(EINVAL);
            }
            f
        };
        crate::xsm::target(self, tdom, fdom)?;
        Ok(fdom)
    }

    /// `p2m_add_foreign`'s page: `fgfn` of `fdom`, RAM or a Xen heap page, with a reference
    /// held (`-EINVAL` otherwise).
    #[inline]
    fn x86_foreign_page(&mut self, fdom: u16, fgfn: u64) -> Result<u64, i32> {
        // No page in the model is shared with dom_xen, so get_page_from_gfn finds nothing.
        let (mfn, kind) =
            if fdom == DOM_XEN { None } else { self.x86_get_page_from_gfn(fdom, fgfn) }.ok_or(EINVAL)?;
        if !matches!(kind, Kind::Ram | Kind::XenHeap) {
            self.put_page(mfn);
            return Err(EINVAL);
        }
        Ok(mfn)
    }

    /// `p2m_add_foreign` from page `fgfn` of `fdom` (which [`Self::x86_foreign_source`]
    /// allowed) onto `gpfn` of `tdom` in the common case of a batch: a RAM page of a
    /// translated `fdom` onto an empty GFN of a `tdom` that is not dying. `None`, with nothing
    /// changed, for anything else, which the full path answers.
    ///
    /// In that case the full path takes a reference with the page (`get_page_from_gfn`), finds
    /// nothing to remove, passes `set_typed_p2m_entry`'s checks, takes the entry's reference
    /// (which cannot fail while the first is held) and drops the first: the counts end one
    /// up, as here, where the reference taken with the page becomes the entry's.
    #[inline]
    pub(super) fn x86_add_foreign_to_empty(
        &mut self,
        tdom: u16,
        fdom: u16,
        fgfn: u64,
        gpfn: u64,
    ) -> Option<()> {
        if !self.gfn_range_ok(gpfn, 1) {
            return None;
        }
        let Machine { frames, domains, .. } = self;
        // `fdom` is never `tdom` (nor dom_xen, which is no domain of the table).
        let (t, f) = domains.pair(tdom, fdom)?;
        if t.is_dying() || !f.translated {
            return None;
        }
        let e = f.p2m.get(fgfn);
        if e.kind() != Some(Kind::Ram) {
            return None;
        }
        let mfn = e.mfn();
        // A page in use, so giving the reference back never frees it.
        match frames.reference(mfn) {
            Some(Owner::Domain(o)) if o == fdom => {}
            Some(_) => {
                frames.drop_ref(mfn);
                return None;
            }
            None => return None,
        }
        if !t.p2m.fill_empty(gpfn, Entry::new(Kind::Foreign, mfn)) {
            frames.drop_ref(mfn);
            return None;
        }
        Some(())
    }

    /// `p2m_add_foreign`: map page `fgfn` of domain `foreign` at `gpfn` of `tdom`.
    fn x86_p2m_add_foreign(
        &mut self,
        caller: u16,
        tdom: u16,
        fgfn: u64,
        gpfn: u64,
        foreign: u16,
    ) -> Result<(), i32> {
        let fdom = self.x86_foreign_source(caller, tdom, foreign)?;
        let mfn = self.x86_foreign_page(fdom, fgfn)?;
        let prev = self.dom(tdom).p2m.get(gpfn);
        let removed = match prev.kind() {
            Some(Kind::Ram | Kind::Foreign | Kind::XenHeap) if self.is_xen_heap(prev.mfn()) => {
                self.x86_p2m_remove_page(tdom, gpfn, prev.mfn(), 0).map(|()| Entry::EMPTY)
            }
            Some(Kind::Ram | Kind::Foreign | Kind::XenHeap) => {
                self.x86_guest_remove_page(tdom, gpfn).map(|()| Entry::EMPTY)
            }
            _ => Ok(prev),
        };
        let rc = removed.and_then(|now| self.x86_set_typed_with(tdom, gpfn, mfn, now));
        self.put_page(mfn);
        rc
    }

    /// `set_typed_p2m_entry(d, gfn, mfn, PAGE_ORDER_4K, p2m_map_foreign)`: a different special
    /// entry in the way crashes `d` (`-EPERM`); the same foreign mapping is left as it is;
    /// otherwise the entry takes a reference on the page (`p2m_entry_modify`: `-EBUSY` if the
    /// page is free) and replaces what was there.
    pub(super) fn x86_set_typed_p2m_entry(&mut self, d: u16, gfn: u64, mfn: u64) -> Result<(), i32> {
        let o = self.dom(d).p2m.get(gfn);
        self.x86_set_typed_with(d, gfn, mfn, o)
    }

    /// `set_typed_p2m_entry` knowing what is at `gfn` now (`o`).
    fn x86_set_typed_with(&mut self, d: u16, gfn: u64, mfn: u64, o: Entry) -> Result<(), i32> {
        if o.is_special() {
            if o.mfn() != mfn || o.kind() != Some(Kind::Foreign) {
                self.domain_crash(d);
                return Err(EPERM);
            }
            return Ok(());
        }
        self.x86_p2m_set_entry_check(d, gfn, 1)?;
        if self.page_get_owner_and_reference(mfn).is_none() {
            return Err(EBUSY);
        }
        let e = Entry::new(Kind::Foreign, mfn);
        if !self.dom_mut(d).p2m.fill_empty(gfn, e) {
            self.p2m_write_one(d, gfn, e);
        }
        Ok(())
    }

    /// `domain_get_maximum_gpfn`: HVM the P2M's high-water mark; PV `(max_pfn ?: 1) - 1`,
    /// `max_pfn` being what the guest wrote into its shared info's `arch.max_pfn`.
    pub(super) fn x86_maximum_gpfn(&self, d: u16) -> u64 {
        let dom = self.dom(d);
        if dom.hvm {
            return dom.p2m.max_mapped();
        }
        let mut b = [0u8; 8];
        self.frames.read(dom.shared_info, SHARED_INFO_MAX_PFN, &mut b);
        let max_pfn = u64::from_le_bytes(b);
        if max_pfn == 0 {
            0
        } else {
            max_pfn - 1
        }
    }
}
