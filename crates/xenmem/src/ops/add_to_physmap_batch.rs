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
use crate::error::{Error, XenError};
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
    /// # fn example<H: xenmem::Hypercall>(xen: &xenmem::Xen<H>) -> Result<(), xenmem::Error> {
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
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if the three slices differ in length,
    /// [`Error::OutOfRange`] for a space that does not fit 16 bits, and Xen's errno for the
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
        if idxs.len() != gfns.len() {
            return Err(Error::LengthMismatch { what: "idxs and gfns", expected: idxs.len(), found: gfns.len() });
        }
        if idxs.len() != errs.len() {
            return Err(Error::LengthMismatch { what: "idxs and errs", expected: idxs.len(), found: errs.len() });
        }
        let space = u16::try_from(space.raw())
            .map_err(|_| Error::OutOfRange { what: "batch map space", value: space.raw() as u64 })?;
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
            // SAFETY: `arg` is live; idxs and gpfns point to `size` readable entries and errs
            // to `size` writable `int`s (EntryStatus is a transparent i32), all borrowed for
            // the whole call.
            let rc = unsafe { self.memory_op(abi::XENMEM_ADD_TO_PHYSMAP_BATCH, &mut arg) };
            XenError::check(rc).map_err(Error::Xen)?;
            start = end;
            if start >= idxs.len() {
                return Ok(());
            }
        }
    }

    /// Maps `foreign_gfns[i]` of domain `foreign` at `gfns[i]` of `domid`: the batch form
    /// with [`MapSpace::GmfnForeign`], as a device model or toolstack uses it.
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
        let idxs = zerocopy::IntoBytes::as_bytes(foreign_gfns);
        // Gfn is a transparent u64, so its slice is a `xen_ulong_t` array as it stands.
        let idxs: &[u64] = zerocopy::FromBytes::ref_from_bytes(idxs).map_err(|_| Error::OutOfRange {
            what: "foreign gfn array alignment",
            value: foreign_gfns.as_ptr() as u64,
        })?;
        self.add_to_physmap_batch(domid, MapSpace::GmfnForeign, foreign, idxs, gfns, errs)
    }
}
