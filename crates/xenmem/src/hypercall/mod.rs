//! The one unsafe seam: "issue hypercall N with five register arguments, return Xen's `long`".
//!
//! Every backend sits behind [`Hypercall`]: the x86_64 hypercall page and `vmcall`/`vmmcall`
//! (module `x86_64`), arm64 `hvc` (module `aarch64`), a Linux dom0's privcmd (elsewhere), and the
//! hypervisor model (crate `xenmem-sim`); [`Counting`] wraps any of them to count calls. The
//! typed operations on [`crate::Xen`] marshal into the structs of [`crate::abi`] and call it,
//! so the same marshalling runs everywhere.

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
mod counting;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

pub use counting::Counting;

/// A way to issue Xen hypercalls.
///
/// # Safety
///
/// Implementors promise to act on memory as Xen's definition of the hypercall does and no
/// more: they read and write only the memory that hypercall `op` reads and writes (the
/// structs and arrays its arguments point to, within the lengths those structs give), and
/// only while [`Hypercall::hypercall`] runs. The typed operations rely on this to hand out
/// pointers to the caller's buffers. A backend that forwards to real Xen inherits the promise
/// from Xen; a software model keeps it by decoding arguments exactly as Xen does.
pub unsafe trait Hypercall {
    /// Issues hypercall `op` with `args` in the five argument registers and returns Xen's
    /// result (`-errno` on failure), sign-extended to 64 bits.
    ///
    /// # Safety
    ///
    /// Every address among `args`, and every guest handle inside the structs they point to,
    /// must be valid for the reads and writes hypercall `op` performs on it, for the whole
    /// call, and must not be aliased by a live Rust reference in a way those writes would
    /// violate.
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64;
}

// SAFETY: a shared reference forwards to the same backend, which keeps its own promise.
unsafe impl<H: Hypercall + ?Sized> Hypercall for &H {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { (**self).hypercall(op, args) }
    }
}

#[cfg(test)]
pub(crate) mod recording;
