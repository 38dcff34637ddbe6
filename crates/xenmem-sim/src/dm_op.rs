//! `do_dm_op` (hypercall 41, `xen/common/dm.c`) and `dm_op` (`xen/arch/x86/hvm/dm.c`,
//! `xen/arch/arm/dm.c`): the decode, then the ioreq-server sub-ops of `ioreq_server_dm_op`
//! (`xen/common/ioreq.c`), which `crate::ioreq` carries out.
//!
//! Xen's order: a build without `CONFIG_IOREQ_SERVER` has no hypercall 41 (its hypercall
//! table leaves the slot out, so the dispatcher's default answers `-ENOSYS`); `nr_bufs` 0 →
//! `-ENODATA`, above 2 (`struct dmop_args` holds 2) → `-E2BIG`; the buffer array copied →
//! `-EFAULT`; `rcu_lock_remote_domain_by_id` (`-ESRCH`, the caller's own id `-EPERM`); x86
//! only: a target that is not HVM → `-EINVAL`; `xsm_dm_op(XSM_DM_PRIV)` → `-EPERM`;
//! `bufs[0]` shorter than the 8-byte header, or than the header and the sub-op's body, or
//! not readable → `-EFAULT`; a sub-op of 21 or more → `-EOPNOTSUPP` (between, one the
//! architecture's table leaves out has a body of 0 and ends as `-EOPNOTSUPP` in
//! `ioreq_server_dm_op`'s default); `pad` → `-EINVAL`; the sub-op; the body copied back (for
//! the sub-ops that write it) → `-EFAULT`.
//!
//! Sub-ops: create (1), get info (2), map (3) and unmap (4) a range, set state (5), destroy
//! (6), and `nr_vcpus` (20). The others that Xen has (x86: dirty VRAM, interrupts, memory
//! types, ...; Arm: `set_irq_level`) answer the model's `-ENOSYS` once past the checks above.

