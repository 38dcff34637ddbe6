//! `XENMEM_add_to_physmap` (7): map one page (x86: or a range of the domain's own frames) at
//! a GFN (`do_memory_op`, `xatp_permission_check`, `xenmem_add_to_physmap` in
//! `xen/common/memory.c`; the per-page work is the architecture's
//! `xenmem_add_to_physmap_one`).
//!
//! Xen's order: `start_extent` beyond 16 bits → `-EDOM`; copy → `-EFAULT`;
//! `gmfn_foreign` → `-ENOSYS`; the domain (`DOMID_SELF` allowed) → `-ESRCH`; not translated
//! → `-EACCES`; `dev_mmio` other than by the hardware domain onto itself → `-EACCES`;
//! XSM_TARGET → `-EPERM`; `gpfn == INVALID_GFN` → `-EINVAL`. Then one page, or for
//! `gmfn_range`: `size < start_extent` → `-EILSEQ`, a range that wraps → `-EOVERFLOW`, and
//! page after page from `start_extent` on (4.20: last page first when the destination
//! overlaps the source from above), stopping at the first failure (earlier pages stay moved).
//! Size 0 succeeds doing nothing.

use super::neg;
use crate::error::errno::*;
use crate::guest_memory::{read_obj, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::*;

/// `xatp_permission_check`.
pub(super) fn xatp_permission_check(m: &Machine, caller: u16, d: u16, space: u32) -> Result<(), i32> {
    let dom = m.dom(d);
    if !dom.translated {
        return Err(EACCES);
    }
    if space == XENMAPSPACE_DEV_MMIO && (!dom.hardware || d != caller) {
        return Err(EACCES);
    }
    crate::xsm::target(m, caller, d)
}

pub(super) fn add_to_physmap(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    start_extent: u64,
    arg: u64,
) -> i64 {
    let Ok(start) = u16::try_from(start_extent) else { return neg(EDOM) };
    let Ok(xatp) = read_obj::<XenAddToPhysmap>(mem, arg) else { return neg(EFAULT) };
    if xatp.space == XENMAPSPACE_GMFN_FOREIGN {
        return neg(ENOSYS);
    }
    let Some(d) = m.lookup_any(caller, xatp.domid) else { return neg(ESRCH) };
    if let Err(e) = xatp_permission_check(m, caller, d, xatp.space) {
        return neg(e);
    }
    match xenmem_add_to_physmap(m, caller, d, &xatp, start) {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// `xenmem_add_to_physmap`, run to completion (a continuation would re-enter here with a
/// larger `start`; the caller cannot tell the difference).
fn xenmem_add_to_physmap(
    m: &mut Machine,
    caller: u16,
    d: u16,
    xatp: &XenAddToPhysmap,
    start: u16,
) -> Result<(), i32> {
    if xatp.gpfn == INVALID_FRAME {
        return Err(EINVAL);
    }
    if xatp.space != XENMAPSPACE_GMFN_RANGE {
        return m.add_to_physmap_one(caller, d, xatp.space, DOMID_INVALID, xatp.idx, xatp.gpfn);
    }
    if xatp.size < start {
        return Err(EILSEQ);
    }
    let size = xatp.size as u64;
    if xatp.gpfn.checked_add(size).is_none() || xatp.idx.checked_add(size).is_none() {
        return Err(EOVERFLOW);
    }
    let left = size - start as u64;
    // A destination overlapping the source from above goes last page first in 4.20
    // ([`crate::Release`]); `start` then counts pages done from the end.
    let backwards =
        m.cfg.xen.gmfn_range_overlap_moves_backwards() && xatp.gpfn > xatp.idx && xatp.gpfn < xatp.idx + size;
    for done in 0..left {
        let i = if backwards { left - 1 - done } else { start as u64 + done };
        m.add_to_physmap_one(caller, d, XENMAPSPACE_GMFN, DOMID_INVALID, xatp.idx + i, xatp.gpfn + i)?;
    }
    Ok(())
}
