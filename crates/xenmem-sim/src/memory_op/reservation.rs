//! The prologue increase_reservation, decrease_reservation and populate_physmap share
//! (`do_memory_op`'s first case and `construct_memop_from_reservation`).
//!
//! Xen's order: copy the struct; `nr_extents > UINT_MAX >> 6`; `start_extent >= nr_extents`;
//! the domain (`DOMID_SELF` allowed); `mem_flags` (address bits ≤ 12 that would constrain the
//! allocation, a vNUMA node out of range, a node hint ≥ `MAX_NUMNODES` from a privileged
//! caller or an exact-node request from an unprivileged one); XSM_TARGET. **Every refusal
//! returns `start_extent`** (0 on a first call): these ops never return a negative errno.

use super::{decrease_reservation, increase_reservation, populate_physmap};
use crate::guest_memory::{read_obj, GuestMemory};
use crate::machine::Machine;
use crate::mm::MemFlags;
use xenmem::abi::*;

/// `struct memop_args`.
pub(super) struct MemopArgs {
    pub d: u16,
    pub extent_list: u64,
    pub nr_extents: u64,
    pub extent_order: u32,
    pub memflags: MemFlags,
    /// `MEMF_populate_on_demand`.
    pub pod: bool,
    pub nr_done: u64,
}

/// `MAX_NUMNODES`: 64 on x86 (`NODES_SHIFT` 6), 1 on Arm 4.17 (no NUMA).
fn max_numnodes(m: &Machine) -> u32 {
    if m.is_arm() {
        1
    } else {
        64
    }
}

/// `get_order_from_pages(n)`: the smallest order with `2^order >= n`.
fn order_from_pages(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// `construct_memop_from_reservation` with `propagate_node`; `Err` for Xen's `-EINVAL`.
fn construct(m: &Machine, caller: u16, d: u16, r: &XenMemoryReservation) -> Result<MemopArgs, ()> {
    let mut f = MemFlags::default();
    let bits = r.mem_flags & XENMEMF_ADDRESS_BITS_MASK;
    if bits != 0 && bits < order_from_pages(m.max_page()) + XEN_PAGE_SHIFT {
        if bits <= XEN_PAGE_SHIFT {
            return Err(());
        }
        f.bits = Some(bits);
    }
    let node = ((r.mem_flags >> XENMEMF_NODE_SHIFT).wrapping_sub(1)) & XENMEMF_NODE_MASK;
    if r.mem_flags & XENMEMF_VNODE != 0 {
        // No domain in the model has a vNUMA topology (d->vnuma is NULL): the flag is
        // accepted and no node is used.
    } else if node != 0xFF {
        let c = m.dom(caller);
        if c.hardware || c.control {
            if node >= max_numnodes(m) {
                return Err(());
            }
            f.node = Some(node as u8);
            f.exact = r.mem_flags & XENMEMF_EXACT_NODE_REQUEST != 0;
        } else if r.mem_flags & XENMEMF_EXACT_NODE_REQUEST != 0 {
            return Err(());
        }
    }
    Ok(MemopArgs {
        d,
        extent_list: r.extent_start,
        nr_extents: r.nr_extents,
        extent_order: r.extent_order,
        memflags: f,
        pod: false,
        nr_done: 0,
    })
}

/// The shared case of `do_memory_op`. Returns the number of extents done.
pub(super) fn reservation_op(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    op: u32,
    start_extent: u64,
    arg: u64,
) -> i64 {
    let start = start_extent as i64;
    let Ok(r) = read_obj::<XenMemoryReservation>(mem, arg) else { return start };
    if r.nr_extents > MEMOP_MAX_EXTENTS || start_extent >= r.nr_extents {
        return start;
    }
    let Some(d) = m.lookup_any(caller, r.domid) else { return start };
    let Ok(mut a) = construct(m, caller, d, &r) else { return start };
    a.nr_done = start_extent;
    a.pod = op == XENMEM_POPULATE_PHYSMAP && r.mem_flags & XENMEMF_POPULATE_ON_DEMAND != 0;
    if crate::xsm::target(m, caller, d).is_err() {
        return start;
    }
    match op {
        XENMEM_INCREASE_RESERVATION => increase_reservation::increase_reservation(m, caller, mem, &mut a),
        XENMEM_DECREASE_RESERVATION => decrease_reservation::decrease_reservation(m, caller, mem, &mut a),
        _ => populate_physmap::populate_physmap(m, caller, mem, &mut a),
    }
    a.nr_done as i64
}
