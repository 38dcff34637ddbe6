//! The reservation siblings: `XENMEM_increase_reservation` (0), `XENMEM_decrease_reservation`
//! (1), `XENMEM_current_reservation` (3), `XENMEM_maximum_reservation` (4) and
//! `XENMEM_maximum_gpfn` (14).
//!
//! increase and decrease share populate's prologue and its "count, never errno" result (see
//! [`crate::Xen::populate_physmap`]): a refusal is a short count. increase allocates extents to
//! the domain without mapping them (PV targets get the MFNs written back); decrease frees the
//! pages mapped at the given GFNs, stopping at the first extent Xen cannot free (a hole,
//! another domain's page, MMIO).
//!
//! The three queries (`do_memory_op`): a non-zero continuation index → `-EINVAL`; the domain
//! (`DOMID_SELF` allowed) → `-ESRCH`; the caller's privilege over it → `-EPERM`; then Xen
//! returns `tot_pages`, `max_pages` or the highest mapped GFN as a `long`. A domain without a
//! limit reports `max_pages` as `u32::MAX`, which is a value, not `-1`. One hypercall each.

use super::{handle, handle_mut, Xen};
use crate::abi;
use crate::error::{Error, Invalid, XenError};
use crate::hypercall::Hypercall;
use crate::types::{DomId, Gfn, MemFlags, Mfn, MAX_ABI_EXTENT_ORDER};

impl<H: Hypercall> Xen<H> {
    /// Allocates `nr_extents` extents of `2^extent_order` pages to `domid` without mapping
    /// them, and returns how many Xen completed.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, MemFlags};
    /// let done = xen.increase_reservation(DomId::SELF, 0, MemFlags::empty(), 16)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::ExtentOrder`], [`Invalid::TooManyExtents`] past Xen's per-call limit
    /// ([`abi::MEMOP_MAX_EXTENTS`]); Xen itself answers with a short count.
    pub fn increase_reservation(
        &self,
        domid: DomId,
        extent_order: u32,
        flags: MemFlags,
        nr_extents: u64,
    ) -> Result<u64, Error> {
        if extent_order > MAX_ABI_EXTENT_ORDER {
            return Err(Error::Invalid(Invalid::ExtentOrder));
        }
        if nr_extents > abi::MEMOP_MAX_EXTENTS {
            return Err(Error::Invalid(Invalid::TooManyExtents));
        }
        if nr_extents == 0 {
            return Ok(0);
        }
        let mut arg = abi::XenMemoryReservation {
            extent_start: 0,
            nr_extents,
            extent_order,
            mem_flags: flags.raw(),
            domid: domid.raw(),
            _pad: [0; 6],
        };
        // SAFETY: `arg` is live and its extent_start is null, which Xen checks before writing.
        let rc = unsafe { self.memory_op(abi::XENMEM_INCREASE_RESERVATION, &mut arg) };
        let done = XenError::check(rc).map_err(Error::Xen)?;
        Ok(done.min(nr_extents))
    }

