//! `XENMEM_add_to_physmap_batch` (23): map many pages, each with its own status written to
//! `errs[]` (`do_memory_op`, `xenmem_add_to_physmap_batch` in `xen/common/memory.c`).
//!
//! Xen's order: `start_extent` beyond 16 bits → `-EDOM`; copy → `-EFAULT`; `gmfn_range` →
//! `-EOPNOTSUPP`; the domain → `-ESRCH`; `xatp_permission_check` (`-EACCES`, `-EPERM`);
//! `size < start_extent` → `-EILSEQ`; `size == start_extent` → 0 when both are 0, else
//! `-EILSEQ`; `dev_mmio` with a non-zero `res0` → `-EOPNOTSUPP`. Then entry by entry from
//! `start_extent`: a fault reading `idxs[i]`/`gpfns[i]` or writing `errs[i]` → `-EFAULT`, a
//! `gpfn` of `INVALID_GFN` → `-EINVAL`, both aborting the call with earlier entries done;
//! otherwise `xenmem_add_to_physmap_one`'s result goes to `errs[i]` and the loop goes on.
//! **The call returns 0 even when every entry failed.**

use super::add_to_physmap::xatp_permission_check;
use super::neg;
use crate::error::errno::*;
use crate::guest_memory::{read_obj, read_u64_at, write_i32_at, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::*;

pub(super) fn add_to_physmap_batch(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    start_extent: u64,
    arg: u64,
) -> i64 {
    let Ok(start) = u16::try_from(start_extent) else { return neg(EDOM) };
    let Ok(b) = read_obj::<XenAddToPhysmapBatch>(mem, arg) else { return neg(EFAULT) };
    let space = b.space as u32;
    if space == XENMAPSPACE_GMFN_RANGE {
        return neg(EOPNOTSUPP);
    }
    let Some(d) = m.lookup_any(caller, b.domid) else { return neg(ESRCH) };
    if let Err(e) = xatp_permission_check(m, caller, d, space) {
        return neg(e);
    }
    if b.size < start {
        return neg(EILSEQ);
    }
    if b.size == start {
        return if start != 0 { neg(EILSEQ) } else { 0 };
    }
    if space == XENMAPSPACE_DEV_MMIO && b.foreign_domid != 0 {
        return neg(EOPNOTSUPP);
    }
    let mut batch = crate::physmap::Batch::new(caller, d, space, b.foreign_domid);
    for i in start as u64..b.size as u64 {
        let (Ok(idx), Ok(gpfn)) = (read_u64_at(mem, b.idxs, i), read_u64_at(mem, b.gpfns, i)) else {
            return neg(EFAULT);
        };
        if gpfn == INVALID_FRAME {
            return neg(EINVAL);
        }
        let rc = match m.add_to_physmap_batch_one(&mut batch, idx, gpfn) {
            Ok(()) => 0,
            Err(e) => -e,
        };
        if write_i32_at(mem, b.errs, i, rc).is_err() {
            return neg(EFAULT);
        }
    }
    0
}
