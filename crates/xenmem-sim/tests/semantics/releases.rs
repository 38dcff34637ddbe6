//! What Xen 4.20 answers differently from 4.17, one test per difference, each run on both
//! releases: the 4.17 expectation from RELEASE-4.17.7's source, the 4.20 one from the commit
//! that changed it (named in `xenmem_sim::releases`). The real 4.20 runs agree
//! (`crates/xenmem-conformance/golden/4.20/`).

use crate::common::{xe, Rig};
use xenmem::abi::domctl::{DomctlCreateDomain, XenDomctl, XEN_DOMCTL_PAUSEDOMAIN};
use xenmem::abi::HYPERVISOR_DOMCTL;
use xenmem::domctl::{arm_domu, pvh_domu};
use xenmem::{
    DomId, EntryStatus, Error, Gfn, Invalid, MapSpace, MemFlags, ResourceType, XenError, XenVersion,
};
use xenmem_sim::{ArenaMemory, DomainConfig, DomainKind, EntryKind, Release};

fn foreign_status(r: &Rig, caller: DomId, target: DomId, foreign: DomId) -> Option<Result<(), XenError>> {
    let mut errs = [EntryStatus::NOT_DONE];
    r.xen(caller).map_foreign_batch(target, foreign, &[Gfn(0x100)], &[Gfn(0x50000)], &mut errs).unwrap();
    errs[0].result()
}

#[test]
fn xen_version_names_the_release() {
    for (release, raw, extra) in [(Release::Xen4_17, 0x4_0011, ".7"), (Release::Xen4_20, 0x4_0014, ".5-pre")]
    {
        let r = Rig::x86_on(release);
        // Every domain may ask (xsm_xen_version allows XENVER_version and extraversion).
        let xen = r.xen(r.domu);
        assert_eq!(xen.xen_version().map(XenVersion::raw), Ok(raw));
        assert_eq!(xen.xen_extraversion().unwrap().as_str(), Some(extra));
    }
}

#[test]
fn domctl_interface_version_per_release() {
    // do_domctl refuses any interface version but its own with -EACCES: 0x15 in 4.17, 0x17
    // in 4.20 (public/domctl.h of each).
    for (release, own) in [(Release::Xen4_17, 0x15), (Release::Xen4_20, 0x17)] {
        let r = Rig::x86_on(release);
        let mut mem = ArenaMemory::new(0x10_0000, 0x1000);
        for iv in [0x15, 0x16, 0x17, 0x18] {
            let mut op = XenDomctl::new(XEN_DOMCTL_PAUSEDOMAIN, r.domu.raw());
            op.interface_version = iv;
            mem.put(0x10_0000, &op).unwrap();
            let rc = r.sim.hypercall(r.dom0, &mut mem, HYPERVISOR_DOMCTL, [0x10_0000, 0, 0, 0, 0]);
            assert_eq!(rc, if iv == own { 0 } else { -13 }, "Xen {release}, interface {iv:#x}");
        }
        // The library asks the version and speaks it: a domain is made on either.
        let xen = r.xen(r.dom0);
        let u = xen.create_domain(DomId(0), &pvh_domu(1, 32)).unwrap();
        assert_eq!(xen.domain_info(u).unwrap().domain, u.raw());
    }
}

#[test]
fn createdomain_altp2m_opts_from_4_19() {
    // 4.20's x86 arch_sanitise_domain_config: unknown altp2m bits, or altp2m without HAP →
    // -EINVAL; altp2m with HAP is accepted.
    let r = Rig::x86_on(Release::Xen4_20);
    let xen = r.xen(r.dom0);
    let with = |altp2m_opts| DomctlCreateDomain { altp2m_opts, ..pvh_domu(1, 32) };
    assert_eq!(xen.create_domain(DomId(0), &with(4)), xe(XenError::Inval));
    let pv = DomctlCreateDomain { flags: 0, arch_emulation_flags: 0, ..with(1) };
    assert_eq!(xen.create_domain(DomId(0), &pv), xe(XenError::Inval));
    assert!(xen.create_domain(DomId(0), &with(1)).is_ok());
    // Arm's: altp2m_opts must be 0.
    let a = Rig::arm_on(Release::Xen4_20);
    let xen = a.xen(a.dom0);
    let arm = DomctlCreateDomain { altp2m_opts: 1, ..arm_domu(1, 32) };
    assert_eq!(xen.create_domain(DomId(0), &arm), xe(XenError::Inval));
    // 4.17 has no room for it: the library refuses before any domctl.
    let old = Rig::x86_on(Release::Xen4_17);
    assert_eq!(
        old.xen(old.dom0).create_domain(DomId(0), &with(1)),
        Err(Error::Invalid(Invalid::CreateDomainField))
    );
}

