//! The architecture's P2M operations, the layer memory_op calls into: adding and removing
//! pages (`guest_physmap_*`), `guest_remove_page`, `get_page_from_gfn`,
//! `xenmem_add_to_physmap_one`, `set_foreign_p2m_entry` and `domain_get_maximum_gpfn`.
//!
//! [`x86`] follows `xen/arch/x86/mm/p2m.c` and `physmap.c`; [`arm`] follows
//! `xen/arch/arm/mm.c` and `p2m.c`. Each public function here picks the machine's
//! architecture. The one rule both share lives in [`Machine::p2m_write_run`]: when an entry
//! is replaced, a foreign entry gives its page reference back and a Xen heap page forgets the
//! GFN it was mapped at (x86 `p2m_entry_modify` and M2P updates, Arm `p2m_put_l3_page`).

mod arm;
mod pod;
mod x86;

pub(crate) use pod::POD_MRP_ENTRIES;

use crate::error::errno::ENOENT;
use crate::machine::Machine;
use crate::p2m::{Entry, Kind};

/// One `add_to_physmap_batch` call as [`Machine::add_to_physmap_batch_one`] maps it: the
/// batch's constants, and what it carries from one entry to the next.
pub(crate) struct Batch {
    caller: u16,
    d: u16,
    space: u32,
    foreign: u16,
    /// x86 `gmfn_foreign`: the domain the pages come from, allowed by the checks that look at
    /// the domains alone, valid while only successful entries onto empty GFNs have run.
    foreign_source: Option<u16>,
}

impl Batch {
    /// A batch `caller` issues for domain `d`.
    pub(crate) fn new(caller: u16, d: u16, space: u32, foreign: u16) -> Batch {
        Batch { caller, d, space, foreign, foreign_source: None }
    }
}

impl Machine {
    /// Writes `n` entries of `kind` for frames `mfn..` at `gfn..` in `d`'s P2M and settles
    /// what they replaced.
    pub(crate) fn p2m_write_run(&mut self, d: u16, gfn: u64, n: u64, kind: Kind, mfn: u64) {
        if n == 1 {
            self.p2m_write_one(d, gfn, Entry::new(kind, mfn));
            return;
        }
        let mut old: Vec<(u64, Entry)> = Vec::new();
        self.dom_mut(d).p2m.set_run(gfn, n, kind, mfn, |g, e| old.push((g, e)));
        for (g, e) in old {
            self.settle_replaced(d, g, e);
        }
    }

    /// Writes one entry and settles what it replaced.
    #[inline]
    pub(crate) fn p2m_write_one(&mut self, d: u16, gfn: u64, e: Entry) {
        let old = self.dom_mut(d).p2m.set(gfn, e);
        self.settle_replaced(d, gfn, old);
    }

    /// Clears `n` entries from `gfn` and settles what was there.
    pub(crate) fn p2m_clear_run(&mut self, d: u16, gfn: u64, n: u64) {
        for i in 0..n {
            let Some(g) = gfn.checked_add(i) else { break };
            self.p2m_write_one(d, g, Entry::EMPTY);
        }
    }

    #[inline]
    pub(crate) fn settle_replaced(&mut self, d: u16, gfn: u64, e: Entry) {
        match e.kind() {
            Some(Kind::Foreign) => self.put_page(e.mfn()),
            Some(Kind::XenHeap) => self.xenheap_unmapped(e.mfn(), gfn),
            // Every path that overwrites a PoD entry takes it off `pod.entry_count`
            // (`p2m_add_page`'s pod_count, `mark_populate_on_demand`, the PoD decrease).
            Some(Kind::Pod) => {
                let dom = self.dom_mut(d);
                dom.pod_entries = dom.pod_entries.saturating_sub(1);
            }
            _ => {}
        }
    }

