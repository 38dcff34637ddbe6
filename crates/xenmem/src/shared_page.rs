//! A 4 KiB page shared with Xen while both sides use it: an ioreq server's pages, a shared-info
//! page. [`SharedPage`] is how `crate::ioreq` and `crate::evtchn` read and write one, so the
//! same code serves a device model on a byte slice (the model's pages, a test, a copy) and
//! one on the real mapping ([`MappedPage`]), where Xen writes concurrently.
//!
//! Contract of every access: the offset is below 4096 and a multiple of the access size.
//! The accessors of this crate only use such offsets; an implementation given any other
//! (a caller of the trait outside this crate) must not panic: [`SlicePage`] reads 0 and
//! ignores the store.

use crate::abi::XEN_PAGE_SIZE;
use crate::error::Invalid;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Loads and stores of naturally aligned little-endian values in a page that another agent
/// (Xen, a guest's vCPU) may access at the same time.
pub trait SharedPage {
    /// The byte at `off`.
    fn load_u8(&self, off: usize) -> u8;
    /// The `u32` at `off`.
    fn load_u32(&self, off: usize) -> u32;
    /// The `u64` at `off`.
    fn load_u64(&self, off: usize) -> u64;
    /// Stores a byte.
    fn store_u8(&mut self, off: usize, v: u8);
    /// Stores a `u32`.
    fn store_u32(&mut self, off: usize, v: u32);
    /// Stores a `u64`.
    fn store_u64(&mut self, off: usize, v: u64);
    /// Clears the bits not in `mask` of the `u64` at `off` in one indivisible step; returns
    /// the old value (an event channel's test-and-clear).
    fn fetch_and_u64(&mut self, off: usize, mask: u64) -> u64;
}

/// A page reached by copying bytes in and out rather than through a pointer: a page of the
/// hypervisor model, a frame a guest kernel reads through its platform. Every such type is a
/// [`SharedPage`] (the accessors check size alignment and the page's bounds, then copy).
pub trait PageBytes {
    /// Copies the bytes at `off` into `buf`; `false` if they could not be read.
    fn read(&self, off: usize, buf: &mut [u8]) -> bool;
    /// Copies `data` to `off`; `false` if it could not be written.
    fn write(&mut self, off: usize, data: &[u8]) -> bool;
    /// [`SharedPage::fetch_and_u64`] at an aligned offset inside the page. The default reads
    /// then writes, which is not indivisible: a page another agent writes meanwhile overrides
    /// it.
    fn fetch_and(&mut self, off: usize, mask: u64) -> u64 {
        let mut b = [0u8; 8];
        if !self.read(off, &mut b) {
            return 0;
        }
        let old = u64::from_le_bytes(b);
        self.write(off, &(old & mask).to_le_bytes());
        old
    }
}

/// `N` bytes at `off` of `page`: zeros where the offset is not a multiple of `N`, runs past the
/// page, or cannot be read.
fn load<T: PageBytes + ?Sized, const N: usize>(page: &T, off: usize) -> [u8; N] {
    let mut b = [0u8; N];
    if !in_page::<N>(off) || !page.read(off, &mut b) {
        return [0; N];
    }
    b
}

fn in_page<const N: usize>(off: usize) -> bool {
    off % N == 0 && off.checked_add(N).is_some_and(|end| end <= XEN_PAGE_SIZE)
}

impl<T: PageBytes> SharedPage for T {
    fn load_u8(&self, off: usize) -> u8 {
        load::<T, 1>(self, off)[0]
    }
    fn load_u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(load(self, off))
    }
    fn load_u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(load(self, off))
    }
    fn store_u8(&mut self, off: usize, v: u8) {
        if in_page::<1>(off) {
            self.write(off, &[v]);
        }
    }
    fn store_u32(&mut self, off: usize, v: u32) {
        if in_page::<4>(off) {
            self.write(off, &v.to_le_bytes());
        }
    }
    fn store_u64(&mut self, off: usize, v: u64) {
        if in_page::<8>(off) {
            self.write(off, &v.to_le_bytes());
        }
    }
    fn fetch_and_u64(&mut self, off: usize, mask: u64) -> u64 {
        if !in_page::<8>(off) {
            return 0;
        }
        self.fetch_and(off, mask)
    }
}

