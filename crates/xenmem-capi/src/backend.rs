//! Where the exported functions' hypercalls go.
//!
//! * Default: to a function the C program defines,
//!   `long xenmem_hypercall(unsigned int op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)`,
//!   which issues hypercall `op` with the five arguments in Xen's argument registers and
//!   returns Xen's result. On a Zephyr arm64 guest it is `mov x16, op; hvc #0xEA1`; on an
//!   x86_64 guest a `call` into the hypercall page; on a Linux dom0 `IOCTL_PRIVCMD_HYPERCALL`.
//!   The arguments are what Xen receives: for `memory_op` (12), `a0` is the sub-op and `a1`
//!   the address of its struct, which points to the caller's arrays.
//! * Feature `hvc` (aarch64 only): xenmem's own arm64 backend, `hvc #0xEA1`; the C program
//!   defines nothing.
//! * Feature `model`: the library defines `xenmem_hypercall` itself and runs it on the
//!   embedded model (see the `model` module).

use xenmem::Xen;

#[cfg(not(all(feature = "hvc", target_arch = "aarch64")))]
mod hook {
    use core::ffi::{c_long, c_uint};
    use xenmem::Hypercall;

    extern "C" {
        /// Defined by the C program (by the library itself when built with the `model`
        /// feature): issues hypercall `op` with `a0`..`a4` in Xen's five argument registers
        /// and returns Xen's result unchanged (a negative errno on failure), touching no
        /// memory itself.
        ///
        /// On a Zephyr arm64 guest: `mov x16, op; hvc #0xEA1` with `a0`..`a4` in `x0`..`x4`
        /// and the result in `x0` (Xen clobbers `x1`..`x4` and `x16`). On an x86_64 guest: a
        /// `call` to the hypercall page at `op * 32` with `a0`..`a4` in `rdi`, `rsi`, `rdx`,
        /// `r10`, `r8`. On a Linux dom0: `IOCTL_PRIVCMD_HYPERCALL`. The `xendom_*` functions
        /// issue `memory_op` (`op` 12) with the sub-op in `a0` and the address of its
        /// argument struct in `a1`; `a2`..`a4` are 0.
        fn xenmem_hypercall(op: c_uint, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> c_long;
    }

    /// Hypercalls through the C program's `xenmem_hypercall`.
    #[derive(Clone, Copy, Debug, Default)]
    pub(crate) struct Platform;

    // SAFETY: the C program's `xenmem_hypercall` is documented (in the header) to issue the
    // hypercall and nothing else, so memory is touched only as Xen's definition of the
    // hypercall says: the promise `Hypercall` asks for is the one the header asks of it.
    unsafe impl Hypercall for Platform {
        unsafe fn hypercall(&self, op: u32, a: [u64; 5]) -> i64 {
            // SAFETY: the arguments satisfy the hypercall's contract (the caller's promise),
            // which is all `xenmem_hypercall` may rely on.
            let rc = unsafe { xenmem_hypercall(op, a[0], a[1], a[2], a[3], a[4]) };
            // `long` is 64 bits on every target Xen's 64-bit ABI structs describe.
            #[allow(clippy::unnecessary_cast)]
            let rc = rc as i64;
            rc
        }
    }
}

#[cfg(not(all(feature = "hvc", target_arch = "aarch64")))]
pub(crate) use hook::Platform;

/// Hypercalls through `hvc #0xEA1`.
#[cfg(all(feature = "hvc", target_arch = "aarch64"))]
pub(crate) use xenmem::hypercall::aarch64::Hvc as Platform;

/// The library over this build's backend (a zero-sized value: free to make per call).
pub(crate) const fn xen() -> Xen<Platform> {
    Xen::new(Platform)
}
