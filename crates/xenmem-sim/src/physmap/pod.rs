//! Populate-on-demand, x86 HVM only (`xen/arch/x86/mm/p2m-pod.c`): P2M entries with no page
//! behind them yet, and a per-domain cache of pages set aside to back them.
//!
//! What the model follows: `guest_physmap_mark_populate_on_demand` (populate with
//! `XENMEMF_populate_on_demand` from another domain), the PoD half of
//! `decrease_reservation` (`p2m_pod_decrease_reservation`: PoD entries are dropped, and while
//! the entries outnumber the cache, RAM the domain frees is *stolen* for the cache — scrubbed,
//! kept by the domain, still counted in `tot_pages` — instead of being freed), shrinking the
//! cache back to the entry count (`p2m_pod_set_cache_target`), and `p2m_pod_demand_populate`
//! when Xen itself looks a PoD GFN up with `P2M_ALLOC` (a foreign mapping of it, removing
//! it): a page comes from the cache, or the domain is out of PoD memory and crashes.
//!
//! Simplified, and said here: Xen also reclaims whole zeroed 2 MiB superpages
//! (`p2m_pod_zero_check_superpage`) and sweeps the domain's RAM for zero pages when the cache
//! is empty (`p2m_pod_emergency_sweep`); the model does neither, so where Xen would find such
//! a page the model crashes the domain or steals page by page. A guest's own first touch of a
//! PoD page (an EPT fault) is not something the model runs.

use super::Kind;
use crate::error::errno::*;
use crate::machine::Machine;
use crate::p2m::Entry;

impl Machine {
    /// `guest_physmap_mark_populate_on_demand(d, gfn, order)`.
    pub(crate) fn x86_mark_populate_on_demand(&mut self, d: u16, gfn: u64, order: u32) -> Result<(), i32> {
        let dom = self.dom(d);
        if !dom.translated {
            return Err(EINVAL);
        }
        // has_arch_pdevs || cache_flush_permitted.
        if dom.passthrough {
            return Err(ENOTEMPTY);
        }
        let mut left = 1u64 << order;
        let mut at = gfn;
        // The chunk order is fixed by the first GFN's alignment and the size, as in Xen.
        let chunk_order = (gfn | left).trailing_zeros().min(63);
        loop {
            self.mark_populate_on_demand(d, at, chunk_order)?;
            left -= 1u64 << chunk_order;
            at = at.wrapping_add(1u64 << chunk_order);
            if left == 0 {
                return Ok(());
            }
        }
    }

    /// `mark_populate_on_demand`: every GFN must be free or PoD already (`-EBUSY`); a failed
    /// P2M write of more than one page crashes the domain.
    fn mark_populate_on_demand(&mut self, d: u16, gfn: u64, order: u32) -> Result<(), i32> {
        let n = 1u64 << order;
        for i in 0..n {
            let e = self.dom(d).p2m.get(gfn.wrapping_add(i));
            if !e.is_empty() && e.kind() != Some(Kind::Pod) {
                return Err(EBUSY);
            }
        }
        if !self.gfn_range_ok(gfn, n) || self.dom(d).is_dying() {
            if order > 0 {
                self.domain_crash(d);
            }
            return Err(if self.dom(d).is_dying() { ENOMEM } else { self.gfn_range_errno() });
        }
        // Replaced PoD entries come off the count as they are overwritten.
        for i in 0..n {
            self.p2m_write_one(d, gfn + i, Entry::new(Kind::Pod, 0));
        }
        self.dom_mut(d).pod_entries += n;
        Ok(())
    }

    /// `p2m_pod_decrease_reservation(d, gfn, order)`: how many pages of the extent PoD took
    /// care of (0 on Arm and for non-HVM domains, which have no PoD).
    pub(crate) fn pod_decrease_reservation(&mut self, d: u16, gfn: u64, order: u32) -> u64 {
        if self.is_arm() || !self.dom(d).hvm {
            return 0;
        }
        let mut left = 1u64 << order;
        let chunk_order = (gfn | left).trailing_zeros().min(63);
        let mut at = gfn;
        let mut ret = 0;
        loop {
            ret += self.pod_decrease_chunk(d, at, chunk_order);
            left -= 1u64 << chunk_order;
            at = at.wrapping_add(1u64 << chunk_order);
            if left == 0 {
                return ret;
            }
        }
    }

    /// The static `decrease_reservation` of p2m-pod.c for one aligned chunk.
    fn pod_decrease_chunk(&mut self, d: u16, gfn: u64, order: u32) -> u64 {
        let dom = self.dom(d);
        if dom.pod_entries == 0 || dom.is_dying() {
            return 0;
        }
        let n = 1u64 << order;
        let mut steal = dom.pod_entries > dom.pod_cache.len() as u64;
        let (mut pod, mut ram) = (0u64, 0u64);
        for i in 0..n {
            let e = dom.p2m.get(gfn.wrapping_add(i));
            match e.kind() {
                Some(Kind::Pod) => pod += 1,
                // p2m_is_ram and not a special (Xen heap) page.
                Some(Kind::Ram) => ram += 1,
                _ => {}
            }
        }
        if pod == 0 && !steal {
            return 0;
        }
        let mut ret = 0;
        if pod == n {
            // All PoD: the whole range goes back to invalid.
            for i in 0..n {
                self.p2m_write_one(d, gfn + i, Entry::EMPTY);
            }
            ret = n;
        } else {
            let mut i = 0;
            while i < n && (pod > 0 || (steal && ram > 0)) {
                let g = gfn + i;
                let e = self.dom(d).p2m.get(g);
                match e.kind() {
                    Some(Kind::Pod) => {
                        self.p2m_write_one(d, g, Entry::EMPTY);
                        pod -= 1;
                        ret += 1;
                    }
                    Some(Kind::Ram) if steal => {
                        // Stolen for the cache: unmapped, scrubbed, still the domain's.
                        self.p2m_write_one(d, g, Entry::EMPTY);
                        self.frames.scrub(e.mfn());
                        let dom = self.dom_mut(d);
                        dom.pod_cache.push(e.mfn());
                        steal = dom.pod_entries > dom.pod_cache.len() as u64;
                        ram -= 1;
                        ret += 1;
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        // More assets than liabilities: give the surplus back.
        let target = self.dom(d).pod_entries;
        if target < self.dom(d).pod_cache.len() as u64 {
            self.pod_set_cache_target(d, target);
        }
        ret
    }

    /// `p2m_pod_set_cache_target` shrinking: cache pages beyond `target` lose the domain's
    /// allocation reference (freed unless someone else still holds them).
    fn pod_set_cache_target(&mut self, d: u16, target: u64) {
        while self.dom(d).pod_cache.len() as u64 > target {
            let Some(mfn) = self.dom_mut(d).pod_cache.pop() else { break };
            if self.get_page(mfn, d) {
                self.put_page_alloc_ref(mfn);
                self.put_page(mfn);
            }
        }
    }

    /// `p2m_pod_demand_populate` for one 4 KiB PoD entry: back it with a cache page, or crash
    /// the domain (out of PoD memory). Whether `gfn` is now RAM.
    pub(crate) fn pod_demand_populate(&mut self, d: u16, gfn: u64) -> bool {
        if self.dom(d).is_dying() {
            return false;
        }
        let Some(mfn) = self.dom_mut(d).pod_cache.pop() else {
            self.domain_crash(d);
            return false;
        };
        // Overwriting the PoD entry takes it off the count.
        self.p2m_write_one(d, gfn, Entry::new(Kind::Ram, mfn));
        true
    }
}
