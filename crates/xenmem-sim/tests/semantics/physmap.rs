//! add_to_physmap (single and range) and remove_from_physmap, on x86 and Arm.

use crate::common::{xe, Rig};
use xenmem::abi::XenAddToPhysmap;
use xenmem::{DomId, EntryStatus, Gfn, GrantFrame, MapSpace, MemFlags, Mfn, XenError};
use xenmem_sim::{DomainConfig, DomainKind, EntryKind, MachineConfig, PhysmapRange, Release};

fn kind_at(r: &Rig, d: DomId, gfn: u64) -> Option<EntryKind> {
    r.sim.physmap(d).iter().find(|x| x.first_gfn.0 <= gfn && gfn - x.first_gfn.0 < x.count).map(|x| x.kind)
}

#[test]
fn shared_info_maps_and_moves_on_x86() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    let me = r.domu;
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3000)).unwrap();
    assert_eq!(kind_at(&r, me, 0x3000), Some(EntryKind::SharedInfo { owner: me }));
    // x86 xenmem_add_to_physmap_one: the page's M2P names its old GFN, which is unmapped
    // ("Unmap from old location") before it is mapped at the new one.
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3001)).unwrap();
    assert_eq!(kind_at(&r, me, 0x3000), None);
    assert_eq!(kind_at(&r, me, 0x3001), Some(EntryKind::SharedInfo { owner: me }));
    assert_eq!(r.sim.domain_info(me).unwrap().shared_info_gfn, Some(Gfn(0x3001)));
    // Mapping it again where it is succeeds too.
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3001)).unwrap();
    // idx != 0 leaves the MFN invalid → -EINVAL.
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 1, Gfn(0x3002)), xe(XenError::Inval));
    // Over one of the domain's RAM pages: "Normal domain memory is freed" (guest_remove_page).
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x100)).unwrap();
    assert_eq!(r.tot(me), 63);
    assert_eq!(kind_at(&r, me, 0x3001), None);
    r.ok();
}

#[test]
fn shared_info_is_busy_on_arm_until_unmapped() {
    let r = Rig::arm();
    let xen = r.xen(r.domu);
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3000)).unwrap();
    // Arm 4.17 (71320946d5): a xenheap page whose stored GFN is valid → -EBUSY, even at the
    // same GFN ("Mandate the caller to first unmap the page before mapping it again").
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3001)), xe(XenError::Busy));
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3000)), xe(XenError::Busy));
    xen.remove_from_physmap(DomId::SELF, Gfn(0x3000)).unwrap();
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3001)).unwrap();
    // Arm: idx != 0 → -EINVAL.
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 1, Gfn(0x3002)), xe(XenError::Inval));
    // Arm replaces a RAM page silently and does not free it (p2m_put_l3_page only drops
    // foreign references).
    xen.remove_from_physmap(DomId::SELF, Gfn(0x3001)).unwrap();
    xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x100)).unwrap();
    assert_eq!(r.tot(r.domu), 64);
    r.ok();
}

#[test]
fn grant_frames_grow_on_demand() {
    for r in [Rig::x86(), Rig::arm()] {
        let xen = r.xen(r.domu);
        let me = r.domu;
        // grant_table_init grows to INITIAL_NR_GRANT_FRAMES (1).
        assert_eq!(r.sim.domain_info(me).unwrap().grant_frames, 1);
        xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Shared(0).idx(), Gfn(0x5000))
            .unwrap();
        // gnttab_get_shared_frame_mfn: an index past the table grows it (gnttab_grow_table).
        xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Shared(5).idx(), Gfn(0x5005))
            .unwrap();
        assert_eq!(r.sim.domain_info(me).unwrap().grant_frames, 6);
        assert_eq!(kind_at(&r, me, 0x5005), Some(EntryKind::GrantShared { owner: me, frame: 5 }));
        // ...but not past max_grant_frames (32 for this domU) → -EINVAL.
        assert_eq!(
            xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Shared(32).idx(), Gfn(0x5040)),
            xe(XenError::Inval)
        );
        xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Shared(31).idx(), Gfn(0x5031))
            .unwrap();
        // In v1 the status bit is just part of the index (gnttab_map_frame_begin checks
        // gt_version == 2 first): shared frame 0x80000000 → -EINVAL.
        assert_eq!(
            xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Status(0).idx(), Gfn(0x5100)),
            xe(XenError::Inval)
        );
        // idx is truncated to 32 bits by gnttab_get_shared_frame_mfn's `unsigned int idx`.
        let at = if r.sim.config().arch == xenmem_sim::Arch::X86_64 { 0x5200 } else { 0x5201 };
        let wide = xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, 1 << 32, Gfn(at));
        if r.sim.config().arch == xenmem_sim::Arch::X86_64 {
            // x86 moves frame 0 from 0x5000.
            assert_eq!(wide, Ok(()));
            assert_eq!(kind_at(&r, me, 0x5200), Some(EntryKind::GrantShared { owner: me, frame: 0 }));
        } else {
            // Arm: frame 0 is already mapped → -EBUSY.
            assert_eq!(wide, xe(XenError::Busy));
        }
        r.ok();
    }
}

