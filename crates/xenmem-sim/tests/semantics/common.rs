//! Machines and domains the cases share.

use xenmem::{DomId, Error, Gfn, Xen, XenError};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Release, Sim, SimBackend};

/// A machine: dom0 (PVH, control + hardware) and one PVH domU with 64 pages of RAM at GFN
/// 0x100 and 256 MiB allowed. [`Rig::x86`] and [`Rig::arm`] run Xen 4.17, whose source the
/// expectations of these tests cite; `releases.rs` holds what changed in 4.20.
pub struct Rig {
    pub sim: Sim,
    pub dom0: DomId,
    pub domu: DomId,
}

impl Rig {
    pub fn x86() -> Rig {
        Rig::x86_on(Release::Xen4_17)
    }

    pub fn arm() -> Rig {
        Rig::arm_on(Release::Xen4_17)
    }

    pub fn x86_on(xen: Release) -> Rig {
        Rig::with(MachineConfig::x86_64(1 << 16).with_xen(xen), DomainKind::Pvh)
    }

    pub fn arm_on(xen: Release) -> Rig {
        Rig::with(MachineConfig::arm64(1 << 16).with_xen(xen), DomainKind::Pvh)
    }

    pub fn with(cfg: MachineConfig, dom0: DomainKind) -> Rig {
        let sim = Sim::new(cfg);
        let dom0 = sim.create_domain(DomainConfig::dom0(dom0)).unwrap();
        let domu = sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
        sim.populate_ram(domu, Gfn(0x100), 64).unwrap();
        Rig { sim, dom0, domu }
    }

    pub fn xen(&self, d: DomId) -> Xen<SimBackend> {
        Xen::new(self.sim.backend(d))
    }

    pub fn tot(&self, d: DomId) -> u64 {
        self.sim.domain_info(d).unwrap().tot_pages
    }

    pub fn ok(&self) {
        self.sim.check_invariants().unwrap();
    }
}

/// `Err(Error::Xen(e))`.
pub fn xe<T>(e: XenError) -> Result<T, Error> {
    Err(Error::Xen(e))
}
