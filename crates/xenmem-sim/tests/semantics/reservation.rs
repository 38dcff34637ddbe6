//! populate_physmap, increase/decrease_reservation, and the three queries.

use crate::common::{xe, Rig};
use xenmem::{DomId, EntryStatus, Gfn, MapSpace, MemFlags, Mfn, XenError};
use xenmem_sim::{DomainConfig, DomainKind, EntryKind, MachineConfig, PhysmapRange, Release, Sim};

#[test]
fn populate_maps_ram_and_counts_it() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    let mut g = [Gfn(0x1000), Gfn(0x1001), Gfn(0x1005)];
    // populate_physmap returns nr_done (memory.c do_memory_op: `rc = args.nr_done`).
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut g), Ok(3));
    assert_eq!(r.tot(r.domu), 64 + 3);
    assert_eq!(xen.current_reservation(DomId::SELF), Ok(67));
    let pm = r.sim.physmap(r.domu);
    assert!(pm.contains(&PhysmapRange { first_gfn: Gfn(0x1000), count: 2, kind: EntryKind::Ram }));
    assert!(pm.contains(&PhysmapRange { first_gfn: Gfn(0x1005), count: 1, kind: EntryKind::Ram }));
    // A translated target's array is left alone (populate_physmap copies MFNs back only
    // `if ( !paging_mode_translate(d) )`).
    assert_eq!(g, [Gfn(0x1000), Gfn(0x1001), Gfn(0x1005)]);
    // Fresh pages read as zeros; writes stick.
    let mut b = [1u8; 4];
    r.sim.read_gfn(r.domu, Gfn(0x1005), 100, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
    r.sim.write_gfn(r.domu, Gfn(0x1005), 100, b"abcd").unwrap();
    r.sim.read_gfn(r.domu, Gfn(0x1005), 100, &mut b).unwrap();
    assert_eq!(&b, b"abcd");
    r.ok();
}

#[test]
fn populate_order_is_the_callers_limit() {
    let r = Rig::x86();
    // max_order(current->domain): domU 9 (CONFIG_DOMU_MAX_ORDER = PAGETABLE_ORDER).
    let domu = r.xen(r.domu);
    assert_eq!(domu.populate_physmap(DomId::SELF, 10, MemFlags::empty(), &mut [Gfn(0x4000)]), Ok(0));
    assert_eq!(domu.populate_physmap(DomId::SELF, 9, MemFlags::empty(), &mut [Gfn(0x4000)]), Ok(1));
    // The control domain gets ctldom_max_order = CONFIG_PAGEALLOC_MAX_ORDER = 18, for any
    // target: the limit is the caller's (populate_physmap: max_order(curr_d)).
    let dom0 = r.xen(r.dom0);
    assert_eq!(dom0.populate_physmap(r.domu, 10, MemFlags::empty(), &mut [Gfn(0x8000)]), Ok(1));
    assert_eq!(r.tot(r.domu), 64 + 512 + 1024);
    r.ok();
}

#[test]
fn populate_refusals_are_short_counts() {
    let r = Rig::x86();
    let other = r.sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
    let xen = r.xen(r.domu);
    let mut g = [Gfn(0x2000)];
    // XSM_TARGET (xsm_memory_adjust_reservation) fails → `return start_extent`.
    assert_eq!(xen.populate_physmap(other, 0, MemFlags::empty(), &mut g), Ok(0));
    // rcu_lock_domain_by_any_id finds nothing → `return start_extent`.
    assert_eq!(xen.populate_physmap(DomId(77), 0, MemFlags::empty(), &mut g), Ok(0));
    // construct_memop_from_reservation: address_bits <= PAGE_SHIFT (while below the
    // machine's width) is -EINVAL → start_extent.
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty().with_address_bits(12), &mut g), Ok(0));
    // propagate_node: an unprivileged caller's exact-node request is refused; a plain node
    // hint is ignored.
    assert_eq!(
        xen.populate_physmap(DomId::SELF, 0, MemFlags::empty().with_node(0).exact_node(), &mut g),
        Ok(0)
    );
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty().with_node(3), &mut g), Ok(1));
    // A privileged caller's node must be below MAX_NUMNODES (64 on x86).
    let dom0 = r.xen(r.dom0);
    assert_eq!(
        dom0.populate_physmap(DomId::SELF, 0, MemFlags::empty().with_node(64), &mut [Gfn(0x9000)]),
        Ok(0)
    );
    assert_eq!(
        dom0.populate_physmap(
            DomId::SELF,
            0,
            MemFlags::empty().with_node(0).exact_node(),
            &mut [Gfn(0x9000)]
        ),
        Ok(1)
    );
    // Address bits at or above the machine's width are ignored (construct_memop: only
    // `address_bits < get_order_from_pages(max_page) + PAGE_SHIFT` constrains).
    assert_eq!(
        dom0.populate_physmap(DomId::SELF, 0, MemFlags::empty().with_address_bits(40), &mut [Gfn(0x9001)]),
        Ok(1)
    );
    // A satisfiable constraint: below 2^20 bytes = MFN 256.
    let mut low = [Gfn(0x9002)];
    assert_eq!(
        dom0.populate_physmap(DomId::SELF, 0, MemFlags::empty().with_address_bits(20), &mut low),
        Ok(1)
    );
    assert!(r.sim.translate(r.dom0, Gfn(0x9002)).unwrap().0 < 256);
    // PoD on oneself: `if ( d == curr_d ) goto out`.
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty().populate_on_demand(), &mut g), Ok(0));
    r.ok();
}

