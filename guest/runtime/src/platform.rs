//! The conformance suite's view of a kernel: Xen through the architecture's backend, and the
//! caller's guest-physical memory at the same addresses, one byte at a time (a frame the
//! suite reads may be anything Xen mapped there, or nothing: each access must really happen,
//! and be a plain byte access Xen's emulator can decode or fault on).

use core::ops::Range;
use xenmem::{Gfn, Xen};
use xenmem_conformance::Platform;

use crate::{Arch, PAGE};

/// dom0 or the domU, running the suite.
pub struct Kernel<A: Arch> {
    xen: Xen<A::Hv>,
    /// Guest-physical ranges the suite must not touch: the kernel's own image, where every
    /// Rust object lives, and whatever boot data it still reads (the device tree).
    keep_out: [Range<u64>; 2],
    /// A RAM page nothing uses, which the suite may give back and take again.
    spare_ram: Option<Gfn>,
}

impl<A: Arch> Kernel<A> {
    /// The platform over `hv`, keeping the suite out of `keep_out` (the image and boot data).
    pub fn new(hv: A::Hv, keep_out: [Range<u64>; 2]) -> Self {
        Kernel { xen: Xen::new(hv), keep_out, spare_ram: None }
    }

    /// Offers the suite the middle page of the RAM bank `bank`, unless the page is one the
    /// suite must not touch (then the suite skips the cases that need one).
    pub fn with_spare_ram(mut self, bank: Range<u64>) -> Self {
        let middle = bank.start + (bank.end.saturating_sub(bank.start)) / 2;
        let page = Gfn(middle / PAGE);
        if self.address(page, 0, PAGE as usize).is_some() {
            self.spare_ram = Some(page);
        }
        self
    }

    /// The address of bytes `offset..offset + len` of frame `gfn`, if the suite may touch
    /// them: within one page, not frame 0 (a null pointer), below the end of what is
    /// addressable, and outside every kept-out range.
    fn address(&self, gfn: Gfn, offset: usize, len: usize) -> Option<u64> {
        if offset.checked_add(len)? > PAGE as usize || gfn.raw() == 0 {
            return None;
        }
        let start = gfn.address()?;
        let end = start.checked_add(PAGE)?;
        if end > A::PHYS_END || self.keep_out.iter().any(|r| start < r.end && r.start < end) {
            return None;
        }
        Some(start + offset as u64)
    }
}

impl<A: Arch> Platform for Kernel<A> {
    type Hv = A::Hv;

    fn arch(&self) -> xenmem_conformance::Arch {
        A::SUITE_ARCH
    }

    fn xen(&self) -> &Xen<A::Hv> {
        &self.xen
    }

    fn spare_ram(&self) -> Option<Gfn> {
        self.spare_ram
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        let Some(addr) = self.address(gfn, offset, buf.len()) else { return false };
        for (a, b) in (addr..).zip(buf.iter_mut()) {
            // SAFETY: `address` checked the byte is below PHYS_END and outside the image and
            // the boot data, so no Rust object lives there.
            match unsafe { A::read_phys_byte(a) } {
                Some(v) => *b = v,
                None => return false,
            }
        }
        true
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        let Some(addr) = self.address(gfn, offset, data.len()) else { return false };
        for (a, &b) in (addr..).zip(data) {
            // SAFETY: as in `read_phys`.
            if !unsafe { A::write_phys_byte(a, b) } {
                return false;
            }
        }
        true
    }
}
