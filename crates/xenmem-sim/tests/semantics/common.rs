//! Machines and domains the cases share.

use xenmem::{DomId, Error, Gfn, Xen, XenError};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim, SimBackend};

/// A machine: dom0 (PVH, control + hardware) and one PVH domU with 64 pages of RAM at GFN
/// 0x100 and 256 MiB allowed.
pub struct Rig {
    pub sim: Sim,
    pub dom0: DomId,
    pub domu: DomId,
}

impl Rig {
    pub fn x86() -> Rig {
        Rig::with(MachineConfig::x86_64(1 << 16), DomainKind::Pvh)
    }

    pub fn arm() -> Rig {
        Rig::with(MachineConfig::arm64(1 << 16), DomainKind::Pvh)
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