/// A page held as bytes of ordinary memory (no other agent writes it while it is borrowed).
#[derive(Debug)]
pub struct SlicePage<'a> {
    bytes: &'a mut [u8; XEN_PAGE_SIZE],
}

impl<'a> SlicePage<'a> {
    /// The first 4096 bytes of `bytes`.
    ///
    /// # Errors
    ///
    /// [`Invalid::PageTooShort`] for fewer than 4096 bytes.
    pub fn new(bytes: &'a mut [u8]) -> Result<SlicePage<'a>, Invalid> {
        let page = bytes.get_mut(..XEN_PAGE_SIZE).ok_or(Invalid::PageTooShort)?;
        let bytes = <&mut [u8; XEN_PAGE_SIZE]>::try_from(page).map_err(|_| Invalid::PageTooShort)?;
        Ok(SlicePage { bytes })
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8; XEN_PAGE_SIZE] {
        self.bytes
    }
}

impl<'a> From<&'a mut [u8; XEN_PAGE_SIZE]> for SlicePage<'a> {
    fn from(bytes: &'a mut [u8; XEN_PAGE_SIZE]) -> Self {
        SlicePage { bytes }
    }
}

impl PageBytes for SlicePage<'_> {
    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        match off.checked_add(buf.len()).and_then(|end| self.bytes.get(off..end)) {
            Some(b) => {
                buf.copy_from_slice(b);
                true
            }
            None => false,
        }
    }
    fn write(&mut self, off: usize, data: &[u8]) -> bool {
        match off.checked_add(data.len()).and_then(|end| self.bytes.get_mut(off..end)) {
            Some(b) => {
                b.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

/// A page mapped from Xen (through `acquire_resource`, `add_to_physmap`, or privcmd's
/// `IOCTL_PRIVCMD_MMAP_RESOURCE`), accessed with atomic operations: Xen and the guest's vCPUs
/// write it while the device model reads it, so plain loads would race.
///
/// Little-endian machines only (x86_64, arm64), like Xen's own layouts.
#[derive(Debug)]
pub struct MappedPage {
    base: NonNull<u8>,
}

// SAFETY: a MappedPage reaches its page only through atomic operations, which are sound
// from any thread, and `new`'s contract makes it the page's only accessor in Rust code, so
// moving it to another thread moves that sole access with it.
unsafe impl Send for MappedPage {}

impl MappedPage {
    /// The page at `base`.
    ///
    /// # Safety
    ///
    /// For as long as the returned value (or anything built on it) lives, `base .. base + 4096`
    /// must stay mapped, readable and writable, and be accessed by Rust code only through
    /// this value (other agents such as Xen may write it at any time).
    ///
    /// # Errors
    ///
    /// [`Invalid::PageAlignment`] for a null or not 8-byte aligned `base` (the atomic `u64`
    /// accesses need it; a real mapping is page-aligned).
    pub unsafe fn new(base: *mut u8) -> Result<MappedPage, Invalid> {
        let base = NonNull::new(base).ok_or(Invalid::PageAlignment)?;
        if base.as_ptr().align_offset(8) != 0 {
            return Err(Invalid::PageAlignment);
        }
        Ok(MappedPage { base })
    }

    /// The page's address.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// The address of `N` bytes at `off`, if they are inside the page and aligned to `N`.
    fn at<const N: usize>(&self, off: usize) -> Option<*mut u8> {
        (off % N == 0 && off.checked_add(N)? <= XEN_PAGE_SIZE)
            // SAFETY: off + N <= 4096, inside the page `new`'s contract keeps mapped.
            .then(|| unsafe { self.base.as_ptr().add(off) })
    }

    fn u8_at(&self, off: usize) -> Option<&AtomicU8> {
        // SAFETY: `at` gives an address inside the live page (`new`'s contract), bytes need
        // no alignment, and the page is only reached through atomics while `self` lives.
        self.at::<1>(off).map(|p| unsafe { AtomicU8::from_ptr(p) })
    }

    fn u32_at(&self, off: usize) -> Option<&AtomicU32> {
        // SAFETY: as in `u8_at`; `at` checked that off is a multiple of 4 and `new` that the
        // base is 8-aligned, so the address is 4-aligned.
        self.at::<4>(off).map(|p| unsafe { AtomicU32::from_ptr(p.cast()) })
    }

    fn u64_at(&self, off: usize) -> Option<&AtomicU64> {
        // SAFETY: as in `u32_at`, with 8-byte alignment.
        self.at::<8>(off).map(|p| unsafe { AtomicU64::from_ptr(p.cast()) })
    }
}

impl SharedPage for MappedPage {
    fn load_u8(&self, off: usize) -> u8 {
        self.u8_at(off).map_or(0, |a| a.load(Ordering::Relaxed))
    }
    fn load_u32(&self, off: usize) -> u32 {
        self.u32_at(off).map_or(0, |a| u32::from_le(a.load(Ordering::Relaxed)))
    }
    fn load_u64(&self, off: usize) -> u64 {
        self.u64_at(off).map_or(0, |a| u64::from_le(a.load(Ordering::Relaxed)))
    }
    fn store_u8(&mut self, off: usize, v: u8) {
        if let Some(a) = self.u8_at(off) {
            a.store(v, Ordering::Relaxed);
        }
    }
    fn store_u32(&mut self, off: usize, v: u32) {
        if let Some(a) = self.u32_at(off) {
            a.store(v.to_le(), Ordering::Relaxed);
        }
    }
    fn store_u64(&mut self, off: usize, v: u64) {
        if let Some(a) = self.u64_at(off) {
            a.store(v.to_le(), Ordering::Relaxed);
        }
    }
    fn fetch_and_u64(&mut self, off: usize, mask: u64) -> u64 {
        self.u64_at(off).map_or(0, |a| u64::from_le(a.fetch_and(mask.to_le(), Ordering::AcqRel)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_page_bounds() {
        let mut short = [0u8; 100];
        assert_eq!(SlicePage::new(&mut short).unwrap_err(), Invalid::PageTooShort);
        let mut big = [0u8; 5000];
        let mut p = SlicePage::new(&mut big).unwrap();
        p.store_u64(4088, u64::MAX);
        p.store_u32(4094, 7); // past the end: ignored
        assert_eq!(p.load_u32(4094), 0);
        assert_eq!(p.fetch_and_u64(4088, 0xff), u64::MAX);
        assert_eq!(p.load_u64(4088), 0xff);
        assert_eq!(big[4096], 0);
    }

    #[test]
    fn mapped_page_atomics() {
        #[repr(align(4096))]
        struct Page([u8; 4096]);
        let mut page = Page([0; 4096]);
        // SAFETY: `page` outlives `p` and is only reached through `p` meanwhile.
        let mut p = unsafe { MappedPage::new(page.0.as_mut_ptr()) }.unwrap();
        p.store_u32(8, 0x0403_0201);
        p.store_u64(16, 0x1122_3344_5566_7788);
        assert_eq!((p.load_u8(9), p.load_u32(8)), (2, 0x0403_0201));
        assert_eq!(p.fetch_and_u64(16, !0xff), 0x1122_3344_5566_7788);
        assert_eq!(p.load_u64(16), 0x1122_3344_5566_7700);
        // Misaligned or out-of-page offsets are refused quietly.
        assert_eq!(p.load_u32(9), 0);
        assert_eq!(p.load_u64(4096), 0);
        assert_eq!(&page.0[8..12], &[1, 2, 3, 4]);
        let odd = page.0[1..].as_mut_ptr();
        // SAFETY: not used: the constructor refuses the address first.
        assert_eq!(unsafe { MappedPage::new(odd) }.unwrap_err(), Invalid::PageAlignment);
        // SAFETY: as above.
        assert_eq!(unsafe { MappedPage::new(core::ptr::null_mut()) }.unwrap_err(), Invalid::PageAlignment);
    }
}