#[test]
fn populate_stops_at_max_pages() {
    let sim = Sim::new(MachineConfig::x86_64(4096).with_xen(Release::Xen4_17));
    let d = sim.create_domain(DomainConfig { max_pages: 10, ..DomainConfig::domu(DomainKind::Pvh) }).unwrap();
    let xen = xenmem::Xen::new(sim.backend(d));
    let mut g: Vec<Gfn> = (0..16).map(|i| Gfn(0x100 + i)).collect();
    // assign_pages: `nr > d->max_pages - tot_pages` → -E2BIG ("Over-allocation"), seen as the
    // count of extents done.
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut g), Ok(10));
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(0x500)]), Ok(0));
    assert_eq!(xen.maximum_reservation(DomId::SELF), Ok(10));
    sim.check_invariants().unwrap();
}

#[test]
fn populate_fails_on_fragmentation_at_high_order_only() {
    let sim = Sim::new(MachineConfig::x86_64(1024).with_xen(Release::Xen4_17));
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
    let xen = xenmem::Xen::new(sim.backend(dom0));
    // Take every frame one by one, then give back every other one.
    let free = sim.free_frames() as usize;
    let mut g: Vec<Gfn> = (0..free as u64).map(|i| Gfn(0x1_0000 + i)).collect();
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut g), Ok(free));
    let odd: Vec<Gfn> = g.iter().copied().filter(|x| x.0 % 2 == 1).collect();
    // decrease_reservation frees the pages (guest_remove_page → put_page_alloc_ref).
    assert_eq!(xen.decrease_reservation(DomId::SELF, 0, &odd), Ok(odd.len()));
    // Every other frame is free: no two free frames are buddies, so an order-1 extent cannot
    // be found (alloc_heap_pages fails) while order 0 still can.
    assert_eq!(xen.populate_physmap(DomId::SELF, 1, MemFlags::empty(), &mut [Gfn(0x4_0000)]), Ok(0));
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(0x4_0000)]), Ok(1));
    sim.check_invariants().unwrap();
}

#[test]
fn pv_targets_get_mfns_back() {
    let r = Rig::with(MachineConfig::x86_64(1 << 14).with_xen(Release::Xen4_17), DomainKind::Pv);
    let xen = r.xen(r.dom0);
    let mut g = [Gfn(0x10), Gfn(0x11)];
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut g), Ok(2));
    // populate_physmap: `if ( !paging_mode_translate(d) ) __copy_mfn_to_guest_offset(...)`.
    assert_ne!(g, [Gfn(0x10), Gfn(0x11)]);
    let mut mfns = [Mfn(0); 3];
    // increase_reservation writes MFNs for a PV target too.
    assert_eq!(xen.increase_reservation_into(DomId::SELF, 0, MemFlags::empty(), &mut mfns), Ok(3));
    assert!(mfns.iter().all(|m| m.0 != 0));
    // A PV domain's decrease_reservation names MFNs (get_gfn_query on a non-translated
    // domain is the identity).
    let before = r.tot(r.dom0);
    assert_eq!(xen.decrease_reservation(DomId::SELF, 0, &[Gfn(mfns[0].0)]), Ok(1));
    assert_eq!(r.tot(r.dom0), before - 1);
    r.ok();
}

#[test]
fn increase_allocates_without_mapping() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    let mapped = r.sim.domain_info(r.domu).unwrap().mapped;
    assert_eq!(xen.increase_reservation(DomId::SELF, 1, MemFlags::empty(), 3), Ok(3));
    assert_eq!(r.tot(r.domu), 64 + 6);
    assert_eq!(r.sim.domain_info(r.domu).unwrap().mapped, mapped);
    // The caller's max_order applies (increase_reservation: `extent_order > max_order`).
    assert_eq!(xen.increase_reservation(DomId::SELF, 10, MemFlags::empty(), 1), Ok(0));
    r.ok();
}

#[test]
fn decrease_frees_and_stops_at_the_first_failure() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    assert_eq!(xen.decrease_reservation(DomId::SELF, 0, &[Gfn(0x100), Gfn(0x101)]), Ok(2));
    assert_eq!(r.tot(r.domu), 62);
    // x86 guest_remove_page: a hole is -ENOENT, which stops decrease_reservation (no PoD).
    assert_eq!(xen.decrease_reservation(DomId::SELF, 0, &[Gfn(0x102), Gfn(0x101), Gfn(0x103)]), Ok(1));
    assert_eq!(r.tot(r.domu), 61);
    // An order-1 extent over 0x13e..0x140: 0x13e and 0x13f are freed, 0x140 is a hole, so the
    // extent at 0x140 stops the call with the first extent counted.
    assert_eq!(xen.decrease_reservation(DomId::SELF, 1, &[Gfn(0x13e), Gfn(0x140)]), Ok(1));
    assert_eq!(r.tot(r.domu), 59);
    r.ok();
}

