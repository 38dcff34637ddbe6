//! The few hypercalls the kernels need besides the suite's memory operations: console output,
//! yielding, shutdown, the memory map, and the event channel calls that tell a guest its own
//! domain id and carry the sibling's id from dom0 to an arm64 domU. Each goes through the
//! architecture's backend ([`Arch::hv`]); before it exists, each is a no-op or an error.

use xenmem::abi::{
    XenMemoryMap, HYPERVISOR_CONSOLE_IO, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_MEMORY_OP,
    HYPERVISOR_SCHED_OP, XENMEM_MEMORY_MAP,
};
use xenmem::{DomId, Hypercall};

use crate::Arch;

const CONSOLEIO_WRITE: u64 = 0;
const SCHEDOP_YIELD: u64 = 0;
const SCHEDOP_SHUTDOWN: u64 = 2;
const EVTCHNOP_CLOSE: u64 = 3;
const EVTCHNOP_STATUS: u64 = 5;
const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
/// `EVTCHNSTAT_unbound`: allocated, waiting for the remote domain to bind.
const EVTCHNSTAT_UNBOUND: u32 = 1;
/// What a call answers when the backend is not there yet.
const NO_BACKEND: i64 = -38; // -ENOSYS

/// `SHUTDOWN_*` reasons (`public/sched.h`).
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// Reboot: for the hardware domain Xen resets the machine, which QEMU's `-no-reboot` turns
/// into an exit (poweroff would only halt Xen and leave QEMU running). It is also what Xen
/// makes of an HVM guest's triple fault.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// Crash.
pub const SHUTDOWN_CRASH: u32 = 3;

/// A shutdown reason's name.
pub fn shutdown_reason_name(reason: u32) -> &'static str {
    match reason {
        SHUTDOWN_POWEROFF => "poweroff",
        SHUTDOWN_REBOOT => "reboot",
        2 => "suspend",
        SHUTDOWN_CRASH => "crash",
        4 => "watchdog",
        5 => "soft_reset",
        _ => "unknown",
    }
}

/// Hypercall `op` through the architecture's backend; [`NO_BACKEND`] without one.
///
/// # Safety
///
/// As [`Hypercall::hypercall`]: every address in `args` must be valid for what Xen does with
/// it under `op`.
unsafe fn raw<A: Arch>(op: u32, args: [u64; 5]) -> i64 {
    match A::hv() {
        // SAFETY: the caller's contract.
        Some(hv) => unsafe { hv.hypercall(op, args) },
        None => NO_BACKEND,
    }
}

/// console_io(CONSOLEIO_write). Xen prints the hardware domain's bytes as they are, and a
/// domU's (if it may use the console at all) line by line as `(dN) ...`.
pub fn console_write<A: Arch>(bytes: &[u8]) {
    let args = [CONSOLEIO_WRITE, bytes.len() as u64, bytes.as_ptr() as u64, 0, 0];
    // SAFETY: CONSOLEIO_write only reads `count` bytes at the pointer, which `bytes` covers.
    unsafe { raw::<A>(HYPERVISOR_CONSOLE_IO, args) };
}

/// SCHEDOP_yield: lets another vCPU (the other domain, on a one-CPU machine) run.
pub fn yield_cpu<A: Arch>() {
    // SAFETY: SCHEDOP_yield takes no argument and touches no guest memory.
    unsafe { raw::<A>(HYPERVISOR_SCHED_OP, [SCHEDOP_YIELD, 0, 0, 0, 0]) };
}

/// SCHEDOP_shutdown with `reason` ([`SHUTDOWN_REBOOT`] is dom0's way out); parks the CPU if
/// Xen returns.
pub fn shutdown<A: Arch>(reason: u32) -> ! {
    let args = [SCHEDOP_SHUTDOWN, core::ptr::addr_of!(reason) as u64, 0, 0, 0];
    // SAFETY: SCHEDOP_shutdown reads one `struct sched_shutdown` (a u32) at the pointer,
    // which is `reason`, alive across the call.
    unsafe { raw::<A>(HYPERVISOR_SCHED_OP, args) };
    A::halt()
}

