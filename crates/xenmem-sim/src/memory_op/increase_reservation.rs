//! `XENMEM_increase_reservation` (0): allocate extents to a domain without mapping them
//! (`increase_reservation` in `xen/common/memory.c`).
//!
//! After the shared prologue: an x86 PV caller's list outside guest space
//! (`guest_handle_subrange_okay`) or an order above the *caller's* `max_order` does nothing. Each
//! extent is allocated (the domain dying, over `max_pages` or out of memory stops the call);
//! for a non-translated (PV) target with a non-null list, the extent's MFN is written to
//! `extent_start[i]`, and a fault there stops the call with the extent allocated but not
//! counted, as in Xen. Returns the count through the prologue.

use super::reservation::MemopArgs;
use crate::guest_memory::{write_u64_at, GuestMemory};
use crate::machine::Machine;

pub(super) fn increase_reservation(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    a: &mut MemopArgs,
) {
    // A null list is allowed (the extents are only allocated).
    if a.extent_list != 0
        && !super::guest_handle_subrange_okay(m, caller, a.extent_list, a.nr_done, a.nr_extents - 1, 8)
    {
        return;
    }
    if a.extent_order > super::max_order(m, caller) {
        return;
    }
    let mut i = a.nr_done;
    while i < a.nr_extents {
        let Ok(mfn) = m.alloc_domheap_pages(a.d, a.extent_order, a.memflags) else { break };
        if !m.dom(a.d).translated && a.extent_list != 0 && write_u64_at(mem, a.extent_list, i, mfn).is_err() {
            break;
        }
        i += 1;
    }
    a.nr_done = i;
}
