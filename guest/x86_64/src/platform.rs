//! The conformance suite's view of this machine: Xen through the hypercall page, and
//! guest-physical memory through the boot identity map.

use xenmem::hypercall::x86_64::HypercallPage;
use xenmem::{Gfn, Xen};
use xenmem_conformance::Platform;

const PAGE: usize = 4096;
/// The end of the boot identity map (entry.rs).
const MAPPED_END: u64 = 1 << 32;

extern "C" {
    // From link.ld: the whole loaded image, .bss (page tables, stack) included.
    static __image_start: u8;
    static __image_end: u8;
}

/// A PVH domain (dom0 or the domU) running the suite.
pub struct Kernel {
    xen: Xen<HypercallPage>,
}

impl Kernel {
    /// The platform over an installed hypercall page.
    pub fn new(hv: HypercallPage) -> Self {
        Kernel { xen: Xen::new(hv) }
    }
}

/// The address of bytes `offset..offset + len` of frame `gfn`, if the suite may touch them:
/// within one page, under the identity map, not frame 0 (a null pointer), and not the
/// kernel's own image, whose memory Rust code holds references into.
fn phys_range(gfn: Gfn, offset: usize, len: usize) -> Option<u64> {
    if offset.checked_add(len)? > PAGE || gfn.raw() == 0 {
        return None;
    }
    let start = gfn.address()?;
    if start.checked_add(PAGE as u64)? > MAPPED_END {
        return None;
    }
    let image = core::ptr::addr_of!(__image_start) as u64..core::ptr::addr_of!(__image_end) as u64;
    if start < image.end && image.start < start + PAGE as u64 {
        return None;
    }
    Some(start + offset as u64)
}

impl Platform for Kernel {
    type Hv = HypercallPage;

    fn xen(&self) -> &Xen<HypercallPage> {
        &self.xen
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        let Some(addr) = phys_range(gfn, offset, buf.len()) else { return false };
        for (i, b) in buf.iter_mut().enumerate() {
            // Byte-wide volatile loads: the frame may be anything Xen mapped there (or nothing,
            // in which case Xen emulates the access), so each access must really happen and be
            // a plain `mov` Xen's emulator can decode.
            // SAFETY: `phys_range` checked the byte is in a non-null frame below 4 GiB, which
            // the boot identity map covers, and outside the kernel image, so no Rust object
            // lives there.
            *b = unsafe { core::ptr::read_volatile((addr + i as u64) as *const u8) };
        }
        true
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        let Some(addr) = phys_range(gfn, offset, data.len()) else { return false };
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: as in `read_phys`.
            unsafe { core::ptr::write_volatile((addr + i as u64) as *mut u8, b) };
        }
        true
    }
}
