//! The model side of the hypercall economy (`xenmem_conformance::economy`): dom0 of the x86_64
//! machine foreign-maps the domU's 16 MiB at 16 windows (65,536 frames) three ways — Linux
//! privcmd's batch of 1, zephyr-xenlib's 128, xenmem's 65,535 — unmapping between runs, and
//! prints one `economy ...` line per way and the ratios of xenmem to each peer. One run each,
//! after an untimed pass that builds dom0's P2M tables at the windows.
//!
//! Usage: `cargo run --release -p xenmem-conformance --features model --example economy`

use std::process::ExitCode;
use std::time::Instant;
use xenmem::hypercall::Counting;
use xenmem::{DomId, EntryStatus, Gfn, Xen, BATCH_MAX_ENTRIES};
use xenmem_conformance::economy::{self, Clock, Scratch, Target, WAYS};

/// Where the windows start in dom0's physmap: above 4 GiB, clear of its RAM and firmware.
const WINDOWS_AT: u64 = 0x10_0000;

struct HostClock(Instant);

impl Clock for HostClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

fn main() -> ExitCode {
    let (sim, domu, ram) = xenmem_conformance::model::x86_64_economy_machine(xenmem_sim::Release::NEWEST);
    let source: Vec<Gfn> = ram.map(Gfn).collect();
    let per_window = source.len() as u64;
    let windows: Vec<Gfn> =
        (0..economy::MIN_FRAMES.div_ceil(per_window)).map(|w| Gfn(WINDOWS_AT + w * per_window)).collect();
    let target = Target { foreign: domu, source: &source, windows: &windows };
    let xen = Xen::new(Counting::new(sim.backend(DomId(0))));
    let clock = HostClock(Instant::now());
    let (mut idxs, mut gfns) = (vec![Gfn(0); BATCH_MAX_ENTRIES], vec![Gfn(0); BATCH_MAX_ENTRIES]);
    let mut errs = vec![EntryStatus::NOT_DONE; BATCH_MAX_ENTRIES];
    let mut scratch = Scratch { idxs: &mut idxs, gfns: &mut gfns, errs: &mut errs };
    // The first mapping of a window also builds dom0's P2M tables there (on Xen as on the
    // model): an untimed pass first, so that no way pays for it.
    if let Err(e) = economy::measure(&xen, &clock, &target, WAYS[2], &mut scratch) {
        eprintln!("economy warm-up: {e:?}");
        return ExitCode::FAILURE;
    }
    let mut out = String::new();
    let mut measured = Vec::new();
    for way in WAYS {
        match economy::measure(&xen, &clock, &target, way, &mut scratch) {
            Ok(m) => {
                economy::write_measure(&mut out, &m).expect("a String takes any line");
                measured.push(m);
            }
            Err(e) => {
                eprintln!("economy {}: {e:?}", way.name);
                return ExitCode::FAILURE;
            }
        }
    }
    let ours = measured[2];
    for peer in &measured[..2] {
        economy::write_ratio(&mut out, &ours, peer, "the model").expect("a String takes any line");
    }
    print!("{out}");
    if let Err(v) = sim.check_invariants() {
        eprintln!("model invariant violated after the run: {v:?}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
