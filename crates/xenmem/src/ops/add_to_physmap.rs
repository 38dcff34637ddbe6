//! `XENMEM_add_to_physmap` (7): map one page (or, x86 only, a range of the domain's own
//! frames) at a GFN of a domain.
//!
//! Xen 4.17's checks, in order (`do_memory_op`, `xenmem_add_to_physmap`,
//! `xatp_permission_check` in `xen/common/memory.c`):
//! 1. `space == gmfn_foreign` → `-ENOSYS` (foreign frames only go through the batch form);
//! 2. the domain (`DOMID_SELF` allowed) → `-ESRCH`;
//! 3. the target must be translated (not x86 PV) → `-EACCES`; `dev_mmio` only by the hardware
//!    domain onto itself → `-EACCES`; the caller needs privilege over the target → `-EPERM`;
//! 4. `gpfn == INVALID_GFN` → `-EINVAL`;
//! 5. the architecture's `xenmem_add_to_physmap_one` decides the rest (shared_info idx 0 only,
//!    grant frames grow the table on demand, x86 `gmfn` moves a page, Arm refuses `gmfn`).
//!
//! The library checks nothing Xen checks: one hypercall, no allocation, no panic. A
//! `gmfn_range` request goes through [`Xen::add_to_physmap_range`], which carries its size.

use super::Xen;
use crate::abi::{self, XenAddToPhysmap};
use crate::error::{Error, Invalid, XenError};
use crate::hypercall::Hypercall;
use crate::types::{DomId, Gfn, MapSpace};

impl<H: Hypercall> Xen<H> {
    /// Maps entry `idx` of `space` at `gfn` in `domid`'s physmap.
    ///
    /// `idx` means what the space says: 0 for shared info, a [`crate::GrantFrame::idx`] for
    /// grant frames, a GFN of the domain for `gmfn`, an MFN for `dev_mmio`.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Gfn, MapSpace};
    /// xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3000))?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::RangeSpace`] for `gmfn_range` (use [`Xen::add_to_physmap_range`]);
    /// otherwise Xen's errno, as listed in this module's documentation.
    pub fn add_to_physmap(&self, domid: DomId, space: MapSpace, idx: u64, gfn: Gfn) -> Result<(), Error> {
        if space == MapSpace::GmfnRange {
            return Err(Error::Invalid(Invalid::RangeSpace));
        }
        self.add_to_physmap_raw(XenAddToPhysmap {
            domid: domid.raw(),
            size: 0,
            space: space.raw(),
            idx,
            gpfn: gfn.raw(),
        })
    }

    /// Moves `size` of the domain's own frames, from GFN `first_idx` on, to `first_gfn` on
    /// (x86 `XENMAPSPACE_gmfn_range`; Arm answers `-ENOSYS` unless `size` is 0).
    ///
    /// Xen stops at the first page that fails: the pages before it stay moved. A range that
    /// wraps is `-EOVERFLOW`; `size` 0 does nothing and succeeds.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Gfn, MemFlags};
    /// // Move two of dom0's own pages from 0x10000 to 0x20000 (x86 only).
    /// xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(0x10000), Gfn(0x10001)])?;
    /// xen.add_to_physmap_range(DomId::SELF, Gfn(0x10000), Gfn(0x20000), 2)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn add_to_physmap_range(
        &self,
        domid: DomId,
        first_idx: Gfn,
        first_gfn: Gfn,
        size: u16,
    ) -> Result<(), Error> {
        self.add_to_physmap_raw(XenAddToPhysmap {
            domid: domid.raw(),
            size,
            space: abi::XENMAPSPACE_GMFN_RANGE,
            idx: first_idx.raw(),
            gpfn: first_gfn.raw(),
        })
    }

    /// Sends an `xen_add_to_physmap` exactly as given (any space, size and idx).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::abi::{XenAddToPhysmap, XENMAPSPACE_SHARED_INFO, DOMID_SELF};
    /// let arg = XenAddToPhysmap { domid: DOMID_SELF, size: 0, space: XENMAPSPACE_SHARED_INFO, idx: 0, gpfn: 0x3000 };
    /// xen.add_to_physmap_raw(arg)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn add_to_physmap_raw(&self, mut arg: XenAddToPhysmap) -> Result<(), Error> {
        // SAFETY: `arg` is a live xen_add_to_physmap; it holds no guest handles.
        let rc = unsafe { self.memory_op(abi::XENMEM_ADD_TO_PHYSMAP, &mut arg) };
        XenError::check(rc).map(drop).map_err(Error::Xen)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{DomId, Error, Gfn, GrantFrame, Invalid, MapSpace, Xen, XenError};

    #[test]
    fn marshals_struct_exactly() {
        let xen = Xen::new(Recorder::new(rc(0)));
        xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Status(2).idx(), Gfn(0x3_0001))
            .unwrap();
        let calls = xen.backend().calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].op, 12);
        assert_eq!(calls[0].args[0], 7);
        assert_eq!(&calls[0].args[2..], &[0, 0, 0]);
        // domid 0x7ff0, size 0, space 1, idx 0x80000002, gpfn 0x30001.
        let want = cat(&[&[0xf0, 0x7f], &[0, 0], &[1, 0, 0, 0], &h(0x8000_0002), &h(0x3_0001)]);
        assert_eq!(calls[0].arg, want);
    }

    #[test]
    fn range_carries_size_and_space_three() {
        let xen = Xen::new(Recorder::new(rc(0)));
        xen.add_to_physmap_range(DomId(5), Gfn(0x10), Gfn(0x20), 0x1234).unwrap();
        let want = cat(&[&[5, 0], &[0x34, 0x12], &[3, 0, 0, 0], &h(0x10), &h(0x20)]);
        assert_eq!(xen.backend().calls()[0].arg, want);
    }

    #[test]
    fn errors_decode_and_range_space_is_refused_without_a_call() {
        let xen = Xen::new(Recorder::new(rc(-13)));
        assert_eq!(
            xen.add_to_physmap(DomId(1), MapSpace::SharedInfo, 0, Gfn(1)),
            Err(Error::Xen(XenError::Acces))
        );
        assert_eq!(
            xen.add_to_physmap(DomId(1), MapSpace::GmfnRange, 0, Gfn(1)),
            Err(Error::Invalid(Invalid::RangeSpace))
        );
        assert_eq!(xen.backend().calls().len(), 1);
        // An unknown space goes to Xen as given (Xen answers; the library does not guess).
        let xen = Xen::new(Recorder::new(rc(-22)));
        assert_eq!(
            xen.add_to_physmap(DomId::SELF, MapSpace::Other(0x1_0000), 0, Gfn(1)),
            Err(Error::Xen(XenError::Inval))
        );
        assert_eq!(&xen.backend().calls()[0].arg[4..8], &[0, 0, 1, 0]);
    }
}