#[test]
fn grant_status_frames_need_v2() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    r.sim.set_grant_version(r.domu, 2).unwrap();
    // v2: grant_to_status_frames(1) = 1 status frame exists.
    assert_eq!(r.sim.domain_info(r.domu).unwrap().status_frames, 1);
    xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Status(0).idx(), Gfn(0x6000)).unwrap();
    assert_eq!(kind_at(&r, r.domu, 0x6000), Some(EntryKind::GrantStatus { owner: r.domu, frame: 0 }));
    // Status frame 3 needs status_to_grant_frames(4) = 32 shared frames: the maximum.
    xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Status(3).idx(), Gfn(0x6003)).unwrap();
    assert_eq!(r.sim.domain_info(r.domu).unwrap().grant_frames, 32);
    // Status frame 4 would need 40 > 32 → -EINVAL.
    assert_eq!(
        xen.add_to_physmap(DomId::SELF, MapSpace::GrantTable, GrantFrame::Status(4).idx(), Gfn(0x6004)),
        xe(XenError::Inval)
    );
    // Back to v1 while a status frame is mapped: refused.
    assert!(r.sim.set_grant_version(r.domu, 1).is_err());
    xen.remove_from_physmap(DomId::SELF, Gfn(0x6000)).unwrap();
    xen.remove_from_physmap(DomId::SELF, Gfn(0x6003)).unwrap();
    r.sim.set_grant_version(r.domu, 1).unwrap();
    r.ok();
}

#[test]
fn gmfn_moves_a_page_on_x86_and_is_enosys_on_arm() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    r.sim.write_gfn(r.domu, Gfn(0x100), 0, b"moved").unwrap();
    xen.add_to_physmap(DomId::SELF, MapSpace::Gmfn, 0x100, Gfn(0x7000)).unwrap();
    let mut b = [0u8; 5];
    r.sim.read_gfn(r.domu, Gfn(0x7000), 0, &mut b).unwrap();
    assert_eq!(&b, b"moved");
    assert_eq!(kind_at(&r, r.domu, 0x100), None);
    assert_eq!(r.tot(r.domu), 64);
    // From a hole: get_page_from_mfn fails, the MFN stays invalid → -EINVAL.
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::Gmfn, 0x100, Gfn(0x7001)), xe(XenError::Inval));
    // Onto another RAM page: that page is freed.
    xen.add_to_physmap(DomId::SELF, MapSpace::Gmfn, 0x7000, Gfn(0x101)).unwrap();
    assert_eq!(r.tot(r.domu), 63);
    // A range: moves 4 pages; size 0 does nothing and succeeds.
    xen.add_to_physmap_range(DomId::SELF, Gfn(0x110), Gfn(0x7100), 4).unwrap();
    assert!(r.sim.physmap(r.domu).contains(&PhysmapRange {
        first_gfn: Gfn(0x7100),
        count: 4,
        kind: EntryKind::Ram
    }));
    xen.add_to_physmap_range(DomId::SELF, Gfn(0x110), Gfn(0x7100), 0).unwrap();
    // A range stops at the first page that fails; pages before it stay moved.
    assert_eq!(xen.add_to_physmap_range(DomId::SELF, Gfn(0x13e), Gfn(0x7200), 4), xe(XenError::Inval));
    assert_eq!(kind_at(&r, r.domu, 0x7201), Some(EntryKind::Ram));
    assert_eq!(kind_at(&r, r.domu, 0x7202), None);
    // xenmem_add_to_physmap: `xatp->gpfn + xatp->size < xatp->gpfn` → -EOVERFLOW.
    assert_eq!(
        xen.add_to_physmap_range(DomId::SELF, Gfn(0x120), Gfn(u64::MAX - 1), 4),
        xe(XenError::Overflow)
    );
    assert_eq!(
        xen.add_to_physmap_range(DomId::SELF, Gfn(u64::MAX - 2), Gfn(0x10), 4),
        xe(XenError::Overflow)
    );
    r.ok();

    let a = Rig::arm();
    let xen = a.xen(a.domu);
    // Arm xenmem_add_to_physmap_one: `default: return -ENOSYS` (gmfn, and gmfn_range pages).
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::Gmfn, 0x100, Gfn(0x7000)), xe(XenError::NoSys));
    assert_eq!(xen.add_to_physmap_range(DomId::SELF, Gfn(0x100), Gfn(0x7000), 2), xe(XenError::NoSys));
    // The range loop never runs for size 0: 0.
    assert_eq!(xen.add_to_physmap_range(DomId::SELF, Gfn(0x100), Gfn(0x7000), 0), Ok(()));
    a.ok();
}

