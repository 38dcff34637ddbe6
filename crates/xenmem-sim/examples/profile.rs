//! Runs one job of `benches/model.rs` for a profiler, and prints its time per page.
//!
//! Usage: `profile populate9|populate0|map|remove [RUNS]`. With `XENMEM_PERF_CTL=CTL,ACK` (two
//! FIFOs), it writes `enable` / `disable` to CTL around each timed part and waits for perf's
//! answer on ACK, so that `perf record -D -1 --control fifo:CTL,ACK` samples only the job, not
//! the building of its machine. BENCHMARKS.md gives the commands.

#[path = "../benches/jobs.rs"]
mod jobs;

use jobs::{map_foreign, populate, remove_foreign, Around, Nothing, FOREIGN, GUEST_PAGES};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::process::ExitCode;

/// perf's control FIFOs.
struct PerfControl {
    ctl: File,
    ack: File,
}

impl PerfControl {
    fn say(&mut self, what: &str) {
        // A profiler that is gone leaves nothing to switch: the job runs on regardless.
        if self.ctl.write_all(format!("{what}\n").as_bytes()).is_ok() {
            let _ = self.ack.read(&mut [0u8; 8]);
        }
    }
}

impl Around for PerfControl {
    fn begin(&mut self) {
        self.say("enable");
    }

    fn end(&mut self) {
        self.say("disable");
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(job) = args.first() else {
        eprintln!("usage: profile populate9|populate0|map|remove [RUNS]");
        return ExitCode::from(2);
    };
    let runs: u32 = match args.get(1).map(|r| r.parse()) {
        None => 1,
        Some(Ok(r)) => r,
        Some(Err(_)) => {
            eprintln!("RUNS must be a number");
            return ExitCode::from(2);
        }
    };
    let mut perf = match std::env::var("XENMEM_PERF_CTL") {
        Ok(v) => {
            let Some((ctl, ack)) = v.split_once(',') else {
                eprintln!("XENMEM_PERF_CTL must be CTL,ACK");
                return ExitCode::from(2);
            };
            match (OpenOptions::new().write(true).open(ctl), File::open(ack)) {
                (Ok(ctl), Ok(ack)) => Some(PerfControl { ctl, ack }),
                _ => {
                    eprintln!("cannot open {ctl} and {ack}");
                    return ExitCode::from(2);
                }
            }
        }
        Err(_) => None,
    };
    for _ in 0..runs {
        let around: &mut dyn Around = match perf.as_mut() {
            Some(p) => p,
            None => &mut Nothing,
        };
        let (dt, pages) = match job.as_str() {
            "populate9" => (populate(GUEST_PAGES, 9, around).0, GUEST_PAGES),
            "populate0" => (populate(GUEST_PAGES, 0, around).0, GUEST_PAGES),
            "map" => (map_foreign(FOREIGN, around).0, FOREIGN),
            "remove" => (remove_foreign(FOREIGN, around).0, FOREIGN),
            other => {
                eprintln!("unknown job {other}");
                return ExitCode::from(2);
            }
        };
        println!("{job}: {:.2} ns/page", dt.as_nanos() as f64 / pages as f64);
    }
    ExitCode::SUCCESS
}
