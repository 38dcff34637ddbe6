//! Typed, allocation-free access to Xen's `HYPERVISOR_memory_op`.
//!
//! A Xen guest manages its guest-physical address space through one hypercall. This crate
//! gives it five operations with Xen's exact semantics (proven on the real Xen 4.17 and 4.20),
//! plus their siblings:
//!
//! | operation | Xen sub-op | result |
//! |---|---|---|
//! | [`Xen::add_to_physmap`] | `XENMEM_add_to_physmap` | `()` or Xen's errno |
//! | [`Xen::add_to_physmap_batch`] | `XENMEM_add_to_physmap_batch` | `()`; **per-entry** statuses |
//! | [`Xen::remove_from_physmap`] | `XENMEM_remove_from_physmap` | `()` or Xen's errno |
//! | [`Xen::populate_physmap`] | `XENMEM_populate_physmap` | extents done (**never** an errno from Xen) |
//! | [`Xen::acquire_resource`] / [`Xen::acquire_resource_size`] | `XENMEM_acquire_resource` | `()` / frames |
//! | [`Xen::increase_reservation`], [`Xen::decrease_reservation`] | 0, 1 | extents done |
//! | [`Xen::current_reservation`], [`Xen::maximum_reservation`], [`Xen::maximum_gpfn`] | 3, 4, 14 | the value |
//!
//! A device model also gets what it needs to serve an emulated domain's I/O through an ioreq
//! server: [`dm_op`] (hypercall 41: create, map ranges, enable, destroy), [`ioreq`] (the
//! request slots and the buffered ring, read and answered through [`shared_page`]) and
//! [`evtchn`] (the event channels that carry the notifications).
//!
//! Layers, each in its own module: [`abi`] (Xen's structs and numbers, layouts asserted at
//! compile time), [`types`] (domain ids, frame numbers, spaces, flags), [`error`],
//! [`version`] (which Xen runs, and the domctl interface of each release), the operations on
//! [`Xen`], and [`hypercall`]: the one unsafe seam every backend implements (x86_64, arm64, a
//! Linux dom0's privcmd, and the hypervisor model of `xenmem-sim`).
//!
//! Supported releases: Xen 4.17 to 4.20 ([`XenVersion::SUPPORTED`]). The memory operations
//! are the same on each; the toolstack's domctl commands follow the running release (asked
//! once with [`Xen::xen_version`]); any other release is [`Error::Unsupported`].
//!
//! Where Zephyr's `zephyr/xen/memory.h` and Xen disagree, these docs say what Xen does (4.17,
//! and where 4.20 answers otherwise, both).

#![no_std]
#![warn(missing_docs)]

pub mod abi;
pub mod dm_op;
pub mod domctl;
pub mod error;
pub mod evtchn;
pub mod hypercall;
pub mod ioreq;
mod ops;
pub mod shared_page;
pub mod types;
pub mod version;

pub use error::{Error, Invalid, XenError};
pub use hypercall::Hypercall;
pub use ops::{Xen, BATCH_MAX_ENTRIES};
pub use types::{
    DomId, EntryStatus, Gfn, GrantFrame, GrantTableId, MapSpace, MemFlags, Mfn, ResourceType,
    MAX_ABI_EXTENT_ORDER,
};
pub use version::{DomctlInterface, XenVersion};

/// The README's Rust examples compile as doctests, so the front page cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The crate's own README (the package's front page) compiles as well.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
