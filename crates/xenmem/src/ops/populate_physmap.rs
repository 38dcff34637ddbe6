//! `XENMEM_populate_physmap` (6): allocate extents of `2^order` pages and map them at the
//! given GFNs of a domain.
//!
//! **Xen never returns a negative errno here**: it returns the number of extents it
//! completed, so every refusal is a short count (0 on the first extent). Zephyr's header
//! says "negative errno on error"; Xen 4.17 does not produce one. Xen's order
//! (`do_memory_op` and `populate_physmap` in `xen/common/memory.c`): the struct copy,
//! `nr_extents > UINT_MAX >> 6`, the domain lookup (`DOMID_SELF` allowed), the mem_flags
//! (address bits, node, vnode; an unprivileged caller's exact-node request), the caller's
//! privilege over the target, then `extent_order` above the *caller's* limit
//! (`memop-max-order`: domU 9, hardware domain 12 on x86 / 10 on Arm, control domain 18) all
//! give 0. Per extent: allocation failure, `max_pages` reached (over-allocation), or a failed
//! p2m insert stops the call with the count so far. For an x86 PV target Xen writes each
//! extent's MFN back into the array.
//!
//! What the library adds: an order past [`crate::MAX_ABI_EXTENT_ORDER`] is refused before any
//! hypercall; an empty list issues no hypercall (Xen's answer would be 0); a list longer than
//! Xen's per-call limit ([`crate::abi::MEMOP_MAX_EXTENTS`]) is split, stopping at the first
//! short call. Hypercalls: `ceil(n / 67,108,863)`.

use super::{handle_mut, Xen};
use crate::abi::{self, XenMemoryReservation};
use crate::error::{Error, Invalid, XenError};
use crate::hypercall::Hypercall;
use crate::types::{DomId, Gfn, MemFlags, MAX_ABI_EXTENT_ORDER};

impl<H: Hypercall> Xen<H> {
    /// Populates `gfns.len()` extents of `2^extent_order` pages at the GFNs in `gfns`, and
    /// returns how many Xen completed. A count below `gfns.len()` is Xen's way of failing.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Gfn, MemFlags};
    /// let mut gfns = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
    /// let done = xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns)?;
    /// if done < gfns.len() {
    ///     // out of memory or over the domain's limit from extent `done` on
    /// }
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::ExtentOrder`] before any hypercall; Xen itself reports failures as
    /// a short count, so an [`Error::Xen`] comes only from a backend (e.g. a faulting ioctl).
    pub fn populate_physmap(
        &self,
        domid: DomId,
        extent_order: u32,
        flags: MemFlags,
        gfns: &mut [Gfn],
    ) -> Result<usize, Error> {
        // SAFETY: `gfns` is borrowed mutably for the call: `len` 8-byte slots Xen reads
        // (GFNs) and, for PV targets, writes (MFNs).
        unsafe {
            self.reservation_op(
                abi::XENMEM_POPULATE_PHYSMAP,
                domid,
                extent_order,
                flags,
                handle_mut(gfns),
                gfns.len(),
            )
        }
    }

    /// Shared by populate and the reservation siblings: chunked by Xen's limit, stopping at
    /// the first short chunk.
    ///
    /// # Safety
    ///
    /// `slots` must be the address of `len` 8-byte `xen_pfn_t` slots, valid for the accesses
    /// sub-op `cmd` makes (reads for decrease, reads and writes for populate and increase)
    /// for the whole call.
    pub(super) unsafe fn reservation_op(
        &self,
        cmd: u32,
        domid: DomId,
        extent_order: u32,
        flags: MemFlags,
        slots: u64,
        len: usize,
    ) -> Result<usize, Error> {
        if extent_order > MAX_ABI_EXTENT_ORDER {
            return Err(Error::Invalid(Invalid::ExtentOrder));
        }
        let mut done = 0;
        while done < len {
            let want = (len - done).min(abi::MEMOP_MAX_EXTENTS as usize);
            let mut arg = XenMemoryReservation {
                extent_start: slots + 8 * done as u64,
                nr_extents: want as u64,
                extent_order,
                mem_flags: flags.raw(),
                domid: domid.raw(),
                _pad: [0; 6],
            };
            // SAFETY: `arg` is live; extent_start points into the caller's `len` slots, with
            // `want` of them left from there (this function's contract).
            let rc = unsafe { self.memory_op(cmd, &mut arg) };
            let got = XenError::check(rc).map_err(Error::Xen)?;
            // Xen never reports more than it was asked for; a backend that did would be
            // clamped rather than trusted.
            let got = (got as usize).min(want);
            done += got;
            if got < want {
                break;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{DomId, Error, Gfn, Invalid, MemFlags, Mfn, Xen, XenError};

    #[test]
    fn marshals_reservation_and_returns_count() {
        let xen = Xen::new(Recorder::new(rc(4)));
        let mut gfns = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
        let flags = MemFlags::empty().with_address_bits(32).with_node(0);
        assert_eq!(xen.populate_physmap(DomId(1), 9, flags, &mut gfns), Ok(4));
        let c = &xen.backend().calls()[0];
        assert_eq!(c.args[0], 6);
        let want =
            cat(&[&h(gfns.as_ptr() as u64), &h(4), &[9, 0, 0, 0], &[32, 1, 0, 0], &[1, 0, 0, 0, 0, 0, 0, 0]]);
        assert_eq!(c.arg, want);
        assert_eq!(c.arrays[0], cat(&[&h(0x100), &h(0x101), &h(0x102), &h(0x103)]));
    }

    #[test]
    fn short_count_is_partial_success_not_error() {
        let xen = Xen::new(Recorder::new(rc(1)));
        let mut gfns = [Gfn(1), Gfn(2), Gfn(3)];
        assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns), Ok(1));
        let xen = Xen::new(Recorder::new(rc(0)));
        assert_eq!(xen.populate_physmap(DomId(7), 10, MemFlags::empty(), &mut gfns), Ok(0));
        // A backend answering more than asked is clamped.
        let xen = Xen::new(Recorder::new(rc(99)));
        assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns), Ok(3));
    }

    #[test]
    fn pv_target_gets_mfns_written_back() {
        let xen =
            Xen::new(Recorder::new(|_: &Seen| Reply { rc: 2, pfns: vec![0xaaa, 0xbbb], ..Reply::default() }));
        let mut gfns = [Gfn(1), Gfn(2)];
        assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns), Ok(2));
        assert_eq!(gfns.map(Mfn::from), [Mfn(0xaaa), Mfn(0xbbb)]);
    }

    #[test]
    fn bad_order_and_empty_list_issue_no_call() {
        let xen = Xen::new(Recorder::new(rc(0)));
        let mut gfns = [Gfn(1)];
        assert_eq!(
            xen.populate_physmap(DomId::SELF, 52, MemFlags::empty(), &mut gfns),
            Err(Error::Invalid(Invalid::ExtentOrder))
        );
        assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut []), Ok(0));
        assert!(xen.backend().calls().is_empty());
        // Order 51 is a number Xen may refuse, but it is Xen's to refuse.
        assert_eq!(xen.populate_physmap(DomId::SELF, 51, MemFlags::empty(), &mut gfns), Ok(0));
        assert_eq!(xen.backend().calls().len(), 1);
    }

    #[test]
    fn backend_errno_is_an_error() {
        let xen = Xen::new(Recorder::new(rc(-14)));
        assert_eq!(
            xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(1)]),
            Err(Error::Xen(XenError::Fault))
        );
    }
}
