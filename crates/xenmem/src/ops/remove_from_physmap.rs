//! `XENMEM_remove_from_physmap` (15): unmap whatever page is at a GFN of a domain.
//!
//! Xen 4.17's checks, in order (`do_memory_op` in `xen/common/memory.c`):
//! 1. the domain (`DOMID_SELF` allowed) → `-ESRCH`;
//! 2. the target must be translated (not x86 PV) → `-EACCES`;
//! 3. the caller needs privilege over the target → `-EPERM`;
//! 4. a page that can be referenced must be mapped there (RAM, foreign, Xen pages) →
//!    `-ENOENT` for holes, MMIO and grant mappings;
//! 5. the architecture removes the entry.
//!
//! Only the mapping goes: a RAM page stays allocated to the domain (still counted in its
//! reservation) until `decrease_reservation` frees it; a foreign page loses the reference the
//! mapping held. One hypercall.

use super::Xen;
use crate::abi::{self, XenRemoveFromPhysmap};
use crate::error::{Error, XenError};
use crate::hypercall::Hypercall;
use crate::types::{DomId, Gfn};

impl<H: Hypercall> Xen<H> {
    /// Unmaps the page at `gfn` in `domid`'s physmap.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Error, Gfn, MapSpace, XenError};
    /// xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3000))?;
    /// xen.remove_from_physmap(DomId::SELF, Gfn(0x3000))?;
    /// // Nothing is mapped there any more.
    /// assert_eq!(xen.remove_from_physmap(DomId::SELF, Gfn(0x3000)), Err(Error::Xen(XenError::NoEnt)));
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn remove_from_physmap(&self, domid: DomId, gfn: Gfn) -> Result<(), Error> {
        let mut arg = XenRemoveFromPhysmap { domid: domid.raw(), _pad: [0; 6], gpfn: gfn.raw() };
        // SAFETY: `arg` is a live xen_remove_from_physmap; it holds no guest handles.
        let rc = unsafe { self.memory_op(abi::XENMEM_REMOVE_FROM_PHYSMAP, &mut arg) };
        XenError::check(rc).map(drop).map_err(Error::Xen)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{DomId, Error, Gfn, Xen, XenError};

    #[test]
    fn marshals_struct_with_zero_padding() {
        let xen = Xen::new(Recorder::new(rc(0)));
        xen.remove_from_physmap(DomId(0x0102), Gfn(0x000d_eadb_eef0)).unwrap();
        let c = &xen.backend().calls()[0];
        assert_eq!(c.args[0], 15);
        assert_eq!(c.arg, cat(&[&[2, 1, 0, 0, 0, 0, 0, 0], &h(0x000d_eadb_eef0)]));
    }

    #[test]
    fn enoent_decodes() {
        let xen = Xen::new(Recorder::new(rc(-2)));
        assert_eq!(xen.remove_from_physmap(DomId::SELF, Gfn(1)), Err(Error::Xen(XenError::NoEnt)));
    }
}
