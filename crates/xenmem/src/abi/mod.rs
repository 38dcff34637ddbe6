//! Xen's public memory_op interface, byte for byte, for 64-bit guests (x86_64 and arm64).
//!
//! Every value here comes from Xen's public headers, the same in 4.17 and 4.20 except for the
//! domctl structs that [`domctl`] keeps per interface version (`xen/include/public/xen.h`,
//! `xen/include/public/memory.h`; the submodules name theirs); the layouts are those a 64-bit guest sees, where guest
//! handles, `xen_pfn_t` and `xen_ulong_t` are all 8 bytes, so x86_64 and arm64 agree.
//! Each struct is `repr(C)` with explicit padding fields (zerocopy refuses implicit padding)
//! and a compile-time assertion of its size and of every field's offset: a layout mistake is
//! a build failure, not a corrupted hypercall.
//!
//! Guest handles are stored as plain `u64` addresses. Who may dereference them, and for how
//! long, is the business of the code that fills them in (`crate::ops`) and of the backend
//! that hands them to Xen (`crate::hypercall`).

mod constants;
pub mod dm_op;
pub mod domctl;
pub mod evtchn;
pub mod ioreq;
mod structs;

pub use constants::*;
pub use structs::*;
