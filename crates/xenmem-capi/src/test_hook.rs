//! Unit tests' `xenmem_hypercall` (builds without the `model` feature): each test thread
//! installs its own backend, usually the model as some domain, and counts the calls, so a
//! test can tell a refusal by the library (no call) from Xen's.

use core::cell::{Cell, RefCell};
use core::ffi::{c_long, c_uint};
use xenmem::{Hypercall, XenError};
use xenmem_sim::SimBackend;

thread_local! {
    static BACKEND: RefCell<Option<SimBackend>> = const { RefCell::new(None) };
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

/// Sends this thread's hypercalls to `b` (`None`: every hypercall is `-ENOSYS`).
pub(crate) fn install(b: Option<SimBackend>) {
    BACKEND.with(|x| *x.borrow_mut() = b);
}

/// Hypercalls this thread has issued.
pub(crate) fn calls() -> u64 {
    CALLS.with(Cell::get)
}

/// # Safety
///
/// As for any `xenmem_hypercall`: the arguments are valid for hypercall `op`'s accesses.
///
/// cbindgen:ignore
#[no_mangle]
unsafe extern "C" fn xenmem_hypercall(op: c_uint, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> c_long {
    CALLS.with(|c| c.set(c.get() + 1));
    let b = BACKEND.with(|x| x.borrow().clone());
    match b {
        // SAFETY: the caller's promise is the one `Hypercall::hypercall` asks for.
        Some(b) => unsafe { b.hypercall(op, [a0, a1, a2, a3, a4]) },
        None => -c_long::from(XenError::NoSys.errno()),
    }
}
