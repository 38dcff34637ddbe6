//! `XENMEM_decrease_reservation` (1): free the pages mapped at the listed GFNs
//! (`decrease_reservation` and `guest_remove_page` in `xen/common/memory.c`).
//!
//! After the shared prologue: an order above the caller's `max_order` does nothing. Per
//! extent: read `extent_start[i]` (a fault stops), then `guest_remove_page` for each of its
//! `2^order` pages; the first page that fails stops the call, leaving the pages before it
//! removed and the extent uncounted. x86: a hole is `-ENOENT`, direct MMIO `-EPERM`; Arm: a
//! hole or MMIO `-EINVAL`; both: another domain's page (foreign) `-ENXIO` (all seen only as a
//! short count). A PV domain names its pages by MFN. A page another domain still maps is
//! freed, and leaves its owner's `tot_pages`, only when that mapping goes.

use super::reservation::MemopArgs;
use crate::guest_memory::{read_u64_at, GuestMemory};
use crate::machine::Machine;

pub(super) fn decrease_reservation(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    a: &mut MemopArgs,
) {
    if a.extent_order > super::max_order(m, caller) {
        return;
    }
    let mut i = a.nr_done;
    'extents: while i < a.nr_extents {
        let Ok(gmfn) = read_u64_at(mem, a.extent_list, i) else { break };
        // No populate-on-demand entries exist in the model, so pod_done is always 0 and any
        // failure (-ENOENT included) stops.
        for j in 0..(1u64 << a.extent_order) {
            if m.guest_remove_page(a.d, gmfn.wrapping_add(j)).is_err() {
                break 'extents;
            }
        }
        i += 1;
    }
    a.nr_done = i;
}
