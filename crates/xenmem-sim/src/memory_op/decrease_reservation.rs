//! `XENMEM_decrease_reservation` (1): free the pages mapped at the listed GFNs
//! (`decrease_reservation` and `guest_remove_page` in `xen/common/memory.c`).
//!
//! After the shared prologue: an x86 PV caller's list outside guest space
//! (`guest_handle_subrange_okay`) or an order above the caller's `max_order` does nothing. Per
//! extent: read `extent_start[i]` (a fault stops), then `guest_remove_page` for each of its
//! `2^order` pages; the first page that fails stops the call, leaving the pages before it
//! removed and the extent uncounted. x86: a hole is `-ENOENT`, direct MMIO `-EPERM`; Arm: a
//! hole or MMIO `-EINVAL`; both: another domain's page (foreign) `-ENXIO` (all seen only as a
//! short count). A PV domain names its pages by MFN. A page another domain still maps is
//! freed, and leaves its owner's `tot_pages`, only when that mapping goes.

use super::reservation::MemopArgs;
use crate::error::errno::ENOENT;
use crate::guest_memory::{read_u64_at, GuestMemory};
use crate::machine::Machine;

pub(super) fn decrease_reservation(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    a: &mut MemopArgs,
) {
    if !super::guest_handle_subrange_okay(m, caller, a.extent_list, a.nr_done, a.nr_extents - 1, 8)
        || a.extent_order > super::max_order(m, caller)
    {
        return;
    }
    let mut i = a.nr_done;
    'extents: while i < a.nr_extents {
        let Ok(gmfn) = read_u64_at(mem, a.extent_list, i) else { break };
        // Populate-on-demand first (x86 HVM): it drops PoD entries and may steal RAM for its
        // cache; guest_remove_page then finds those pages gone (-ENOENT), and exactly
        // `pod_done` such failures are expected. The loop bound shrinks with them, as in Xen.
        let mut pod_done = m.pod_decrease_reservation(a.d, gmfn, a.extent_order);
        let mut j = 0u64;
        while j + pod_done < (1u64 << a.extent_order) {
            match m.guest_remove_page(a.d, gmfn.wrapping_add(j)) {
                Ok(()) => {}
                Err(ENOENT) if pod_done > 0 => pod_done -= 1,
                Err(_) => break 'extents,
            }
            j += 1;
        }
        i += 1;
    }
    a.nr_done = i;
}
