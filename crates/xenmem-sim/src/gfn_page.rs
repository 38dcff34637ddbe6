//! A page of a domain's physmap as a [`SharedPage`](xenmem::shared_page::SharedPage) (through
//! [`PageBytes`]), so the library's accessors
//! (`xenmem::ioreq::IoreqPage`, `xenmem::evtchn::test_and_clear_pending`) work on what a
//! domain of the model maps — the ioreq page a device model acquired, its shared info —
//! exactly as they work on the real mapping.
//!
//! Each access takes the machine's lock once, so a load or store is indivisible against the
//! model's hypercalls, as the real page's atomics are against Xen. An access the model cannot
//! make (the GFN was unmapped meanwhile) reads 0 and drops the store, as the trait asks of
//! out-of-page offsets; [`GfnPage::new`] checks the GFN once up front.

use crate::error::SimError;
use crate::Sim;
use xenmem::shared_page::PageBytes;
use xenmem::{DomId, Gfn};

/// Page `gfn` of domain `dom`'s physmap.
#[derive(Clone, Debug)]
pub struct GfnPage {
    sim: Sim,
    dom: DomId,
    gfn: Gfn,
}

impl GfnPage {
    /// The page `dom` maps at `gfn`.
    ///
    /// # Errors
    ///
    /// As [`Sim::read_gfn`]: nothing readable there.
    pub fn new(sim: &Sim, dom: DomId, gfn: Gfn) -> Result<GfnPage, SimError> {
        sim.read_gfn(dom, gfn, 0, &mut [0])?;
        Ok(GfnPage { sim: sim.clone(), dom, gfn })
    }
}

impl PageBytes for GfnPage {
    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        self.sim.read_gfn(self.dom, self.gfn, off, buf).is_ok()
    }
    fn write(&mut self, off: usize, data: &[u8]) -> bool {
        self.sim.write_gfn(self.dom, self.gfn, off, data).is_ok()
    }
    /// Under the machine's one lock, so indivisible against the model's hypercalls.
    fn fetch_and(&mut self, off: usize, mask: u64) -> u64 {
        self.sim.update_gfn_u64(self.dom, self.gfn, off, |old| old & mask).unwrap_or(0)
    }
}

impl Sim {
    /// Replaces the `u64` at byte `offset` of what `d` maps at `gfn` by `f(old)` under one
    /// lock; returns `old`.
    pub(crate) fn update_gfn_u64(
        &self,
        d: DomId,
        gfn: Gfn,
        offset: usize,
        f: impl FnOnce(u64) -> u64,
    ) -> Result<u64, SimError> {
        let mut m = self.lock();
        let mfn = Self::readable(&m, d, gfn, offset, 8)?;
        let mut b = [0u8; 8];
        m.frames.read(mfn, offset, &mut b);
        let old = u64::from_le_bytes(b);
        m.frames.write(mfn, offset, &f(old).to_le_bytes());
        Ok(old)
    }
}
