//! `XENMEM_add_to_physmap_batch` (23): map many pages at once, each with its own status; the
//! only way to map another domain's frames (`gmfn_foreign`).
//!
//! Xen 4.17's checks, in order (`do_memory_op`, `xenmem_add_to_physmap_batch` in
//! `xen/common/memory.c`):
//! 1. `space == gmfn_range` → `-EOPNOTSUPP`;
//! 2. the domain (`DOMID_SELF` allowed) → `-ESRCH`; not translated → `-EACCES`; `dev_mmio`
//!    only for the hardware domain onto itself → `-EACCES`; no privilege → `-EPERM`;
//! 3. `dev_mmio` with a non-zero `res0` (the foreign-domid slot) → `-EOPNOTSUPP`;
//! 4. then every entry in order: a GFN of `INVALID_GFN` aborts the whole call with `-EINVAL`
//!    (entries before it stay mapped); otherwise the architecture's
//!    `xenmem_add_to_physmap_one` runs and its result goes to that entry's `errs[i]`.
//!
//! **The call returns 0 when entries fail**: each entry's outcome is in its status (Zephyr's
//! documentation suggests otherwise; Xen wins). For foreign frames the per-entry errors are
//! those of `p2m_add_foreign` (x86) or `get_pg_owner` / `get_page_from_gfn` (Arm): `-EINVAL`
//! for an unpopulated foreign GFN, `-EPERM` without privilege over the foreign domain.
//!
//! What the library adds: `idxs`, `gfns` and `errs` must have one length (checked before any
//! hypercall); every status is set to [`EntryStatus::NOT_DONE`] first, so entries Xen never
//! reached are visible after an abort; Xen's `size` is 16 bits, so a longer batch is split
//! into calls of [`BATCH_MAX_ENTRIES`]: `ceil(n / 65535)` hypercalls, one for an empty batch
//! (so Xen's domain and permission checks still answer). A failing call stops the batch; the
//! statuses of earlier calls stay written.

use super::{handle, handle_mut, Xen};
use crate::abi::{self, XenAddToPhysmapBatch};
use crate::error::{Error, Invalid, XenError};
use crate::hypercall::Hypercall;
use crate::types::{DomId, EntryStatus, Gfn, MapSpace};

/// Entries per hypercall: the batch struct's `size` is a `uint16_t`.
pub const BATCH_MAX_ENTRIES: usize = u16::MAX as usize;