    /// A Xen heap page stopped being mapped at `gfn` (x86 M2P entry cleared, Arm stored GFN
    /// invalidated).
    pub(crate) fn xenheap_unmapped(&mut self, mfn: u64, gfn: u64) {
        if let Some(x) = self.xenheap.get_mut(&mfn) {
            if x.gfn == Some(gfn) {
                x.gfn = None;
            }
        }
    }

    /// `is_xen_heap_mfn` / x86 `is_special_page` for the pages the model has.
    pub(crate) fn is_xen_heap(&self, mfn: u64) -> bool {
        // Every Xen heap page on record is Xen's in the frame table (an invariant the checker
        // holds): the table's answer spares the record lookup for every domain page.
        self.frames.owner(mfn) == crate::frames::Owner::Xen && self.xenheap.contains_key(&mfn)
    }

    /// The P2M kind a page gets when mapped into its owner's own physmap as RAM.
    pub(crate) fn own_kind(&self, mfn: u64) -> Kind {
        if self.is_xen_heap(mfn) {
            Kind::XenHeap
        } else {
            Kind::Ram
        }
    }

    /// `guest_physmap_add_page`: map `2^order` new pages of `d`.
    #[inline]
    pub(crate) fn guest_physmap_add_page(
        &mut self,
        d: u16,
        gfn: u64,
        mfn: u64,
        order: u32,
    ) -> Result<(), i32> {
        if order == 0 && !self.is_arm() && self.x86_add_page_to_empty(d, gfn, mfn) {
            return Ok(());
        }
        self.guest_physmap_add_page_slow(d, gfn, mfn, order)
    }

    /// `guest_physmap_add_page` but for an x86 page onto an empty GFN. Out of line: the
    /// common case stays short.
    #[inline(never)]
    fn guest_physmap_add_page_slow(&mut self, d: u16, gfn: u64, mfn: u64, order: u32) -> Result<(), i32> {
        if self.is_arm() {
            self.arm_p2m_set_entry(d, gfn, 1 << order, mfn, Kind::Ram)
        } else {
            self.x86_guest_physmap_add_page(d, gfn, mfn, order)
        }
    }

    /// `guest_remove_page` (`xen/common/memory.c`): unmap the page at `gfn` and let go of its
    /// allocation reference.
    pub(crate) fn guest_remove_page(&mut self, d: u16, gfn: u64) -> Result<(), i32> {
        if self.is_arm() {
            self.arm_guest_remove_page(d, gfn)
        } else {
            self.x86_guest_remove_page(d, gfn)
        }
    }

    /// `get_page_from_gfn(d, gfn, P2M_ALLOC)`: the frame mapped there and its kind, with a
    /// reference, when it is a page that can be referenced (RAM, a foreign page, one of the
    /// domain's Xen heap pages).
    pub(crate) fn get_page_from_gfn(&mut self, d: u16, gfn: u64) -> Option<(u64, Kind)> {
        if self.is_arm() {
            self.arm_get_page_from_gfn(d, gfn)
        } else {
            self.x86_get_page_from_gfn(d, gfn)
        }
    }

    /// `remove_from_physmap` once its checks passed: the page at `gfn` with a reference
    /// (`-ENOENT` if there is none that can be referenced), unmapped
    /// (`guest_physmap_remove_page`), the reference dropped.
    #[inline]
    pub(crate) fn remove_mapped_page(&mut self, d: u16, gfn: u64) -> Result<(), i32> {
        if !self.is_arm() {
            if let Some(mfn) = self.x86_take_foreign(d, gfn) {
                // The lookup's reference, the last one this path holds: it may free the page.
                self.put_page(mfn);
                return Ok(());
            }
        }
        self.remove_mapped_page_slow(d, gfn)
    }

    /// `remove_mapped_page` for all but an x86 foreign entry. Out of line: the common case
    /// stays short.
    #[inline(never)]
    fn remove_mapped_page_slow(&mut self, d: u16, gfn: u64) -> Result<(), i32> {
        if !self.is_arm() {
            if let Some(rc) = self.x86_remove_mapped(d, gfn) {
                return rc;
            }
        }
        let Some((mfn, _)) = self.get_page_from_gfn(d, gfn) else { return Err(ENOENT) };
        let rc = self.guest_physmap_remove_page(d, gfn, mfn);
        self.put_page(mfn);
        rc
    }

