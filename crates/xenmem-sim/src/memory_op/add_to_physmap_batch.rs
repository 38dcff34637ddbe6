//! `XENMEM_add_to_physmap_batch` (23): map many pages, each with its own status written to
//! `errs[]` (`do_memory_op`, `xenmem_add_to_physmap_batch` in `xen/common/memory.c`).
//!
//! Xen's order: `start_extent` beyond 16 bits → `-EDOM`; copy → `-EFAULT`; `gmfn_range` →
//! `-EOPNOTSUPP`; the domain → `-ESRCH`; `xatp_permission_check` (`-EACCES`, `-EPERM`);
//! `size < start_extent` → `-EILSEQ`; `size == start_extent` → 0 when both are 0, else
//! `-EILSEQ`; `guest_handle_subrange_okay` on `idxs`, `gpfns` and `errs` (x86 PV callers) →
//! `-EFAULT`; `dev_mmio` with a non-zero `res0` → `-EOPNOTSUPP`. Then entry by entry from
//! `start_extent`: a fault reading `idxs[i]`/`gpfns[i]` or writing `errs[i]` → `-EFAULT`, a
//! `gpfn` of `INVALID_GFN` → `-EINVAL`, both aborting the call with earlier entries done;
//! otherwise `xenmem_add_to_physmap_one`'s result goes to `errs[i]` and the loop goes on.
//! **The call returns 0 even when every entry failed.**

use super::add_to_physmap::xatp_permission_check;
use super::neg;
use crate::error::errno::*;
use crate::guest_memory::{
    read_i32s, read_obj, read_u64_at, read_u64s, write_i32_at, write_i32s, GuestMemory,
};
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
    let last = b.size as u64 - 1;
    let ok = |h: u64, size: u64| super::guest_handle_subrange_okay(m, caller, h, start as u64, last, size);
    if !ok(b.idxs, 8) || !ok(b.gpfns, 8) || !ok(b.errs, 4) {
        return neg(EFAULT);
    }
    if space == XENMAPSPACE_DEV_MMIO && b.foreign_domid != 0 {
        return neg(EOPNOTSUPP);
    }
    let mut batch = crate::physmap::Batch::new(caller, d, space, b.foreign_domid);
    let size = b.size as u64;
    // Reading the arrays a chunk at a time and writing the statuses after gives the entries
    // and statuses Xen's element-by-element copies would, unless a status written between two
    // reads changes an element still to be read: only when `errs` overlaps neither array.
    let apart = |base: u64, elem: u64| disjoint((b.errs, size * 4), (base, size * elem));
    // (A batch of a few entries is cheaper element by element than chunk by chunk.)
    let chunked = size - start as u64 >= 8 && apart(b.idxs, 8) && apart(b.gpfns, 8);
    let (mut idxs, mut gpfns, mut errs) = ([0u64; CHUNK], [0u64; CHUNK], [0i32; CHUNK]);
    let mut i = start as u64;
    while i < size {
        let n = (size - i).min(CHUNK as u64) as usize;
        // A chunk that cannot be read whole, or whose statuses could not be written whole, goes
        // element by element, so that the entries before a bad element are done and the fault
        // is met where Xen meets it. Writing back what the statuses hold shows they can be
        // written, without changing a byte.
        let whole = chunked
            && read_u64s(mem, b.idxs, i, &mut idxs[..n]).is_ok()
            && read_u64s(mem, b.gpfns, i, &mut gpfns[..n]).is_ok()
            && read_i32s(mem, b.errs, i, &mut errs[..n]).is_ok()
            && write_i32s(mem, b.errs, i, &errs[..n]).is_ok();
        if !whole {
            for at in i..i + n as u64 {
                let (Ok(idx), Ok(gpfn)) = (read_u64_at(mem, b.idxs, at), read_u64_at(mem, b.gpfns, at))
                else {
                    return neg(EFAULT);
                };
                if gpfn == INVALID_FRAME {
                    return neg(EINVAL);
                }
                let rc = status(m.add_to_physmap_batch_one(&mut batch, idx, gpfn));
                if write_i32_at(mem, b.errs, at, rc).is_err() {
                    return neg(EFAULT);
                }
            }
        } else {
            for j in 0..n {
                if gpfns[j] == INVALID_FRAME {
                    // The statuses of the entries before it, which Xen wrote one by one.
                    let _ = write_i32s(mem, b.errs, i, &errs[..j]);
                    return neg(EINVAL);
                }
                errs[j] = status(m.add_to_physmap_batch_one(&mut batch, idxs[j], gpfns[j]));
            }
            // Shown writable above.
            let _ = write_i32s(mem, b.errs, i, &errs[..n]);
        }
        i += n as u64;
    }
    0
}

/// An entry's status as Xen writes it.
fn status(rc: Result<(), i32>) -> i32 {
    match rc {
        Ok(()) => 0,
        Err(e) => -e,
    }
}

/// Entries of the arrays read and written at a time.
const CHUNK: usize = 64;

/// Whether two byte ranges, `(start, length)`, share no byte (false when either wraps).
fn disjoint(a: (u64, u64), b: (u64, u64)) -> bool {
    match (a.0.checked_add(a.1), b.0.checked_add(b.1)) {
        (Some(a_end), Some(b_end)) => a_end <= b.0 || b_end <= a.0,
        _ => false,
    }
}
