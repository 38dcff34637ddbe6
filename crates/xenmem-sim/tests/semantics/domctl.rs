//! domctl: making, sizing, inspecting and destroying a second domain.

use crate::common::{xe, Rig};
use xenmem::abi::domctl::*;
use xenmem::domctl::pvh_domu;
use xenmem::{DomId, EntryStatus, Gfn, MemFlags, XenError};
use xenmem_sim::{DomainConfig, DomainKind};

fn info_flags(i: &DomctlGetDomainInfo) -> u32 {
    i.flags
}

#[test]
fn create_size_populate_destroy() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    // createdomain with domain 0: the rover hands out the next free id after the last.
    let u = xen.create_domain(DomId(0), &pvh_domu(1, 32)).unwrap();
    assert_eq!(u, DomId(2));
    // A new domain: max_pages 0 (domain_create leaves it zero), paused by the controller
    // (controller_pause_count = 1), HVM with HAP (getdomaininfo / arch_get_domain_info).
    let i = xen.domain_info(u).unwrap();
    assert_eq!((i.domain, i.tot_pages, i.max_pages), (2, 0, 0));
    assert_eq!(info_flags(&i), XEN_DOMINF_HVM_GUEST | XEN_DOMINF_PAUSED | XEN_DOMINF_HAP);
    // No vCPU yet: max_vcpu_id XEN_INVALID_MAX_VCPU_ID.
    assert_eq!(i.max_vcpu_id, u32::MAX);
    // Nothing can be populated before max_mem (assign_pages: over-allocation).
    assert_eq!(xen.populate_physmap(u, 0, MemFlags::empty(), &mut [Gfn(0x100)]), Ok(0));
    // max_vcpus must equal the createdomain value.
    assert_eq!(xen.set_max_vcpus(u, 2), xe(XenError::Inval));
    xen.set_max_vcpus(u, 1).unwrap();
    assert_eq!(xen.domain_info(u).unwrap().max_vcpu_id, 0);
    // max_mem: max_memkb >> (PAGE_SHIFT - 10).
    xen.set_max_mem(u, 4096).unwrap();
    assert_eq!(xen.domain_info(u).unwrap().max_pages, 1024);
    let mut g = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
    assert_eq!(xen.populate_physmap(u, 0, MemFlags::empty(), &mut g), Ok(4));
    assert_eq!(xen.domain_info(u).unwrap().tot_pages, 4);
    // The grant table has max_grant_frames from the createdomain args.
    assert_eq!(xen.acquire_resource_size(u, xenmem::ResourceType::GrantTable, 0), Ok(32));
    // unpause: the controller's pause goes; a second one has nothing to undo → -EINVAL.
    xen.unpause_domain(u).unwrap();
    assert_eq!(info_flags(&xen.domain_info(u).unwrap()) & XEN_DOMINF_PAUSED, 0);
    assert_eq!(xen.unpause_domain(u), xe(XenError::Inval));
    // Destroy while dom0 maps one of its pages: the domain stays, dying, until the mapping
    // goes (free_domheap_pages drops the domain reference with the last page).
    let mut errs = [EntryStatus::NOT_DONE];
    xen.map_foreign_batch(DomId::SELF, u, &[Gfn(0x101)], &[Gfn(0x30000)], &mut errs).unwrap();
    assert_eq!(errs[0], EntryStatus::OK);
    xen.destroy_domain(u).unwrap();
    let i = xen.domain_info(u).unwrap();
    assert_eq!(i.domain, u.0);
    assert_ne!(info_flags(&i) & XEN_DOMINF_DYING, 0);
    assert_eq!(i.tot_pages, 1);
    r.ok();
    // Its id is still taken: createdomain for it → -EEXIST.
    assert_eq!(xen.create_domain(u, &pvh_domu(1, 32)), xe(XenError::Exist));
    xen.remove_from_physmap(DomId::SELF, Gfn(0x30000)).unwrap();
    // Gone: getdomaininfo(u) finds no domain at or above it.
    assert_eq!(xen.domain_info(u), xe(XenError::Srch));
    assert!(r.sim.domain_info(u).is_none());
    r.ok();
}

