//! The exported functions, with Zephyr's prototypes (`include/zephyr/xen/memory.h`, and
//! PR #115173's two reservation wrappers).
//!
//! Each one converts its C arguments (refusing what Xen's fields cannot hold, and pointers no
//! buffer can have, with `-EINVAL`), calls [`xenmem::Xen`] (whose own checks and chunking
//! apply), and returns Zephyr's `int`. The doc comments here are the C header's.

#![allow(non_camel_case_types)]

use crate::backend::xen;
use crate::ffi::{self, guard};
use core::ffi::{c_int, c_uint, c_ulong};
use xenmem::{DomId, EntryStatus, Error, Gfn, MapSpace, MemFlags, Mfn, ResourceType, XenError};

/// A guest frame number (Xen's `xen_pfn_t`: 64 bits on arm64 and x86_64).
pub type xen_pfn_t = u64;
/// Xen's `xen_ulong_t` (64 bits on arm64 and x86_64).
pub type xen_ulong_t = u64;
/// A domain id (Xen's `domid_t`).
pub type domid_t = u16;

/// The value `xendom_add_to_physmap_batch` leaves in `errs[i]` for an entry Xen never reached
/// (Xen aborted the call before it): every entry is set to this before each call, and Xen
/// overwrites the entries it processes with 0 or a negative errno. Never a value Xen writes.
pub const XENMEM_ENTRY_NOT_DONE: c_int = -0x7FFF_FFFF - 1;
const _: () = assert!(XENMEM_ENTRY_NOT_DONE == EntryStatus::NOT_DONE.raw());

const EINVAL: c_int = XenError::Inval.errno();

/// Zephyr's `int` domain id as Xen's `domid_t`, or `None` if it does not fit 16 bits.
fn domid(d: c_int) -> Option<DomId> {
    u16::try_from(d).ok().map(DomId)
}

/// 0 or the negative errno.
fn status(r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => -e.errno(),
    }
}

/// Maps entry `idx` of map space `space` at frame `gpfn` of domain `domid`
/// (`XENMEM_add_to_physmap`).
///
/// `domid` is the domain whose physmap changes; `DOMID_SELF` (0x7FF0) for the caller, which
/// is the only id an unprivileged domain may name. `idx` means what `space` says: 0 for
/// `XENMAPSPACE_shared_info`, a frame index (OR `XENMAPIDX_grant_table_status` for a status
/// frame) for `XENMAPSPACE_grant_table`, a frame of the domain for `XENMAPSPACE_gmfn` (x86).
///
/// Returns 0, or a negative errno: Xen's `-ESRCH` (no such domain), `-EACCES` (an x86 PV
/// target), `-EPERM` (no privilege over it), `-EINVAL` (`gpfn` is `INVALID_GFN`, shared info
/// with `idx` != 0, a grant frame past the table's limit), `-ENOSYS` (`XENMAPSPACE_gmfn_foreign`:
/// only the batch maps foreign frames), or the architecture's own.
///
/// Differences from Zephyr's implementation: a `domid` outside 0..=0xFFFF is `-EINVAL` (Zephyr
/// keeps its low 16 bits, so 0x10000 would name domain 0); `XENMAPSPACE_gmfn_range` is
/// `-EINVAL`, since this call has no size (Zephyr sends size 0, which Xen takes as "nothing to
/// do" and answers 0).
#[no_mangle]
pub extern "C" fn xendom_add_to_physmap(domid: c_int, idx: c_ulong, space: c_uint, gpfn: xen_pfn_t) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return -EINVAL };
        // `unsigned long` is Xen's `xen_ulong_t` on the 64-bit targets this ABI describes.
        #[allow(clippy::unnecessary_cast)]
        let idx = idx as u64;
        status(xen().add_to_physmap(d, MapSpace::from_raw(space), idx, Gfn(gpfn)))
    })
}

