//! arm64 backend: `hvc #0xEA1`.
//!
//! ABI (`xen/include/public/arch-arm.h`): hypercall number in `x16`, arguments in `x0..x4`,
//! result in `x0`. Xen may clobber `x16` and every argument register (a debug Xen writes
//! 0xDEADBEEF into them), so all six are declared as outputs here: rust-vmm's xen-sys passed
//! them as plain inputs, which lets the compiler keep live values in registers Xen destroys.

use super::Hypercall;
use core::arch::asm;

/// The immediate of Xen's `hvc` (`XEN_HYPERCALL_TAG`).
pub const XEN_HYPERCALL_TAG: u16 = 0xEA1;

/// Hypercalls through `hvc #0xEA1`, for any arm64 guest at EL1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hvc;

// SAFETY: `hvc` traps into Xen, which touches only the memory the hypercall's definition names.
unsafe impl Hypercall for Hvc {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        let ret: i64;
        // SAFETY: every register the arm64 hypercall ABI lets Xen clobber (x0-x4, x16) is an
        // output; the instruction uses no stack; memory accesses are the caller's contract.
        unsafe {
            asm!(
                "hvc #0xEA1",
                inlateout("x0") args[0] => ret,
                inlateout("x1") args[1] => _,
                inlateout("x2") args[2] => _,
                inlateout("x3") args[3] => _,
                inlateout("x4") args[4] => _,
                inlateout("x16") op as u64 => _,
                options(nostack),
            );
        }
        ret
    }
}
