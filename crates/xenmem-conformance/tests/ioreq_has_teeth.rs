//! The ioreq recording has teeth: models that are wrong in ways a device model would notice
//! fail against real Xen's lines (golden/4.17/x86_64-ioreq.txt).

use xenmem::{DomId, Gfn};
use xenmem_conformance::ioreq::{ACCESSES, MMIO_BASE};
use xenmem_conformance::model::{compare, x86_64_pvh_machine, GuestModel};
use xenmem_conformance::Config;
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Release, Sim};

const GOLDEN: &str = include_str!("../golden/4.17/x86_64-ioreq.txt");

/// The configuration `run_x86_64_ioreq` uses.
fn cfg() -> Config {
    Config { self_id: 0, scratch_gfn: Gfn(0x2_0000), scratch_pages: 1024, sibling: None }
}

/// The domU as the kernel builds it.
fn domu(sim: &Sim) -> DomId {
    let d = sim
        .create_domain(DomainConfig {
            max_pages: 32 << 8,
            grant_version: 1,
            ..DomainConfig::domu(DomainKind::Pvh)
        })
        .unwrap();
    sim.populate_ram(d, Gfn(0), 16 << 8).unwrap();
    d
}

/// dom0's lines, then the guest's, as `run_x86_64_ioreq` prints them.
fn run(sim: &Sim, u: DomId) -> String {
    let mut p = GuestModel::new(sim, u, &ACCESSES);
    let mut out = String::new();
    xenmem_conformance::run_ioreq(&mut p, &cfg(), &mut out);
    out.push_str(&p.lines);
    out
}

/// The `case op` part of each real line the model gets wrong.
fn differing(model: &str) -> Vec<String> {
    compare(GOLDEN, model).differing_ops()
}

#[test]
fn the_right_model_agrees() {
    let sim = x86_64_pvh_machine(Release::Xen4_17);
    let u = domu(&sim);
    assert_eq!(differing(&run(&sim, u)), Vec::<String>::new());
}

#[test]
fn a_model_built_without_ioreq_servers_fails() {
    let sim = Sim::new(MachineConfig { ioreq_server: false, ..MachineConfig::x86_64(512 << 8) });
    sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
    sim.populate_ram(DomId(0), Gfn(0), 64 << 8).unwrap();
    let u = domu(&sim);
    let d = differing(&run(&sim, u));
    assert!(d.iter().any(|l| l == "ioreq.create create_ioreq_server(U, bufioreq off)"), "{d:#?}");
    // And the guest, unserved, reads all ones where the device answered.
    assert!(d.iter().any(|l| l == "ioreq.guest read +0x0 size=4"), "{d:#?}");
}

#[test]
fn a_guest_whose_ram_covers_the_device_fails() {
    let sim = x86_64_pvh_machine(Release::Xen4_17);
    let u = domu(&sim);
    // RAM where the device should be: the accesses never reach Xen's emulation.
    sim.populate_ram(u, Gfn(MMIO_BASE >> 12), 1).unwrap();
    let d = differing(&run(&sim, u));
    assert!(d.iter().any(|l| l == "ioreq.serve guest finished"), "{d:#?}");
    assert!(d.iter().any(|l| l.starts_with("ioreq.guest")), "{d:#?}");
}