/// Maps `idxs[i]` of map space `space` at frame `gpfns[i]` of domain `domid`, for
/// `i < size`, writing each entry's outcome to `errs[i]` (`XENMEM_add_to_physmap_batch`).
///
/// `foreign_domid` is the domain that owns the frames for `XENMAPSPACE_gmfn_foreign` (then
/// `idxs` are its frame numbers); pass 0 for the other spaces.
///
/// Returns 0 when Xen processed the entries **even if some or all of them failed**: read
/// `errs[i]` (0 mapped, else a negative errno such as `-EINVAL` for an unpopulated foreign
/// frame, `-EPERM` without privilege over the foreign domain, `-ESRCH` for a foreign domain
/// that does not exist or is `DOMID_SELF` on x86). A negative return is a failure of the whole
/// call: Xen's `-EOPNOTSUPP` (`XENMAPSPACE_gmfn_range`), `-ESRCH`, `-EACCES`, `-EPERM` (as
/// for `xendom_add_to_physmap`), `-EINVAL` (a `gpfns[i]` of `INVALID_GFN`: entries before it
/// stay mapped), or this library's `-EINVAL` below. Entries Xen did not reach hold
/// `XENMEM_ENTRY_NOT_DONE`.
///
/// Differences from Zephyr's implementation: `domid` or `foreign_domid` outside 0..=0xFFFF,
/// and `space` above 0xFFFF (the batch's field is 16 bits), are `-EINVAL` (Zephyr keeps the
/// low 16 bits: space 0x10004 would become `XENMAPSPACE_gmfn_foreign`). A `size` above 65,535
/// is split into calls of at most 65,535 entries, so every entry is processed (Zephyr's maps
/// only `size & 0xFFFF` of them: 4,464 of 70,000); a failing call stops the batch and leaves
/// the later entries `XENMEM_ENTRY_NOT_DONE`. A null array with a non-zero `size`, a
/// misaligned array, or an `errs` that overlaps `idxs` or `gpfns` is `-EINVAL`.
///
/// # Safety
///
/// `idxs` and `gpfns` must point to `size` readable values and `errs` to `size` writable
/// `int`s (any of them may be null when `size` is 0), none of them written by anyone else
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn xendom_add_to_physmap_batch(
    domid: c_int,
    foreign_domid: c_int,
    space: c_uint,
    size: c_uint,
    idxs: *mut xen_ulong_t,
    gpfns: *mut xen_pfn_t,
    errs: *mut c_int,
) -> c_int {
    guard(|| {
        let (Some(d), Some(f)) = (self::domid(domid), self::domid(foreign_domid)) else { return -EINVAL };
        let Ok(n) = usize::try_from(size) else { return -EINVAL };
        if ffi::overlap(errs, n, idxs, n) || ffi::overlap(errs, n, gpfns, n) {
            return -EINVAL;
        }
        // SAFETY: the caller promises `size` readable values at `idxs` and `gpfns` and `size`
        // writable ints at `errs`, written by no one else during the call; `errs` shares no
        // byte with the other two (checked above). `Gfn` and `EntryStatus` are transparent
        // wrappers of `xen_pfn_t` and `int`.
        let bufs = unsafe {
            (
                ffi::slice(idxs.cast_const(), n),
                ffi::slice(gpfns.cast_const().cast::<Gfn>(), n),
                ffi::slice_mut(errs.cast::<EntryStatus>(), n),
            )
        };
        let (Some(idxs), Some(gfns), Some(errs)) = bufs else { return -EINVAL };
        status(xen().add_to_physmap_batch(d, MapSpace::from_raw(space), f, idxs, gfns, errs))
    })
}

/// Unmaps whatever page is at frame `gpfn` of domain `domid` (`XENMEM_remove_from_physmap`).
///
/// Only the mapping goes: a RAM page stays allocated to the domain (and counted in its
/// reservation); a foreign page loses the reference the mapping held.
///
/// Returns 0, or a negative errno: Xen's `-ESRCH`, `-EACCES`, `-EPERM` (as for
/// `xendom_add_to_physmap`), `-ENOENT` (nothing that can be unmapped is there: a hole, MMIO, a
/// grant mapping).
///
/// Difference from Zephyr's implementation: a `domid` outside 0..=0xFFFF is `-EINVAL`.
#[no_mangle]
pub extern "C" fn xendom_remove_from_physmap(domid: c_int, gpfn: xen_pfn_t) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return -EINVAL };
        status(xen().remove_from_physmap(d, Gfn(gpfn)))
    })
}

