//! Arm's P2M operations (`xen/arch/arm/mm.c`, `xen/arch/arm/p2m.c`).
//!
//! What sets Arm apart: every domain is translated; `p2m_set_entry` replaces whatever was
//! mapped (dropping a foreign entry's reference, leaving a displaced RAM page allocated and
//! unmapped) and refuses a dying domain (`-ENOMEM`); a Xen heap page (shared info, grant
//! frame) already mapped anywhere is `-EBUSY` (4.17's `71320946d5`); `gmfn` spaces are
//! `-ENOSYS`; foreign owners come from `get_pg_owner`.

use crate::error::errno::*;
use crate::machine::{Machine, PgOwner};
use crate::p2m::Kind;
use xenmem::abi::{
    DOMID_XEN, XENMAPSPACE_DEV_MMIO, XENMAPSPACE_GMFN_FOREIGN, XENMAPSPACE_GRANT_TABLE,
    XENMAPSPACE_SHARED_INFO,
};

impl Machine {
    /// `p2m_set_entry` (through `p2m_insert_mapping`): `-ENOMEM` for a dying domain,
    /// `-EINVAL` beyond the IPA space, `-ENOENT` when the domain's P2M pool is empty (no page
    /// for a table: since 4.18 the state of a new domain until the toolstack sizes the pool),
    /// else the entries replace what was there.
    pub(super) fn arm_p2m_set_entry(
        &mut self,
        d: u16,
        gfn: u64,
        n: u64,
        mfn: u64,
        kind: Kind,
    ) -> Result<(), i32> {
        if self.dom(d).is_dying() {
            return Err(ENOMEM);
        }
        if !self.gfn_range_ok(gfn, n) {
            return Err(self.gfn_range_errno());
        }
        // No pool page for a table: p2m_create_table fails, and __p2m_set_entry turns the
        // failed table walk into -ENOENT (seen on real 4.20 for a Xen heap page; a populate
        // just stops).
        if self.dom(d).p2m_pool_pages == 0 {
            return Err(ENOENT);
        }
        self.p2m_write_run(d, gfn, n, kind, mfn);
        Ok(())
    }

    /// `p2m_remove_mapping`: RAM-like entries must still map `mfn..` (`-EILSEQ`), then
    /// `p2m_set_entry` clears them.
    pub(super) fn arm_p2m_remove_mapping(&mut self, d: u16, gfn: u64, n: u64, mfn: u64) -> Result<(), i32> {
        for i in 0..n {
            let e = self.dom(d).p2m.get(gfn.wrapping_add(i));
            let any_ram = matches!(e.kind(), Some(Kind::Ram | Kind::XenHeap | Kind::Foreign));
            if any_ram && (!self.frames.valid(mfn) || e.mfn() != mfn + i) {
                return Err(EILSEQ);
            }
        }
        if self.dom(d).is_dying() {
            return Err(ENOMEM);
        }
        if !self.gfn_range_ok(gfn, n) {
            return Err(self.gfn_range_errno());
        }
        self.p2m_clear_run(d, gfn, n);
        Ok(())
    }

    /// `guest_remove_page` on Arm: no valid frame there (a hole, MMIO) is `-EINVAL`, a page
    /// that is not the domain's `-ENXIO`. A direct-mapped domain keeps the allocation
    /// reference (`!is_domain_direct_mapped(d)` guards `put_page_alloc_ref`): the page stays
    /// its own, counted, for populate_physmap to map back at the same GFN.
    pub(super) fn arm_guest_remove_page(&mut self, d: u16, gfn: u64) -> Result<(), i32> {
        let e = self.dom(d).p2m.get(gfn);
        if e.is_empty() || !self.frames.valid(e.mfn()) {
            return Err(EINVAL);
        }
        let mfn = e.mfn();
        if !self.get_page(mfn, d) {
            return Err(ENXIO);
        }
        let rc = self.arm_p2m_remove_mapping(d, gfn, 1, mfn);
        if rc.is_ok() && !self.dom(d).directmap {
            self.put_page_alloc_ref(mfn);
        }
        self.put_page(mfn);
        rc
    }

    /// `p2m_get_page_from_gfn` on Arm.
    pub(super) fn arm_get_page_from_gfn(&mut self, d: u16, gfn: u64) -> Option<(u64, Kind)> {
        let e = self.dom(d).p2m.get(gfn);
        let kind = e.kind()?;
        if kind == Kind::Mmio || !self.frames.valid(e.mfn()) {
            return None;
        }
        if kind == Kind::Foreign {
            return match self.page_get_owner_and_reference(e.mfn()) {
                Some(o) if o != d => Some((e.mfn(), kind)),
                Some(_) => {
                    self.put_page(e.mfn());
                    None
                }
                None => None,
            };
        }
        self.get_page(e.mfn(), d).then_some((e.mfn(), kind))
    }

