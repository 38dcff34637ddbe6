//! The typed memory operations, one file each, as methods of [`Xen`].
//!
//! Each file's doc gives Xen's check order (so a caller knows which error wins), what the
//! library checks before any hypercall, and how many hypercalls the operation issues. No
//! operation allocates or panics; every length is checked before a pointer reaches Xen.

use crate::abi;
use crate::hypercall::Hypercall;
use crate::version::XenVersion;
use core::sync::atomic::{AtomicU32, Ordering};

mod acquire_resource;
mod add_to_physmap;
mod add_to_physmap_batch;
mod domctl;
mod populate_physmap;
mod remove_from_physmap;
mod reservation;
mod xen_version;

pub use add_to_physmap_batch::BATCH_MAX_ENTRIES;

/// Xen's memory operations over a hypercall backend.
///
/// ```
/// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
/// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
/// use xenmem::{DomId, Xen};
/// // Any backend: the hypercall page on real Xen, privcmd on a Linux dom0, here the model.
/// let backend = sim.backend(d0);
/// let xen = Xen::new(backend);
/// let pages = xen.current_reservation(DomId::SELF)?;
/// # Ok::<(), xenmem::Error>(())
/// ```
///
/// The memory operations are the same on every supported Xen release. The domctl commands
/// are not: the first of them asks the running hypervisor its version (one `xen_version`
/// hypercall, remembered from then on) and speaks that release's interface
/// ([`crate::version`]); [`Xen::with_version`] skips the question.
#[derive(Debug, Default)]
pub struct Xen<H> {
    hv: H,
    /// The running Xen's `XENVER_version` answer, or 0 until known. Only ever loaded and
    /// stored (plain loads and stores, also on an Arm guest whose memory is still
    /// device-typed); two threads asking at once store the same value.
    version: AtomicU32,
}

impl<H: Clone> Clone for Xen<H> {
    fn clone(&self) -> Self {
        Xen { hv: self.hv.clone(), version: AtomicU32::new(self.version.load(Ordering::Relaxed)) }
    }
}

impl<H: Hypercall> Xen<H> {
    /// Wraps a backend.
    pub const fn new(hv: H) -> Self {
        Xen { hv, version: AtomicU32::new(0) }
    }

    /// Wraps a backend whose hypervisor is known to be release `v`: no `xen_version` call is
    /// made, and domctls use `v`'s interface (a wrong `v` makes Xen answer `-EACCES`).
    pub const fn with_version(hv: H, v: XenVersion) -> Self {
        Xen { hv, version: AtomicU32::new(v.raw()) }
    }

    /// The version remembered, if any.
    fn known_version(&self) -> Option<XenVersion> {
        match self.version.load(Ordering::Relaxed) {
            0 => None,
            raw => Some(XenVersion::from_raw(raw)),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &H {
        &self.hv
    }

    /// Gives the backend back.
    pub fn into_backend(self) -> H {
        self.hv
    }

    /// Issues `memory_op(cmd, arg)`.
    ///
    /// # Safety
    ///
    /// `arg` must point to the argument struct of sub-op `cmd`, and every guest handle in it
    /// must be valid for the accesses that sub-op makes, for the whole call.
    unsafe fn memory_op<T>(&self, cmd: u32, arg: *mut T) -> i64 {
        // SAFETY: the caller's contract is the backend's.
        unsafe { self.hv.hypercall(abi::HYPERVISOR_MEMORY_OP, [cmd as u64, arg as u64, 0, 0, 0]) }
    }
}

/// The address Xen receives for a slice (a guest handle).
fn handle<T>(s: &[T]) -> u64 {
    s.as_ptr() as u64
}

/// The address Xen receives for a slice it writes into.
fn handle_mut<T>(s: &mut [T]) -> u64 {
    s.as_mut_ptr() as u64
}

#[cfg(test)]
pub(crate) mod testutil {
    extern crate std;
    pub(crate) use crate::hypercall::recording::{Recorder, Reply, Seen};
    pub(crate) use std::vec;
    pub(crate) use std::vec::Vec;

    /// A reply closure that answers `rc` and writes nothing.
    pub(crate) fn rc(rc: i64) -> impl FnMut(&Seen) -> Reply {
        move |_| Reply { rc, ..Reply::default() }
    }

    /// Little-endian bytes of a u64 handle.
    pub(crate) fn h(addr: u64) -> [u8; 8] {
        addr.to_le_bytes()
    }

    /// Concatenates byte pieces (expected struct images are written piece by piece, as the C
    /// layout lists its fields).
    pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }
}
