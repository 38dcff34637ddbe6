//! add_to_physmap_batch: per-entry statuses, foreign mappings on x86 and Arm.

use crate::common::{xe, Rig};
use xenmem::abi::{XenAddToPhysmapBatch, DOMID_IO};
use xenmem::{DomId, EntryStatus, Gfn, MapSpace, MemFlags, XenError};
use xenmem_sim::{Arch, DomainConfig, DomainKind, EntryKind, MachineConfig, PhysmapRange, Release};

fn st(e: XenError) -> EntryStatus {
    EntryStatus(-e.errno())
}

#[test]
fn foreign_pages_map_and_read_through() {
    for r in [Rig::x86(), Rig::arm()] {
        let dom0 = r.xen(r.dom0);
        r.sim.write_gfn(r.domu, Gfn(0x101), 8, b"from domU").unwrap();
        let mut errs = [EntryStatus::NOT_DONE; 3];
        dom0.map_foreign_batch(
            DomId::SELF,
            r.domu,
            &[Gfn(0x100), Gfn(0x101), Gfn(0x102)],
            &[Gfn(0x30000), Gfn(0x30001), Gfn(0x30002)],
            &mut errs,
        )
        .unwrap();
        assert_eq!(errs, [EntryStatus::OK; 3]);
        assert!(r.sim.physmap(r.dom0).contains(&PhysmapRange {
            first_gfn: Gfn(0x30000),
            count: 3,
            kind: EntryKind::Foreign { owner: r.domu }
        }));
        let mut b = [0u8; 9];
        r.sim.read_gfn(r.dom0, Gfn(0x30001), 8, &mut b).unwrap();
        assert_eq!(&b, b"from domU");
        // Writes through the mapping land in the domU's page, and survive unmapping and a
        // remap elsewhere (XEN-FACTS: seen on real Xen).
        r.sim.write_gfn(r.dom0, Gfn(0x30002), 0, b"dom0 was here").unwrap();
        dom0.remove_from_physmap(DomId::SELF, Gfn(0x30002)).unwrap();
        dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x102)], &[Gfn(0x40000)], &mut errs[..1]).unwrap();
        let mut c = [0u8; 13];
        r.sim.read_gfn(r.dom0, Gfn(0x40000), 0, &mut c).unwrap();
        assert_eq!(&c, b"dom0 was here");
        r.ok();
    }
}

#[test]
fn entries_fail_alone_and_the_call_returns_zero() {
    let r = Rig::x86();
    let dom0 = r.xen(r.dom0);
    let mut errs = [EntryStatus::NOT_DONE; 3];
    // An unpopulated foreign GFN: get_page_from_gfn fails → -EINVAL in errs[i]; the call
    // still returns 0 (xenmem_add_to_physmap_batch).
    let r1 = dom0.map_foreign_batch(
        DomId::SELF,
        r.domu,
        &[Gfn(0x100), Gfn(0x9999), Gfn(0x101)],
        &[Gfn(0x30000), Gfn(0x30001), Gfn(0x30002)],
        &mut errs,
    );
    assert_eq!(r1, Ok(()));
    assert_eq!(errs, [EntryStatus::OK, st(XenError::Inval), EntryStatus::OK]);
    // x86 p2m_add_foreign: rcu_lock_remote_domain_by_id: unknown and DOMID_SELF → -ESRCH,
    // the caller's own id → -EPERM; the target itself as foreign (via its own id from
    // another caller is impossible here) → see below.
    let mut one = [EntryStatus::NOT_DONE];
    dom0.map_foreign_batch(DomId::SELF, DomId(55), &[Gfn(0x100)], &[Gfn(0x30003)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Srch));
    dom0.map_foreign_batch(DomId::SELF, DomId::SELF, &[Gfn(0x100)], &[Gfn(0x30003)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Srch));
    dom0.map_foreign_batch(DomId::SELF, r.dom0, &[Gfn(0x100)], &[Gfn(0x30003)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Perm));
    // Remapping over an existing foreign entry: guest_remove_page on a page that is not
    // dom0's → -ENXIO.
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x103)], &[Gfn(0x30000)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::NxIo));
    // Mapping a GFN that is itself a foreign entry in the foreign domain: not p2m_is_ram →
    // -EINVAL. (The control domain maps dom0's foreign entry into itself? It may not name
    // itself; use a second hardware-less domain's view: map domU's own shared info instead,
    // which is RAM-typed and allowed.)
    r.xen(r.domu).add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x3000)).unwrap();
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x3000)], &[Gfn(0x30010)], &mut one).unwrap();
    assert_eq!(one[0], EntryStatus::OK);
    assert!(r.sim.physmap(r.dom0).iter().any(|x| x.kind == EntryKind::SharedInfo { owner: r.domu }));
    r.ok();
}

