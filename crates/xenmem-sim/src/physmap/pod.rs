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
//! Zero pages go back to the cache as Xen takes them: a decrease of part of an all-zero,
//! 2 MiB-aligned superpage while entries outnumber the cache reclaims the whole superpage
//! (`p2m_pod_zero_check_superpage`); before giving up, a demand populate checks the most
//! recently populated GFNs (`pod_eager_reclaim`) and then sweeps the domain's RAM downwards
//! from the highest demand-populated GFN (`p2m_pod_emergency_sweep`, `p2m_pod_zero_check`).
//!
//! Simplified, and said here: the model's PoD entries are 4 KiB each, so a 2 MiB PoD entry
//! (from a superpage reclaim or an order-9 mark) is demand-populated page by page where Xen
//! fills it whole when its cache holds a superpage; the cache is one list of frames (Xen keeps
//! 2 MiB and 4 KiB lists, which decides only which frames back an entry); the emergency sweep
//! never stops for preemption. A guest's own first touch of a PoD page (an EPT fault) is not
//! something the model runs.

use super::Kind;
use crate::error::errno::*;
use crate::machine::Machine;
use crate::p2m::Entry;

/// `NR_POD_MRP_ENTRIES`: how many recently populated GFNs `pod_eager_reclaim` looks at.
pub(crate) const POD_MRP_ENTRIES: usize = 32;
/// `SUPERPAGE_PAGES`.
const SUPERPAGE_PAGES: u64 = 512;
/// `POD_SWEEP_LIMIT`: how far below its start the emergency sweep goes once it found a page.
const POD_SWEEP_LIMIT: u64 = 1024;
/// `POD_SWEEP_STRIDE`: pages checked for zeros at a time.
const POD_SWEEP_STRIDE: usize = 16;

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
        // Try to take back the whole superpage the pages belong to (only for an extent
        // smaller than one, all of it RAM).
        if pod != n
            && steal
            && n < SUPERPAGE_PAGES
            && ram == n
            && self.pod_zero_check_superpage(d, gfn & !(SUPERPAGE_PAGES - 1))
        {
            pod = n;
            ram = 0;
        }
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

    /// `p2m_pod_demand_populate` for one 4 KiB PoD entry: back it with a cache page — after
    /// taking back recently populated zero pages if entries outnumber the cache, and sweeping
    /// for zero pages if the cache is empty — or crash the domain (out of PoD memory). Whether
    /// `gfn` is now RAM.
    pub(crate) fn pod_demand_populate(&mut self, d: u16, gfn: u64) -> bool {
        if self.dom(d).is_dying() {
            return false;
        }
        if self.dom(d).pod_entries > self.dom(d).pod_cache.len() as u64 {
            self.pod_eager_reclaim(d);
        }
        if self.dom(d).pod_cache.is_empty() {
            self.pod_emergency_sweep(d);
        }
        let Some(mfn) = self.dom_mut(d).pod_cache.pop() else {
            self.domain_crash(d);
            return false;
        };
        let dom = self.dom_mut(d);
        dom.pod_max_guest = dom.pod_max_guest.max(gfn);
        // Overwriting the PoD entry takes it off the count.
        self.p2m_write_one(d, gfn, Entry::new(Kind::Ram, mfn));
        // pod_eager_record.
        let dom = self.dom_mut(d);
        dom.pod_mrp[dom.pod_mrp_idx] = gfn;
        dom.pod_mrp_idx = (dom.pod_mrp_idx + 1) % POD_MRP_ENTRIES;
        true
    }

    /// Whether `mfn`, mapped as RAM, may go back to the cache: a domain page (not a Xen heap
    /// one), allocated, and held by nothing but its allocation (`count_info` at most 1 under
    /// HAP).
    fn pod_reclaimable(&self, mfn: u64) -> bool {
        !self.is_xen_heap(mfn) && self.frames.allocated(mfn) && self.frames.count(mfn) <= 1
    }

    fn frame_is_zero(&self, mfn: u64) -> bool {
        let mut buf = [0u8; 4096];
        self.frames.read(mfn, 0, &mut buf);
        buf.iter().all(|&b| b == 0)
    }

    /// `p2m_pod_cache_add` for pages of `d` already unmapped: scrubbed, kept by the domain
    /// (still counted), held for PoD entries.
    fn pod_cache_add(&mut self, d: u16, mfn: u64, n: u64) {
        for m in mfn..mfn + n {
            self.frames.scrub(m);
            self.dom_mut(d).pod_cache.push(m);
        }
    }

    /// `p2m_pod_zero_check_superpage`: if the 512 GFNs from `gfn` (2 MiB aligned) map 512
    /// consecutive RAM frames from a 2 MiB-aligned one, each reclaimable and all zeros, they
    /// become PoD entries and the frames go to the cache. Whether it happened.
    fn pod_zero_check_superpage(&mut self, d: u16, gfn: u64) -> bool {
        if gfn % SUPERPAGE_PAGES != 0 {
            return false;
        }
        let first = self.dom(d).p2m.get(gfn);
        if first.kind() != Some(Kind::Ram) || first.mfn() % SUPERPAGE_PAGES != 0 {
            return false;
        }
        let mfn0 = first.mfn();
        for i in 0..SUPERPAGE_PAGES {
            let e = self.dom(d).p2m.get(gfn + i);
            if e.kind() != Some(Kind::Ram) || e.mfn() != mfn0 + i || !self.pod_reclaimable(e.mfn()) {
                return false;
            }
        }
        if !(0..SUPERPAGE_PAGES).all(|i| self.frame_is_zero(mfn0 + i)) {
            return false;
        }
        for i in 0..SUPERPAGE_PAGES {
            self.p2m_write_one(d, gfn + i, Entry::new(Kind::Pod, 0));
        }
        self.pod_cache_add(d, mfn0, SUPERPAGE_PAGES);
        self.dom_mut(d).pod_entries += SUPERPAGE_PAGES;
        true
    }

    /// `p2m_pod_zero_check`: each of `gfns` that maps a reclaimable all-zero RAM frame becomes
    /// a PoD entry, its frame going to the cache.
    fn pod_zero_check(&mut self, d: u16, gfns: &[u64]) {
        for &g in gfns {
            let e = self.dom(d).p2m.get(g);
            if e.kind() != Some(Kind::Ram) || !self.pod_reclaimable(e.mfn()) || !self.frame_is_zero(e.mfn()) {
                continue;
            }
            self.p2m_write_one(d, g, Entry::new(Kind::Pod, 0));
            self.pod_cache_add(d, e.mfn(), 1);
            self.dom_mut(d).pod_entries += 1;
        }
    }

    /// `pod_eager_reclaim`: check one recently populated GFN, and keep going while the cache
    /// is empty, each slot once.
    fn pod_eager_reclaim(&mut self, d: u16) {
        let mut i = 0;
        loop {
            let idx = (self.dom(d).pod_mrp_idx + i) % POD_MRP_ENTRIES;
            i += 1;
            let g = self.dom(d).pod_mrp[idx];
            if g != u64::MAX {
                self.pod_zero_check(d, &[g]);
                self.dom_mut(d).pod_mrp[idx] = u64::MAX;
            }
            if !self.dom(d).pod_cache.is_empty() || i >= POD_MRP_ENTRIES {
                return;
            }
        }
    }

    /// `p2m_pod_emergency_sweep`: from `reclaim_single` (first time: the highest
    /// demand-populated GFN) down to GFN 1, RAM pages are zero-checked 16 at a time; the sweep
    /// stops once it is more than `POD_SWEEP_LIMIT` below its start with something found, and
    /// remembers where. Only mapped GFNs are visited; the holes between them are where Xen's
    /// loop would test its stop condition, which is taken into account.
    fn pod_emergency_sweep(&mut self, d: u16) {
        if self.dom(d).pod_reclaim_single == 0 {
            let start = self.dom(d).pod_max_guest;
            self.dom_mut(d).pod_reclaim_single = start;
        }
        let start = self.dom(d).pod_reclaim_single;
        let limit = start.saturating_sub(POD_SWEEP_LIMIT);
        let mut ram: Vec<u64> = self
            .dom(d)
            .p2m
            .iter()
            // p2m_is_ram: Xen heap pages mapped as RAM are visited too (and then skipped).
            .filter(|&(g, e)| g >= 1 && g <= start && matches!(e.kind(), Some(Kind::Ram | Kind::XenHeap)))
            .map(|(g, _)| g)
            .collect();
        ram.sort_unstable_by(|a, b| b.cmp(a));
        let found = |m: &Machine| !m.dom(d).pod_cache.is_empty();
        let mut batch: Vec<u64> = Vec::with_capacity(POD_SWEEP_STRIDE);
        let mut stopped_at = 0u64;
        for g in ram {
            // The loop tests `i < limit && found` at every GFN, holes included: the first GFN
            // below the limit ends it once something was found.
            if limit > 0 && g < limit - 1 && found(self) {
                stopped_at = limit - 1;
                break;
            }
            batch.push(g);
            if batch.len() == POD_SWEEP_STRIDE {
                self.pod_zero_check(d, &batch);
                batch.clear();
            }
            if g < limit && found(self) {
                stopped_at = g;
                break;
            }
        }
        if stopped_at == 0 && limit > 0 && found(self) {
            // Past the last mapped GFN: the loop still stops at the first GFN below the limit.
            stopped_at = limit - 1;
        }
        if !batch.is_empty() {
            self.pod_zero_check(d, &batch);
        }
        self.dom_mut(d).pod_reclaim_single = stopped_at.saturating_sub(1);
    }
}
