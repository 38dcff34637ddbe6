//! The hypercall-economy measurement on the model: the hypercalls each batch size costs, the
//! arguments it refuses, and a failed mapping leaving the physmap as it found it.

use std::cell::Cell;
use xenmem::hypercall::Counting;
use xenmem::{DomId, EntryStatus, Gfn, Xen, XenError, BATCH_MAX_ENTRIES};
use xenmem_conformance::economy::{
    self, Clock, EconomyError, Scratch, Target, Way, LINUX, WAYS, XENMEM, ZEPHYR,
};

/// A clock that moves 1 ns a reading: the measurement must take its times from it.
struct Ticks(Cell<u64>);

impl Clock for Ticks {
    fn now_ns(&self) -> u64 {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
}

struct Bufs {
    idxs: Vec<Gfn>,
    gfns: Vec<Gfn>,
    errs: Vec<EntryStatus>,
}

impl Bufs {
    fn new(n: usize) -> Bufs {
        Bufs { idxs: vec![Gfn(0); n], gfns: vec![Gfn(0); n], errs: vec![EntryStatus::NOT_DONE; n] }
    }

    fn scratch(&mut self) -> Scratch<'_> {
        Scratch { idxs: &mut self.idxs, gfns: &mut self.gfns, errs: &mut self.errs }
    }
}

#[test]
fn each_batch_size_costs_its_calls() {
    let (sim, domu, ram) = xenmem_conformance::model::x86_64_economy_machine(xenmem_sim::Release::NEWEST);
    let source: Vec<Gfn> = ram.map(Gfn).collect();
    // 4096 pages at 16 windows: 65,536 frames.
    let windows: Vec<Gfn> = (0..16).map(|w| Gfn(0x10_0000 + w * 0x1000)).collect();
    let target = Target { foreign: domu, source: &source, windows: &windows };
    let xen = Xen::new(Counting::new(sim.backend(DomId(0))));
    let mut bufs = Bufs::new(BATCH_MAX_ENTRIES);
    let before = sim.domain_info(DomId(0)).unwrap().mapped;
    for (way, calls) in WAYS.into_iter().zip([65_536, 512, 2]) {
        let clock = Ticks(Cell::new(0));
        let m = economy::measure(&xen, &clock, &target, way, &mut bufs.scratch()).unwrap();
        assert_eq!(m.frames, 65_536);
        assert_eq!(m.map_hypercalls, calls, "{}: ceil(65536 / batch)", way.name);
        // One remove_from_physmap a frame, whatever the batch.
        assert_eq!(m.unmap_hypercalls, 65_536);
        // Two readings around each phase.
        assert_eq!((m.map_ns, m.unmap_ns), (1, 1));
        assert_eq!(sim.domain_info(DomId(0)).unwrap().mapped, before, "{}: unmapped again", way.name);
    }
    let mut line = String::new();
    let m = economy::Measure {
        way: ZEPHYR,
        frames: 65_536,
        map_hypercalls: 512,
        map_ns: 1_000_000,
        unmap_hypercalls: 65_536,
        unmap_ns: 2_000_001,
    };
    economy::write_measure(&mut line, &m).unwrap();
    assert_eq!(
        line,
        "economy zephyr-xenlib batch=128 frames=65536 hypercalls=512 ns_per_frame=15.26 \
         unmap_hypercalls=65536 unmap_ns_per_frame=30.52\n"
    );
    let ours = economy::Measure { way: XENMEM, map_hypercalls: 2, map_ns: 400_000, ..m };
    line.clear();
    economy::write_ratio(&mut line, &ours, &m, "real Xen").unwrap();
    assert_eq!(
        line,
        "economy-ratio xenmem:zephyr-xenlib real-Xen fewer_calls=256.00 faster=2.50\n\
         hypercall economy: xenmem 256.00x fewer calls and 2.50x faster than batch 128 on real Xen\n"
    );
}

