//! What x86_64 supplies to the runtime: the hypercall page, where console bytes go, the TSC
//! as a clock, and plain memory access under the boot identity map.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use xenmem::abi::domctl::DomctlCreateDomain;
use xenmem::hypercall::x86_64::{install_hypercall_page, xen_cpuid_base, HypercallPage};
use xenmem_guest_runtime::{log, xen, Arch};

/// The PVH kernel, as the runtime sees it.
pub struct X86;

/// The console of this kernel.
pub type Console = xenmem_guest_runtime::console::Console<X86>;

#[repr(C, align(4096))]
struct Page(UnsafeCell<[u8; 4096]>);

// SAFETY: Rust code never reads or writes the page; only Xen writes it (once, during
// `install`, before any hypercall), and afterwards it is only executed.
unsafe impl Sync for Page {}

/// The hypercall page rather than a bare `vmcall`/`vmmcall`: Xen writes the instruction the
/// CPU actually needs (Intel or AMD), so the same image runs on both. Executable because the
/// boot page tables set no NX bit (and EFER.NXE is off).
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

/// Where finished lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Sink {
    /// console_io: the hardware domain's bytes reach Xen's console unchanged.
    ConsoleIo = 0,
    /// Port 0xE9: Xen prints an HVM guest's bytes as `(dN) ...` lines. The domU's channel of
    /// last resort (before its log exists, and for a fatal error).
    DebugPort = 1,
    /// The domU's log area, which dom0 prints.
    Log = 2,
}

static SINK: AtomicU8 = AtomicU8::new(Sink::ConsoleIo as u8);

/// Sends all later output to `sink`.
pub fn set_sink(sink: Sink) {
    SINK.store(sink as u8, Ordering::Relaxed);
}

fn sink() -> Sink {
    match SINK.load(Ordering::Relaxed) {
        1 => Sink::DebugPort,
        2 => Sink::Log,
        _ => Sink::ConsoleIo,
    }
}

/// Xen's debug port for HVM guests: it collects the bytes and prints each line as `(dN) ...`.
const DEBUG_PORT: u16 = 0xe9;

/// Writes bytes to port 0xE9, which works for any HVM/PVH guest, privileged or not.
fn debug_port_write(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: an I/O port write in ring 0; Xen intercepts port 0xE9 and nothing else
        // (memory, flags, stack) is touched.
        unsafe {
            core::arch::asm!("out dx, al", in("dx") DEBUG_PORT, in("al") b, options(nomem, nostack, preserves_flags))
        };
    }
}

/// The TSC's rate in kHz, which Xen publishes in CPUID leaf base+3 (0 if it does not).
pub fn tsc_khz() -> u64 {
    xen_cpuid_base().map_or(0, |base| core::arch::x86_64::__cpuid_count(base + 3, 0).ecx as u64)
}

/// Everything the kernel can reach goes through the boot identity map, which ends here.
pub const MAPPED_END: u64 = 1 << 32;

impl Arch for X86 {
    type Hv = HypercallPage;

    fn hv() -> Option<HypercallPage> {
        if !INSTALLED.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: Xen filled the page (INSTALLED), the page is a static, so mapped and
        // executable for the whole run.
        Some(unsafe { HypercallPage::new(HYPERCALL_PAGE.0.get() as *const u8) })
    }

    fn emit(bytes: &[u8]) {
        match sink() {
            Sink::ConsoleIo => xen::console_write::<X86>(bytes),
            Sink::DebugPort => debug_port_write(bytes),
            Sink::Log => log::append(bytes),
        }
    }

    fn emit_fatal(bytes: &[u8]) {
        Self::emit(bytes);
        // The domU's log is read only if dom0 gets that far: say it on port 0xE9 too.
        if sink() == Sink::Log {
            debug_port_write(bytes.strip_prefix(b"\n").unwrap_or(bytes));
        }
    }

    fn now_ms() -> Option<u64> {
        let khz = tsc_khz();
        // SAFETY: rdtsc reads the time-stamp counter; CR4.TSD is clear, so it runs in any ring.
        (khz != 0).then(|| unsafe { core::arch::x86_64::_rdtsc() } / khz)
    }

    /// With interrupts off, Xen takes `hlt` in an HVM guest's last vCPU as a poweroff of that
    /// domain.
    fn halt() -> ! {
        loop {
            // SAFETY: hlt only waits for an interrupt (none are enabled); it touches no memory.
            unsafe { core::arch::asm!("hlt", options(nomem, nostack)) };
        }
    }

    const DOMU_CONFIG: fn(u32, i32) -> DomctlCreateDomain = xenmem::domctl::pvh_domu;
    const SUITE_ARCH: xenmem_conformance::Arch = xenmem_conformance::Arch::X86_64;
    const PHYS_END: u64 = MAPPED_END;

    /// A byte-wide volatile load: the frame may be anything Xen mapped there (or nothing, in
    /// which case Xen emulates the access), so each access must really happen and be a plain
    /// `mov` Xen's emulator can decode. Never `None`: an unmapped frame reads as Xen emulates.
    unsafe fn read_phys_byte(addr: u64) -> Option<u8> {
        // SAFETY: below PHYS_END the boot identity map covers the address, and the caller
        // vouches that no Rust object lives there.
        Some(unsafe { core::ptr::read_volatile(addr as *const u8) })
    }

    unsafe fn write_phys_byte(addr: u64, value: u8) -> bool {
        // SAFETY: as in `read_phys_byte`.
        unsafe { core::ptr::write_volatile(addr as *mut u8, value) };
        true
    }
}

/// Resets the machine (dom0's way out).
pub fn reboot() -> ! {
    xen::shutdown::<X86>(xen::SHUTDOWN_REBOOT)
}
