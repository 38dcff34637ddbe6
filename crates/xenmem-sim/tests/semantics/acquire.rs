//! acquire_resource: sizes, grant tables, ioreq servers, and the checks before them.

use crate::common::{xe, Rig};
use xenmem::{DomId, Error, Gfn, GrantTableId, Invalid, MemFlags, Mfn, ResourceType, XenError};
use xenmem_sim::{DomainConfig, DomainKind, EntryKind, MachineConfig, PhysmapRange, Release};

const SHARED: u32 = GrantTableId::Shared as u32;
const STATUS: u32 = GrantTableId::Status as u32;

#[test]
fn sizes() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    // gnttab_resource_max_frames: shared → max_grant_frames (32 for this domU), status →
    // grant_to_status_frames(32) = DIV_ROUND_UP(32 * 256, 2048) = 4. (XEN-FACTS: 32 and 4 on
    // real Xen for a domU created with max_grant_frames 32.)
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::GrantTable, SHARED), Ok(32));
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::GrantTable, STATUS), Ok(4));
    // Any other grant id → 0 → -EINVAL.
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::GrantTable, 2), xe(XenError::Inval));
    // vmtrace: d->vmtrace_size >> PAGE_SHIFT = 0 → -EINVAL.
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::VmtraceBuf, 0), xe(XenError::Inval));
    // Xen 4.17's resource_max_frames returns -EOPNOTSUPP as an unsigned int for an unknown
    // type, so the size query succeeds with (u32)-95 (fixed only in 4.18, 9b87082900).
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::Other(7), 0), Ok(4_294_967_201));
    // ...and mapping it fails in _acquire_resource → -EOPNOTSUPP.
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::Other(7), 0, 0, &mut [Gfn(0x50000)]),
        xe(XenError::OpNotSupp)
    );
    // ioreq_server_max_frames: 1 + DIV_ROUND_UP(max_vcpus * sizeof(ioreq_t), PAGE_SIZE) = 2
    // for an HVM domain with one vCPU.
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::IoreqServer, 0), Ok(2));

    // Arm: GNTTAB_MAX_VERSION 1 → no status frames; no CONFIG_IOREQ_SERVER → 0.
    let a = Rig::arm();
    let xen = a.xen(a.dom0);
    assert_eq!(xen.acquire_resource_size(a.domu, ResourceType::GrantTable, SHARED), Ok(32));
    assert_eq!(xen.acquire_resource_size(a.domu, ResourceType::GrantTable, STATUS), xe(XenError::Inval));
    assert_eq!(xen.acquire_resource_size(a.domu, ResourceType::IoreqServer, 0), xe(XenError::Inval));
}