#[test]
fn acquire_unknown_type() {
    // 9b87082900: resource_max_frames returns 0 for an unknown type (4.17: -EOPNOTSUPP as an
    // unsigned int, so the size query "succeeds").
    for (release, size, map) in [
        (Release::Xen4_17, Ok(4_294_967_201), xe(XenError::OpNotSupp)),
        (Release::Xen4_20, xe(XenError::Inval), xe(XenError::Inval)),
    ] {
        let r = Rig::x86_on(release);
        let xen = r.xen(r.dom0);
        assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::Other(7), 0), size, "Xen {release}");
        assert_eq!(xen.acquire_resource(r.domu, ResourceType::Other(7), 0, 0, &mut [Gfn(0x50000)]), map);
    }
}

#[test]
fn x86_translated_domu_acquire_and_foreign_map() {
    // 845a60b63b: arch_acquire_resource_check admits a PVH domU (no altp2m, no nested virt),
    // so its acquire and gmfn_foreign go to rcu_lock_remote_domain_by_id and XSM. In 4.17 it
    // was refused up front: acquire -EACCES, gmfn_foreign -EPERM (p2m_add_foreign).
    let old = Rig::x86_on(Release::Xen4_17);
    let new = Rig::x86_on(Release::Xen4_20);
    for (r, release) in [(&old, Release::Xen4_17), (&new, Release::Xen4_20)] {
        let xen = r.xen(r.domu);
        let size = |d| xen.acquire_resource_size(d, ResourceType::GrantTable, 0);
        let refused = release == Release::Xen4_17;
        let want = |e| if refused { xe(XenError::Acces) } else { xe(e) };
        assert_eq!(size(DomId::SELF), want(XenError::Srch), "Xen {release}");
        assert_eq!(size(r.domu), want(XenError::Perm));
        assert_eq!(size(r.dom0), want(XenError::Perm)); // XSM_DM_PRIV
        assert_eq!(size(DomId(100)), want(XenError::Srch));
        let f = |foreign| foreign_status(r, r.domu, DomId::SELF, foreign);
        let want = |e| Some(Err(if refused { XenError::Perm } else { e }));
        assert_eq!(f(DomId::SELF), want(XenError::Srch));
        assert_eq!(f(DomId(100)), want(XenError::Srch));
        assert_eq!(f(r.dom0), want(XenError::Perm)); // XSM_TARGET
    }
    // Nested virtualisation keeps the refusal in 4.20.
    let xen = new.xen(new.dom0);
    let nested = DomctlCreateDomain { flags: pvh_domu(1, 32).flags | 1 << 6, ..pvh_domu(1, 32) };
    let d = xen.create_domain(DomId(0), &nested).unwrap();
    assert_eq!(xen.set_max_vcpus(d, 1), Ok(()));
    let mut errs = [EntryStatus::NOT_DONE];
    xen.map_foreign_batch(d, new.domu, &[Gfn(0x100)], &[Gfn(0x50000)], &mut errs).unwrap();
    assert_eq!(errs[0].result(), Some(Err(XenError::Perm)));
}

#[test]
fn x86_gmfn_source_types() {
    // 219510a9d6: a gmfn source that is not read/write RAM is -EACCES (a hole here); 4.17
    // found no page of the domain's there: -EINVAL. RAM still moves on both.
    for (release, hole) in [(Release::Xen4_17, XenError::Inval), (Release::Xen4_20, XenError::Acces)] {
        let r = Rig::x86_on(release);
        let xen = r.xen(r.domu);
        assert_eq!(
            xen.add_to_physmap(DomId::SELF, MapSpace::Gmfn, 0x9000, Gfn(0x9100)),
            xe(hole),
            "{release}"
        );
        assert_eq!(xen.add_to_physmap_range(DomId::SELF, Gfn(0x13f), Gfn(0x9200), 2), xe(hole));
        // ...after moving the first page of the range (0x13f is RAM, 0x140 a hole).
        assert_eq!(
            r.sim.physmap(r.domu).iter().find(|p| p.first_gfn == Gfn(0x9200)).map(|p| p.count),
            Some(1)
        );
        let mut errs = [EntryStatus::NOT_DONE; 2];
        xen.add_to_physmap_batch(
            DomId::SELF,
            MapSpace::Gmfn,
            DomId(0),
            &[0x100, 0x9000],
            &[Gfn(0x9300), Gfn(0x9301)],
            &mut errs,
        )
        .unwrap();
        assert_eq!([errs[0].result(), errs[1].result()], [Some(Ok(())), Some(Err(hole))]);
        // A foreign entry as the source (dom0 maps a domU page, then moves it).
        let dom0 = r.xen(r.dom0);
        let mut errs = [EntryStatus::NOT_DONE];
        dom0.map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x101)], &[Gfn(0x50000)], &mut errs).unwrap();
        assert!(errs[0].is_ok());
        let foreign = if release == Release::Xen4_17 { XenError::Inval } else { XenError::Acces };
        assert_eq!(dom0.add_to_physmap(DomId::SELF, MapSpace::Gmfn, 0x50000, Gfn(0x50001)), xe(foreign));
        r.ok();
    }
}