    /// Arm `xenmem_add_to_physmap_one` (`xen/arch/arm/mm.c`).
    pub(super) fn arm_add_to_physmap_one(
        &mut self,
        caller: u16,
        d: u16,
        space: u32,
        foreign: u16,
        idx: u64,
        gpfn: u64,
    ) -> Result<(), i32> {
        let (mfn, kind) = match space {
            XENMAPSPACE_GRANT_TABLE => (self.gnttab_map_frame_begin(d, idx)?, Kind::XenHeap),
            XENMAPSPACE_SHARED_INFO => {
                if idx != 0 {
                    return Err(EINVAL);
                }
                (self.dom(d).shared_info, Kind::XenHeap)
            }
            XENMAPSPACE_GMFN_FOREIGN => {
                let owner = if self.cfg.xen.arm_foreign_owner_by_remote_lookup() {
                    match foreign {
                        DOMID_XEN => Some(PgOwner::Xen),
                        _ => Some(PgOwner::Domain(self.lookup_remote(caller, foreign)?)),
                    }
                } else {
                    self.get_pg_owner(caller, foreign)
                };
                let od = match owner {
                    None => return Err(ESRCH),
                    // DOMID_IO: Xen 4.17 looks the page up in dom_io's P2M, which it does not
                    // have, and takes a data abort in the hypervisor (a later fix refuses
                    // DOMID_IO and keeps DOMID_XEN). Nothing can be observed; the model
                    // answers as for an id it cannot look up.
                    Some(PgOwner::Io) => return Err(ESRCH),
                    // DOMID_XEN: `xsm_map_gmfn_foreign(XSM_TARGET, d, dom_xen)`, then Arm's
                    // `get_page_from_gfn` special case treats idx as an MFN and needs a valid
                    // frame that dom_xen owns. No page of the model is dom_xen's, so that
                    // lookup fails: -EINVAL.
                    Some(PgOwner::Xen) => {
                        crate::xsm::target(self, d, DOMID_XEN)?;
                        return Err(EINVAL);
                    }
                    Some(PgOwner::Domain(od)) => od,
                };
                if od == d {
                    return Err(EINVAL);
                }
                crate::xsm::target(self, d, od)?;
                let (mfn, k) = self.arm_get_page_from_gfn(od, idx).ok_or(EINVAL)?;
                if k == Kind::Foreign {
                    self.put_page(mfn);
                    return Err(EINVAL);
                }
                (mfn, Kind::Foreign)
            }
            XENMAPSPACE_DEV_MMIO => return self.arm_map_dev_mmio_page(d, gpfn, idx),
            _ => return Err(ENOSYS),
        };
        let rc = if kind == Kind::XenHeap {
            // A Xen heap page may be mapped once: unmap it before mapping it again.
            if self.xenheap.get(&mfn).is_some_and(|x| x.gfn.is_none()) {
                self.arm_p2m_set_entry(d, gpfn, 1, mfn, Kind::XenHeap).inspect(|()| {
                    if let Some(x) = self.xenheap.get_mut(&mfn) {
                        x.gfn = Some(gpfn);
                    }
                })
            } else {
                Err(EBUSY)
            }
        } else {
            self.arm_p2m_set_entry(d, gpfn, 1, mfn, kind)
        };
        match space {
            // gnttab_map_frame_end drops the reference gnttab_map_frame_begin took.
            XENMAPSPACE_GRANT_TABLE => self.put_page(mfn),
            // A foreign entry keeps its reference; a failed one gives it back.
            XENMAPSPACE_GMFN_FOREIGN if rc.is_err() => self.put_page(mfn),
            _ => {}
        }
        rc
    }

    /// `map_dev_mmio_page`: without I/O memory permission it maps nothing and *succeeds*
    /// (4.17 and later alike). The hardware domain is permitted the machine's device ranges.
    fn arm_map_dev_mmio_page(&mut self, d: u16, gfn: u64, mfn: u64) -> Result<(), i32> {
        let permitted = self.dom(d).hardware
            && self.cfg.mmio.iter().any(|r| mfn >= r.first_mfn && mfn - r.first_mfn < r.count);
        if !permitted {
            return Ok(());
        }
        self.arm_p2m_set_entry(d, gfn, 1, mfn, Kind::Mmio)
    }

    /// Arm `set_foreign_p2m_entry`: a reference on the page as `fd`'s (`-EINVAL` if it is
    /// not), then `p2m_set_entry` replaces whatever was there.
    pub(super) fn arm_set_foreign_p2m_entry(
        &mut self,
        d: u16,
        fd: u16,
        gfn: u64,
        mfn: u64,
    ) -> Result<(), i32> {
        if !self.get_page(mfn, fd) {
            return Err(EINVAL);
        }
        let rc = self.arm_p2m_set_entry(d, gfn, 1, mfn, Kind::Foreign);
        if rc.is_err() {
            self.put_page(mfn);
        }
        rc
    }
}
