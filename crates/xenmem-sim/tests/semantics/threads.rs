//! vCPUs of several domains issuing hypercalls at once.

use crate::common::Rig;
use std::thread;
use xenmem::{DomId, EntryStatus, Gfn, MemFlags, Xen};
use xenmem_sim::{DomainConfig, DomainKind};

#[test]
fn concurrent_domains_keep_the_books_straight() {
    let r = Rig::x86();
    let others: Vec<DomId> =
        (0..3).map(|_| r.sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap()).collect();
    let mut handles = Vec::new();
    for (t, &d) in others.iter().enumerate() {
        let sim = r.sim.clone();
        handles.push(thread::spawn(move || {
            let xen = Xen::new(sim.backend(d));
            for i in 0..150u64 {
                let g = Gfn(0x1000 + (i % 37));
                let _ =
                    xen.populate_physmap(DomId::SELF, (i % 3) as u32, MemFlags::empty(), &mut [Gfn(g.0 * 8)]);
                if i % 2 == 0 {
                    let _ = xen.decrease_reservation(DomId::SELF, 0, &[Gfn(g.0 * 8)]);
                }
                let _ = xen.current_reservation(DomId::SELF);
            }
            t
        }));
    }
    // dom0's vCPU maps and unmaps the others' pages meanwhile.
    {
        let sim = r.sim.clone();
        let others = others.clone();
        handles.push(thread::spawn(move || {
            let xen = Xen::new(sim.backend(DomId(0)));
            let mut errs = [EntryStatus::NOT_DONE];
            for i in 0..300u64 {
                let d = others[(i % 3) as usize];
                let at = Gfn(0x40000 + i % 11);
                let _ =
                    xen.map_foreign_batch(DomId::SELF, d, &[Gfn(0x8000 + (i % 37) * 8)], &[at], &mut errs);
                if i % 3 == 0 {
                    let _ = xen.remove_from_physmap(DomId::SELF, at);
                }
            }
            99
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    r.ok();
    // Whatever interleaving happened, every domain's count matches its frames (invariant 3),
    // and dom0's foreign entries hold exactly their references (invariant 2).
    for d in others {
        r.sim.destroy_domain(d).unwrap();
    }
    r.ok();
}