/// Allocates `nr_extents` extents of 2^`extent_order` pages to domain `domid` and maps
/// extent `i` at frame `extent_start[i]` (`XENMEM_populate_physmap`).
///
/// `mem_flags` are Xen's `XENMEMF_*` (0 for no constraint).
///
/// Returns the number of extents Xen populated. **Xen never returns a negative errno for
/// this operation**: every refusal is a count below `nr_extents`, 0 when nothing was done (no
/// such domain, no privilege over it, an order above the caller's limit — 9 for a domU —, bad
/// flags), or the extents done so far when the domain reaches its `max_pages` or memory runs
/// out. Zephyr's header promises a negative errno; from Xen that never comes. For an x86 PV
/// target Xen writes each extent's machine frame back into `extent_start[i]`.
///
/// Negative returns come only from this library: `-EINVAL` for a `domid` outside 0..=0xFFFF
/// (Zephyr keeps its low 16 bits), an `nr_extents` above `INT_MAX` (the count could not be
/// returned), an `extent_order` above 51 (no extent that large exists), or a null or misaligned
/// `extent_start` with a non-zero `nr_extents`. More extents than Xen takes in one call
/// (67,108,863) are split into several calls, stopping at the first short one.
///
/// # Safety
///
/// `extent_start` must point to `nr_extents` readable and writable `xen_pfn_t`s (it may be
/// null when `nr_extents` is 0), accessed by no one else during the call.
#[no_mangle]
pub unsafe extern "C" fn xendom_populate_physmap(
    domid: c_int,
    extent_order: c_uint,
    nr_extents: c_uint,
    mem_flags: c_uint,
    extent_start: *mut xen_pfn_t,
) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return -EINVAL };
        if c_int::try_from(nr_extents).is_err() {
            return -EINVAL;
        }
        let Ok(n) = usize::try_from(nr_extents) else { return -EINVAL };
        // SAFETY: the caller promises `nr_extents` readable and writable slots at
        // `extent_start`, accessed by no one else during the call; `Gfn` is a transparent
        // wrapper of `xen_pfn_t`.
        let Some(gfns) = (unsafe { ffi::slice_mut(extent_start.cast::<Gfn>(), n) }) else { return -EINVAL };
        match xen().populate_physmap(d, extent_order, MemFlags::from_raw(mem_flags), gfns) {
            // At most `nr_extents`, which fits (checked above).
            Ok(done) => c_int::try_from(done).unwrap_or(c_int::MAX),
            Err(e) => -e.errno(),
        }
    })
}