#[test]
fn getdomaininfo_finds_the_next_domain() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    // for_each_domain: the first with an id >= the one asked.
    let i = xen.domain_info(DomId(1)).unwrap();
    assert_eq!(i.domain, r.domu.0);
    assert_eq!(i.tot_pages, 64);
    let i0 = xen.domain_info(DomId(0)).unwrap();
    assert_eq!(i0.domain, 0);
    // A reserved id (DOMID_SELF included: rcu_lock_domain_by_id does not know it) → -EINVAL.
    assert_eq!(xen.domain_info(DomId::SELF), xe(XenError::Inval));
    assert_eq!(xen.domain_info(DomId(500)), xe(XenError::Srch));
    // XSM_XS_PRIV: an unprivileged domain may not even look at itself...
    assert_eq!(r.xen(r.domu).domain_info(r.domu), xe(XenError::Perm));
    // ...but a device model may look at its target.
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    assert_eq!(r.xen(dm).domain_info(r.domu).map(|i| i.domain), Ok(r.domu.0));
}

#[test]
fn only_the_control_domain_may_use_domctl() {
    let r = Rig::x86();
    let xen = r.xen(r.domu);
    // xsm_domctl → XSM_PRIV → -EPERM.
    assert_eq!(xen.create_domain(DomId(0), &pvh_domu(1, 32)), xe(XenError::Perm));
    assert_eq!(xen.set_max_mem(r.domu, 1 << 20), xe(XenError::Perm));
    // The domain lookup comes first for everything but createdomain and getdomaininfo.
    assert_eq!(xen.destroy_domain(DomId(300)), xe(XenError::Srch));
    assert_eq!(xen.destroy_domain(r.dom0), xe(XenError::Perm));
    // domain_kill refuses the caller's own domain.
    assert_eq!(r.xen(r.dom0).destroy_domain(r.dom0), xe(XenError::Inval));
}

#[test]
fn interface_version_is_checked_first() {
    let r = Rig::x86();
    // do_domctl: `op->interface_version != XEN_DOMCTL_INTERFACE_VERSION` → -EACCES, before
    // any permission check (the unprivileged domU would get -EPERM after it). The library
    // always sends the right one, so the wrong ones go in raw.
    let mut mem = xenmem_sim::ArenaMemory::new(0x10_0000, 0x1000);
    for (iv, want) in [(0x14, -13), (0x16, -13), (0x17, -13), (0x15, -1)] {
        let mut op = XenDomctl::new(XEN_DOMCTL_PAUSEDOMAIN, 0);
        op.interface_version = iv;
        mem.put(0x10_0000, &op).unwrap();
        let rc = r.sim.hypercall(r.domu, &mut mem, xenmem::abi::HYPERVISOR_DOMCTL, [0x10_0000, 0, 0, 0, 0]);
        assert_eq!(rc, want, "interface version {iv:#x}");
    }
    // An unknown command from the control domain: the model does not implement it.
    let mut op = XenDomctl::new(99, 0);
    // SAFETY: as above; the model reads the 144-byte struct alone.
    assert_eq!(unsafe { r.xen(r.dom0).domctl(&mut op) }, xe(XenError::NoSys));
}