    /// `guest_physmap_remove_page` for one page.
    pub(crate) fn guest_physmap_remove_page(&mut self, d: u16, gfn: u64, mfn: u64) -> Result<(), i32> {
        if self.is_arm() {
            self.arm_p2m_remove_mapping(d, gfn, 1, mfn)
        } else if !self.dom(d).translated {
            Ok(())
        } else {
            self.x86_p2m_remove_page(d, gfn, mfn, 0)
        }
    }

    /// `xenmem_add_to_physmap_one`. `caller` is `current->domain`, `foreign` the batch's
    /// `foreign_domid` (`DOMID_INVALID` from the single form).
    pub(crate) fn add_to_physmap_one(
        &mut self,
        caller: u16,
        d: u16,
        space: u32,
        foreign: u16,
        idx: u64,
        gpfn: u64,
    ) -> Result<(), i32> {
        if self.is_arm() {
            self.arm_add_to_physmap_one(caller, d, space, foreign, idx, gpfn)
        } else {
            self.x86_add_to_physmap_one(caller, d, space, foreign, idx, gpfn)
        }
    }

    /// `xenmem_add_to_physmap_one` for entry after entry of one `add_to_physmap_batch`.
    /// What depends only on the domains is checked once and remembered in `b` while the
    /// entries that follow can change no domain (they map RAM onto empty GFNs and succeed);
    /// any other entry takes the full path (it may free a page, and with it a domain) and the
    /// checks are made again for the next.
    pub(crate) fn add_to_physmap_batch_one(&mut self, b: &mut Batch, idx: u64, gpfn: u64) -> Result<(), i32> {
        if !self.is_arm() && b.space == xenmem::abi::XENMAPSPACE_GMFN_FOREIGN {
            let fdom = match b.foreign_source.take() {
                Some(fdom) => fdom,
                // A refusal has no side effects: each entry gets it again.
                None => self.x86_foreign_source(b.caller, b.d, b.foreign)?,
            };
            if self.x86_add_foreign_to_empty(b.d, fdom, idx, gpfn).is_some() {
                b.foreign_source = Some(fdom);
                return Ok(());
            }
        }
        self.add_to_physmap_one(b.caller, b.d, b.space, b.foreign, idx, gpfn)
    }

    /// `set_foreign_p2m_entry(d, fd, gfn, mfn)`: map a frame of `fd` into `d` as foreign.
    pub(crate) fn set_foreign_p2m_entry(&mut self, d: u16, fd: u16, gfn: u64, mfn: u64) -> Result<(), i32> {
        if self.is_arm() {
            self.arm_set_foreign_p2m_entry(d, fd, gfn, mfn)
        } else {
            self.x86_set_typed_p2m_entry(d, gfn, mfn)
        }
    }

    /// `domain_get_maximum_gpfn`.
    pub(crate) fn maximum_gpfn(&self, d: u16) -> u64 {
        if self.is_arm() {
            self.dom(d).p2m.max_mapped()
        } else {
            self.x86_maximum_gpfn(d)
        }
    }

    /// `arch_acquire_resource_check`: Arm always; x86 4.17 only PV domains and the hardware
    /// domain (translated callers' foreign references were not torn down safely, Xen's
    /// FIXME); x86 4.20 every domain without altp2m or nested virtualisation
    /// ([`crate::Release`]).
    pub(crate) fn arch_acquire_resource_check(&self, d: u16) -> bool {
        let dom = self.dom(d);
        if self.is_arm() || !dom.translated {
            return true;
        }
        if self.cfg.xen.x86_acquire_check_admits_translated_domus() {
            return !dom.nested_virt && !dom.altp2m;
        }
        dom.hardware
    }
}
