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
use crate::guest_memory::{read_obj, read_u64_at, read_u64s, write_i32_at, GuestMemory};
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
    let size = b.size as u64;
    // Reading the arrays a chunk at a time gives the entries Xen's element-by-element reads
    // would, unless a status written between two reads changes an element still to be read:
    // only when `errs` overlaps neither array.
    let apart = |base: u64, elem: u64| disjoint((b.errs, size * 4), (base, size * elem));
    let chunked = apart(b.idxs, 8) && apart(b.gpfns, 8);
    let (mut idxs, mut gpfns) = ([0u64; CHUNK], [0u64; CHUNK]);
    let mut i = start as u64;
    while i < size {
        let n = (size - i).min(CHUNK as u64) as usize;
        // A chunk that cannot be read whole is read element by element, so that the entries
        // before the bad one are done and the fault is met where Xen meets it.
        let whole = chunked
            && read_u64s(mem, b.idxs, i, &mut idxs[..n]).is_ok()
            && read_u64s(mem, b.gpfns, i, &mut gpfns[..n]).is_ok();
        for j in 0..n {
            let at = i + j as u64;
            let (idx, gpfn) = if whole {
                (idxs[j], gpfns[j])
            } else {
                let (Ok(idx), Ok(gpfn)) = (read_u64_at(mem, b.idxs, at), read_u64_at(mem, b.gpfns, at))
                else {
                    return neg(EFAULT);
                };
                (idx, gpfn)
            };
            if gpfn == INVALID_FRAME {
                return neg(EINVAL);
            }
            let rc = match m.add_to_physmap_batch_one(&mut batch, idx, gpfn) {
                Ok(()) => 0,
                Err(e) => -e,
            };
            if write_i32_at(mem, b.errs, at, rc).is_err() {
                return neg(EFAULT);
            }
        }
        i += n as u64;
    }
    0
}

/// Entries of `idxs` and `gpfns` read at a time.
const CHUNK: usize = 64;

/// Whether two byte ranges, `(start, length)`, share no byte (false when either wraps).
fn disjoint(a: (u64, u64), b: (u64, u64)) -> bool {
    match (a.0.checked_add(a.1), b.0.checked_add(b.1)) {
        (Some(a_end), Some(b_end)) => a_end <= b.0 || b_end <= a.0,
        _ => false,
    }
}
