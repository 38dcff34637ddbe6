//! What arm64 supplies to the runtime: `hvc #0xEA1` (xenmem's `Hvc`), console_io for output
//! (dom0's, and a dom0less domU's, which Xen marks `is_console`), the generic timer as a
//! clock, and guarded byte access to guest-physical memory with the MMU off.

use xenmem::abi::domctl::DomctlCreateDomain;
use xenmem::hypercall::aarch64::Hvc;
use xenmem_guest_runtime::{xen, Arch};

use crate::entry::{guarded_read, guarded_write};

/// The arm64 kernel, as the runtime sees it.
pub struct Arm64;

/// The console of this kernel.
pub type Console = xenmem_guest_runtime::console::Console<Arm64>;

/// The generic timer's virtual count and frequency.
fn now_ticks() -> (u64, u64) {
    let (count, freq): (u64, u64);
    // SAFETY: reading CNTVCT_EL0 and CNTFRQ_EL0 at EL1 has no side effects.
    unsafe {
        core::arch::asm!("isb", "mrs {c}, cntvct_el0", "mrs {f}, cntfrq_el0",
            c = out(reg) count, f = out(reg) freq, options(nomem, nostack));
    }
    (count, freq.max(1))
}

impl Arch for Arm64 {
    type Hv = Hvc;

    fn hv() -> Option<Hvc> {
        Some(Hvc)
    }

    fn emit(bytes: &[u8]) {
        xen::console_write::<Arm64>(bytes)
    }

    fn now_ms() -> Option<u64> {
        let (count, freq) = now_ticks();
        Some((count as u128 * 1000 / freq as u128) as u64)
    }

    fn halt() -> ! {
        loop {
            // SAFETY: wfi waits for an interrupt (all masked), touching no memory.
            unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
        }
    }

    const DOMU_CONFIG: fn(u32, i32) -> DomctlCreateDomain = xenmem::domctl::arm_domu;
    const SUITE_ARCH: xenmem_conformance::Arch = xenmem_conformance::Arch::Arm64;
    /// The MMU is off: every guest-physical address is reachable as it is.
    const PHYS_END: u64 = u64::MAX;

    /// A frame the suite reads may have nothing mapped behind it; then Xen injects a data
    /// abort, which the exception vector turns into `None`.
    unsafe fn read_phys_byte(addr: u64) -> Option<u8> {
        // SAFETY: the caller vouches that no Rust object lives at `addr`.
        unsafe { guarded_read(addr) }
    }

    unsafe fn write_phys_byte(addr: u64, value: u8) -> bool {
        // SAFETY: as in `read_phys_byte`.
        unsafe { guarded_write(addr, value) }
    }
}
