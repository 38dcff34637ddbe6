//! Random sequences of operations from several domains, on x86 and Arm, through the
//! library's marshalling: after every step the model's invariants hold, and bytes written to
//! a page are still there as long as the same mapping is.

use proptest::prelude::*;
use xenmem::{DomId, EntryStatus, Gfn, GrantFrame, MapSpace, MemFlags, ResourceType, Xen};
use xenmem_sim::{Arch, DomainConfig, DomainKind, MachineConfig, Sim};

#[derive(Clone, Debug)]
enum Op {
    Populate { by: usize, on: usize, gfn: u64, order: u32, n: u64 },
    Increase { by: usize, order: u32, n: u64 },
    Decrease { by: usize, gfn: u64, order: u32 },
    Remove { by: usize, on: usize, gfn: u64 },
    SharedInfo { by: usize, gfn: u64 },
    Grant { by: usize, idx: u64, gfn: u64 },
    Gmfn { by: usize, idx: u64, gfn: u64 },
    Foreign { by: usize, of: usize, fgfn: u64, gfn: u64 },
    Acquire { by: usize, of: usize, frame: u64, gfn: u64 },
    Write { d: usize, gfn: u64 },
    Destroy { d: usize },
}

fn gfn() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..48, 0x100u64..0x110]
}

fn op() -> impl Strategy<Value = Op> {
    let d = 0usize..4;
    prop_oneof![
        4 => (d.clone(), d.clone(), gfn(), prop_oneof![0u32..3, Just(9)], 1u64..4).prop_map(|(by, on, gfn, order, n)| Op::Populate { by, on, gfn, order, n }),
        1 => (d.clone(), 0u32..2, 1u64..3).prop_map(|(by, order, n)| Op::Increase { by, order, n }),
        3 => (d.clone(), gfn(), 0u32..2).prop_map(|(by, gfn, order)| Op::Decrease { by, gfn, order }),
        2 => (d.clone(), d.clone(), gfn()).prop_map(|(by, on, gfn)| Op::Remove { by, on, gfn }),
        1 => (d.clone(), gfn()).prop_map(|(by, gfn)| Op::SharedInfo { by, gfn }),
        1 => (d.clone(), 0u64..6, gfn()).prop_map(|(by, idx, gfn)| Op::Grant { by, idx, gfn }),
        1 => (d.clone(), gfn(), gfn()).prop_map(|(by, idx, gfn)| Op::Gmfn { by, idx, gfn }),
        3 => (d.clone(), d.clone(), gfn(), gfn()).prop_map(|(by, of, fgfn, gfn)| Op::Foreign { by, of, fgfn, gfn }),
        1 => (d.clone(), d.clone(), 0u64..4, gfn()).prop_map(|(by, of, frame, gfn)| Op::Acquire { by, of, frame, gfn }),
        3 => (d.clone(), gfn()).prop_map(|(d, gfn)| Op::Write { d, gfn }),
        1 => (1usize..4).prop_map(|d| Op::Destroy { d }),
    ]
}

struct World {
    sim: Sim,
    doms: Vec<DomId>,
    /// (domain, gfn, frame it mapped, marker written).
    written: Vec<(DomId, Gfn, u64, u64)>,
    marker: u64,
}

impl World {
    fn new(arch: Arch) -> World {
        let sim = Sim::new(MachineConfig::new(arch, 2048));
        let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
        let small = |max_pages| DomainConfig {
            max_pages,
            max_grant_frames: 4,
            ..DomainConfig::domu(DomainKind::Pvh)
        };
        let a = sim.create_domain(small(200)).unwrap();
        let b = sim.create_domain(small(100)).unwrap();
        let dm = sim.create_domain(DomainConfig { target: Some(a), ..small(50) }).unwrap();
        for &d in &[a, b, dm] {
            sim.populate_ram(d, Gfn(0), 16).unwrap();
        }
        World { sim, doms: vec![dom0, a, b, dm], written: Vec::new(), marker: 1 }
    }

