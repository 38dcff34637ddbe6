//! The one module with `unsafe`: reading and writing the calling process's own memory, which
//! is where `xenmem`'s marshalling puts the argument structs and arrays it hands to a
//! [`Hypercall`] backend, and [`SimBackend`], the backend that hands them to the model.
//!
//! Nothing else in the crate may dereference an address.

#![allow(unsafe_code)]

use crate::guest_memory::{BadAddress, GuestMemory};
use crate::Sim;
use xenmem::{DomId, Hypercall};

/// The calling process's memory, addressed by plain pointers-as-integers (what a guest handle
/// holds when the "guest" is this process).
#[derive(Debug)]
pub struct ProcessMemory {
    _private: (),
}

impl ProcessMemory {
    /// Access to this process's memory.
    ///
    /// # Safety
    ///
    /// For as long as the value is used, every access the model makes through it (the
    /// addresses a hypercall's arguments name, within the lengths Xen's definition of that
    /// hypercall gives) must be valid for reads or writes of that many bytes, and must not
    /// overlap memory that a live Rust reference borrows in a way the access would violate.
    /// This is exactly [`Hypercall::hypercall`]'s contract, which is why [`SimBackend`] may
    /// create one.
    pub unsafe fn new() -> ProcessMemory {
        ProcessMemory { _private: () }
    }

    fn check(addr: u64, len: usize) -> Result<usize, BadAddress> {
        let bad = BadAddress { addr, len };
        let a = usize::try_from(addr).map_err(|_| bad)?;
        // Null is never a guest buffer, and no access may wrap the address space.
        if a == 0 || a.checked_add(len).is_none() {
            return Err(bad);
        }
        Ok(a)
    }
}

impl GuestMemory for ProcessMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        let a = Self::check(addr, buf.len())?;
        let src = std::ptr::with_exposed_provenance::<u8>(a);
        // SAFETY: `ProcessMemory::new`'s contract makes `src .. src + buf.len()` readable and
        // not mutably borrowed; `buf` is a distinct live buffer of that length; bytes have no
        // alignment requirement. The address came from a pointer-to-integer cast, which
        // exposed its provenance.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BadAddress> {
        let a = Self::check(addr, data.len())?;
        let dst = std::ptr::with_exposed_provenance_mut::<u8>(a);
        // SAFETY: `ProcessMemory::new`'s contract makes `dst .. dst + data.len()` writable
        // and not borrowed by a live reference; `data` is a distinct buffer; bytes have no
        // alignment requirement.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    fn read_u64(&mut self, addr: u64) -> Result<u64, BadAddress> {
        let a = Self::check(addr, 8)?;
        let src = std::ptr::with_exposed_provenance::<u64>(a);
        // SAFETY: as in `read`, for 8 bytes; `read_unaligned` has no alignment requirement.
        Ok(u64::from_le(unsafe { std::ptr::read_unaligned(src) }))
    }

    fn write_i32(&mut self, addr: u64, v: i32) -> Result<(), BadAddress> {
        let a = Self::check(addr, 4)?;
        let dst = std::ptr::with_exposed_provenance_mut::<i32>(a);
        // SAFETY: as in `write`, for 4 bytes; `write_unaligned` has no alignment requirement.
        unsafe { std::ptr::write_unaligned(dst, v.to_le()) };
        Ok(())
    }
}

/// A [`Hypercall`] backend that runs every hypercall on the model as domain `caller`, reading
/// its arguments from this process's memory: the same marshalling code that runs on real Xen
/// runs against the model.
#[derive(Clone)]
pub struct SimBackend {
    pub(crate) sim: Sim,
    pub(crate) caller: DomId,
}

impl SimBackend {
    /// The domain the hypercalls come from.
    pub fn caller(&self) -> DomId {
        self.caller
    }

    /// The model.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }
}

impl core::fmt::Debug for SimBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SimBackend({})", self.caller)
    }
}

// SAFETY: the model decodes every argument exactly as Xen 4.17 does, so it reads and writes
// only the memory the hypercall's definition names, within the lengths its structs give, and
// only during the call.
unsafe impl Hypercall for SimBackend {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        // SAFETY: the caller of `hypercall` promises what `ProcessMemory::new` needs: every
        // address among the arguments is valid for the accesses hypercall `op` makes.
        let mut mem = unsafe { ProcessMemory::new() };
        self.sim.hypercall(self.caller, &mut mem, op, args)
    }
}

// SAFETY: every call goes to `inner` with the caller's own arguments, except a truncated
// reservation, which goes with a pointer to a local copy of the caller's struct that differs
// only in `nr_extents` (fewer extents: a subset of the accesses the caller allowed). Besides
// that, the wrapper only reads the caller's reservation struct, which the hypercall's
// definition lets Xen read too.
unsafe impl<H: Hypercall> Hypercall for crate::faults::FaultInjector<H> {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        use crate::faults::Decision;
        match self.decide(op, &args) {
            // SAFETY: the caller's promise, passed on unchanged.
            Decision::Pass => unsafe { self.inner.hypercall(op, args) },
            Decision::Return(v) => v,
            Decision::Truncate(n) => {
                // SAFETY: the caller promises `args[1]` is a valid reservation struct for
                // this memory_op sub-op, which is all this reads.
                let mut mem = unsafe { ProcessMemory::new() };
                let Ok(mut r) =
                    crate::guest_memory::read_obj::<xenmem::abi::XenMemoryReservation>(&mut mem, args[1])
                else {
                    // SAFETY: as above; the backend reports the fault.
                    return unsafe { self.inner.hypercall(op, args) };
                };
                let limit = (args[0] >> xenmem::abi::MEMOP_EXTENT_SHIFT).saturating_add(n);
                r.nr_extents = r.nr_extents.min(limit);
                let mut a = args;
                a[1] = &mut r as *mut xenmem::abi::XenMemoryReservation as u64;
                // SAFETY: `r` is a live reservation struct on this stack for the whole call;
                // its extent array is the caller's, of which at most as many entries as the
                // caller allowed are named.
                unsafe { self.inner.hypercall(op, a) }
            }
        }
    }
}