#[test]
fn createdomain_checks() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let base = pvh_domu(1, 32);
    let bad = |c: DomctlCreateDomain| xen.create_domain(DomId(0), &c);
    // sanitise_domain_config: unknown flags, grant options, no vCPU, HAP without HVM.
    assert_eq!(bad(DomctlCreateDomain { flags: 1 << 9, ..base }), xe(XenError::Inval));
    assert_eq!(bad(DomctlCreateDomain { grant_opts: 0x11, ..base }), xe(XenError::Inval));
    assert_eq!(bad(DomctlCreateDomain { max_vcpus: 0, ..base }), xe(XenError::Inval));
    assert_eq!(
        bad(DomctlCreateDomain { flags: XEN_DOMCTL_CDF_HAP, arch_emulation_flags: 0, ..base }),
        xe(XenError::Inval)
    );
    // arch_sanitise_domain_config: more than HVM_MAX_VCPUS (128).
    assert_eq!(bad(DomctlCreateDomain { max_vcpus: 129, ..base }), xe(XenError::Inval));
    // arch_domain_create: emulation flags not allowed for an HVM domU → -EOPNOTSUPP.
    assert_eq!(bad(DomctlCreateDomain { arch_emulation_flags: 3, ..base }), xe(XenError::OpNotSupp));
    // HVM without HAP and no shadow paging in the build: shadow_domain_init → -EOPNOTSUPP.
    assert_eq!(bad(DomctlCreateDomain { flags: XEN_DOMCTL_CDF_HVM, ..base }), xe(XenError::OpNotSupp));
    // grant_table_init: version 0 (XEN-FACTS: grant_opts 0 gives -EINVAL on real Xen), above
    // the build's maximum, frames above gnttab_max_frames (64).
    assert_eq!(bad(DomctlCreateDomain { grant_opts: 0, ..base }), xe(XenError::Inval));
    assert_eq!(bad(DomctlCreateDomain { grant_opts: 3, ..base }), xe(XenError::Inval));
    assert_eq!(bad(DomctlCreateDomain { max_grant_frames: 65, ..base }), xe(XenError::Inval));
    assert_eq!(bad(DomctlCreateDomain { max_grant_frames: 0, ..base }), xe(XenError::Inval));
    // -1 means Xen's default (64).
    let d = bad(DomctlCreateDomain { max_grant_frames: -1, ..base }).unwrap();
    assert_eq!(xen.acquire_resource_size(d, xenmem::ResourceType::GrantTable, 0), Ok(64));
    // A PV domU: no HVM, no emulation flags.
    let pv = bad(DomctlCreateDomain { flags: 0, arch_emulation_flags: 0, ..base }).unwrap();
    assert_eq!(info_flags(&xen.domain_info(pv).unwrap()), XEN_DOMINF_PAUSED);
    // An id asked for and taken → -EEXIST.
    assert_eq!(xen.create_domain(r.domu, &base), xe(XenError::Exist));
    assert_eq!(xen.create_domain(DomId(40), &base), Ok(DomId(40)));
    r.ok();
}

#[test]
fn arm_createdomain() {
    let r = Rig::arm();
    let xen = r.xen(r.dom0);
    let base = DomctlCreateDomain { arch_emulation_flags: 0, ..pvh_domu(1, 16) };
    let u = xen.create_domain(DomId(0), &base).unwrap();
    assert_eq!(xen.acquire_resource_size(u, xenmem::ResourceType::GrantTable, 0), Ok(16));
    // Arm requires exactly HVM | HAP (plus optional IOMMU/vPMU).
    assert_eq!(
        xen.create_domain(DomId(0), &DomctlCreateDomain { flags: XEN_DOMCTL_CDF_HVM, ..base }),
        xe(XenError::Inval)
    );
    // GNTTAB_MAX_VERSION is 1 on Arm.
    assert_eq!(
        xen.create_domain(DomId(0), &DomctlCreateDomain { grant_opts: 2, ..base }),
        xe(XenError::Inval)
    );
    r.ok();
}

#[test]
fn pause_and_unpause_count() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let pause = |d: DomId| {
        let mut op = XenDomctl::new(XEN_DOMCTL_PAUSEDOMAIN, d.0);
        // SAFETY: pausedomain's body holds no guest handles.
        unsafe { xen.domctl(&mut op) }
    };
    // A host-built domain runs: not paused.
    assert_eq!(info_flags(&xen.domain_info(r.domu).unwrap()) & XEN_DOMINF_PAUSED, 0);
    pause(r.domu).unwrap();
    pause(r.domu).unwrap();
    assert_ne!(info_flags(&xen.domain_info(r.domu).unwrap()) & XEN_DOMINF_PAUSED, 0);
    xen.unpause_domain(r.domu).unwrap();
    assert_ne!(info_flags(&xen.domain_info(r.domu).unwrap()) & XEN_DOMINF_PAUSED, 0);
    xen.unpause_domain(r.domu).unwrap();
    assert_eq!(info_flags(&xen.domain_info(r.domu).unwrap()) & XEN_DOMINF_PAUSED, 0);
    // pausedomain on oneself → -EINVAL ("no domain_pause()").
    assert_eq!(pause(r.dom0), xe(XenError::Inval));
    // _domain_pause_by_systemcontroller caps the count at 255 → -EOVERFLOW.
    for _ in 0..255 {
        pause(r.domu).unwrap();
    }
    assert_eq!(pause(r.domu), xe(XenError::Overflow));
}