    fn xen(&self, i: usize) -> Xen<xenmem_sim::SimBackend> {
        Xen::new(self.sim.backend(self.doms[i]))
    }

    fn apply(&mut self, op: &Op) {
        let d = |i: usize| self.doms[i];
        let mut errs = [EntryStatus::NOT_DONE];
        // Results are Xen's business; the properties are checked afterwards.
        match *op {
            Op::Populate { by, on, gfn, order, n } => {
                let mut g: Vec<Gfn> =
                    (0..n).map(|i| Gfn((gfn + (i << order)) & !((1 << order) - 1))).collect();
                let _ = self.xen(by).populate_physmap(d(on), order, MemFlags::empty(), &mut g);
            }
            Op::Increase { by, order, n } => {
                let _ = self.xen(by).increase_reservation(DomId::SELF, order, MemFlags::empty(), n);
            }
            Op::Decrease { by, gfn, order } => {
                let _ = self.xen(by).decrease_reservation(DomId::SELF, order, &[Gfn(gfn)]);
            }
            Op::Remove { by, on, gfn } => {
                let _ = self.xen(by).remove_from_physmap(d(on), Gfn(gfn));
            }
            Op::SharedInfo { by, gfn } => {
                let _ = self.xen(by).add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(gfn));
            }
            Op::Grant { by, idx, gfn } => {
                let _ = self.xen(by).add_to_physmap(
                    DomId::SELF,
                    MapSpace::GrantTable,
                    GrantFrame::Shared(idx as u32).idx(),
                    Gfn(gfn),
                );
            }
            Op::Gmfn { by, idx, gfn } => {
                let _ = self.xen(by).add_to_physmap(DomId::SELF, MapSpace::Gmfn, idx, Gfn(gfn));
            }
            Op::Foreign { by, of, fgfn, gfn } => {
                let _ =
                    self.xen(by).map_foreign_batch(DomId::SELF, d(of), &[Gfn(fgfn)], &[Gfn(gfn)], &mut errs);
            }
            Op::Acquire { by, of, frame, gfn } => {
                let _ =
                    self.xen(by).acquire_resource(d(of), ResourceType::GrantTable, 0, frame, &mut [Gfn(gfn)]);
            }
            Op::Write { d: i, gfn } => {
                let (dom, g) = (d(i), Gfn(gfn));
                if let Some(mfn) = self.sim.translate(dom, g) {
                    self.marker += 1;
                    if self.sim.write_gfn(dom, g, 16, &self.marker.to_le_bytes()).is_ok() {
                        self.written.retain(|w| w.2 != mfn.0);
                        self.written.push((dom, g, mfn.0, self.marker));
                    }
                }
            }
            Op::Destroy { d: i } => {
                let _ = self.sim.destroy_domain(d(i));
            }
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        if let Err(v) = self.sim.check_invariants() {
            return Err(TestCaseError::fail(v.message));
        }
        for &(dom, g, mfn, marker) in &self.written {
            // The same mapping still there: the bytes must be too.
            if self.sim.translate(dom, g).map(|m| m.0) == Some(mfn) {
                let mut b = [0u8; 8];
                self.sim.read_gfn(dom, g, 16, &mut b).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(u64::from_le_bytes(b), marker, "lost bytes at {:?} {:?}", dom, g);
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(arm in any::<bool>(), ops in prop::collection::vec(op(), 1..60)) {
        let mut w = World::new(if arm { Arch::Arm64 } else { Arch::X86_64 });
        w.check()?;
        for op in &ops {
            w.apply(op);
            w.check()?;
        }
        // Tearing everything down but dom0 leaves nothing behind once dom0 lets go.
        for i in 1..4 {
            let _ = w.sim.destroy_domain(w.doms[i]);
        }
        w.check()?;
    }
}