use crate::error::errno::*;
use crate::guest_memory::{read_obj, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::dm_op::*;
use zerocopy::IntoBytes;

/// `ARRAY_SIZE(struct dmop_args.buf)`.
const DMOP_MAX_BUFS: u64 = 2;

/// Whether `op` has an entry in the architecture's `op_size` table.
fn in_table(arm: bool, op: u32) -> bool {
    if arm {
        matches!(op, 1..=6 | XEN_DMOP_SET_IRQ_LEVEL | XEN_DMOP_NR_VCPUS)
    } else {
        matches!(op, 1..=18 | XEN_DMOP_NR_VCPUS)
    }
}

/// `do_dm_op(domid, nr_bufs, bufs)` issued by `caller`.
pub(crate) fn do_dm_op(m: &mut Machine, caller: u16, mem: &mut dyn GuestMemory, args: [u64; 5]) -> i64 {
    if !m.cfg.ioreq_server {
        return -(ENOSYS as i64);
    }
    // The prototype's domid_t and unsigned int keep the low bits of the registers.
    let (domid, nr_bufs, bufs) = (args[0] as u16, args[1] as u32, args[2]);
    match dm_op(m, caller, mem, domid, nr_bufs, bufs) {
        Ok(()) => 0,
        Err(e) => -(e as i64),
    }
}

fn dm_op(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    domid: u16,
    nr: u32,
    bufs: u64,
) -> Result<(), i32> {
    if nr == 0 {
        return Err(ENODATA);
    }
    if u64::from(nr) > DMOP_MAX_BUFS {
        return Err(E2BIG);
    }
    let buf0: XenDmOpBuf = read_obj(mem, bufs).map_err(|_| EFAULT)?;
    if nr == 2 {
        let _: XenDmOpBuf = read_obj(mem, bufs.checked_add(16).ok_or(EFAULT)?).map_err(|_| EFAULT)?;
    }
    let d = target(m, caller, domid)?;
    let header = XEN_DMOP_HEADER_SIZE as u64;
    if buf0.size < header {
        return Err(EFAULT);
    }
    let mut op = XenDmOp::default();
    mem.read(buf0.h, &mut op.as_mut_bytes()[..XEN_DMOP_HEADER_SIZE]).map_err(|_| EFAULT)?;
    if op.op > XEN_DMOP_NR_VCPUS {
        return Err(EOPNOTSUPP);
    }
    let size = if in_table(m.is_arm(), op.op) { XEN_DMOP_BODY_SIZE[op.op as usize] } else { 0 };
    if buf0.size < header + size as u64 {
        return Err(EFAULT);
    }
    let body_at = buf0.h.checked_add(header).ok_or(EFAULT)?;
    mem.read(body_at, &mut op.u.as_mut_bytes()[..size]).map_err(|_| EFAULT)?;
    if op.pad != 0 {
        return Err(EINVAL);
    }
    let copy_back = sub_op(m, caller, d, &mut op)?;
    if copy_back {
        mem.write(body_at, &op.u.as_bytes()[..size]).map_err(|_| EFAULT)?;
    }
    Ok(())
}

/// `dm_op`'s checks of the target: a remote domain, HVM on x86, the caller its device
/// model or the control domain.
fn target(m: &Machine, caller: u16, domid: u16) -> Result<u16, i32> {
    let d = m.lookup_remote(caller, domid)?;
    if !m.is_arm() && !m.dom(d).hvm {
        return Err(EINVAL);
    }
    crate::xsm::dm_priv(m, caller, d)?;
    Ok(d)
}

/// `XEN_DMOP_create_ioreq_server` for `target` issued by `caller`, past the buffers: the host's
/// shortcut (`crate::Sim::create_ioreq_server`).
pub(crate) fn create_ioreq_server(
    m: &mut Machine,
    caller: u16,
    target_id: u16,
    handling: u8,
) -> Result<u16, i32> {
    if !m.cfg.ioreq_server {
        return Err(ENOSYS);
    }
    let d = target(m, caller, target_id)?;
    m.ioreq_server_create(d, caller, handling)
}

/// The sub-op on `d`; `Ok(true)` when Xen copies the body back (`!const_op`).
fn sub_op(m: &mut Machine, caller: u16, d: u16, op: &mut XenDmOp) -> Result<bool, i32> {
    match op.op {
        XEN_DMOP_CREATE_IOREQ_SERVER => {
            let mut b: XenDmOpCreateIoreqServer = op.body().ok_or(EFAULT)?;
            if b.pad != [0; 3] {
                return Err(EINVAL);
            }
            b.id = m.ioreq_server_create(d, caller, b.handle_bufioreq)?;
            *op = XenDmOp { u: XenDmOp::new(0, &b).u, ..*op };
            Ok(true)
        }
        XEN_DMOP_GET_IOREQ_SERVER_INFO => {
            let mut b: XenDmOpGetIoreqServerInfo = op.body().ok_or(EFAULT)?;
            if b.flags & !XEN_DMOP_NO_GFNS != 0 {
                return Err(EINVAL);
            }
            let want_gfns = b.flags & XEN_DMOP_NO_GFNS == 0;
            if let Some(port) = m.ioreq_server_get_info(d, b.id, caller, want_gfns)? {
                b.bufioreq_port = port;
            }
            *op = XenDmOp { u: XenDmOp::new(0, &b).u, ..*op };
            Ok(true)
        }
        XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER | XEN_DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER => {
            let b: XenDmOpIoreqServerRange = op.body().ok_or(EFAULT)?;
            if b.pad != 0 {
                return Err(EINVAL);
            }
            let map = op.op == XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER;
            m.ioreq_server_io_range(d, b.id, caller, map, (b.r#type, b.start, b.end))?;
            Ok(false)
        }
        XEN_DMOP_SET_IOREQ_SERVER_STATE => {
            let b: XenDmOpSetIoreqServerState = op.body().ok_or(EFAULT)?;
            if b.pad != 0 {
                return Err(EINVAL);
            }
            m.ioreq_server_set_state(d, b.id, caller, b.enabled != 0)?;
            Ok(false)
        }
        XEN_DMOP_DESTROY_IOREQ_SERVER => {
            let b: XenDmOpDestroyIoreqServer = op.body().ok_or(EFAULT)?;
            if b.pad != 0 {
                return Err(EINVAL);
            }
            m.ioreq_server_destroy(d, b.id, caller)?;
            Ok(false)
        }
        XEN_DMOP_NR_VCPUS => {
            let b = XenDmOpNrVcpus { vcpus: m.dom(d).max_vcpus };
            *op = XenDmOp { u: XenDmOp::new(0, &b).u, ..*op };
            Ok(true)
        }
        op if in_table(m.is_arm(), op) => Err(ENOSYS),
        _ => Err(EOPNOTSUPP),
    }
}
