//! `XENMEM_acquire_resource` (28): map frames of a Xen-managed resource of another domain
//! into the caller, or ask its size (`acquire_resource`, `resource_max_frames`,
//! `_acquire_resource` in `xen/common/memory.c`; `gnttab_acquire_resource`;
//! `ioreq_server_get_frame` in `xen/common/ioreq.c`).
//!
//! Xen's order: `arch_acquire_resource_check(caller)` (x86: a translated caller other than the
//! hardware domain) → `-EACCES`; copy → `-EFAULT`; `pad != 0` → `-EINVAL`; `frame` or
//! `frame + nr_frames` beyond 32 bits → `-EINVAL`; `rcu_lock_remote_domain_by_id`
//! (`DOMID_SELF` and unknown ids → `-ESRCH`, the caller's own id → `-EPERM`); XSM_DM_PRIV →
//! `-EPERM`; the resource's size 0 → `-EINVAL`. A null `frame_list` is the size query
//! (`nr_frames` or `start_extent` non-zero → `-EINVAL`; else the size is written into
//! `nr_frames`). Otherwise `start_extent >= nr_frames` or `nr_frames > UINT_MAX >> 6` →
//! `-EINVAL`, and the frames go in chunks of 32: the resource's own errors; a PV caller gets
//! MFNs copied out; a translated caller's list holds GFNs to map at, and a failure after the
//! first frame of a chunk is `-EIO`.
//!
//! **Xen 4.17's unknown-type bug, reproduced**: `resource_max_frames` returns `-EOPNOTSUPP`
//! through an `unsigned int`, so a size query of an unknown type succeeds with
//! `nr_frames = 4294967201`; mapping it then fails `-EOPNOTSUPP`. Xen 4.20 answers `-EINVAL`
//! to both ([`crate::Release`]: 9b87082900, first in 4.20.0, backported to 4.19.x and 4.18.x,
//! not to 4.17).

