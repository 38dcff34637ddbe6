//! The hypercall backend: Xen's hypercall page, installed into a page of the image.
//!
//! The page rather than a bare `vmcall`/`vmmcall`: Xen writes the instruction the CPU
//! actually needs (Intel or AMD), so the same image runs on both.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use xenmem::hypercall::x86_64::{install_hypercall_page, HypercallPage};
use xenmem::Hypercall;

#[repr(C, align(4096))]
struct Page(UnsafeCell<[u8; 4096]>);

// SAFETY: Rust code never reads or writes the page; only Xen writes it (once, during
// `install`, before any hypercall), and afterwards it is only executed.
unsafe impl Sync for Page {}

/// Executable because the boot page tables set no NX bit (and EFER.NXE is off).
static HYPERCALL_PAGE: Page = Page(UnsafeCell::new([0; 4096]));

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Asks Xen to fill the hypercall page. `false` when no Xen is found in CPUID.
pub fn install() -> bool {
    // Virtual = physical under the boot identity map.
    let gpa = HYPERCALL_PAGE.0.get() as u64;
    // SAFETY: the kernel runs in ring 0 of a PVH guest (entry.rs); the page is a page-aligned
    // static that nothing else uses, so Xen may overwrite it.
    let ok = unsafe { install_hypercall_page(gpa) };
    INSTALLED.store(ok, Ordering::Release);
    ok
}

/// The backend, once [`install`] succeeded.
pub fn backend() -> Option<HypercallPage> {
    if !INSTALLED.load(Ordering::Acquire) {
        return None;
    }
    // SAFETY: Xen filled the page (INSTALLED), the page is a static, so mapped and
    // executable for the whole run.
    Some(unsafe { HypercallPage::new(HYPERCALL_PAGE.0.get() as *const u8) })
}

const CONSOLEIO_WRITE: u64 = 0;
const SCHEDOP_YIELD: u64 = 0;
const SCHEDOP_SHUTDOWN: u64 = 2;

/// `SHUTDOWN_*` reasons (`xen/include/public/sched.h`).
pub const SHUTDOWN_POWEROFF: u32 = 0;
pub const SHUTDOWN_REBOOT: u32 = 1;
pub const SHUTDOWN_CRASH: u32 = 3;

/// A shutdown reason's name (`reboot` is also what Xen makes of an HVM guest's triple fault).
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

/// console_io(CONSOLEIO_write): Xen prints a hardware domain's bytes straight to its console.
pub fn console_write(bytes: &[u8]) {
    let Some(hv) = backend() else { return };
    let args = [CONSOLEIO_WRITE, bytes.len() as u64, bytes.as_ptr() as u64, 0, 0];
    // SAFETY: CONSOLEIO_write only reads `count` bytes at the pointer, which `bytes` covers.
    unsafe { hv.hypercall(xenmem::abi::HYPERVISOR_CONSOLE_IO, args) };
}

/// Xen's debug port for HVM guests: it collects the bytes and prints each line as `(dN) ...`.
const DEBUG_PORT: u16 = 0xe9;

/// Writes bytes to port 0xE9, which works for any HVM/PVH guest, privileged or not.
pub fn debug_port_write(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: an I/O port write in ring 0; Xen intercepts port 0xE9 and nothing else
        // (memory, flags, stack) is touched.
        unsafe {
            core::arch::asm!("out dx, al", in("dx") DEBUG_PORT, in("al") b, options(nomem, nostack, preserves_flags))
        };
    }
}

/// SCHEDOP_yield: lets another vCPU (the domU, on a one-CPU machine) run.
pub fn yield_cpu() {
    let Some(hv) = backend() else { return };
    // SAFETY: SCHEDOP_yield takes no argument and touches no guest memory.
    unsafe { hv.hypercall(xenmem::abi::HYPERVISOR_SCHED_OP, [SCHEDOP_YIELD, 0, 0, 0, 0]) };
}

/// SCHEDOP_shutdown with `reason`. For the hardware domain, reason reboot makes Xen reset the
/// machine, and QEMU's `-no-reboot` turns that reset into an exit (reason poweroff only halts
/// Xen, leaving QEMU running). A domU's shutdown just stops it, for dom0 to see.
pub fn shutdown(reason: u32) -> ! {
    if let Some(hv) = backend() {
        let args = [SCHEDOP_SHUTDOWN, core::ptr::addr_of!(reason) as u64, 0, 0, 0];
        // SAFETY: SCHEDOP_shutdown reads one `struct sched_shutdown` (a u32) at the pointer.
        unsafe { hv.hypercall(xenmem::abi::HYPERVISOR_SCHED_OP, args) };
    }
    halt()
}

/// Resets the machine (dom0's way out).
pub fn shutdown_reboot() -> ! {
    shutdown(SHUTDOWN_REBOOT)
}

/// Parks the CPU when nothing else can be done. (With interrupts off, Xen takes `hlt` in an
/// HVM guest's last vCPU as a poweroff of that domain.)
pub fn halt() -> ! {
    loop {
        // SAFETY: hlt only waits for an interrupt (none are enabled); it touches no memory.
        unsafe { core::arch::asm!("hlt", options(nomem, nostack)) };
    }
}
