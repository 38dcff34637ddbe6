//! The few hypercalls the kernel needs besides the suite's: console output, yielding,
//! shutdown, its own domain id, and one event channel call for dom0 to name the sibling to
//! the domU. All through xenmem's `Hvc` backend (`hvc #0xEA1`).

use xenmem::abi::{HYPERVISOR_CONSOLE_IO, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_SCHED_OP};
use xenmem::hypercall::aarch64::Hvc;
use xenmem::{DomId, Hypercall};

const CONSOLEIO_WRITE: u64 = 0;
const SCHEDOP_YIELD: u64 = 0;
const SCHEDOP_SHUTDOWN: u64 = 2;
const EVTCHNOP_CLOSE: u64 = 3;
const EVTCHNOP_STATUS: u64 = 5;
const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
/// `EVTCHNSTAT_unbound`: allocated, waiting for the remote domain to bind.
const EVTCHNSTAT_UNBOUND: u32 = 1;

/// `SHUTDOWN_*` reasons (`public/sched.h`).
pub const SHUTDOWN_POWEROFF: u32 = 0;
pub const SHUTDOWN_REBOOT: u32 = 1;
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

/// console_io(CONSOLEIO_write). Xen prints the hardware domain's bytes as they are, and a
/// domU's (allowed for dom0less domUs, which Xen marks `is_console`) line by line as
/// `(dN) ...`.
pub fn console_write(bytes: &[u8]) {
    let args = [CONSOLEIO_WRITE, bytes.len() as u64, bytes.as_ptr() as u64, 0, 0];
    // SAFETY: CONSOLEIO_write reads `count` bytes at the pointer, which `bytes` covers.
    unsafe { Hvc.hypercall(HYPERVISOR_CONSOLE_IO, args) };
}

/// SCHEDOP_yield: lets the other domain run on this one-CPU machine.
pub fn yield_cpu() {
    // SAFETY: SCHEDOP_yield takes no argument and touches no guest memory.
    unsafe { Hvc.hypercall(HYPERVISOR_SCHED_OP, [SCHEDOP_YIELD, 0, 0, 0, 0]) };
}

/// SCHEDOP_shutdown with `reason`. For the hardware domain, reason reboot makes Xen reset the
/// machine, which QEMU's `-no-reboot` turns into an exit; a domU's shutdown just stops it, for
/// dom0 to see in getdomaininfo.
pub fn shutdown(reason: u32) -> ! {
    let args = [SCHEDOP_SHUTDOWN, core::ptr::addr_of!(reason) as u64, 0, 0, 0];
    // SAFETY: SCHEDOP_shutdown reads one `struct sched_shutdown` (a u32) at the pointer.
    unsafe { Hvc.hypercall(HYPERVISOR_SCHED_OP, args) };
    halt()
}

/// Parks the vCPU for good.
pub fn halt() -> ! {
    loop {
        // SAFETY: wfi waits for an interrupt (all masked), touching no memory.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}

/// `struct xen_memory_map`: how many entries fit, and where.
#[repr(C)]
struct MemoryMap {
    nr_entries: u32,
    _pad: u32,
    buffer: u64,
}

/// XENMEM_memory_map's answer: the entries Xen wrote, or its error. On Arm Xen 4.17 has no
/// memory map for guests (`arch_memory_op` answers `-ENOSYS`): the device tree is the map.
pub fn memory_map_entries() -> Result<u32, i64> {
    // Room for 8 e820 entries of 20 bytes, in case an Xen answers.
    let mut entries = [0u8; 160];
    let mut map = MemoryMap { nr_entries: 8, _pad: 0, buffer: entries.as_mut_ptr() as u64 };
    let args = [xenmem::abi::XENMEM_MEMORY_MAP as u64, core::ptr::addr_of_mut!(map) as u64, 0, 0, 0];
    // SAFETY: XENMEM_memory_map reads the struct and writes at most `nr_entries` entries of
    // 20 bytes into `buffer` (160 bytes here), then `nr_entries` back into the struct.
    match unsafe { Hvc.hypercall(xenmem::abi::HYPERVISOR_MEMORY_OP, args) } {
        0 => Ok(map.nr_entries),
        e => Err(e),
    }
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

fn evtchn_op(cmd: u64, arg: *mut u8) -> i64 {
    // SAFETY: every caller passes a pointer to the live struct that `cmd` reads and writes.
    unsafe { Hvc.hypercall(HYPERVISOR_EVENT_CHANNEL_OP, [cmd, arg as u64, 0, 0, 0]) }
}

/// Allocates an unbound port in domain `dom` for `remote` to bind; Xen resolves a `remote`
/// of `DOMID_SELF` to the caller's id. Returns the port.
pub fn alloc_unbound(dom: DomId, remote: DomId) -> Result<u32, i64> {
    let mut a = AllocUnbound { dom: dom.raw(), remote_dom: remote.raw(), port: 0 };
    match evtchn_op(EVTCHNOP_ALLOC_UNBOUND, core::ptr::addr_of_mut!(a).cast()) {
        0 => Ok(a.port),
        e => Err(e),
    }
}

/// The remote domain of the caller's unbound `port`: `Ok(None)` for a port in another state,
/// `Err` past the last port.
pub fn unbound_remote(port: u32) -> Result<Option<u16>, i64> {
    let mut s = Status { dom: DomId::SELF.raw(), port, ..Status::default() };
    match evtchn_op(EVTCHNOP_STATUS, core::ptr::addr_of_mut!(s).cast()) {
        0 => Ok((s.status == EVTCHNSTAT_UNBOUND).then_some(s.remote as u16)),
        e => Err(e),
    }
}

/// Closes one of the caller's ports.
pub fn close(port: u32) {
    let mut p = port;
    evtchn_op(EVTCHNOP_CLOSE, core::ptr::addr_of_mut!(p).cast());
}

/// The caller's own domain id: an unbound port to itself, whose status names its remote end
/// by number (nothing else tells an Arm guest its id).
pub fn own_domid() -> Result<u16, i64> {
    let port = alloc_unbound(DomId::SELF, DomId::SELF)?;
    let remote = unbound_remote(port);
    close(port);
    remote?.ok_or(-1)
}

/// The generic timer's virtual count and frequency, for bounding waits and timing the run.
pub fn now_ticks() -> (u64, u64) {
    let (count, freq): (u64, u64);
    // SAFETY: reading CNTVCT_EL0 and CNTFRQ_EL0 at EL1 has no side effects.
    unsafe {
        core::arch::asm!("isb", "mrs {c}, cntvct_el0", "mrs {f}, cntfrq_el0",
            c = out(reg) count, f = out(reg) freq, options(nomem, nostack));
    }
    (count, freq.max(1))
}

/// Milliseconds since an arbitrary start, from the virtual counter.
pub fn now_ms() -> u64 {
    let (count, freq) = now_ticks();
    (count as u128 * 1000 / freq as u128) as u64
}
