//! Domains dying while others still hold their pages, and the model's bookkeeping of it.

use crate::common::Rig;
use xenmem::{DomId, EntryStatus, Gfn, MapSpace, MemFlags, ResourceType};
use xenmem_sim::{DomainConfig, DomainKind};

#[test]
fn a_destroyed_domain_lingers_while_mapped() {
    for r in [Rig::x86(), Rig::arm()] {
        let free_before = r.sim.free_frames();
        let dom0 = r.xen(r.dom0);
        let mut errs = [EntryStatus::NOT_DONE; 2];
        dom0.map_foreign_batch(
            DomId::SELF,
            r.domu,
            &[Gfn(0x100), Gfn(0x101)],
            &[Gfn(0x30000), Gfn(0x30001)],
            &mut errs,
        )
        .unwrap();
        r.sim.write_gfn(r.domu, Gfn(0x101), 0, b"keep").unwrap();
        // And one of its grant frames, through acquire_resource.
        dom0.acquire_resource(r.domu, ResourceType::GrantTable, 0, 0, &mut [Gfn(0x31000)]).unwrap();
        r.sim.destroy_domain(r.domu).unwrap();
        // domain_kill → relinquish: every page's allocation reference goes; the two mapped
        // ones and the grant frame stay (their count is not zero), so does the domain.
        let i = r.sim.domain_info(r.domu).unwrap();
        assert!(i.dying);
        assert_eq!(i.tot_pages, 2);
        let mut b = [0u8; 4];
        r.sim.read_gfn(r.dom0, Gfn(0x30001), 0, &mut b).unwrap();
        assert_eq!(&b, b"keep");
        r.ok();
        // A dying domain takes no new pages (assign_pages: `if ( unlikely(d->is_dying) )`).
        assert_eq!(dom0.populate_physmap(r.domu, 0, MemFlags::empty(), &mut [Gfn(0x500)]), Ok(0));
        dom0.remove_from_physmap(DomId::SELF, Gfn(0x30000)).unwrap();
        dom0.remove_from_physmap(DomId::SELF, Gfn(0x30001)).unwrap();
        assert_eq!(r.sim.domain_info(r.domu).unwrap().tot_pages, 0);
        assert!(r.sim.domain_info(r.domu).is_some(), "the grant frame still holds it");
        dom0.remove_from_physmap(DomId::SELF, Gfn(0x31000)).unwrap();
        assert!(r.sim.domain_info(r.domu).is_none());
        // Every frame it had is back in the heap.
        assert_eq!(r.sim.free_frames(), free_before + 64 + 1 + 1);
        r.ok();
    }
}

#[test]
fn a_dying_domain_gives_back_what_it_mapped() {
    let r = Rig::arm();
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let mut errs = [EntryStatus::NOT_DONE];
    r.xen(dm).map_foreign_batch(DomId::SELF, r.domu, &[Gfn(0x100)], &[Gfn(0x30000)], &mut errs).unwrap();
    r.xen(r.domu).decrease_reservation(DomId::SELF, 0, &[Gfn(0x100)]).unwrap();
    assert_eq!(r.sim.domain_info(r.domu).unwrap().tot_pages, 64);
    // The mapper dies: its P2M teardown (relinquish_p2m_mapping on Arm) drops the foreign
    // reference, which frees the domU's page.
    r.sim.destroy_domain(dm).unwrap();
    assert!(r.sim.domain_info(dm).is_none());
    assert_eq!(r.sim.domain_info(r.domu).unwrap().tot_pages, 63);
    r.ok();
    // A dying Arm domain's P2M takes no new entries (p2m_set_entry: -ENOMEM).
    let u2 = r.sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
    let mut errs = [EntryStatus::NOT_DONE];
    r.xen(r.dom0).map_foreign_batch(DomId::SELF, u2, &[Gfn(0)], &[Gfn(0x30000)], &mut errs).unwrap();
    r.sim.populate_ram(u2, Gfn(0), 1).unwrap();
    r.xen(r.dom0).map_foreign_batch(DomId::SELF, u2, &[Gfn(0)], &[Gfn(0x30000)], &mut errs).unwrap();
    r.sim.destroy_domain(u2).unwrap();
    assert_eq!(
        r.xen(r.dom0).add_to_physmap(u2, MapSpace::SharedInfo, 0, Gfn(0x10)),
        Err(xenmem::Error::Xen(xenmem::XenError::NoMem))
    );
    r.ok();
}

#[test]
fn ioreq_pages_outlive_their_server_while_mapped() {
    let r = Rig::x86();
    let s = r.sim.create_ioreq_server(r.domu, r.dom0, true).unwrap();
    r.xen(r.dom0)
        .acquire_resource(r.domu, ResourceType::IoreqServer, s as u32, 1, &mut [Gfn(0x58000)])
        .unwrap();
    r.sim.destroy_domain(r.domu).unwrap();
    assert!(r.sim.domain_info(r.domu).is_some());
    r.ok();
    r.xen(r.dom0).remove_from_physmap(DomId::SELF, Gfn(0x58000)).unwrap();
    assert!(r.sim.domain_info(r.domu).is_none());
    r.ok();
}

#[test]
fn host_side_errors() {
    let r = Rig::x86();
    assert!(r
        .sim
        .create_domain(DomainConfig { id: Some(0), ..DomainConfig::domu(DomainKind::Pvh) })
        .is_err());
    assert!(r
        .sim
        .create_domain(DomainConfig { id: Some(0x7ff0), ..DomainConfig::domu(DomainKind::Pvh) })
        .is_err());
    assert!(r.sim.destroy_domain(DomId(77)).is_err());
    assert!(r.sim.read_gfn(r.domu, Gfn(0x5000), 0, &mut [0]).is_err());
    assert!(r.sim.read_gfn(r.domu, Gfn(0x100), 4090, &mut [0; 8]).is_err());
    let small =
        r.sim.create_domain(DomainConfig { max_pages: 3, ..DomainConfig::domu(DomainKind::Pvh) }).unwrap();
    assert!(r.sim.populate_ram(small, Gfn(0), 4).is_err());
    let a = Rig::arm();
    assert!(a.sim.create_domain(DomainConfig::domu(DomainKind::Pv)).is_err());
}
