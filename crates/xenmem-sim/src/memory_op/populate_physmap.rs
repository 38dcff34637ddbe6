//! `XENMEM_populate_physmap` (6): allocate extents and map them at the GFNs the caller lists
//! (`populate_physmap` in `xen/common/memory.c`).
//!
//! After the shared prologue: an x86 PV caller's list outside guest space
//! (`guest_handle_subrange_okay`) or an order above the caller's `max_order` (or `MAX_ORDER` for
//! populate-on-demand) does nothing. Per extent: read `extent_start[i]` (a fault stops);
//! populate-on-demand stops on the target itself, marks PoD entries in an x86 HVM target
//! (`guest_physmap_mark_populate_on_demand`; Arm answers `-ENOSYS`, which stops) and counts
//! the extent for PV ones without doing anything, as Xen does;
//! else allocate (dying, `max_pages`, memory: stop) and `guest_physmap_add_page` (x86 crashes
//! the target if a foreign or MMIO entry is in the way; Arm replaces; a GFN beyond the P2M
//! fails); a failed mapping leaves the extent allocated to the domain, as Xen does. For a PV
//! target the MFN is written back into `extent_start[i]`.
//!
//! Hot path of the model: one P2M leaf lookup per 512 pages, one frame-table fill per extent.

use super::reservation::MemopArgs;
use crate::allocator::MAX_ORDER;
use crate::guest_memory::{read_u64_at, write_u64_at, GuestMemory};
use crate::machine::Machine;

pub(super) fn populate_physmap(m: &mut Machine, caller: u16, mem: &mut dyn GuestMemory, a: &mut MemopArgs) {
    if !super::guest_handle_subrange_okay(m, caller, a.extent_list, a.nr_done, a.nr_extents - 1, 8) {
        return;
    }
    let limit = if a.pod { MAX_ORDER } else { super::max_order(m, caller) };
    if a.extent_order > limit {
        return;
    }
    let mut i = a.nr_done;
    while i < a.nr_extents {
        let Ok(gpfn) = read_u64_at(mem, a.extent_list, i) else { break };
        if a.pod {
            // Not onto oneself; an HVM target gets PoD entries (Arm: -ENOSYS), a PV one
            // nothing at all, and the extent still counts.
            if a.d == caller {
                break;
            }
            if m.dom(a.d).hvm
                && (m.is_arm() || m.x86_mark_populate_on_demand(a.d, gpfn, a.extent_order).is_err())
            {
                break;
            }
        } else {
            let mfn = if m.dom(a.d).directmap {
                // populate_physmap's direct-map branch: nothing is allocated; every frame
                // MFN == GPFN of the extent must exist and be the domain's own (get_page),
                // and then the extent is mapped back at itself.
                if !direct_mapped_extent_is_own(m, a.d, gpfn, a.extent_order) {
                    break;
                }
                gpfn
            } else {
                let Ok(mfn) = m.alloc_domheap_pages(a.d, a.extent_order, a.memflags) else { break };
                mfn
            };
            if m.guest_physmap_add_page(a.d, gpfn, mfn, a.extent_order).is_err() {
                break;
            }
            if !m.dom(a.d).translated && write_u64_at(mem, a.extent_list, i, mfn).is_err() {
                break;
            }
        }
        i += 1;
    }
    a.nr_done = i;
}

/// The check of populate_physmap's `is_domain_direct_mapped` branch: `mfn_valid` and
/// `get_page(page, d)` (then `put_page`) for each of the extent's frames.
fn direct_mapped_extent_is_own(m: &mut Machine, d: u16, gpfn: u64, order: u32) -> bool {
    (0..1u64 << order).all(|j| {
        let Some(mfn) = gpfn.checked_add(j) else { return false };
        if !m.frames.valid(mfn) || !m.get_page(mfn, d) {
            return false;
        }
        m.put_page(mfn);
        true
    })
}
