//! `XENMEM_current_reservation` (3), `XENMEM_maximum_reservation` (4),
//! `XENMEM_maximum_gpfn` (14) and `XENMEM_maximum_ram_page` (2) (`do_memory_op`).
//!
//! Xen's order for the first three: `start_extent != 0` → `-EINVAL`; copy the `domid_t` →
//! `-EFAULT`; the domain (`DOMID_SELF` allowed) → `-ESRCH`; XSM_TARGET → `-EPERM`; then
//! `tot_pages`, `max_pages` or `domain_get_maximum_gpfn`. maximum_ram_page: `start_extent`
//! → `-EINVAL`, else `max_page` for anyone.

use super::neg;
use crate::error::errno::*;
use crate::guest_memory::{read_obj, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::*;

pub(super) fn maximum_ram_page(m: &Machine, start_extent: u64) -> i64 {
    if start_extent != 0 {
        return neg(EINVAL);
    }
    m.max_page() as i64
}

pub(super) fn domain_query(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    op: u32,
    start_extent: u64,
    arg: u64,
) -> i64 {
    if start_extent != 0 {
        return neg(EINVAL);
    }
    let Ok(domid) = read_obj::<u16>(mem, arg) else { return neg(EFAULT) };
    let Some(d) = m.lookup_any(caller, domid) else { return neg(ESRCH) };
    if let Err(e) = crate::xsm::target(m, caller, d) {
        return neg(e);
    }
    let v = match op {
        XENMEM_CURRENT_RESERVATION => m.dom(d).tot_pages(),
        XENMEM_MAXIMUM_RESERVATION => m.dom(d).max_pages,
        _ => m.maximum_gpfn(d),
    };
    v as i64
}