    /// As [`Xen::increase_reservation`] for `mfns.len()` extents, with the array Xen writes
    /// each extent's machine frame into (x86 PV targets; translated targets leave it alone).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, MemFlags, Mfn};
    /// let mut mfns = [Mfn(0); 4];
    /// // A translated target gets the pages but leaves the array alone; a PV one gets MFNs in it.
    /// let done = xen.increase_reservation_into(DomId(1), 0, MemFlags::empty(), &mut mfns)?;
    /// assert_eq!(done, 4);
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Xen::increase_reservation`].
    pub fn increase_reservation_into(
        &self,
        domid: DomId,
        extent_order: u32,
        flags: MemFlags,
        mfns: &mut [Mfn],
    ) -> Result<usize, Error> {
        // SAFETY: `mfns` is borrowed mutably for the call: `len` 8-byte slots Xen may write.
        unsafe {
            self.reservation_op(
                abi::XENMEM_INCREASE_RESERVATION,
                domid,
                extent_order,
                flags,
                handle_mut(mfns),
                mfns.len(),
            )
        }
    }

    /// Frees the extents of `2^extent_order` pages mapped at `gfns` in `domid`, and returns
    /// how many Xen freed (it stops at the first one it cannot).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Gfn};
    /// let freed = xen.decrease_reservation(DomId::SELF, 0, &[Gfn(0x100), Gfn(0x101)])?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::ExtentOrder`]; Xen itself answers with a short count.
    pub fn decrease_reservation(
        &self,
        domid: DomId,
        extent_order: u32,
        gfns: &[Gfn],
    ) -> Result<usize, Error> {
        self.decrease_reservation_with_flags(domid, extent_order, MemFlags::empty(), gfns)
    }

    /// As [`Xen::decrease_reservation`], sending `flags` in the struct's `mem_flags`.
    ///
    /// Xen frees nothing differently for them, but checks them in the prologue all three
    /// reservation sub-ops share: flags it refuses (address bits of 12 or fewer that would
    /// constrain an allocation, a node out of range, an exact-node request from an
    /// unprivileged caller) make the call free nothing (a count of 0). For C callers that
    /// pass their `mem_flags` through, as Zephyr's `xendom_decrease_reservation` does.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Gfn, MemFlags};
    /// let freed = xen.decrease_reservation_with_flags(DomId(1), 0, MemFlags::empty(), &[Gfn(0x100)])?;
    /// assert_eq!(freed, 1);
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Xen::decrease_reservation`].
    pub fn decrease_reservation_with_flags(
        &self,
        domid: DomId,
        extent_order: u32,
        flags: MemFlags,
        gfns: &[Gfn],
    ) -> Result<usize, Error> {
        // SAFETY: Xen only reads the array for this sub-op (`decrease_reservation` copies
        // each GFN in), and `gfns` is borrowed for the whole call.
        unsafe {
            self.reservation_op(
                abi::XENMEM_DECREASE_RESERVATION,
                domid,
                extent_order,
                flags,
                handle(gfns),
                gfns.len(),
            )
        }
    }

    /// Pages `domid` owns now (`tot_pages`).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let pages = xen.current_reservation(xenmem::DomId::SELF)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `-ESRCH`, `-EPERM` from Xen.
    pub fn current_reservation(&self, domid: DomId) -> Result<u64, Error> {
        self.domain_query(abi::XENMEM_CURRENT_RESERVATION, domid)
    }

    /// The most pages `domid` may own (`max_pages`; `u32::MAX` when unlimited).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let limit = xen.maximum_reservation(xenmem::DomId::SELF)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `-ESRCH`, `-EPERM` from Xen.
    pub fn maximum_reservation(&self, domid: DomId) -> Result<u64, Error> {
        self.domain_query(abi::XENMEM_MAXIMUM_RESERVATION, domid)
    }

    /// The highest GFN mapped in `domid` (x86 PV: the size of its P2M list, less one).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let top = xen.maximum_gpfn(xenmem::DomId::SELF)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `-ESRCH`, `-EPERM` from Xen.
    pub fn maximum_gpfn(&self, domid: DomId) -> Result<Gfn, Error> {
        self.domain_query(abi::XENMEM_MAXIMUM_GPFN, domid).map(Gfn)
    }

    fn domain_query(&self, cmd: u32, domid: DomId) -> Result<u64, Error> {
        let mut id = domid.raw();
        // SAFETY: the argument of these sub-ops is a `domid_t`, and `id` is a live one that
        // Xen only reads.
        let rc = unsafe { self.memory_op(cmd, &mut id) };
        XenError::check(rc).map_err(Error::Xen)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{abi, DomId, Error, Gfn, Invalid, MemFlags, Mfn, Xen, XenError};

    #[test]
    fn queries_pass_a_domid_pointer_and_keep_wide_values() {
        let xen = Xen::new(Recorder::new(rc(0xffff_ffff)));
        assert_eq!(xen.maximum_reservation(DomId(0x0203)), Ok(0xffff_ffff));
        assert_eq!(xen.current_reservation(DomId::SELF), Ok(0xffff_ffff));
        assert_eq!(xen.maximum_gpfn(DomId(1)), Ok(Gfn(0xffff_ffff)));
        let c = xen.backend().calls();
        assert_eq!((c[0].args[0], c[1].args[0], c[2].args[0]), (4, 3, 14));
        assert_eq!(c[0].arg, vec![3, 2]);
        assert_eq!(c[1].arg, vec![0xf0, 0x7f]);
        let xen = Xen::new(Recorder::new(rc(-1)));
        assert_eq!(xen.current_reservation(DomId(0)), Err(Error::Xen(XenError::Perm)));
    }

    #[test]
    fn increase_sends_null_handle_or_the_array() {
        let xen = Xen::new(Recorder::new(rc(16)));
        assert_eq!(
            xen.increase_reservation(DomId(2), 0, MemFlags::empty().with_address_bits(31), 16),
            Ok(16)
        );
        let c = &xen.backend().calls()[0];
        assert_eq!(c.args[0], 0);
        assert_eq!(c.arg, cat(&[&h(0), &h(16), &[0, 0, 0, 0], &[31, 0, 0, 0], &[2, 0, 0, 0, 0, 0, 0, 0]]));
        let xen = Xen::new(Recorder::new(|_: &Seen| Reply { rc: 1, pfns: vec![0x77], ..Reply::default() }));
        let mut mfns = [Mfn(0), Mfn(0)];
        assert_eq!(xen.increase_reservation_into(DomId::SELF, 0, MemFlags::empty(), &mut mfns), Ok(1));
        assert_eq!(mfns, [Mfn(0x77), Mfn(0)]);
        assert_eq!(&xen.backend().calls()[0].arg[0..8], &h(mfns.as_ptr() as u64));
    }

    #[test]
    fn increase_checks_before_calling() {
        let xen = Xen::new(Recorder::new(rc(0)));
        assert_eq!(xen.increase_reservation(DomId::SELF, 0, MemFlags::empty(), 0), Ok(0));
        assert_eq!(
            xen.increase_reservation(DomId::SELF, 0, MemFlags::empty(), abi::MEMOP_MAX_EXTENTS + 1),
            Err(Error::Invalid(Invalid::TooManyExtents))
        );
        assert_eq!(
            xen.increase_reservation(DomId::SELF, 60, MemFlags::empty(), 1),
            Err(Error::Invalid(Invalid::ExtentOrder))
        );
        assert!(xen.backend().calls().is_empty());
    }

    #[test]
    fn decrease_passes_the_callers_array_in_one_call() {
        let xen = Xen::new(Recorder::new(rc(2)));
        let gfns: Vec<Gfn> = (0..300).map(Gfn).collect();
        assert_eq!(xen.decrease_reservation(DomId(3), 0, &gfns), Ok(2));
        let c = xen.backend().calls();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].args[0], 1);
        assert_eq!(c[0].arg, cat(&[&h(gfns.as_ptr() as u64), &h(300), &[0; 8], &[3, 0, 0, 0, 0, 0, 0, 0]]));
    }

    #[test]
    fn decrease_with_flags_sends_them() {
        let xen = Xen::new(Recorder::new(rc(1)));
        let gfns = [Gfn(0x100)];
        let flags = MemFlags::empty().with_address_bits(31);
        assert_eq!(xen.decrease_reservation_with_flags(DomId(3), 2, flags, &gfns), Ok(1));
        let c = &xen.backend().calls()[0];
        assert_eq!(c.args[0], 1);
        assert_eq!(
            c.arg,
            cat(&[&h(gfns.as_ptr() as u64), &h(1), &[2, 0, 0, 0], &[31, 0, 0, 0], &[3, 0, 0, 0, 0, 0, 0, 0]])
        );
    }
}