#[test]
fn gmfn_range_overlapping_upwards() {
    // 04747ce00c: a range whose destination overlaps the source from above is done last page
    // first. Four pages at 0x100..0x104 moved up by one (over the RAM page at 0x104, which
    // goes: guest_remove_page): 4.20 shifts all four; 4.17 went forwards, each move freeing
    // the page it landed on and moving the first page again, so that page ends at 0x104 and
    // the other three are gone too.
    for release in Release::ALL {
        let r = Rig::x86_on(release);
        let mfn = |g| r.sim.translate(r.domu, Gfn(g));
        let before: Vec<_> = (0x100..0x104).map(mfn).collect();
        let tot = r.tot(r.domu);
        r.xen(r.domu).add_to_physmap_range(DomId::SELF, Gfn(0x100), Gfn(0x101), 4).unwrap();
        assert_eq!(mfn(0x100), None, "{release}");
        if release == Release::Xen4_20 {
            assert_eq!((0x101..0x105).map(mfn).collect::<Vec<_>>(), before);
            assert_eq!(r.tot(r.domu), tot - 1);
        } else {
            assert_eq!(mfn(0x104), before[0]);
            assert_eq!((0x101..0x104).map(mfn).collect::<Vec<_>>(), [None, None, None]);
            assert_eq!(r.tot(r.domu), tot - 4);
        }
        // Downwards overlap goes forwards on both: all four shift.
        let before: Vec<_> = (0x110..0x114).map(mfn).collect();
        r.xen(r.domu).add_to_physmap_range(DomId::SELF, Gfn(0x110), Gfn(0x10f), 4).unwrap();
        assert_eq!((0x10f..0x113).map(mfn).collect::<Vec<_>>(), before);
        r.ok();
    }
}

#[test]
fn arm_foreign_owner_lookup() {
    // 35b75699a1: Arm looks the foreign owner up as x86 does (rcu_lock_remote_domain_by_id);
    // 4.17's get_pg_owner took DOMID_SELF as the caller (then the target itself: -EINVAL) and
    // refused the caller's own id with -ESRCH.
    for (release, by_self, own) in [
        (Release::Xen4_17, XenError::Inval, XenError::Srch),
        (Release::Xen4_20, XenError::Srch, XenError::Perm),
    ] {
        let r = Rig::arm_on(release);
        assert_eq!(foreign_status(&r, r.dom0, DomId::SELF, DomId::SELF), Some(Err(by_self)), "{release}");
        assert_eq!(foreign_status(&r, r.dom0, DomId::SELF, r.dom0), Some(Err(own)));
        assert_eq!(foreign_status(&r, r.dom0, DomId::SELF, DomId(100)), Some(Err(XenError::Srch)));
        // Mapping into the domU a page of dom0's, named by its id, from dom0.
        assert_eq!(foreign_status(&r, r.dom0, r.domu, r.dom0), Some(Err(own)));
        // DOMID_IO: a data abort in 4.17 (the model answers -ESRCH); -ESRCH in 4.20.
        assert_eq!(foreign_status(&r, r.dom0, DomId::SELF, DomId(0x7ff1)), Some(Err(XenError::Srch)));
        assert_eq!(foreign_status(&r, r.dom0, DomId::SELF, r.domu), Some(Ok(())));
    }
}

#[test]
fn arm_p2m_pool_of_a_created_domain() {
    // 9c962e07fb (4.18): p2m_init no longer sets aside 16 pages, so a domain made by
    // createdomain maps nothing until set_paging_mempool_size; populate allocates the extent
    // (it counts against the domain) and then fails to map it: 0 done.
    for release in Release::ALL {
        let r = Rig::arm_on(release);
        let xen = r.xen(r.dom0);
        let d = xen.create_domain(DomId(0), &arm_domu(1, 32)).unwrap();
        xen.set_max_vcpus(d, 1).unwrap();
        xen.set_max_mem(d, 4096).unwrap();
        let n = xen.populate_physmap(d, 0, MemFlags::empty(), &mut [Gfn(0x100)]);
        if release == Release::Xen4_20 {
            assert_eq!(n, Ok(0));
            assert_eq!(r.tot(d), 1);
            assert_eq!(r.sim.physmap(d), []);
            // A Xen heap page cannot be mapped either: the failed table walk of
            // __p2m_set_entry is -ENOENT (so answered by real 4.20 too).
            assert_eq!(xen.add_to_physmap(d, MapSpace::SharedInfo, 0, Gfn(0x8000)), xe(XenError::NoEnt));
            // arch_set_paging_mempool_size: page-sized only.
            assert_eq!(xen.set_paging_mempool_size(d, 4097), xe(XenError::Inval));
            xen.set_paging_mempool_size(d, 4 << 20).unwrap();
            assert_eq!(xen.populate_physmap(d, 0, MemFlags::empty(), &mut [Gfn(0x100)]), Ok(1));
            assert_eq!(r.tot(d), 2);
        } else {
            assert_eq!(n, Ok(1));
        }
        assert_eq!(
            r.sim.physmap(d).first().map(|p| (p.first_gfn, p.kind)),
            Some((Gfn(0x100), EntryKind::Ram))
        );
        // Domains Xen builds itself (dom0, dom0less) have their pool from the start.
        let built = r.sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
        assert_eq!(xen.populate_physmap(built, 0, MemFlags::empty(), &mut [Gfn(0x100)]), Ok(1));
        r.ok();
    }
}
