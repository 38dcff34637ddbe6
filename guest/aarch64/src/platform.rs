//! The conformance suite's view of this machine: Xen through `hvc`, and the caller's
//! guest-physical memory directly (the MMU is off, so addresses are guest-physical), one
//! guarded byte at a time: a frame the suite reads may have nothing mapped behind it, and then
//! Xen injects a data abort, which the exception vector turns into "unreadable".

use xenmem::hypercall::aarch64::Hvc;
use xenmem::{Gfn, Xen};
use xenmem_conformance::{Arch, Platform};

use crate::entry::{guarded_read, guarded_write};

const PAGE: usize = 4096;

extern "C" {
    // From link.ld: the whole image, .bss and stack included.
    static __image_start: u8;
    static __image_end: u8;
}

/// The running image's guest-physical range.
pub fn image_range() -> core::ops::Range<u64> {
    core::ptr::addr_of!(__image_start) as u64..core::ptr::addr_of!(__image_end) as u64
}

/// dom0 or the domU, running the suite.
pub struct Kernel {
    xen: Xen<Hvc>,
    /// Guest-physical ranges the suite must not touch besides the image (the device tree).
    keep_out: core::ops::Range<u64>,
    /// A RAM page nothing uses, which the suite may give back and take again.
    spare_ram: Option<Gfn>,
}

impl Kernel {
    pub fn new(keep_out: core::ops::Range<u64>) -> Self {
        Kernel { xen: Xen::new(Hvc), keep_out, spare_ram: None }
    }

    /// Offers the suite the middle page of the first RAM bank `start..end`, unless the image
    /// or the device tree is there.
    pub fn with_spare_ram(mut self, start: u64, end: u64) -> Self {
        let page = ((start + (end - start) / 2) & !(PAGE as u64 - 1)) / PAGE as u64;
        if phys_range(Gfn(page), 0, PAGE, &self.keep_out).is_some() {
            self.spare_ram = Some(Gfn(page));
        }
        self
    }
}

/// The address of bytes `offset..offset + len` of frame `gfn`, if the suite may touch them:
/// within one page, not frame 0 (a null pointer), and outside the kernel's own image (where
/// every Rust object lives) and the device tree.
fn phys_range(gfn: Gfn, offset: usize, len: usize, keep_out: &core::ops::Range<u64>) -> Option<u64> {
    if offset.checked_add(len)? > PAGE || gfn.raw() == 0 {
        return None;
    }
    let start = gfn.address()?;
    let end = start.checked_add(PAGE as u64)?;
    for r in [image_range(), keep_out.clone()] {
        if start < r.end && r.start < end {
            return None;
        }
    }
    Some(start + offset as u64)
}

impl Platform for Kernel {
    type Hv = Hvc;

    fn arch(&self) -> Arch {
        Arch::Arm64
    }

    fn xen(&self) -> &Xen<Hvc> {
        &self.xen
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        let Some(addr) = phys_range(gfn, offset, buf.len(), &self.keep_out) else { return false };
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: `phys_range` checked the byte lies outside the image and the device
            // tree, so no Rust object lives there.
            match unsafe { guarded_read(addr + i as u64) } {
                Some(v) => *b = v,
                None => return false,
            }
        }
        true
    }

    fn spare_ram(&self) -> Option<Gfn> {
        self.spare_ram
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        let Some(addr) = phys_range(gfn, offset, data.len(), &self.keep_out) else { return false };
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: as in `read_phys`.
            if !unsafe { guarded_write(addr + i as u64, b) } {
                return false;
            }
        }
        true
    }
}
