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
const SCHEDOP_SHUTDOWN: u64 = 2;
const SHUTDOWN_REBOOT: u32 = 1;

/// console_io(CONSOLEIO_write): Xen prints a hardware domain's bytes straight to its console.
pub fn console_write(bytes: &[u8]) {
    let Some(hv) = backend() else { return };
    let args = [CONSOLEIO_WRITE, bytes.len() as u64, bytes.as_ptr() as u64, 0, 0];
    // SAFETY: CONSOLEIO_write only reads `count` bytes at the pointer, which `bytes` covers.
    unsafe { hv.hypercall(xenmem::abi::HYPERVISOR_CONSOLE_IO, args) };
}

/// SCHEDOP_shutdown with reason reboot: the hardware domain rebooting makes Xen reset the
/// machine, and QEMU's `-no-reboot` turns that reset into an exit. (Reason poweroff only
/// halts Xen, leaving QEMU running.)
pub fn shutdown_reboot() -> ! {
    if let Some(hv) = backend() {
        let reason: u32 = SHUTDOWN_REBOOT;
        let args = [SCHEDOP_SHUTDOWN, core::ptr::addr_of!(reason) as u64, 0, 0, 0];
        // SAFETY: SCHEDOP_shutdown reads one `struct sched_shutdown` (a u32) at the pointer.
        unsafe { hv.hypercall(xenmem::abi::HYPERVISOR_SCHED_OP, args) };
    }
    halt()
}

/// Parks the CPU when nothing else can be done.
pub fn halt() -> ! {
    loop {
        // SAFETY: hlt only waits for an interrupt (none are enabled); it touches no memory.
        unsafe { core::arch::asm!("hlt", options(nomem, nostack)) };
    }
}