#[test]
fn add_to_physmap_refusals_in_xens_order() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    let raw = |domid: u16, space: u32, gpfn: u64| {
        xen.add_to_physmap_raw(XenAddToPhysmap { domid, size: 0, space, idx: 0, gpfn })
    };
    // do_memory_op: gmfn_foreign → -ENOSYS before the domain lookup.
    assert_eq!(raw(99, 4, 0x10), xe(XenError::NoSys));
    // rcu_lock_domain_by_any_id → -ESRCH.
    assert_eq!(raw(99, 0, 0x10), xe(XenError::Srch));
    // xatp_permission_check: XSM_TARGET → -EPERM (before the INVALID_GFN check).
    assert_eq!(raw(r.dom0.0, 0, u64::MAX), xe(XenError::Perm));
    // dev_mmio by a non-hardware domain → -EACCES.
    assert_eq!(raw(0x7ff0, 5, 0x10), xe(XenError::Acces));
    // xenmem_add_to_physmap: INVALID_GFN → -EINVAL.
    assert_eq!(raw(0x7ff0, 0, u64::MAX), xe(XenError::Inval));
    // An unknown space: x86 leaves the MFN invalid → -EINVAL.
    assert_eq!(raw(0x7ff0, 9, 0x10), xe(XenError::Inval));
    // dev_mmio by the hardware domain onto itself passes the check; x86 has no dev_mmio
    // case → -EINVAL. Onto another domain → -EACCES.
    let dom0 = r.xen(r.dom0);
    assert_eq!(
        dom0.add_to_physmap_raw(XenAddToPhysmap {
            domid: 0x7ff0,
            size: 0,
            space: 5,
            idx: 0x1_0000_0000,
            gpfn: 0x10
        }),
        xe(XenError::Inval)
    );
    assert_eq!(
        dom0.add_to_physmap_raw(XenAddToPhysmap { domid: r.domu.0, size: 0, space: 5, idx: 0, gpfn: 0x10 }),
        xe(XenError::Acces)
    );
    // A GFN beyond the P2M: p2m_set_entry's walk fails (-ENOENT on x86's page-table P2M).
    assert_eq!(xen.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(1 << 36)), xe(XenError::NoEnt));
    r.ok();

    // A PV target is not translated → -EACCES, for any space.
    let pv = Rig::with(MachineConfig::x86_64(1 << 14).with_xen(Release::Xen4_17), DomainKind::Pv);
    assert_eq!(
        pv.xen(pv.dom0).add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x10)),
        xe(XenError::Acces)
    );
    assert_eq!(pv.xen(pv.dom0).remove_from_physmap(DomId::SELF, Gfn(0x10)), xe(XenError::Acces));
}