/// XENMEM_memory_map: Xen writes up to `buf.len() / 20` e820 entries (addr u64, size u64,
/// type u32, packed) into `buf` and returns how many, or its errno (on Arm, -ENOSYS: the
/// device tree is the map).
pub fn memory_map<A: Arch>(buf: &mut [u8]) -> Result<usize, i64> {
    let room = buf.len() / 20;
    let mut arg = XenMemoryMap { nr_entries: room as u32, _pad: 0, buffer: buf.as_mut_ptr() as u64 };
    let args = [XENMEM_MEMORY_MAP as u64, core::ptr::addr_of_mut!(arg) as u64, 0, 0, 0];
    // SAFETY: XENMEM_memory_map reads `arg` and writes at most `nr_entries` 20-byte entries
    // into `buffer`, which `buf` holds; both live across the call and no reference to them is
    // used meanwhile.
    let rc = unsafe { raw::<A>(HYPERVISOR_MEMORY_OP, args) };
    if rc < 0 {
        return Err(rc);
    }
    Ok((arg.nr_entries as usize).min(room))
}

/// `struct evtchn_alloc_unbound`.
#[repr(C)]
struct AllocUnbound {
    dom: u16,
    remote_dom: u16,
    port: u32,
}

/// `struct evtchn_status` (24 bytes; the union's first word is `unbound.dom`).
#[repr(C)]
#[derive(Default)]
struct Status {
    dom: u16,
    _pad: u16,
    port: u32,
    status: u32,
    vcpu: u32,
    remote: u32,
    _rest: u32,
}

/// One event channel op on `arg`, which must be the live struct `cmd` reads and writes.
fn evtchn_op<A: Arch, T>(cmd: u64, arg: &mut T) -> i64 {
    let args = [cmd, core::ptr::from_mut(arg) as u64, 0, 0, 0];
    // SAFETY: every caller passes the struct that `cmd` reads and writes, borrowed mutably
    // for the call.
    unsafe { raw::<A>(HYPERVISOR_EVENT_CHANNEL_OP, args) }
}

/// Allocates an unbound port in domain `dom` for `remote` to bind; Xen resolves a `remote`
/// of `DOMID_SELF` to the caller's id. Returns the port.
pub fn alloc_unbound<A: Arch>(dom: DomId, remote: DomId) -> Result<u32, i64> {
    let mut a = AllocUnbound { dom: dom.raw(), remote_dom: remote.raw(), port: 0 };
    match evtchn_op::<A, _>(EVTCHNOP_ALLOC_UNBOUND, &mut a) {
        0 => Ok(a.port),
        e => Err(e),
    }
}

/// The remote domain of the caller's unbound `port`: `Ok(None)` for a port in another state,
/// `Err` past the last port.
pub fn unbound_remote<A: Arch>(port: u32) -> Result<Option<u16>, i64> {
    let mut s = Status { dom: DomId::SELF.raw(), port, ..Status::default() };
    match evtchn_op::<A, _>(EVTCHNOP_STATUS, &mut s) {
        0 => Ok((s.status == EVTCHNSTAT_UNBOUND).then_some(s.remote as u16)),
        e => Err(e),
    }
}

/// Closes one of the caller's ports.
pub fn close<A: Arch>(port: u32) {
    let mut p = port;
    evtchn_op::<A, _>(EVTCHNOP_CLOSE, &mut p);
}

/// The caller's own domain id: an unbound port to itself, whose status names its remote end
/// by number (nothing else tells an Arm guest its id).
pub fn own_domid<A: Arch>() -> Result<u16, i64> {
    let port = alloc_unbound::<A>(DomId::SELF, DomId::SELF)?;
    let remote = unbound_remote::<A>(port);
    close::<A>(port);
    remote?.ok_or(-1)
}
