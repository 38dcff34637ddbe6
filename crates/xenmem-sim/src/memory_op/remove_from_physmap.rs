//! `XENMEM_remove_from_physmap` (15): unmap the page at a GFN (`do_memory_op` in
//! `xen/common/memory.c`).
//!
//! Xen's order: `start_extent != 0` → `-EINVAL`; copy → `-EFAULT`; the domain → `-ESRCH`;
//! not translated → `-EACCES`; XSM_TARGET → `-EPERM`; `get_page_from_gfn` finds no page that
//! can be referenced (a hole, MMIO, a Xen page no longer shared) → `-ENOENT`; then
//! `guest_physmap_remove_page` (Arm: `-ENOMEM` for a dying domain). Only the mapping goes:
//! a RAM page stays allocated and counted; a foreign entry gives its reference back.

use super::neg;
use crate::error::errno::*;
use crate::guest_memory::{read_obj, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::XenRemoveFromPhysmap;

pub(super) fn remove_from_physmap(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    start_extent: u64,
    arg: u64,
) -> i64 {
    if start_extent != 0 {
        return neg(EINVAL);
    }
    let Ok(x) = read_obj::<XenRemoveFromPhysmap>(mem, arg) else { return neg(EFAULT) };
    let Some(d) = m.lookup_any(caller, x.domid) else { return neg(ESRCH) };
    let allowed = if m.dom(d).translated { crate::xsm::target(m, caller, d) } else { Err(EACCES) };
    if let Err(e) = allowed {
        return neg(e);
    }
    match m.remove_mapped_page(d, x.gpfn) {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}
