//! The fault injector around the model's backend.

use crate::common::Rig;
use xenmem::{DomId, Error, Gfn, MemFlags, Xen, XenError};
use xenmem_sim::{FaultInjector, FaultRule, Outcome};

#[test]
fn the_next_calls_fail() {
    let r = Rig::x86();
    let xen = Xen::new(FaultInjector::new(r.sim.backend(r.domu), 1));
    xen.backend().fail_next(2, XenError::NoMem);
    assert_eq!(xen.current_reservation(DomId::SELF), Err(Error::Xen(XenError::NoMem)));
    assert_eq!(xen.maximum_gpfn(DomId::SELF), Err(Error::Xen(XenError::NoMem)));
    assert_eq!(xen.current_reservation(DomId::SELF), Ok(64));
    assert_eq!((xen.backend().calls(), xen.backend().injected()), (3, 2));
}

#[test]
fn a_partial_count_really_is_partial() {
    let r = Rig::x86();
    let xen = Xen::new(FaultInjector::new(r.sim.backend(r.domu), 1));
    xen.backend().add_rule(
        FaultRule::memory_op(xenmem::abi::XENMEM_POPULATE_PHYSMAP, Outcome::PartialCount(2)).times(1),
    );
    let mut g: Vec<Gfn> = (0..5).map(|i| Gfn(0x2000 + i)).collect();
    // The library stops at a short count (as Linux's balloon does).
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut g), Ok(2));
    assert_eq!(r.tot(r.domu), 66, "the model did only two extents");
    assert!(r.sim.translate(r.domu, Gfn(0x2002)).is_none());
    r.ok();
    // Other sub-ops are untouched by that rule; once spent, populate works again.
    assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut g[2..]), Ok(3));
    r.ok();
}

#[test]
fn seeded_faults_repeat() {
    let run = |seed| {
        let r = Rig::x86();
        let xen = Xen::new(FaultInjector::new(r.sim.backend(r.domu), seed));
        xen.backend().add_rule(FaultRule::next(u64::MAX, XenError::Again).with_probability(0.3));
        (0..40).map(|_| xen.current_reservation(DomId::SELF).is_ok()).collect::<Vec<_>>()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}