#[test]
fn refusals_and_a_failed_mapping() {
    let (sim, domu, ram) = xenmem_conformance::model::x86_64_economy_machine(xenmem_sim::Release::NEWEST);
    let xen = Xen::new(Counting::new(sim.backend(DomId(0))));
    let clock = Ticks(Cell::new(0));
    let mut bufs = Bufs::new(128);
    let source: Vec<Gfn> = ram.map(Gfn).collect();
    let one = [Gfn(0x10_0000)];
    let small = Target { foreign: domu, source: &source, windows: &one };
    assert_eq!(
        economy::measure(&xen, &clock, &small, ZEPHYR, &mut bufs.scratch()),
        Err(EconomyError::TooFewFrames { frames: 4096 })
    );
    let windows: Vec<Gfn> = (0..16).map(|w| Gfn(0x10_0000 + w * 0x1000)).collect();
    let target = Target { windows: &windows, ..small };
    assert_eq!(
        economy::measure(&xen, &clock, &target, XENMEM, &mut bufs.scratch()),
        Err(EconomyError::ScratchTooSmall { need: BATCH_MAX_ENTRIES })
    );
    assert_eq!(
        economy::measure(&xen, &clock, &target, Way { name: "none", batch: 0 }, &mut bufs.scratch()),
        Err(EconomyError::BadBatch)
    );
    assert_eq!(xen.backend().count(), 0, "refused before any hypercall");

    // The domU's last page is not populated: frame 4095 of the first window fails, and what
    // the calls before mapped is unmapped again.
    let before = sim.domain_info(DomId(0)).unwrap().mapped;
    let mut holed = source.clone();
    holed[4095] = Gfn(0x8000);
    let target = Target { source: &holed, ..target };
    assert_eq!(
        economy::measure(&xen, &clock, &target, LINUX, &mut bufs.scratch()),
        Err(EconomyError::Entry { frame: 4095, status: EntryStatus(-XenError::Inval.errno()) })
    );
    assert_eq!(sim.domain_info(DomId(0)).unwrap().mapped, before);
    sim.check_invariants().unwrap();
}

#[test]
fn lines_read_back_and_counts_are_held_to_the_batch() {
    let m = economy::Measure {
        way: LINUX,
        frames: 65_536,
        map_hypercalls: 65_536,
        map_ns: 6_553_600_000,
        unmap_hypercalls: 65_536,
        unmap_ns: 65_536 * 7,
    };
    let mut line = String::new();
    economy::write_measure(&mut line, &m).unwrap();
    assert_eq!(economy::parse_measure(line.trim_end()), Some(m));
    assert_eq!(economy::check_counts(&m), Ok(()));
    // The batch is the way's own, and nothing follows the last field.
    assert_eq!(economy::parse_measure(&line.trim_end().replace("batch=1 ", "batch=2 ")), None);
    assert_eq!(economy::parse_measure(&format!("{} x=1", line.trim_end())), None);
    assert_eq!(economy::parse_measure(&line.trim_end().replace("linux", "bsd")), None);
    assert_eq!(economy::parse_measure(&line.trim_end().replace("=100000.00", "=100000.0")), None);
    let x = economy::Measure { way: XENMEM, map_hypercalls: 2, ..m };
    assert_eq!(economy::check_counts(&x), Ok(()));
    assert_eq!(
        economy::check_counts(&economy::Measure { map_hypercalls: 1, ..x }),
        Err(economy::CountError::MapCalls { expected: 2 })
    );
    assert_eq!(
        economy::check_counts(&economy::Measure { unmap_hypercalls: 2, ..x }),
        Err(economy::CountError::UnmapCalls { expected: 65_536 })
    );
    assert_eq!(
        economy::check_counts(&economy::Measure { frames: 4096, map_hypercalls: 1, ..x }),
        Err(economy::CountError::TooFewFrames)
    );
    line.clear();
    economy::write_ratio(&mut line, &economy::Measure { map_ns: 655_360_000, ..x }, &m, "real Xen 4.17")
        .unwrap();
    assert_eq!(
        line.lines().nth(1),
        Some("hypercall economy: xenmem 32768.00x fewer calls and 10.00x faster than batch 1 (Linux) on real Xen 4.17")
    );
}

#[test]
fn the_model_runs_every_way_with_exact_counts() {
    let clock = Ticks(Cell::new(0));
    let m = xenmem_conformance::model::economy_on_model(xenmem_sim::Release::Xen4_17, &clock).unwrap();
    assert_eq!(m.map(|m| m.way), WAYS);
    for m in &m {
        assert_eq!(economy::check_counts(m), Ok(()), "{}", m.way.name);
    }
}
