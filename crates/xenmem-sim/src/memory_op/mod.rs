//! `do_memory_op` (`xen/common/memory.c`): the decode of hypercall 12 and one file per
//! sub-op, each following Xen's check order and errno.
//!
//! `cmd`'s low 6 bits are the sub-op, the bits above its continuation index
//! (`start_extent`). Xen's preemption is invisible to the caller, so the model always runs an
//! operation to the end in one go; a `start_extent` the caller put in `cmd` itself is honoured
//! exactly as Xen honours it. Every guest access goes through [`GuestMemory`]: a bad address
//! is `-EFAULT`, or the short count Xen gives for the reservation ops. Sub-ops the model does
//! not implement (exchange, memory maps, PoD targets, access, claims, vNUMA, ...) answer
//! `-ENOSYS`, as an unknown sub-op does in Xen; that is the model's answer, not Xen's.

mod acquire_resource;
mod add_to_physmap;
mod add_to_physmap_batch;
mod decrease_reservation;
mod increase_reservation;
mod populate_physmap;
mod query;
mod remove_from_physmap;
mod reservation;

use crate::allocator::MAX_ORDER;
use crate::error::errno::ENOSYS;
use crate::guest_memory::GuestMemory;
use crate::machine::Machine;
use xenmem::abi::*;

/// `XENMEM_get_sharing_freed_pages` and `XENMEM_get_sharing_shared_pages`, which Arm's
/// `arch_memory_op` answers with 0.
const XENMEM_GET_SHARING_FREED_PAGES: u64 = 18;
const XENMEM_GET_SHARING_SHARED_PAGES: u64 = 19;

/// `do_memory_op(cmd, arg)` issued by domain `caller`.
pub(crate) fn do_memory_op(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    cmd: u64,
    arg: u64,
) -> i64 {
    let start_extent = cmd >> MEMOP_EXTENT_SHIFT;
    let op = cmd & MEMOP_CMD_MASK;
    match op as u32 {
        XENMEM_INCREASE_RESERVATION | XENMEM_DECREASE_RESERVATION | XENMEM_POPULATE_PHYSMAP => {
            reservation::reservation_op(m, caller, mem, op as u32, start_extent, arg)
        }
        XENMEM_MAXIMUM_RAM_PAGE => query::maximum_ram_page(m, start_extent),
        XENMEM_CURRENT_RESERVATION | XENMEM_MAXIMUM_RESERVATION | XENMEM_MAXIMUM_GPFN => {
            query::domain_query(m, caller, mem, op as u32, start_extent, arg)
        }
        XENMEM_ADD_TO_PHYSMAP => add_to_physmap::add_to_physmap(m, caller, mem, start_extent, arg),
        XENMEM_ADD_TO_PHYSMAP_BATCH => {
            add_to_physmap_batch::add_to_physmap_batch(m, caller, mem, start_extent, arg)
        }
        XENMEM_REMOVE_FROM_PHYSMAP => {
            remove_from_physmap::remove_from_physmap(m, caller, mem, start_extent, arg)
        }
        XENMEM_ACQUIRE_RESOURCE => acquire_resource::acquire_resource(m, caller, mem, start_extent, arg),
        _ if m.is_arm() && matches!(op, XENMEM_GET_SHARING_FREED_PAGES | XENMEM_GET_SHARING_SHARED_PAGES) => {
            0
        }
        _ => -(ENOSYS as i64),
    }
}

/// `max_order()`: the largest extent order the *caller* may use.
pub(crate) fn max_order(m: &Machine, caller: u16) -> u32 {
    let o = m.cfg.max_order;
    let d = m.dom(caller);
    let mut order = o.domu;
    // cache_flush_permitted: domains with I/O memory, which the hardware domain has.
    if (d.passthrough || d.hardware) && order < o.ptdom {
        order = o.ptdom;
    }
    if d.control && order < o.ctldom {
        order = o.ctldom;
    }
    if d.hardware && order < o.hwdom {
        order = o.hwdom;
    }
    order.min(MAX_ORDER)
}

/// `HYPERVISOR_VIRT_END` on x86_64: the end of the 16 PML4 slots from 256 that Xen reserves.
const HYPERVISOR_VIRT_END: u64 = 0xffff_8800_0000_0000;

/// `guest_handle_subrange_okay(hnd, first, last)` for elements of `size` bytes: always true
/// on Arm and for a caller whose paging is external (x86 HVM/PVH: its handles are guest
/// addresses Xen translates); for an x86 PV caller, x86_64's `array_access_ok` on the
/// elements `first..=last` — the count must not overflow, and the start must lie below 2^47
/// or above Xen's reserved area (`__addr_ok`; the compat translation area never applies to
/// a 64-bit caller).
pub(crate) fn guest_handle_subrange_okay(
    m: &Machine,
    caller: u16,
    hnd: u64,
    first: u64,
    last: u64,
    size: u64,
) -> bool {
    if m.is_arm() || m.dom(caller).translated {
        return true;
    }
    let count = last.wrapping_sub(first).wrapping_add(1);
    let addr = hnd.wrapping_add(first.wrapping_mul(size));
    count < u64::MAX / size && !(1 << 47..HYPERVISOR_VIRT_END).contains(&addr)
}

fn neg(errno: i32) -> i64 {
    -(errno as i64)
}
