//! `do_event_channel_op` (hypercall 32, `xen/common/event_channel.c`): copy the sub-op's
//! struct (`-EFAULT`), run it (`crate::evtchn`), copy the result back where Xen does
//! (alloc_unbound, bind_interdomain and status, only on success: `-EFAULT`).
//!
//! Modelled sub-ops: bind_interdomain (0), close (3), send (4), status (5) and
//! alloc_unbound (6). The rest (VIRQs, IPIs, PIRQs, unmask, reset, FIFO) answer the model's
//! `-ENOSYS`, which is also what Xen gives for a number it does not know.

use crate::error::errno::*;
use crate::guest_memory::{read_obj, GuestMemory};
use crate::machine::Machine;
use xenmem::abi::evtchn::*;
use zerocopy::IntoBytes;

/// `do_event_channel_op(cmd, arg)` issued by `caller`.
pub(crate) fn do_event_channel_op(
    m: &mut Machine,
    caller: u16,
    mem: &mut dyn GuestMemory,
    cmd: u64,
    arg: u64,
) -> i64 {
    // `int cmd`: the low 32 bits of the register.
    match op(m, caller, mem, cmd as u32, arg) {
        Ok(()) => 0,
        Err(e) => -(e as i64),
    }
}

fn op(m: &mut Machine, caller: u16, mem: &mut dyn GuestMemory, cmd: u32, arg: u64) -> Result<(), i32> {
    match cmd {
        EVTCHNOP_ALLOC_UNBOUND => {
            let mut a: EvtchnAllocUnbound = read_obj(mem, arg).map_err(|_| EFAULT)?;
            a.port = m.evtchn_alloc_unbound(caller, a.dom, a.remote_dom)?;
            mem.write(arg, a.as_bytes()).map_err(|_| EFAULT)
        }
        EVTCHNOP_BIND_INTERDOMAIN => {
            let mut b: EvtchnBindInterdomain = read_obj(mem, arg).map_err(|_| EFAULT)?;
            b.local_port = m.evtchn_bind_interdomain(caller, b.remote_dom, b.remote_port)?;
            mem.write(arg, b.as_bytes()).map_err(|_| EFAULT)
        }
        EVTCHNOP_SEND => {
            let s: EvtchnPortArg = read_obj(mem, arg).map_err(|_| EFAULT)?;
            m.evtchn_send(caller, s.port)
        }
        EVTCHNOP_CLOSE => {
            let c: EvtchnPortArg = read_obj(mem, arg).map_err(|_| EFAULT)?;
            m.evtchn_close(caller, c.port, true)
        }
        EVTCHNOP_STATUS => {
            let mut s: EvtchnStatus = read_obj(mem, arg).map_err(|_| EFAULT)?;
            let (status, vcpu, u) = m.evtchn_status(caller, s.dom, s.port)?;
            s.status = status;
            s.vcpu = vcpu;
            // The union: unbound writes only its domid_t, interdomain a domid_t and a port.
            match status {
                EVTCHNSTAT_UNBOUND => s.u[0] = (s.u[0] & 0xffff_0000) | u[0],
                EVTCHNSTAT_INTERDOMAIN => s.u = [(s.u[0] & 0xffff_0000) | u[0], u[1]],
                _ => {}
            }
            mem.write(arg, s.as_bytes()).map_err(|_| EFAULT)
        }
        _ => Err(ENOSYS),
    }
}