/// Allocates `nr_extents` extents of 2^`extent_order` pages to domain `domid` without
/// mapping them (`XENMEM_increase_reservation`).
///
/// The prototype is that of Zephyr's wrapper (zephyrproject-rtos/zephyr PR #115173, 2026).
/// `mem_flags` are Xen's `XENMEMF_*` (0 for no constraint). `extent_start` may be null: Xen
/// then allocates without reporting frames. Otherwise it holds `nr_extents` slots, into which
/// Xen writes each extent's machine frame **for an x86 PV target only**; a translated target
/// (Arm, x86 PVH and HVM) gets its pages with the slots left as they were, and must map them
/// with `xendom_populate_physmap` to use them.
///
/// Returns the number of extents Xen allocated. As for `xendom_populate_physmap`, **Xen never
/// returns a negative errno for this operation**: a refusal is a count below `nr_extents`
/// (0 for no such domain, no privilege over it, an order above the caller's limit, bad
/// flags; the extents done so far when the domain reaches its `max_pages` or memory runs
/// out).
///
/// Negative returns come only from this library: `-EINVAL` for a `domid` outside
/// 0..=0xFFFF, an `nr_extents` above `INT_MAX`, an `extent_order` above 51, or a misaligned
/// `extent_start`. More extents than Xen takes in one call (67,108,863) are split into
/// several calls, stopping at the first short one.
///
/// # Safety
///
/// A non-null `extent_start` must point to `nr_extents` readable and writable `xen_pfn_t`s,
/// accessed by no one else during the call.
#[no_mangle]
pub unsafe extern "C" fn xendom_increase_reservation(
    domid: c_int,
    extent_order: c_uint,
    nr_extents: c_uint,
    mem_flags: c_uint,
    extent_start: *mut xen_pfn_t,
) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return -EINVAL };
        if c_int::try_from(nr_extents).is_err() {
            return -EINVAL;
        }
        let flags = MemFlags::from_raw(mem_flags);
        let done = if extent_start.is_null() {
            increase_without_list(d, extent_order, flags, u64::from(nr_extents))
        } else {
            let Ok(n) = usize::try_from(nr_extents) else { return -EINVAL };
            // SAFETY: the caller promises `nr_extents` readable and writable slots at a
            // non-null `extent_start`, accessed by no one else during the call; `Mfn` is a
            // transparent wrapper of `xen_pfn_t`.
            let Some(mfns) = (unsafe { ffi::slice_mut(extent_start.cast::<Mfn>(), n) }) else {
                return -EINVAL;
            };
            xen().increase_reservation_into(d, extent_order, flags, mfns).map(|n| n as u64)
        };
        match done {
            // At most `nr_extents`, which fits (checked above).
            Ok(done) => c_int::try_from(done).unwrap_or(c_int::MAX),
            Err(e) => -e.errno(),
        }
    })
}

/// `XENMEM_increase_reservation` with a null list, in calls of at most Xen's per-call
/// extent limit, stopping at the first short one.
fn increase_without_list(d: DomId, order: u32, flags: MemFlags, n: u64) -> Result<u64, Error> {
    let mut done = 0;
    while done < n {
        let want = (n - done).min(xenmem::abi::MEMOP_MAX_EXTENTS);
        let got = xen().increase_reservation(d, order, flags, want)?;
        done += got;
        if got < want {
            break;
        }
    }
    Ok(done)
}

/// Frees the extents of 2^`extent_order` pages that domain `domid` has mapped at frames
/// `extent_start[0 .. nr_extents]` (`XENMEM_decrease_reservation`).
///
/// The prototype is that of Zephyr's wrapper (zephyrproject-rtos/zephyr PR #115173, 2026).
/// The pages go back to Xen and leave the domain's reservation (`tot_pages`); the frames are
/// holes afterwards. `mem_flags` are sent to Xen, which checks them as for an allocation
/// (flags it refuses free nothing) and otherwise ignores them: pass 0.
///
/// Returns the number of extents Xen freed. **Xen never returns a negative errno for this
/// operation**: it frees the extents in order and stops at the first one it cannot (a hole,
/// a page another domain owns, MMIO, an order above the caller's limit), so a count below
/// `nr_extents` says extents `0 .. count` were freed and the rest were not. An extent freed
/// only in part (its first pages gone, then a hole) is not counted.
///
/// Negative returns come only from this library: `-EINVAL` for a `domid` outside
/// 0..=0xFFFF, an `nr_extents` above `INT_MAX`, an `extent_order` above 51, or a null or
/// misaligned `extent_start` with a non-zero `nr_extents`.
///
/// # Safety
///
/// `extent_start` must point to `nr_extents` readable `xen_pfn_t`s (it may be null when
/// `nr_extents` is 0), written by no one else during the call.
#[no_mangle]
pub unsafe extern "C" fn xendom_decrease_reservation(
    domid: c_int,
    extent_order: c_uint,
    nr_extents: c_uint,
    mem_flags: c_uint,
    extent_start: *mut xen_pfn_t,
) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return -EINVAL };
        if c_int::try_from(nr_extents).is_err() {
            return -EINVAL;
        }
        let Ok(n) = usize::try_from(nr_extents) else { return -EINVAL };
        // SAFETY: the caller promises `nr_extents` readable values at `extent_start`, written
        // by no one else during the call; `Gfn` is a transparent wrapper of `xen_pfn_t`.
        let Some(gfns) = (unsafe { ffi::slice(extent_start.cast_const().cast::<Gfn>(), n) }) else {
            return -EINVAL;
        };
        match xen().decrease_reservation_with_flags(d, extent_order, MemFlags::from_raw(mem_flags), gfns) {
            // At most `nr_extents`, which fits (checked above).
            Ok(done) => c_int::try_from(done).unwrap_or(c_int::MAX),
            Err(e) => -e.errno(),
        }
    })
}

