//! One `extern "C"` function per operation, with Zephyr's `xendom_*` argument lists, over a
//! backend that is a single call to an external `xen_hypercall`: what remains in each
//! function is xenmem's marshalling and checking, which is what the cost report measures.

#![no_std]

use xenmem::{DomId, EntryStatus, Gfn, Hypercall, MapSpace, MemFlags, ResourceType, Xen};

extern "C" {
    fn xen_hypercall(op: u32, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> i64;
}

struct External;

// SAFETY: forwards to the platform's hypercall entry, which keeps Xen's promise.
unsafe impl Hypercall for External {
    unsafe fn hypercall(&self, op: u32, a: [u64; 5]) -> i64 {
        // SAFETY: the caller's contract is passed on.
        unsafe { xen_hypercall(op, a[0], a[1], a[2], a[3], a[4]) }
    }
}

fn errno(r: Result<(), xenmem::Error>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => -e.errno(),
    }
}

#[no_mangle]
pub extern "C" fn xm_add_to_physmap(domid: u16, idx: u64, space: u32, gpfn: u64) -> i32 {
    errno(Xen::new(External).add_to_physmap(DomId(domid), MapSpace::from_raw(space), idx, Gfn(gpfn)))
}

/// # Safety
/// The three arrays hold `size` entries each.
#[no_mangle]
pub unsafe extern "C" fn xm_add_to_physmap_batch(
    domid: u16,
    foreign: u16,
    space: u32,
    size: usize,
    idxs: *const u64,
    gpfns: *const Gfn,
    errs: *mut EntryStatus,
) -> i32 {
    // SAFETY: the caller's contract.
    let (i, g, e) = unsafe {
        (
            core::slice::from_raw_parts(idxs, size),
            core::slice::from_raw_parts(gpfns, size),
            core::slice::from_raw_parts_mut(errs, size),
        )
    };
    errno(Xen::new(External).add_to_physmap_batch(DomId(domid), MapSpace::from_raw(space), DomId(foreign), i, g, e))
}

#[no_mangle]
pub extern "C" fn xm_remove_from_physmap(domid: u16, gpfn: u64) -> i32 {
    errno(Xen::new(External).remove_from_physmap(DomId(domid), Gfn(gpfn)))
}

/// # Safety
/// `extents` holds `nr` entries.
#[no_mangle]
pub unsafe extern "C" fn xm_populate_physmap(domid: u16, order: u32, nr: usize, extents: *mut Gfn) -> i64 {
    // SAFETY: the caller's contract.
    let s = unsafe { core::slice::from_raw_parts_mut(extents, nr) };
    match Xen::new(External).populate_physmap(DomId(domid), order, MemFlags::empty(), s) {
        Ok(n) => n as i64,
        Err(e) => -(e.errno() as i64),
    }
}

/// # Safety
/// `nr_frames` is valid; `frame_list` is null or holds `*nr_frames` entries.
#[no_mangle]
pub unsafe extern "C" fn xm_acquire_resource(
    domid: u16,
    ty: u16,
    id: u32,
    frame: u64,
    nr_frames: *mut u32,
    frame_list: *mut Gfn,
) -> i32 {
    // SAFETY: the caller's contract.
    let n = unsafe { *nr_frames };
    let list = if frame_list.is_null() {
        None
    } else {
        // SAFETY: the caller's contract.
        Some(unsafe { core::slice::from_raw_parts_mut(frame_list, n as usize) })
    };
    match Xen::new(External).acquire_resource_raw(DomId(domid), ResourceType::from_raw(ty), id, frame, n, list) {
        Ok(v) => {
            // SAFETY: the caller's contract.
            unsafe { *nr_frames = v };
            0
        }
        Err(e) => -e.errno(),
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