use super::neg;
use crate::error::errno::*;
use crate::guest_memory::{element, read_obj, read_u64_at, write_u64_at, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::*;

/// Offset of `nr_frames` in `struct xen_mem_acquire_resource`.
const NR_FRAMES_OFFSET: u64 = 8;
/// `sizeof(struct ioreq)`.
const IOREQ_SIZE: u64 = 32;

/// `ioreq_server_max_frames`: one buffered page plus one page per 128 vCPUs, for HVM domains
/// on a build with ioreq servers.
fn ioreq_server_max_frames(m: &Machine, d: u16) -> u32 {
    let dom = m.dom(d);
    if !m.cfg.ioreq_server || !dom.hvm {
        return 0;
    }
    (1 + (dom.max_vcpus as u64 * IOREQ_SIZE).div_ceil(4096)) as u32
}

/// `resource_max_frames`: 0 means "no such resource" (the caller turns it into `-EINVAL`).
fn resource_max_frames(m: &Machine, d: u16, ty: u16, id: u32) -> u32 {
    match ty {
        XENMEM_RESOURCE_GRANT_TABLE => m.gnttab_resource_max_frames(d, id),
        XENMEM_RESOURCE_IOREQ_SERVER => ioreq_server_max_frames(m, d),
        XENMEM_RESOURCE_VMTRACE_BUF => m.dom(d).vmtrace_size >> 12,
        _ if m.cfg.xen.acquire_unknown_type_is_einval() => 0,
        // Xen 4.17: `return -EOPNOTSUPP;` from a function returning unsigned int.
        _ => (-EOPNOTSUPP) as u32,
    }
}

/// `acquire_ioreq_server`: frame by frame through `ioreq_server_get_frame` (`crate::ioreq`).
fn acquire_ioreq_server(
    m: &mut Machine,
    caller: u16,
    d: u16,
    id: u32,
    frame: u32,
    nr: u32,
) -> Result<Vec<u64>, i32> {
    if !m.cfg.ioreq_server {
        return Err(EOPNOTSUPP);
    }
    if !m.dom(d).hvm {
        return Err(EINVAL);
    }
    let Ok(sid) = u16::try_from(id) else { return Err(EINVAL) };
    let mut out = Vec::with_capacity(nr as usize);
    for i in 0..nr {
        out.push(m.ioreq_server_get_frame(d, sid, caller, u64::from(frame + i))?);
    }
    Ok(out)
}

/// `acquire_vmtrace_buf`.
fn acquire_vmtrace_buf(m: &Machine, d: u16, id: u32, frame: u32, nr: u32) -> Result<Vec<u64>, i32> {
    let dom = m.dom(d);
    if id >= dom.vcpus {
        return Err(ENOENT);
    }
    let size = dom.vmtrace_size >> 12;
    let Some(&buf) = dom.vmtrace_bufs.get(id as usize) else { return Err(EINVAL) };
    if frame as u64 + nr as u64 > size as u64 {
        return Err(EINVAL);
    }
    Ok((0..nr as u64).map(|i| buf + frame as u64 + i).collect())
}

/// `_acquire_resource`: MFNs of `nr` frames from `frame`.
fn acquire_frames(
    m: &mut Machine,
    caller: u16,
    d: u16,
    ty: u16,
    id: u32,
    frame: u32,
    nr: u32,
) -> Result<Vec<u64>, i32> {
    match ty {
        XENMEM_RESOURCE_GRANT_TABLE => m.gnttab_acquire_resource(d, id, frame, nr),
        XENMEM_RESOURCE_IOREQ_SERVER => acquire_ioreq_server(m, caller, d, id, frame, nr),
        XENMEM_RESOURCE_VMTRACE_BUF => acquire_vmtrace_buf(m, d, id, frame, nr),
        _ => Err(EOPNOTSUPP),
    }
}

pub(super) fn acquire_resource(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    start_extent: u64,
    arg: u64,
) -> i64 {
    match acquire(m, caller, mem, start_extent, arg) {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

fn acquire(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    start_extent: u64,
    arg: u64,
) -> Result<(), i32> {
    if !m.arch_acquire_resource_check(caller) {
        return Err(EACCES);
    }
    let x = read_obj::<XenMemAcquireResource>(mem, arg).map_err(|_| EFAULT)?;
    if x.pad != 0 {
        return Err(EINVAL);
    }
    if x.frame >> 32 != 0 || (x.frame + x.nr_frames as u64) >> 32 != 0 {
        return Err(EINVAL);
    }
    let d = m.lookup_remote(caller, x.domid)?;
    crate::xsm::dm_priv(m, caller, d)?;
    let max_frames = resource_max_frames(m, d, x.r#type, x.id);
    if max_frames == 0 {
        return Err(EINVAL);
    }
    if x.frame_list == 0 {
        if x.nr_frames != 0 || start_extent != 0 {
            return Err(EINVAL);
        }
        let at = arg.checked_add(NR_FRAMES_OFFSET).ok_or(EFAULT)?;
        return mem.write(at, &max_frames.to_le_bytes()).map_err(|_| EFAULT);
    }
    if start_extent >= x.nr_frames as u64 || x.nr_frames as u64 > MEMOP_MAX_EXTENTS {
        return Err(EINVAL);
    }
    // start_extent < nr_frames < 2^26 here.
    let mut nr = x.nr_frames - start_extent as u32;
    let mut frame = x.frame as u32 + start_extent as u32;
    let mut list = element(x.frame_list, start_extent, 8).map_err(|_| EFAULT)?;
    let translated = m.dom(caller).translated;
    while nr != 0 {
        let todo = nr.min(32);
        let mfns = acquire_frames(m, caller, d, x.r#type, x.id, frame, todo)?;
        let done = mfns.len() as u32;
        // Xen asserts a resource gives between 1 and the frames asked for, and answers
        // -EINVAL (rather than looping or overrunning its list) if one ever does not.
        if done == 0 || done > todo {
            return Err(EINVAL);
        }
        if !translated {
            for (i, &mfn) in mfns.iter().enumerate() {
                write_u64_at(mem, list, i as u64, mfn).map_err(|_| EFAULT)?;
            }
        } else {
            let mut gfns = Vec::with_capacity(mfns.len());
            for i in 0..done as u64 {
                gfns.push(read_u64_at(mem, list, i).map_err(|_| EFAULT)?);
            }
            for (i, (&gfn, &mfn)) in gfns.iter().zip(&mfns).enumerate() {
                if let Err(e) = m.set_foreign_p2m_entry(caller, d, gfn, mfn) {
                    return Err(if i != 0 { EIO } else { e });
                }
            }
        }
        nr -= done;
        frame += done;
        list = element(list, done as u64, 8).map_err(|_| EFAULT)?;
    }
    Ok(())
}
