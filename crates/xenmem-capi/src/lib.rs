//! Zephyr's `xendom_*` memory functions (`zephyr/xen/memory.h`) for C programs, exported from
//! a static library built on [`xenmem`].
//!
//! A C program that called Zephyr's `xendom_add_to_physmap`, `xendom_add_to_physmap_batch`,
//! `xendom_remove_from_physmap`, `xendom_populate_physmap` and `xendom_acquire_resource`, or
//! the reservation wrappers Zephyr added in 2026 (`xendom_increase_reservation`,
//! `xendom_decrease_reservation`, PR #115173), links `libxenmem_capi.a` and includes
//! `include/xenmem.h` (generated from this crate by cbindgen) instead: the same prototypes,
//! the same return conventions, Xen 4.17's semantics, and no silent truncation. Each function is a thin layer over [`xenmem::Xen`]: it turns C
//! arguments into typed values and slices (refusing what cannot be represented with
//! `-EINVAL`), calls the library, and turns the result back into Zephyr's `int`.
//!
//! | module | holds |
//! |---|---|
//! | `xendom` | the exported `xendom_*` functions and the argument checks Zephyr's C code lacks |
//! | `backend` | where hypercalls go: the C program's `xenmem_hypercall` (default) or arm64 `hvc` (feature `hvc`) |
//! | `ffi` | the only `unsafe`: C pointers to slices, and the panic guard |
//! | `model` | feature `model`: the xenmem-sim model inside the library, and `xenmem_model_*` |
//!
//! # Where this differs from Zephyr's C implementation
//!
//! Zephyr narrows its `int` domain ids and the batch's `unsigned int` space and size into
//! Xen's 16-bit fields without a check. Here an id outside `domid_t` (negative or above
//! `0xFFFF`) or a batch space above `0xFFFF` is `-EINVAL`, and a batch of more than 65,535
//! entries is split into calls Xen can take, so every entry is processed (Zephyr's maps only
//! `size & 0xFFFF` of them). The header documents each difference at its function.
//!
//! # Builds
//!
//! | features | for | hypercalls |
//! |---|---|---|
//! | default (`std`) | any hosted C program | its `xenmem_hypercall` |
//! | `--no-default-features` | a bare-metal C program (no_std, `core` only) | its `xenmem_hypercall` |
//! | `--no-default-features --features hvc` | a Zephyr arm64 app (`aarch64-unknown-none`) | `hvc #0xEA1`, inlined |
//! | `model` | C tests on a host | the embedded model of Xen 4.17 |
//!
//! With `std` a panic (a bug: no input should reach one) is caught at the boundary and
//! returned as `-EIO`; without it the library's panic handler stops the CPU. The no_std
//! builds are for targets whose panic strategy is abort (the bare-metal ones);
//! `tests/check-arm64.sh` builds the `hvc` one with Debian's rustc-web and checks its code.
//!
//! # Errno values
//!
//! Failures are Xen's own `-errno` (Xen's `public/errno.h`, which numbers errors as Linux
//! does), exactly what Zephyr's functions return; the checks added here return `-EINVAL` (22).

#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![warn(missing_docs)]

mod backend;
mod ffi;
#[cfg(feature = "model")]
pub mod model;
#[cfg(all(test, not(feature = "model")))]
mod test_hook;
mod xendom;

pub use xendom::{
    xen_pfn_t, xen_ulong_t, xendom_acquire_resource, xendom_add_to_physmap, xendom_add_to_physmap_batch,
    xendom_decrease_reservation, xendom_increase_reservation, xendom_populate_physmap,
    xendom_remove_from_physmap, XENMEM_ENTRY_NOT_DONE,
};
// `domid_t` is exported under its C name as well.
pub use xendom::domid_t;

/// The static library's panic handler without std. No input reaches a panic (every length and
/// index is checked before use); should a bug reach one, the CPU stops here rather than
/// returning to C with an operation half done.
#[cfg(not(any(test, feature = "std")))]
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(all(feature = "hvc", feature = "model"))]
compile_error!("features `hvc` and `model` exclude each other: hypercalls go either to Xen or to the model");

#[cfg(all(feature = "hvc", not(target_arch = "aarch64")))]
compile_error!("feature `hvc` is xenmem's arm64 backend (`hvc #0xEA1`): build for an aarch64 target");