impl<H: Hypercall> Xen<H> {
    /// Maps `idxs[i]` of `space` at `gfns[i]` in `domid`'s physmap, writing each entry's
    /// outcome to `errs[i]`. `foreign` names the domain owning the frames for
    /// [`MapSpace::GmfnForeign`]; pass [`DomId`]`(0)` for other spaces (it is Xen's `res0`).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, EntryStatus, Gfn, MapSpace};
    /// let foreign_gfns = [0x100, 0x101];
    /// let at = [Gfn(0x30000), Gfn(0x30001)];
    /// let mut errs = [EntryStatus::NOT_DONE; 2];
    /// xen.add_to_physmap_batch(DomId::SELF, MapSpace::GmfnForeign, DomId(1), &foreign_gfns, &at, &mut errs)?;
    /// for (gfn, st) in at.iter().zip(errs) {
    ///     if let Some(Err(e)) = st.result() {
    ///         // this entry failed; the others are mapped
    ///         # let _ = (gfn, e);
    ///     }
    /// }
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::GfnsLength`] / [`Invalid::ErrsLength`] if the three slices differ in
    /// length, [`Invalid::BatchSpace`] for a space that does not fit 16 bits, and Xen's errno for the
    /// whole call (see the module documentation). Per-entry failures are not errors here.
    pub fn add_to_physmap_batch(
        &self,
        domid: DomId,
        space: MapSpace,
        foreign: DomId,
        idxs: &[u64],
        gfns: &[Gfn],
        errs: &mut [EntryStatus],
    ) -> Result<(), Error> {
        self.batch(domid, space, foreign, idxs, gfns, errs)
    }

    /// Maps `foreign_gfns[i]` of domain `foreign` at `gfns[i]` of `domid`: the batch form
    /// with [`MapSpace::GmfnForeign`], as a device model or toolstack uses it.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, EntryStatus, Gfn, XenError};
    /// let mut errs = [EntryStatus::NOT_DONE; 2];
    /// // 0x100 is populated in domain 1; 0x5000 is not.
    /// xen.map_foreign_batch(DomId::SELF, DomId(1), &[Gfn(0x100), Gfn(0x5000)], &[Gfn(0x40000), Gfn(0x40001)], &mut errs)?;
    /// assert_eq!(errs[0].result(), Some(Ok(())));
    /// assert_eq!(errs[1].result(), Some(Err(XenError::Inval)));
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Xen::add_to_physmap_batch`].
    pub fn map_foreign_batch(
        &self,
        domid: DomId,
        foreign: DomId,
        foreign_gfns: &[Gfn],
        gfns: &[Gfn],
        errs: &mut [EntryStatus],
    ) -> Result<(), Error> {
        self.batch(domid, MapSpace::GmfnForeign, foreign, foreign_gfns, gfns, errs)
    }

    /// The batch for any 8-byte index type (`xen_ulong_t` numbers or foreign GFNs).
    fn batch<I: zerocopy::IntoBytes + zerocopy::Immutable>(
        &self,
        domid: DomId,
        space: MapSpace,
        foreign: DomId,
        idxs: &[I],
        gfns: &[Gfn],
        errs: &mut [EntryStatus],
    ) -> Result<(), Error> {
        const { assert!(core::mem::size_of::<I>() == 8) };
        if idxs.len() != gfns.len() {
            return Err(Error::Invalid(Invalid::GfnsLength));
        }
        if idxs.len() != errs.len() {
            return Err(Error::Invalid(Invalid::ErrsLength));
        }
        let space = u16::try_from(space.raw()).map_err(|_| Error::Invalid(Invalid::BatchSpace))?;
        errs.fill(EntryStatus::NOT_DONE);
        let mut start = 0;
        loop {
            let end = idxs.len().min(start + BATCH_MAX_ENTRIES);
            let (i, g, e) = (&idxs[start..end], &gfns[start..end], &mut errs[start..end]);
            let mut arg = XenAddToPhysmapBatch {
                domid: domid.raw(),
                space,
                // `end - start <= BATCH_MAX_ENTRIES`, so this cannot truncate.
                size: (end - start) as u16,
                foreign_domid: foreign.raw(),
                idxs: handle(i),
                gpfns: handle(g),
                errs: handle_mut(e),
            };
            // SAFETY: `arg` is live; idxs and gpfns point to `size` readable 8-byte entries
            // (asserted above for I) and errs to `size` writable `int`s (EntryStatus is a
            // transparent i32), all borrowed for the whole call.
            let rc = unsafe { self.memory_op(abi::XENMEM_ADD_TO_PHYSMAP_BATCH, &mut arg) };
            XenError::check(rc).map_err(Error::Xen)?;
            start = end;
            if start >= idxs.len() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{DomId, EntryStatus, Error, Gfn, Invalid, MapSpace, Xen, XenError};

    fn ints(b: &[u8]) -> Vec<i32> {
        b.chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
    }

    #[test]
    fn marshals_struct_arrays_and_decodes_statuses() {
        // Xen processed every entry: 0, -EINVAL, -EPERM; the call itself returns 0.
        let xen =
            Xen::new(Recorder::new(|_: &Seen| Reply { rc: 0, errs: vec![0, -22, -1], ..Reply::default() }));
        let idxs = [0x100u64, 0x101, 0x102];
        let gfns = [Gfn(0x3_0000), Gfn(0x3_0001), Gfn(0x3_0002)];
        let mut errs = [EntryStatus::OK; 3];
        xen.add_to_physmap_batch(DomId::SELF, MapSpace::GmfnForeign, DomId(1), &idxs, &gfns, &mut errs)
            .unwrap();
        let c = &xen.backend().calls()[0];
        assert_eq!(c.args[0], 23);
        let want = cat(&[
            &[0xf0, 0x7f, 4, 0, 3, 0, 1, 0],
            &h(idxs.as_ptr() as u64),
            &h(gfns.as_ptr() as u64),
            &h(errs.as_ptr() as u64),
        ]);
        assert_eq!(c.arg, want);
        assert_eq!(c.arrays[0], cat(&[&h(0x100), &h(0x101), &h(0x102)]));
        assert_eq!(c.arrays[1], cat(&[&h(0x3_0000), &h(0x3_0001), &h(0x3_0002)]));
        // Before the call every status was marked "not done".
        assert_eq!(ints(&c.arrays[2]), vec![i32::MIN; 3]);
        assert_eq!(errs[0].result(), Some(Ok(())));
        assert_eq!(errs[1].result(), Some(Err(XenError::Inval)));
        assert_eq!(errs[2].result(), Some(Err(XenError::Perm)));
    }

    #[test]
    fn aborted_call_leaves_unreached_entries_marked() {
        // Xen wrote entry 0, then hit INVALID_GFN at entry 1 and returned -EINVAL.
        let xen = Xen::new(Recorder::new(|_: &Seen| Reply { rc: -22, errs: vec![0], ..Reply::default() }));
        let mut errs = [EntryStatus::OK; 3];
        let r = xen.add_to_physmap_batch(
            DomId::SELF,
            MapSpace::Gmfn,
            DomId(0),
            &[1, 2, 3],
            &[Gfn(5), Gfn::INVALID, Gfn(7)],
            &mut errs,
        );
        assert_eq!(r, Err(Error::Xen(XenError::Inval)));
        assert_eq!(errs.map(|e| e.result()), [Some(Ok(())), None, None]);
    }

    #[test]
    fn lengths_are_checked_before_any_call() {
        let xen = Xen::new(Recorder::new(rc(0)));
        let mut errs = [EntryStatus::OK; 2];
        assert!(matches!(
            xen.add_to_physmap_batch(DomId::SELF, MapSpace::Gmfn, DomId(0), &[1, 2], &[Gfn(1)], &mut errs),
            Err(Error::Invalid(Invalid::GfnsLength))
        ));
        assert!(matches!(
            xen.add_to_physmap_batch(DomId::SELF, MapSpace::Gmfn, DomId(0), &[1], &[Gfn(1)], &mut errs),
            Err(Error::Invalid(Invalid::ErrsLength))
        ));
        assert_eq!(
            xen.add_to_physmap_batch(DomId::SELF, MapSpace::Other(0x1_0000), DomId(0), &[], &[], &mut []),
            Err(Error::Invalid(Invalid::BatchSpace))
        );
        assert!(xen.backend().calls().is_empty());
        // The statuses were not touched by a refused call.
        assert_eq!(errs, [EntryStatus::OK; 2]);
    }

    #[test]
    fn empty_batch_is_one_call_of_size_zero() {
        let xen = Xen::new(Recorder::new(rc(-3)));
        let r = xen.add_to_physmap_batch(DomId(9), MapSpace::GmfnForeign, DomId(1), &[], &[], &mut []);
        assert_eq!(r, Err(Error::Xen(XenError::Srch)));
        let c = xen.backend().calls();
        assert_eq!(c.len(), 1);
        assert_eq!(&c[0].arg[4..6], &[0, 0]);
    }

    #[test]
    fn million_foreign_frames_take_sixteen_calls() {
        let n = 1_000_000usize;
        let xen = Xen::new(Recorder::new(|s: &Seen| {
            let size = u16::from_le_bytes([s.arg[4], s.arg[5]]) as usize;
            Reply { rc: 0, errs: vec![0; size], ..Reply::default() }
        }));
        let foreign: Vec<Gfn> = (0..n as u64).map(Gfn).collect();
        let at: Vec<Gfn> = (0..n as u64).map(|g| Gfn(0x10_0000 + g)).collect();
        let mut errs = vec![EntryStatus::NOT_DONE; n];
        xen.map_foreign_batch(DomId::SELF, DomId(1), &foreign, &at, &mut errs).unwrap();
        let calls = xen.backend().calls();
        assert_eq!(calls.len(), 16);
        for (i, c) in calls.iter().enumerate() {
            let size = u16::from_le_bytes([c.arg[4], c.arg[5]]) as usize;
            let want = if i < 15 { 65_535 } else { n - 15 * 65_535 };
            assert_eq!(size, want, "call {i}");
            // Each call's handles point at its chunk.
            let base = 65_535 * i as u64;
            assert_eq!(&c.arg[8..16], &h(foreign.as_ptr() as u64 + 8 * base));
            assert_eq!(&c.arg[16..24], &h(at.as_ptr() as u64 + 8 * base));
            assert_eq!(&c.arg[24..32], &h(errs.as_ptr() as u64 + 4 * base));
        }
        assert!(errs.iter().all(|e| e.is_ok()));
    }

    #[test]
    fn failing_chunk_stops_and_keeps_earlier_statuses() {
        let mut call = 0;
        let xen = Xen::new(Recorder::new(move |s: &Seen| {
            call += 1;
            let size = u16::from_le_bytes([s.arg[4], s.arg[5]]) as usize;
            if call == 1 {
                Reply { rc: 0, errs: vec![-2; size], ..Reply::default() }
            } else {
                Reply { rc: -14, ..Reply::default() }
            }
        }));
        let n = 65_536;
        let idxs = vec![0u64; n];
        let gfns = vec![Gfn(1); n];
        let mut errs = vec![EntryStatus::OK; n];
        let r = xen.add_to_physmap_batch(DomId::SELF, MapSpace::Gmfn, DomId(0), &idxs, &gfns, &mut errs);
        assert_eq!(r, Err(Error::Xen(XenError::Fault)));
        assert_eq!(xen.backend().calls().len(), 2);
        assert_eq!(errs[65_534].result(), Some(Err(XenError::NoEnt)));
        assert_eq!(errs[65_535].result(), None);
    }
}
