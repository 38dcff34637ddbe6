//! [`Counting`]: a backend wrapper that counts the hypercalls passing through it, so the cost
//! of an operation in hypercalls can be read on any backend (real Xen, privcmd, the model)
//! rather than worked out from the library's documentation.

use super::Hypercall;
use core::sync::atomic::{AtomicU64, Ordering};

/// Any backend, with a count of the hypercalls issued through it.
///
/// ```
/// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
/// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
/// use xenmem::hypercall::Counting;
/// use xenmem::{DomId, Xen};
/// let xen = Xen::new(Counting::new(sim.backend(d0)));
/// xen.current_reservation(DomId::SELF)?;
/// assert_eq!(xen.backend().count(), 1);
/// # Ok::<(), xenmem::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Counting<H> {
    inner: H,
    // Atomic so that a backend shared between threads (the model's is) stays shareable; a
    // relaxed add costs next to nothing beside a hypercall.
    count: AtomicU64,
}

impl<H> Counting<H> {
    /// Wraps `inner`, counting from zero.
    pub const fn new(inner: H) -> Self {
        Counting { inner, count: AtomicU64::new(0) }
    }

    /// Hypercalls issued so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &H {
        &self.inner
    }
}

// SAFETY: every call goes to `inner` unchanged, so `inner`'s promise is this one's; counting
// touches only the wrapper's own counter.
unsafe impl<H: Hypercall> Hypercall for Counting<H> {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        self.count.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's promise, passed on unchanged.
        unsafe { self.inner.hypercall(op, args) }
    }
}