#[test]
fn x86_only_the_hardware_domain_maps_foreign() {
    let r = Rig::x86();
    // A device model of the domU, translated but not the hardware domain.
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let mut one = [EntryStatus::NOT_DONE];
    r.xen(dm).map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x100)], &[Gfn(0x30000)], &mut one).unwrap();
    // p2m_add_foreign: `if ( !arch_acquire_resource_check(tdom) ) return -EPERM`.
    assert_eq!(one[0], st(XenError::Perm));
    r.ok();
}

#[test]
fn arm_foreign_owner_rules() {
    let r = Rig::arm();
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let mut one = [EntryStatus::NOT_DONE];
    // Arm has no hardware-domain restriction: the device model maps its target's page.
    r.xen(dm).map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x100)], &[Gfn(0x30000)], &mut one).unwrap();
    assert_eq!(one[0], EntryStatus::OK);
    // ...but not dom0's: xsm_map_gmfn_foreign(XSM_TARGET, d, od) → -EPERM.
    r.sim.populate_ram(r.dom0, Gfn(0x10), 1).unwrap();
    r.xen(dm).map_foreign_batch(DomId::SELF, r.dom0, &[Gfn(0x10)], &[Gfn(0x30001)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Perm));
    let dom0 = r.xen(r.dom0);
    // get_pg_owner: the caller's own numeric id → NULL → -ESRCH; DOMID_SELF is the caller,
    // which is the target → -EINVAL.
    dom0.map_foreign_batch(DomId::SELF, r.dom0, &[Gfn(0x10)], &[Gfn(0x30002)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Srch));
    dom0.map_foreign_batch(DomId::SELF, DomId::SELF, &[Gfn(0x10)], &[Gfn(0x30002)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Inval));
    // DOMID_IO: Xen 4.17 takes a data abort here (fixed by f795a9c491); the model answers
    // -ESRCH as the fix does.
    dom0.map_foreign_batch(DomId::SELF, DomId(DOMID_IO), &[Gfn(0x10)], &[Gfn(0x30002)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Srch));
    // Arm replaces an existing foreign entry (its reference is dropped).
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x101)], &[Gfn(0x30003)], &mut one).unwrap();
    dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x102)], &[Gfn(0x30003)], &mut one).unwrap();
    assert_eq!(one[0], EntryStatus::OK);
    // A foreign entry of the foreign domain is not RAM → -EINVAL.
    dom0.map_foreign_batch(DomId::SELF, dm, &[Gfn(0x30000)], &[Gfn(0x30004)], &mut one).unwrap();
    assert_eq!(one[0], st(XenError::Inval));
    r.ok();
}