#[test]
fn x86_refuses_to_displace_mmio_and_foreign_entries() {
    let r = Rig::x86();
    let dom0 = r.xen(r.dom0);
    r.sim.map_mmio(r.domu, Gfn(0x9000), Mfn(1 << 40)).unwrap();
    // xenmem_add_to_physmap_one: `if ( p2mt == p2m_mmio_direct ) rc = -EPERM`.
    assert_eq!(dom0.add_to_physmap(r.domu, MapSpace::SharedInfo, 0, Gfn(0x9000)), xe(XenError::Perm));
    // A foreign entry in the way: guest_remove_page finds a page that is not dom0's → -ENXIO.
    let mut errs = [EntryStatus::NOT_DONE];
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x100)], &[Gfn(0x90000)], &mut errs).unwrap();
    assert_eq!(dom0.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x90000)), xe(XenError::NxIo));
    // populate over the MMIO entry: p2m_add_page finds a special entry → domain_crash(d),
    // -EPERM, seen as a count of 0.
    assert_eq!(dom0.populate_physmap(r.domu, 0, MemFlags::empty(), &mut [Gfn(0x9000)]), Ok(0));
    assert!(r.sim.domain_info(r.domu).unwrap().crashed());
    // The crashed domain's vCPUs no longer run: its hypercalls never reach Xen.
    assert!(r.xen(r.domu).current_reservation(DomId::SELF).is_err());
    r.ok();
}

#[test]
fn arm_replaces_whatever_populate_lands_on() {
    // Into a domain that is not mapped 1:1 (Arm's dom0 is: see arm_dom0_is_direct_mapped): a
    // device model of the domU, which may foreign-map the domU's pages (XSM_TARGET through
    // d->target).
    let r = Rig::arm();
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let mut errs = [EntryStatus::NOT_DONE];
    r.xen(dm).map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x100)], &[Gfn(0x90000)], &mut errs).unwrap();
    assert_eq!(errs[0], EntryStatus::OK);
    assert_eq!(r.xen(r.domu).decrease_reservation(DomId::SELF, 0, &[Gfn(0x100)]), Ok(1));
    assert_eq!(r.tot(r.domu), 64, "held by the foreign entry");
    // Arm p2m_set_entry replaces the foreign entry; p2m_put_l3_page drops its reference,
    // which was the last: the domU's page is freed.
    let dom0 = r.xen(r.dom0);
    assert_eq!(dom0.populate_physmap(dm, 0, MemFlags::empty(), &mut [Gfn(0x90000)]), Ok(1));
    assert_eq!(r.tot(r.domu), 63);
    assert_eq!(kind_at(&r, dm, 0x90000), Some(EntryKind::Ram));
    // Over RAM: the old page stays allocated, unmapped.
    let before = r.tot(dm);
    assert_eq!(dom0.populate_physmap(dm, 0, MemFlags::empty(), &mut [Gfn(0x90000)]), Ok(1));
    assert_eq!(r.tot(dm), before + 1);
    r.ok();
}

#[test]
fn arm_dom0_is_direct_mapped() {
    // Xen builds Arm's dom0 with CDF_directmap: its RAM sits at MFN == GFN; populate_physmap
    // allocates nothing for it and maps back only frames that are still its own;
    // guest_remove_page keeps the allocation reference (real Xen 4.17, arm64 golden
    // `arm.directmap`: decrease n=1 with the count unchanged, a hole n=0, the same GFN n=1
    // with its bytes).
    let r = Rig::arm();
    r.sim.populate_ram(r.dom0, Gfn(0x8000), 16).unwrap();
    assert_eq!(r.sim.translate(r.dom0, Gfn(0x8004)), Some(Mfn(0x8004)));
    let dom0 = r.xen(r.dom0);
    r.sim.write_gfn(r.dom0, Gfn(0x8004), 0, &[0xab; 4]).unwrap();
    let before = r.tot(r.dom0);
    assert_eq!(dom0.decrease_reservation(DomId::SELF, 0, &[Gfn(0x8004)]), Ok(1));
    assert_eq!(r.tot(r.dom0), before, "the page stays dom0's");
    assert_eq!(kind_at(&r, r.dom0, 0x8004), None);
    assert_eq!(dom0.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(0x9000)]), Ok(0));
    assert_eq!(dom0.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(0x8004)]), Ok(1));
    assert_eq!(r.tot(r.dom0), before);
    let mut b = [0u8; 4];
    r.sim.read_gfn(r.dom0, Gfn(0x8004), 0, &mut b).unwrap();
    assert_eq!(b, [0xab; 4], "the same frame came back");
    // Over a foreign entry at a GFN whose frame is not dom0's: nothing happens.
    let mut errs = [EntryStatus::NOT_DONE];
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x100)], &[Gfn(0x9100)], &mut errs).unwrap();
    assert_eq!(dom0.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut [Gfn(0x9100)]), Ok(0));
    assert!(matches!(kind_at(&r, r.dom0, 0x9100), Some(EntryKind::Foreign { .. })));
    r.ok();
}