#[test]
fn checks_in_xens_order() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    // rcu_lock_remote_domain_by_id: DOMID_SELF → -ESRCH, own id → -EPERM, unknown → -ESRCH.
    assert_eq!(xen.acquire_resource_size(DomId::SELF, ResourceType::GrantTable, SHARED), xe(XenError::Srch));
    assert_eq!(xen.acquire_resource_size(r.dom0, ResourceType::GrantTable, SHARED), xe(XenError::Perm));
    assert_eq!(xen.acquire_resource_size(DomId(42), ResourceType::GrantTable, SHARED), xe(XenError::Srch));
    // frame >> 32 and (frame + nr_frames) >> 32 → -EINVAL, before the domain lookup.
    let mut l = [Gfn(0x50000); 2];
    assert_eq!(
        xen.acquire_resource(DomId(42), ResourceType::GrantTable, SHARED, 1 << 32, &mut l),
        xe(XenError::Inval)
    );
    assert_eq!(
        xen.acquire_resource(DomId(42), ResourceType::GrantTable, SHARED, u32::MAX as u64, &mut l),
        xe(XenError::Inval)
    );
    // Size query with nr_frames != 0 → -EINVAL.
    assert_eq!(
        xen.acquire_resource_raw(r.domu, ResourceType::GrantTable, SHARED, 0, 3, None),
        xe(XenError::Inval)
    );
    // A mapping with nr_frames 0 (the library refuses an empty list itself; the raw form
    // sends it): start_extent >= nr_frames → -EINVAL.
    assert_eq!(
        xen.acquire_resource_raw(r.domu, ResourceType::GrantTable, SHARED, 0, 0, Some(&mut l)),
        xe(XenError::Inval)
    );
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 0, &mut []),
        Err(Error::Invalid(Invalid::EmptyFrameList))
    );
    // x86 arch_acquire_resource_check: a translated caller other than the hardware domain →
    // -EACCES, before anything else.
    assert_eq!(
        r.xen(r.domu).acquire_resource_size(DomId(42), ResourceType::GrantTable, 0),
        xe(XenError::Acces)
    );

    // Arm has no such check; XSM_DM_PRIV then refuses an unprivileged domU → -EPERM.
    let a = Rig::arm();
    let other = a.sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
    assert_eq!(
        a.xen(a.domu).acquire_resource_size(other, ResourceType::GrantTable, SHARED),
        xe(XenError::Perm)
    );
    // ...but a device model of the target may.
    let dm = a
        .sim
        .create_domain(DomainConfig { target: Some(a.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    assert_eq!(a.xen(dm).acquire_resource_size(a.domu, ResourceType::GrantTable, SHARED), Ok(32));
}

#[test]
fn grant_frames_map_at_the_callers_gfns() {
    for r in [Rig::x86(), Rig::arm()] {
        let xen = r.xen(r.dom0);
        let mut l = [Gfn(0x50000), Gfn(0x50001), Gfn(0x50007)];
        // Frames 4..7: gnttab_acquire_resource grows the table to hold the last one.
        xen.acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 4, &mut l).unwrap();
        assert_eq!(r.sim.domain_info(r.domu).unwrap().grant_frames, 7);
        assert!(r.sim.physmap(r.dom0).contains(&PhysmapRange {
            first_gfn: Gfn(0x50000),
            count: 2,
            kind: EntryKind::GrantShared { owner: r.domu, frame: 4 }
        }));
        // The caller's list is input for a translated caller: unchanged.
        assert_eq!(l, [Gfn(0x50000), Gfn(0x50001), Gfn(0x50007)]);
        // The domU sees what dom0 writes through the mapping once it maps the frame itself.
        r.sim.write_gfn(r.dom0, Gfn(0x50007), 0, b"grant").unwrap();
        r.xen(r.domu).add_to_physmap(DomId::SELF, xenmem::MapSpace::GrantTable, 6, Gfn(0x6000)).unwrap();
        let mut b = [0u8; 5];
        r.sim.read_gfn(r.domu, Gfn(0x6000), 0, &mut b).unwrap();
        assert_eq!(&b, b"grant");
        // Past max_grant_frames: the table cannot grow → -EINVAL.
        assert_eq!(
            xen.acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 31, &mut l[..2]),
            xe(XenError::Inval)
        );
        // Status frames in a v1 table → -EINVAL (gt_version != 2), on x86 where they exist.
        if r.sim.config().arch == xenmem_sim::Arch::X86_64 {
            assert_eq!(
                xen.acquire_resource(r.domu, ResourceType::GrantTable, STATUS, 0, &mut l[..1]),
                xe(XenError::Inval)
            );
            r.sim.set_grant_version(r.domu, 2).unwrap();
            xen.acquire_resource(r.domu, ResourceType::GrantTable, STATUS, 0, &mut [Gfn(0x51000)]).unwrap();
            assert_eq!(
                r.sim.physmap(r.dom0).iter().find(|x| x.first_gfn == Gfn(0x51000)).map(|x| x.kind),
                Some(EntryKind::GrantStatus { owner: r.domu, frame: 0 })
            );
        }
        r.ok();
    }
}

