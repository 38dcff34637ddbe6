//! The crate's unsafe core: C pointers and counts become Rust slices here, after every check
//! that can be made on them (null, alignment, a length no buffer can have, overlap), and the
//! panic guard keeps a Rust panic from crossing into C.
//!
//! What cannot be checked (that the memory behind a pointer is live and as long as the count
//! says) is the C caller's promise, stated in each exported function's `# Safety`.

use core::ffi::c_int;
use core::mem::size_of;

/// The address range `[start, end)` a buffer of `len` values of `T` at `p` covers, or `None`
/// if no buffer could be like that: null with a non-zero length, misaligned, more than
/// `isize::MAX` bytes, or wrapping the address space.
fn extent<T>(p: *const T, len: usize) -> Option<(usize, usize)> {
    if len == 0 {
        let a = p.addr();
        return Some((a, a));
    }
    if p.is_null() || !p.is_aligned() {
        return None;
    }
    let bytes = len.checked_mul(size_of::<T>()).filter(|&b| b <= isize::MAX as usize)?;
    let start = p.addr();
    Some((start, start.checked_add(bytes)?))
}

/// Whether two buffers share a byte (empty buffers share none).
pub(crate) fn overlap<T, U>(a: *const T, a_len: usize, b: *const U, b_len: usize) -> bool {
    match (extent(a, a_len), extent(b, b_len)) {
        (Some((s1, e1)), Some((s2, e2))) => s1 < e1 && s2 < e2 && s1 < e2 && s2 < e1,
        _ => false,
    }
}

/// `len` values of `T` at `p` as a shared slice; `None` if no buffer could be like that.
/// An empty slice keeps `p` as its address when `p` is non-null and aligned (Xen tells a null
/// handle from an empty list).
///
/// # Safety
///
/// If `len > 0`, the `len` values at `p` must be initialised, readable, and not written
/// through any other pointer for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize) -> Option<&'a [T]> {
    extent(p, len)?;
    if len == 0 && (p.is_null() || !p.is_aligned()) {
        return Some(&[]);
    }
    // SAFETY: `extent` proved `p` non-null (or the length zero), aligned, and the byte length
    // at most isize::MAX without wrapping; the caller promises the values are initialised
    // and not written elsewhere for 'a.
    Some(unsafe { core::slice::from_raw_parts(p, len) })
}

/// `len` values of `T` at `p` as a mutable slice; `None` if no buffer could be like that.
/// Empty slices keep `p` as [`slice`] does.
///
/// # Safety
///
/// If `len > 0`, the `len` values at `p` must be initialised, readable and writable, and not
/// accessed through any other pointer for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> Option<&'a mut [T]> {
    extent(p, len)?;
    if len == 0 && (p.is_null() || !p.is_aligned()) {
        return Some(&mut []);
    }
    // SAFETY: as in `slice`, and the caller promises exclusive access for 'a.
    Some(unsafe { core::slice::from_raw_parts_mut(p, len) })
}

/// Reads the value at `p`; `None` for a null or misaligned pointer.
///
/// # Safety
///
/// A non-null, aligned `p` must point to an initialised, readable `T`.
pub(crate) unsafe fn read<T: Copy>(p: *const T) -> Option<T> {
    extent(p, 1)?;
    // SAFETY: `extent` proved `p` non-null and aligned; the caller promises the rest.
    Some(unsafe { p.read() })
}

/// Writes `v` at `p` (checked non-null and aligned by a [`read`] before).
///
/// # Safety
///
/// `p` must be non-null, aligned and point to a writable `T` no live reference borrows.
pub(crate) unsafe fn write<T: Copy>(p: *mut T, v: T) {
    // SAFETY: the caller's promise.
    unsafe { p.write(v) }
}

/// Runs an exported function's body so that a panic (a bug: no input should reach one)
/// becomes `-EIO` instead of unwinding into C.
pub(crate) fn guard(body: impl FnOnce() -> c_int) -> c_int {
    guard_or(-xenmem::XenError::Io.errno(), body)
}

/// [`guard`] for bodies that return something else than an errno: `on_panic` after a panic.
#[cfg(feature = "std")]
pub(crate) fn guard_or<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        // Dropping a panic payload can itself panic; a payload is small, so leak it.
        core::mem::forget(payload);
        on_panic
    })
}

/// Without std there is nothing to catch with: the panic handler stops the CPU (lib.rs).
#[cfg(not(feature = "std"))]
pub(crate) fn guard_or<T>(_on_panic: T, body: impl FnOnce() -> T) -> T {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_refuses_impossible_buffers() {
        let a = [0u64; 4];
        assert_eq!(extent(a.as_ptr(), 4), Some((a.as_ptr() as usize, a.as_ptr() as usize + 32)));
        assert_eq!(extent(core::ptr::null::<u64>(), 1), None);
        assert_eq!(extent(core::ptr::null::<u64>(), 0), Some((0, 0)));
        // Misaligned.
        assert_eq!(extent((a.as_ptr() as *const u8).wrapping_add(1).cast::<u64>(), 1), None);
        // More bytes than isize::MAX, and a range that wraps.
        assert_eq!(extent(a.as_ptr(), usize::MAX / 8), None);
        let top = core::ptr::without_provenance::<u64>(usize::MAX - 7);
        assert_eq!(extent(top, 0), Some((usize::MAX - 7, usize::MAX - 7)));
        assert_eq!(extent(top, 2), None);
    }

    #[test]
    fn overlap_is_byte_exact() {
        let a = [0u64; 4];
        let p = a.as_ptr();
        assert!(overlap(p, 2, p.wrapping_add(1), 1));
        assert!(!overlap(p, 2, p.wrapping_add(2), 2));
        assert!(!overlap(p, 0, p, 4));
        // An i32 array inside the u64 one.
        assert!(overlap(p.wrapping_add(3).cast::<i32>(), 1, p, 4));
    }

    #[test]
    fn empty_slices_keep_their_address_when_they_can() {
        let mut a = [7u64; 2];
        let p = a.as_mut_ptr();
        // SAFETY: empty slices access nothing.
        let s = unsafe { slice_mut(p, 0) }.unwrap();
        assert_eq!(s.as_ptr(), p as *const u64);
        // SAFETY: as above.
        assert!(unsafe { slice::<u64>(core::ptr::null(), 0) }.unwrap().is_empty());
        // SAFETY: a null pointer with a length is refused before any access.
        assert!(unsafe { slice::<u64>(core::ptr::null(), 3) }.is_none());
        // SAFETY: `a` is live and unborrowed.
        assert_eq!(unsafe { slice(p, 2) }.unwrap(), &[7, 7]);
    }

    #[cfg(feature = "std")]
    #[test]
    fn guard_turns_a_panic_into_eio() {
        assert_eq!(guard(|| 5), 5);
        assert_eq!(guard(|| panic!("a bug")), -5);
    }
}