#[test]
fn decrease_of_foreign_mapped_page_keeps_it_counted_until_unmapped() {
    let r = Rig::x86();
    let dom0 = r.xen(r.dom0);
    let mut errs = [EntryStatus::NOT_DONE];
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x104)], &[Gfn(0x80000)], &mut errs).unwrap();
    assert_eq!(errs[0], EntryStatus::OK);
    r.sim.write_gfn(r.domu, Gfn(0x104), 0, b"still here").unwrap();
    // The owner gives the page back: guest_remove_page drops the allocation reference, but
    // the foreign entry's reference keeps it allocated and counted (free_domheap_pages only
    // runs on the last put_page, and only then adjusts tot_pages).
    assert_eq!(r.xen(r.domu).decrease_reservation(DomId::SELF, 0, &[Gfn(0x104)]), Ok(1));
    assert_eq!(r.tot(r.domu), 64);
    let mut b = [0u8; 10];
    r.sim.read_gfn(r.dom0, Gfn(0x80000), 0, &mut b).unwrap();
    assert_eq!(&b, b"still here");
    r.ok();
    // Unmapping drops the last reference: the page is freed and leaves tot_pages.
    dom0.remove_from_physmap(DomId::SELF, Gfn(0x80000)).unwrap();
    assert_eq!(r.tot(r.domu), 63);
    r.ok();
    // A foreign entry is not the caller's page: guest_remove_page → -ENXIO → count 0.
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x105)], &[Gfn(0x80001)], &mut errs).unwrap();
    assert_eq!(dom0.decrease_reservation(DomId::SELF, 0, &[Gfn(0x80001)]), Ok(0));
    r.ok();
}

#[test]
fn arm_decrease_of_a_hole_stops_too() {
    let r = Rig::arm();
    let xen = r.xen(r.domu);
    // Arm guest_remove_page: an invalid MFN is -EINVAL; still a short count.
    assert_eq!(xen.decrease_reservation(DomId::SELF, 0, &[Gfn(0x100), Gfn(0x5000)]), Ok(1));
    assert_eq!(r.tot(r.domu), 63);
    r.ok();
}

#[test]
fn queries() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    // domain_tot_pages, d->max_pages, domain_get_maximum_gpfn (x86 HVM: max_mapped_pfn).
    assert_eq!(xen.current_reservation(DomId::SELF), Ok(64));
    assert_eq!(xen.maximum_reservation(DomId::SELF), Ok(65_536));
    assert_eq!(xen.maximum_gpfn(DomId::SELF), Ok(Gfn(0x13f)));
    // The numeric id is the same domain.
    assert_eq!(xen.current_reservation(r.domu), Ok(64));
    // rcu_lock_domain_by_any_id → -ESRCH; XSM_TARGET (xsm_memory_stat_reservation) → -EPERM.
    assert_eq!(xen.current_reservation(DomId(99)), xe(XenError::Srch));
    assert_eq!(xen.maximum_gpfn(r.dom0), xe(XenError::Perm));
    assert_eq!(xen.maximum_reservation(DomId::IO), xe(XenError::Srch));
    // The control domain may ask about anyone.
    assert_eq!(r.xen(r.dom0).current_reservation(r.domu), Ok(64));
    // dom0 without a limit: max_pages is UINT_MAX, returned as a long.
    assert_eq!(r.xen(r.dom0).maximum_reservation(DomId::SELF), Ok(u32::MAX as u64));
    // max_mapped_pfn is a high-water mark: removing the top page does not lower it.
    xen.remove_from_physmap(DomId::SELF, Gfn(0x13f)).unwrap();
    assert_eq!(xen.maximum_gpfn(DomId::SELF), Ok(Gfn(0x13f)));
    // A mapped Xen page counts too.
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x20000)).unwrap();
    assert_eq!(xen.maximum_gpfn(DomId::SELF), Ok(Gfn(0x20000)));
    // remove_from_physmap does not free: tot_pages unchanged.
    assert_eq!(xen.current_reservation(DomId::SELF), Ok(64));
    r.ok();
}

#[test]
fn pv_maximum_gpfn_comes_from_shared_info() {
    let r = Rig::with(MachineConfig::x86_64(1 << 14).with_xen(Release::Xen4_17), DomainKind::Pv);
    let xen = r.xen(r.dom0);
    // x86 domain_get_maximum_gpfn for PV: `(arch_get_max_pfn(d) ?: 1) - 1`, max_pfn being
    // what the guest keeps in shared_info->arch.max_pfn: 0 until it writes one.
    assert_eq!(xen.maximum_gpfn(DomId::SELF), Ok(Gfn(0)));
}