#[test]
fn chunks_of_32_and_eio_after_the_first_frame() {
    let r = Rig::x86();
    let big = r
        .sim
        .create_domain(DomainConfig { max_grant_frames: 64, ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let xen = r.xen(r.dom0);
    let mut l: Vec<Gfn> = (0..40).map(|i| Gfn(0x60000 + i)).collect();
    // 40 frames: two chunks of _acquire_resource (32 + 8).
    xen.acquire_resource(big, ResourceType::GrantTable, SHARED, 0, &mut l).unwrap();
    assert_eq!(r.sim.domain_info(big).unwrap().grant_frames, 40);
    // A failure on frame i > 0 of a chunk: "rc should be -EIO for any iteration other than
    // the first" (acquire_resource). The second GFN is beyond x86's P2M.
    let mut bad = [Gfn(0x70000), Gfn(1 << 36)];
    assert_eq!(xen.acquire_resource(big, ResourceType::GrantTable, SHARED, 0, &mut bad), xe(XenError::Io));
    // The first frame stays mapped ("frame_list partially mapped; caller must unmap").
    assert!(r.sim.translate(r.dom0, Gfn(0x70000)).is_some());
    // On the first frame of a chunk the raw error comes back: -ENOENT from the P2M walk.
    assert_eq!(
        xen.acquire_resource(big, ResourceType::GrantTable, SHARED, 0, &mut [Gfn(1 << 36)]),
        xe(XenError::NoEnt)
    );
    r.ok();
}

#[test]
fn pv_callers_get_mfns() {
    let r = Rig::with(MachineConfig::x86_64(1 << 15).with_xen(Release::Xen4_17), DomainKind::Pv);
    let xen = r.xen(r.dom0);
    let mut l = [Gfn(0); 2];
    // A PV caller passes arch_acquire_resource_check and gets MFNs copied out.
    xen.acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 0, &mut l).unwrap();
    assert!(l.iter().all(|g| g.0 != 0 && g.0 < (1 << 15)));
    assert_ne!(l[0], l[1]);
    let _ = Mfn::from(l[0]);
    r.ok();
}

#[test]
fn ioreq_server_pages() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let s = r.sim.create_ioreq_server(r.domu, r.dom0, true).unwrap();
    // Frame 0 is the buffered page, frame 1 the synchronous one.
    let mut l = [Gfn(0x58000), Gfn(0x58001)];
    xen.acquire_resource(r.domu, ResourceType::IoreqServer, s as u32, 0, &mut l).unwrap();
    assert!(r.sim.physmap(r.dom0).contains(&PhysmapRange {
        first_gfn: Gfn(0x58000),
        count: 2,
        kind: EntryKind::IoreqPage { target: r.domu, server: s, frame: 0 }
    }));
    // The pages are the target's but not counted (MEMF_no_refcount).
    assert_eq!(r.tot(r.domu), 64);
    assert_eq!(r.sim.domain_info(r.domu).unwrap().extra_pages, 2);
    // ioreq_server_get_frame: any frame other than 0 and 1 → -EINVAL (the size says 2 here).
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::IoreqServer, s as u32, 1, &mut l),
        xe(XenError::Inval)
    );
    // No such server → -ENOENT; an id beyond ioservid_t → -EINVAL.
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::IoreqServer, 5, 1, &mut l[..1]),
        xe(XenError::NoEnt)
    );
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::IoreqServer, 1 << 16, 1, &mut l[..1]),
        xe(XenError::Inval)
    );
    // A server without a buffered page: frame 0 → -ENOENT.
    let s2 = r.sim.create_ioreq_server(r.domu, r.dom0, false).unwrap();
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::IoreqServer, s2 as u32, 0, &mut l[..1]),
        xe(XenError::NoEnt)
    );
    // Another emulator's server: `s->emulator != current->domain` → -EPERM.
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let s3 = r.sim.create_ioreq_server(r.domu, dm, true).unwrap();
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::IoreqServer, s3 as u32, 1, &mut l[..1]),
        xe(XenError::Perm)
    );
    // A PV target has none: size 0 → -EINVAL.
    let pv = r.sim.create_domain(DomainConfig::domu(DomainKind::Pv)).unwrap();
    assert_eq!(xen.acquire_resource_size(pv, ResourceType::IoreqServer, 0), xe(XenError::Inval));
    assert!(r.sim.create_ioreq_server(pv, r.dom0, true).is_err());
    r.ok();
    // Unmapping and destroying the target frees everything.
    xen.remove_from_physmap(DomId::SELF, Gfn(0x58000)).unwrap();
    xen.remove_from_physmap(DomId::SELF, Gfn(0x58001)).unwrap();
    xen.destroy_domain(r.domu).unwrap();
    r.ok();
    assert!(r.sim.domain_info(r.domu).is_none());
}

#[test]
fn x86_mapping_over_a_special_entry_crashes_the_caller() {
    let r = Rig::x86();
    let dom0 = r.sim.domains()[0];
    r.sim.map_mmio(dom0, Gfn(0x9000), Mfn(1 << 40)).unwrap();
    // set_typed_p2m_entry: a special entry of another kind → domain_crash(d) and -EPERM,
    // d being the caller (currd).
    assert_eq!(
        r.xen(dom0).acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 0, &mut [Gfn(0x9000)]),
        xe(XenError::Perm)
    );
    assert!(r.sim.domain_info(dom0).unwrap().crashed());
    r.ok();
}

#[test]
fn remapping_the_same_frame_is_a_no_op_on_x86() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    xen.acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 0, &mut [Gfn(0x50000)]).unwrap();
    // set_typed_p2m_entry: an identical special entry is left as it is (no second reference).
    xen.acquire_resource(r.domu, ResourceType::GrantTable, SHARED, 0, &mut [Gfn(0x50000)]).unwrap();
    r.ok();
    let _ = MemFlags::empty();
}
