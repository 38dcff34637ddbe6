//! The model side of the hypercall economy (`xenmem_conformance::economy`): dom0 of the x86_64
//! machine foreign-maps the domU's 16 MiB at 16 windows (65,536 frames) three ways — Linux
//! privcmd's batch of 1, zephyr-xenlib's 128, xenmem's 65,535 — unmapping between runs, and
//! prints one `economy ...` line per way and the ratios of xenmem to each peer. One run each,
//! after an untimed pass that builds dom0's P2M tables at the windows. The same run is what
//! `cargo xtask conformance` prints beside real Xen's figures
//! (`xenmem_conformance::model::economy_on_model`).
//!
//! Usage: `cargo run --release -p xenmem-conformance --features model --example economy`

use std::process::ExitCode;
use std::time::Instant;
use xenmem_conformance::economy::{self, Clock};

struct HostClock(Instant);

impl Clock for HostClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

fn main() -> ExitCode {
    let clock = HostClock(Instant::now());
    let measured = match xenmem_conformance::model::economy_on_model(xenmem_sim::Release::NEWEST, &clock) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = String::new();
    for m in &measured {
        economy::write_measure(&mut out, m).expect("a String takes any line");
    }
    let ours = measured[2];
    for peer in &measured[..2] {
        economy::write_ratio(&mut out, &ours, peer, "the model").expect("a String takes any line");
    }
    print!("{out}");
    ExitCode::SUCCESS
}
