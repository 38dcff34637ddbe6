//! A page of a domain's physmap as a [`SharedPage`], so the library's accessors
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
use xenmem::shared_page::SharedPage;
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

    fn get<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut b = [0; N];
        if off % N != 0 || self.sim.read_gfn(self.dom, self.gfn, off, &mut b).is_err() {
            return [0; N];
        }
        b
    }

    fn put(&self, off: usize, b: &[u8]) {
        if off % b.len() == 0 {
            let _ = self.sim.write_gfn(self.dom, self.gfn, off, b);
        }
    }
}

impl SharedPage for GfnPage {
    fn load_u8(&self, off: usize) -> u8 {
        self.get::<1>(off)[0]
    }
    fn load_u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.get(off))
    }
    fn load_u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.get(off))
    }
    fn store_u8(&mut self, off: usize, v: u8) {
        self.put(off, &[v]);
    }
    fn store_u32(&mut self, off: usize, v: u32) {
        self.put(off, &v.to_le_bytes());
    }
    fn store_u64(&mut self, off: usize, v: u64) {
        self.put(off, &v.to_le_bytes());
    }
    fn fetch_and_u64(&mut self, off: usize, mask: u64) -> u64 {
        if off % 8 != 0 {
            return 0;
        }
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
