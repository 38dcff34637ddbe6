//! The jobs `benches/model.rs` times, shared with `examples/profile.rs` (which runs one of
//! them under a profiler): each builds its machine, then times only the job itself, between
//! `around.begin()` and `around.end()`.

use std::time::{Duration, Instant};
use xenmem::{DomId, EntryStatus, Gfn, MemFlags, Xen};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim};

/// 16 GiB of 4 KiB pages.
pub const GUEST_PAGES: u64 = 16 << 18;
/// Frames mapped and removed in the foreign-mapping run.
pub const FOREIGN: u64 = 1_000_000;
/// Entries per foreign batch call (the batch's 16-bit size).
const BATCH: u64 = 65_535;
/// Where the foreign frames go in dom0's physmap.
const AT: u64 = 0x100_0000;

/// What brackets the timed part of a job (a profiler's switch; nothing for the bench).
pub trait Around {
    /// The timed part starts.
    fn begin(&mut self) {}
    /// The timed part ended.
    fn end(&mut self) {}
}

/// No bracket.
pub struct Nothing;

impl Around for Nothing {}

fn machine(guest_pages: u64) -> (Sim, DomId, DomId) {
    let sim = Sim::new(MachineConfig::x86_64(guest_pages + (1 << 16)));
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
    let domu = sim
        .create_domain(DomainConfig { max_pages: guest_pages, ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    (sim, dom0, domu)
}

/// Populates `pages` at `order` from dom0 (a domain builder's call) and returns the time,
/// the hypercalls and the model.
pub fn populate(pages: u64, order: u32, around: &mut dyn Around) -> (Duration, u64, Sim) {
    let (sim, dom0, domu) = machine(pages);
    let xen = Xen::new(sim.backend(dom0));
    let mut gfns: Vec<Gfn> = (0..pages >> order).map(|i| Gfn(i << order)).collect();
    let calls = sim.hypercalls();
    around.begin();
    let t = Instant::now();
    let done = xen.populate_physmap(domu, order, MemFlags::empty(), &mut gfns).unwrap();
    let dt = t.elapsed();
    around.end();
    assert_eq!(done as u64, pages >> order);
    (dt, sim.hypercalls() - calls, sim)
}

/// Maps `n` foreign frames as [`map_foreign`] does, then times removing every mapping (one
/// remove_from_physmap a frame, as Linux's privcmd unmap does).
pub fn remove_foreign(n: u64, around: &mut dyn Around) -> (Duration, u64, Sim) {
    let (_, _, sim) = map_foreign(n, &mut Nothing);
    let xen = Xen::new(sim.backend(DomId(0)));
    let calls = sim.hypercalls();
    around.begin();
    let t = Instant::now();
    for i in 0..n {
        xen.remove_from_physmap(DomId::SELF, Gfn(AT + i)).unwrap();
    }
    let dt = t.elapsed();
    around.end();
    (dt, sim.hypercalls() - calls, sim)
}

/// Maps `n` pages of a populated domU into dom0, `BATCH` entries a call.
pub fn map_foreign(n: u64, around: &mut dyn Around) -> (Duration, u64, Sim) {
    let (sim, dom0, domu) = machine(n);
    sim.populate_ram(domu, Gfn(0), n).unwrap();
    let xen = Xen::new(sim.backend(dom0));
    let idx: Vec<Gfn> = (0..n).map(Gfn).collect();
    let at: Vec<Gfn> = (0..n).map(|i| Gfn(AT + i)).collect();
    let mut errs = vec![EntryStatus::NOT_DONE; n as usize];
    let calls = sim.hypercalls();
    around.begin();
    let t = Instant::now();
    for ((i, a), e) in
        idx.chunks(BATCH as usize).zip(at.chunks(BATCH as usize)).zip(errs.chunks_mut(BATCH as usize))
    {
        xen.map_foreign_batch(DomId::SELF, domu, i, a, e).unwrap();
    }
    let dt = t.elapsed();
    around.end();
    assert!(errs.iter().all(|e| e.is_ok()));
    (dt, sim.hypercalls() - calls, sim)
}