/// Maps frames `frame .. frame + *nr_frames` of resource `id` of type `type` of domain `domid`,
/// or, with a null `frame_list`, asks the resource's size (`XENMEM_acquire_resource`).
///
/// `type` is `XENMEM_resource_ioreq_server` (0; `id` is the server), `_grant_table` (1; `id`
/// 0 shared frames, 1 status frames) or `_vmtrace_buf` (2; `id` is the vCPU). `domid` must be
/// **another** domain: Xen refuses `DOMID_SELF` with `-ESRCH` and the caller's own id with
/// `-EPERM` (an older Zephyr header suggested `DOMID_SELF`). The caller must be the control
/// domain or the target's device model (`-EPERM`); on x86 a translated caller must be the
/// hardware domain (`-EACCES`).
///
/// Size query: `frame_list` null and `*nr_frames` 0; on success `*nr_frames` is the
/// resource's size in frames (`-EINVAL` if `*nr_frames` was not 0, or the resource has no
/// frames). Mapping: a translated caller (Arm, x86 PVH) puts in `frame_list[i]` the frame of
/// its own physmap where resource frame `frame + i` is to appear; a PV caller gets the machine
/// frames back in it. `*nr_frames` is left as it was. Errors: Xen's `-EINVAL` (`*nr_frames` 0,
/// frames past the resource's end, `frame` beyond 32 bits, grant status frames without grant
/// v2), `-ENOENT` (no such ioreq server), `-EOPNOTSUPP` (unknown type), `-EIO` (some frames of
/// a chunk of 32 were mapped before one failed: unmap them).
///
/// Returns 0 or a negative errno; `*nr_frames` is changed only by a successful size query.
///
/// Difference from Zephyr's implementation: a null `nr_frames`, or a misaligned `nr_frames` or
/// `frame_list`, is `-EINVAL` (Zephyr dereferences it).
///
/// # Safety
///
/// `nr_frames` must point to a readable and writable `uint32_t`; a non-null `frame_list` must
/// point to `*nr_frames` readable and writable `xen_pfn_t`s; neither is accessed by anyone
/// else during the call.
#[no_mangle]
pub unsafe extern "C" fn xendom_acquire_resource(
    domid: domid_t,
    r#type: u16,
    id: u32,
    frame: u64,
    nr_frames: *mut u32,
    frame_list: *mut xen_pfn_t,
) -> c_int {
    guard(|| {
        // SAFETY: the caller promises a readable `uint32_t` at a non-null `nr_frames`
        // (`read` refuses null and misaligned pointers).
        let Some(n) = (unsafe { ffi::read(nr_frames.cast_const()) }) else { return -EINVAL };
        let list = if frame_list.is_null() {
            None
        } else {
            let Ok(len) = usize::try_from(n) else { return -EINVAL };
            // SAFETY: the caller promises `*nr_frames` readable and writable slots at a
            // non-null `frame_list`, accessed by no one else during the call; `Gfn` is a
            // transparent wrapper of `xen_pfn_t`.
            let Some(l) = (unsafe { ffi::slice_mut(frame_list.cast::<Gfn>(), len) }) else { return -EINVAL };
            Some(l)
        };
        let ty = ResourceType::from_raw(r#type);
        match xen().acquire_resource_raw(DomId(domid), ty, id, frame, n, list) {
            Ok(after) => {
                // SAFETY: `nr_frames` was read above (non-null, aligned); the caller promises
                // it writable, and the frame list borrowed during the call is released.
                unsafe { ffi::write(nr_frames, after) };
                0
            }
            Err(e) => -e.errno(),
        }
    })
}

/// The argument checks, through the unit tests' `xenmem_hypercall` (`crate::test_hook`),
/// which counts calls: a refusal by this layer issues none, Xen's answers come from the model.
#[cfg(all(test, not(feature = "model")))]
mod tests {
    use super::*;
    use crate::test_hook::{calls, install};
    use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim};

    const ENOSYS: c_int = XenError::NoSys.errno();

    /// A model with a PVH dom0 (the caller) and a PVH domU (id 1).
    fn model() -> Sim {
        let sim = Sim::new(MachineConfig::x86_64(1 << 16));
        let d0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
        sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
        install(Some(sim.backend(d0)));
        sim
    }

    #[test]
    fn domids_outside_domid_t_are_refused_before_any_call() {
        install(None);
        let mut g = [0x100u64];
        let mut e = [0; 1];
        for bad in [-1, 0x1_0000, 0x1_7ff0, c_int::MIN, c_int::MAX] {
            assert_eq!(xendom_add_to_physmap(bad, 0, 0, 0x100), -EINVAL, "{bad:#x}");
            assert_eq!(xendom_remove_from_physmap(bad, 0x100), -EINVAL);
            // SAFETY: one-entry arrays, as the counts say.
            unsafe {
                assert_eq!(xendom_populate_physmap(bad, 0, 1, 0, g.as_mut_ptr()), -EINVAL);
                let (i, gp, ep) = (g.as_mut_ptr(), g.as_mut_ptr(), e.as_mut_ptr());
                assert_eq!(xendom_add_to_physmap_batch(bad, 1, 4, 1, i, gp, ep), -EINVAL);
                assert_eq!(xendom_add_to_physmap_batch(0x7ff0, bad, 4, 1, i, gp, ep), -EINVAL);
            }
        }
        assert_eq!(calls(), 0);
        // The whole domid_t range goes to Xen (here: no backend, -ENOSYS).
        assert_eq!(xendom_remove_from_physmap(0xffff, 1), -ENOSYS);
        assert_eq!(xendom_remove_from_physmap(0, 1), -ENOSYS);
        assert_eq!(calls(), 2);
    }

    #[test]
    fn batch_space_above_16_bits_and_bad_arrays_are_refused() {
        install(None);
        let mut idxs = [1u64, 2];
        let mut gfns = [3u64, 4];
        let mut errs = [7; 2];
        let (i, g, e) = (idxs.as_mut_ptr(), gfns.as_mut_ptr(), errs.as_mut_ptr());
        let null_u64 = core::ptr::null_mut::<u64>();
        // SAFETY: every pointer is null or an array of at least `size` entries.
        unsafe {
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 0x1_0004, 2, i, g, e), -EINVAL);
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 4, 2, null_u64, g, e), -EINVAL);
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 4, 2, i, null_u64, e), -EINVAL);
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 4, 2, i, g, core::ptr::null_mut()), -EINVAL);
            // errs inside idxs, or inside gpfns.
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 4, 2, i, g, i.cast()), -EINVAL);
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 4, 2, i, g, g.cast::<c_int>().add(1)), -EINVAL);
            // A misaligned array.
            let odd = i.cast::<u8>().add(1).cast::<u64>();
            assert_eq!(xendom_add_to_physmap_batch(0x7ff0, 1, 4, 1, odd, g, e), -EINVAL);
        }
        assert_eq!(errs, [7, 7]);
        assert_eq!(calls(), 0);
        // Size 0 with null arrays is a call (Xen's domain and permission checks answer).
        // SAFETY: nothing is accessed for size 0.
        let rc = unsafe {
            xendom_add_to_physmap_batch(0x7ff0, 1, 4, 0, null_u64, null_u64, core::ptr::null_mut())
        };
        assert_eq!(rc, -ENOSYS);
        assert_eq!(calls(), 1);
    }

    #[test]
    fn populate_refuses_counts_an_int_cannot_return() {
        install(None);
        let mut g = [0u64; 2];
        // SAFETY: the refused calls access nothing; the others give their real length.
        unsafe {
            assert_eq!(xendom_populate_physmap(0x7ff0, 0, 0x8000_0000, 0, g.as_mut_ptr()), -EINVAL);
            assert_eq!(xendom_populate_physmap(0x7ff0, 0, u32::MAX, 0, g.as_mut_ptr()), -EINVAL);
            assert_eq!(xendom_populate_physmap(0x7ff0, 0, 1, 0, core::ptr::null_mut()), -EINVAL);
            assert_eq!(xendom_populate_physmap(0x7ff0, 52, 1, 0, g.as_mut_ptr()), -EINVAL);
            // No extents: 0, no call, even with a null list.
            assert_eq!(xendom_populate_physmap(0x7ff0, 0, 0, 0, core::ptr::null_mut()), 0);
            assert_eq!(calls(), 0);
            // A backend error (here -ENOSYS) is passed on as a negative errno.
            assert_eq!(xendom_populate_physmap(0x7ff0, 0, 2, 0, g.as_mut_ptr()), -ENOSYS);
        }
    }

    #[test]
    fn populate_and_batch_on_the_model() {
        let sim = model();
        let mut gfns = [0x100u64, 0x101, 0x102];
        // SAFETY: the arrays are as long as the counts.
        unsafe {
            assert_eq!(xendom_populate_physmap(1, 0, 3, 0, gfns.as_mut_ptr()), 3);
            // Xen's refusals are short counts: no such domain.
            assert_eq!(xendom_populate_physmap(77, 0, 3, 0, gfns.as_mut_ptr()), 0);
            let mut idxs = [0x100u64, 0x999, 0x102];
            let mut at = [0x5000u64, 0x5001, 0x5002];
            let mut errs = [7; 3];
            let rc = xendom_add_to_physmap_batch(
                0x7ff0,
                1,
                4,
                3,
                idxs.as_mut_ptr(),
                at.as_mut_ptr(),
                errs.as_mut_ptr(),
            );
            assert_eq!(rc, 0);
            assert_eq!(errs, [0, -EINVAL, 0]);
        }
        assert_eq!(sim.domain_info(DomId(1)).unwrap().tot_pages, 3);
    }

    #[test]
    fn reservation_wrappers_refuse_what_xen_cannot_take_before_any_call() {
        install(None);
        let mut g = [0x100u64, 0x101];
        let p = g.as_mut_ptr();
        let null = core::ptr::null_mut::<u64>();
        // SAFETY: every pointer is null or an array of at least the count it is given with.
        unsafe {
            for f in [xendom_increase_reservation, xendom_decrease_reservation] {
                assert_eq!(f(0x1_0000, 0, 1, 0, p), -EINVAL);
                assert_eq!(f(-1, 0, 1, 0, p), -EINVAL);
                assert_eq!(f(0x7ff0, 0, 0x8000_0000, 0, p), -EINVAL);
                assert_eq!(f(0x7ff0, 52, 1, 0, p), -EINVAL);
                let odd = p.cast::<u8>().add(1).cast::<u64>();
                assert_eq!(f(0x7ff0, 0, 1, 0, odd), -EINVAL);
                // No extents: 0 and no call, whatever the list.
                assert_eq!(f(0x7ff0, 0, 0, 0, null), 0);
            }
            // Decrease reads the list: null with extents is refused. Increase may have none.
            assert_eq!(xendom_decrease_reservation(0x7ff0, 0, 1, 0, null), -EINVAL);
            assert_eq!(calls(), 0);
            assert_eq!(xendom_increase_reservation(0x7ff0, 0, 1, 0, null), -ENOSYS);
            assert_eq!(calls(), 1);
        }
    }

    #[test]
    fn reservation_wrappers_on_the_model() {
        let sim = model();
        let pages = |sim: &Sim| sim.domain_info(DomId(1)).unwrap().tot_pages;
        // SAFETY: every array is as long as the count it is given with.
        unsafe {
            // Without a list: pages allocated, nothing mapped (real Xen: "increase
            // increase_reservation(U, order 0, 2) -> n=2").
            assert_eq!(xendom_increase_reservation(1, 0, 2, 0, core::ptr::null_mut()), 2);
            assert_eq!(pages(&sim), 2);
            // With a list, a translated target's slots are left alone.
            let mut slots = [7u64, 7];
            assert_eq!(xendom_increase_reservation(1, 0, 2, 0, slots.as_mut_ptr()), 2);
            assert_eq!(slots, [7, 7]);
            assert_eq!(pages(&sim), 4);
            // No such domain: a count of 0 ("increase_reservation(d100, order 0, 1) -> n=0").
            assert_eq!(xendom_increase_reservation(100, 0, 1, 0, core::ptr::null_mut()), 0);

            let mut gfns = [0x101u64, 0x102, 0x103];
            assert_eq!(xendom_populate_physmap(1, 0, 3, 0, gfns.as_mut_ptr()), 3);
            let before = pages(&sim);
            // Xen stops at the hole ("decrease_reservation(U, order 0, [0x102, hole, 0x103])
            // -> n=1"): 0x102 freed, 0x103 kept.
            let mut list = [0x102u64, 0x5000, 0x103];
            assert_eq!(xendom_decrease_reservation(1, 0, 3, 0, list.as_mut_ptr()), 1);
            assert_eq!(pages(&sim), before - 1);
            // Freed once: the frame is a hole now ("again -> n=0").
            assert_eq!(xendom_decrease_reservation(1, 0, 1, 0, list.as_mut_ptr()), 0);
            // Address bits of 12 or fewer are refused in the shared prologue: nothing freed.
            let mut last = [0x103u64];
            assert_eq!(xendom_decrease_reservation(1, 0, 1, 12, last.as_mut_ptr()), 0);
            assert_eq!(xendom_decrease_reservation(1, 0, 1, 0, last.as_mut_ptr()), 1);
            assert_eq!(pages(&sim), before - 2);
        }
    }

    #[test]
    fn acquire_resource_size_query_writes_nr_frames_only_on_success() {
        model();
        let mut nr = 0u32;
        // SAFETY: `nr` is a live u32; the lists are null or as long as `nr` says.
        unsafe {
            assert_eq!(xendom_acquire_resource(1, 1, 0, 0, &mut nr, core::ptr::null_mut()), 0);
            assert_eq!(nr, 32);
            nr = 1;
            assert_eq!(xendom_acquire_resource(1, 1, 0, 0, &mut nr, core::ptr::null_mut()), -EINVAL);
            assert_eq!(nr, 1);
            nr = 0;
            assert_eq!(xendom_acquire_resource(0x7ff0, 1, 0, 0, &mut nr, core::ptr::null_mut()), -3);
            assert_eq!(xendom_acquire_resource(0, 1, 0, 0, &mut nr, core::ptr::null_mut()), -1);
            assert_eq!(nr, 0);
            let before = calls();
            let null_nr = core::ptr::null_mut();
            assert_eq!(xendom_acquire_resource(1, 1, 0, 0, null_nr, core::ptr::null_mut()), -EINVAL);
            let odd = (&mut nr as *mut u32).cast::<u8>().add(1).cast::<u32>();
            assert_eq!(xendom_acquire_resource(1, 1, 0, 0, odd, core::ptr::null_mut()), -EINVAL);
            assert_eq!(calls(), before);
            // Mapping one frame: *nr_frames stays as sent.
            let mut at = [0x9000u64];
            nr = 1;
            assert_eq!(xendom_acquire_resource(1, 1, 0, 0, &mut nr, at.as_mut_ptr()), 0);
            assert_eq!(nr, 1);
        }
    }

    #[test]
    fn add_and_remove_on_the_model() {
        model();
        assert_eq!(xendom_add_to_physmap(0x7ff0, 0, 0, 0x8000), 0);
        // gmfn_range has no size in this call: refused here, not sent as a no-op.
        let before = calls();
        assert_eq!(xendom_add_to_physmap(0x7ff0, 0, 3, 0x8001), -EINVAL);
        assert_eq!(calls(), before);
        assert_eq!(xendom_remove_from_physmap(0x7ff0, 0x8000), 0);
        assert_eq!(xendom_remove_from_physmap(0x7ff0, 0x8000), -XenError::NoEnt.errno());
    }
}