#[test]
fn arm_dev_mmio() {
    let r = Rig::arm();
    let dom0 = r.xen(r.dom0);
    let dev = r.sim.config().mmio[0].first_mfn;
    dom0.add_to_physmap(DomId::SELF, MapSpace::DevMmio, dev, Gfn(0x9000)).unwrap();
    assert_eq!(kind_at(&r, r.dom0, 0x9000), Some(EntryKind::Mmio { mfn: Mfn(dev) }));
    // map_dev_mmio_page: without iomem permission it returns 0 and maps nothing.
    dom0.add_to_physmap(DomId::SELF, MapSpace::DevMmio, 5, Gfn(0x9001)).unwrap();
    assert_eq!(kind_at(&r, r.dom0, 0x9001), None);
    // Not the hardware domain, or not onto itself → -EACCES (xatp_permission_check).
    assert_eq!(
        r.xen(r.domu).add_to_physmap(DomId::SELF, MapSpace::DevMmio, dev, Gfn(1)),
        xe(XenError::Acces)
    );
    assert_eq!(dom0.add_to_physmap(r.domu, MapSpace::DevMmio, dev, Gfn(1)), xe(XenError::Acces));
    // remove_from_physmap: MMIO is not a page get_page_from_gfn returns → -ENOENT.
    assert_eq!(dom0.remove_from_physmap(DomId::SELF, Gfn(0x9000)), xe(XenError::NoEnt));
    // decrease_reservation: Arm guest_remove_page, the MFN is not RAM → -EINVAL → 0.
    assert_eq!(dom0.decrease_reservation(DomId::SELF, 0, &[Gfn(0x9000)]), Ok(0));
    // Beyond Arm's 40-bit IPA: __p2m_set_entry's root lookup → -EINVAL.
    assert_eq!(dom0.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(1 << 28)), xe(XenError::Inval));
    r.ok();
}

#[test]
fn remove_from_physmap_unmaps_without_freeing() {
    for r in [Rig::x86(), Rig::arm()] {
        let xen = r.xen(r.domu);
        xen.remove_from_physmap(DomId::SELF, Gfn(0x100)).unwrap();
        // Only the mapping goes: the page stays allocated and counted.
        assert_eq!(r.tot(r.domu), 64);
        assert_eq!(kind_at(&r, r.domu, 0x100), None);
        // get_page_from_gfn finds nothing in a hole → -ENOENT.
        assert_eq!(xen.remove_from_physmap(DomId::SELF, Gfn(0x100)), xe(XenError::NoEnt));
        // Lookup and XSM, in do_memory_op's order.
        assert_eq!(xen.remove_from_physmap(DomId(99), Gfn(0x101)), xe(XenError::Srch));
        assert_eq!(xen.remove_from_physmap(r.dom0, Gfn(0x101)), xe(XenError::Perm));
        // The control domain may unmap another's page.
        r.xen(r.dom0).remove_from_physmap(r.domu, Gfn(0x101)).unwrap();
        r.ok();
    }
}

#[test]
fn a_device_model_acts_for_its_target() {
    let r = Rig::x86();
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let xen = r.xen(dm);
    // XSM_TARGET: `src->target == target` passes.
    assert_eq!(xen.current_reservation(r.domu), Ok(64));
    xen.remove_from_physmap(r.domu, Gfn(0x100)).unwrap();
    assert_eq!(xen.populate_physmap(r.domu, 0, MemFlags::empty(), &mut [Gfn(0x100)]), Ok(1));
    // Not the other way round.
    assert_eq!(r.xen(r.domu).current_reservation(dm), xe(XenError::Perm));
    r.ok();
}