#[test]
fn whole_call_errors() {
    let r = Rig::x86();
    let dom0 = r.xen(r.dom0);
    let mut errs = [EntryStatus::NOT_DONE; 3];
    // gmfn_range → -EOPNOTSUPP (before the domain lookup).
    assert_eq!(
        dom0.add_to_physmap_batch(DomId(99), MapSpace::GmfnRange, DomId(0), &[1], &[Gfn(1)], &mut errs[..1]),
        xe(XenError::OpNotSupp)
    );
    assert_eq!(
        dom0.add_to_physmap_batch(DomId(99), MapSpace::SharedInfo, DomId(0), &[0], &[Gfn(1)], &mut errs[..1]),
        xe(XenError::Srch)
    );
    // INVALID_GFN aborts the call with -EINVAL; earlier entries stay done, later ones were
    // never reached.
    let res = dom0.map_foreign_batch(
        DomId::SELF,
        r.domu,
        &[Gfn(0x100), Gfn(0x101), Gfn(0x102)],
        &[Gfn(0x30000), Gfn::INVALID, Gfn(0x30002)],
        &mut errs,
    );
    assert_eq!(res, xe(XenError::Inval));
    assert_eq!(errs, [EntryStatus::OK, EntryStatus::NOT_DONE, EntryStatus::NOT_DONE]);
    // An empty batch is one call of size 0: `size == extent` with extent 0 → 0, after the
    // domain and permission checks.
    assert_eq!(
        dom0.add_to_physmap_batch(DomId::SELF, MapSpace::GmfnForeign, r.domu, &[], &[], &mut []),
        Ok(())
    );
    assert_eq!(
        r.xen(r.domu).add_to_physmap_batch(r.dom0, MapSpace::GmfnForeign, r.domu, &[], &[], &mut []),
        xe(XenError::Perm)
    );
    // Spaces other than foreign go through xenmem_add_to_physmap_one too.
    dom0.add_to_physmap_batch(
        DomId::SELF,
        MapSpace::SharedInfo,
        DomId(0),
        &[0, 1],
        &[Gfn(0x3000), Gfn(0x3001)],
        &mut errs[..2],
    )
    .unwrap();
    assert_eq!(&errs[..2], &[EntryStatus::OK, st(XenError::Inval)]);
    r.ok();

    // Arm dev_mmio with a non-zero res0 → -EOPNOTSUPP.
    let a = Rig::arm();
    let dev = a.sim.config().mmio[0].first_mfn;
    assert_eq!(
        a.xen(a.dom0).add_to_physmap_batch(
            DomId::SELF,
            MapSpace::DevMmio,
            DomId(1),
            &[dev],
            &[Gfn(0x9000)],
            &mut errs[..1]
        ),
        xe(XenError::OpNotSupp)
    );
    a.xen(a.dom0)
        .add_to_physmap_batch(
            DomId::SELF,
            MapSpace::DevMmio,
            DomId(0),
            &[dev],
            &[Gfn(0x9000)],
            &mut errs[..1],
        )
        .unwrap();
    assert_eq!(errs[0], EntryStatus::OK);
    // Arm gmfn in a batch: -ENOSYS per entry.
    a.xen(a.dom0)
        .add_to_physmap_batch(DomId::SELF, MapSpace::Gmfn, DomId(0), &[0x10], &[Gfn(0x9001)], &mut errs[..1])
        .unwrap();
    assert_eq!(errs[0], st(XenError::NoSys));
    a.ok();
    let _ = XenAddToPhysmapBatch::default();
}

#[test]
fn pv_foreign_pages_are_named_by_mfn() {
    // get_page_from_gfn on a non-translated domain treats the GFN as an MFN.
    let r = Rig::x86();
    let pv = r.sim.create_domain(DomainConfig::domu(DomainKind::Pv)).unwrap();
    let mut g = [Gfn(0x10)];
    assert_eq!(r.xen(r.dom0).populate_physmap(pv, 0, MemFlags::empty(), &mut g), Ok(1));
    let mfn = g[0];
    let mut one = [EntryStatus::NOT_DONE];
    r.xen(r.dom0).map_foreign_batch(DomId::SELF, pv, &[mfn], &[Gfn(0x30000)], &mut one).unwrap();
    assert_eq!(one[0], EntryStatus::OK);
    r.xen(r.dom0).map_foreign_batch(DomId::SELF, pv, &[Gfn(0x10)], &[Gfn(0x30001)], &mut one).unwrap();
    assert_ne!(one[0], EntryStatus::OK);
    r.ok();
}

#[test]
fn machines_of_both_arches_agree_on_the_basics() {
    for arch in [Arch::X86_64, Arch::Arm64] {
        let r = Rig::with(MachineConfig::new(arch, 1 << 15).with_xen(Release::Xen4_17), DomainKind::Pvh);
        let mut errs = [EntryStatus::NOT_DONE; 2];
        r.xen(r.dom0)
            .map_foreign_batch(
                DomId::SELF,
                r.domu,
                &[Gfn(0x100), Gfn(0x200)],
                &[Gfn(0x30000), Gfn(0x30001)],
                &mut errs,
            )
            .unwrap();
        // XEN-FACTS (seen on real Xen): an unpopulated foreign GFN gives errs[i] = -22.
        assert_eq!(errs, [EntryStatus::OK, EntryStatus(-22)]);
        r.ok();
    }
}
