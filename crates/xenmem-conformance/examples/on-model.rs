//! The model side of scripts/conformance.sh: runs one configuration of the suite on the
//! model and prints its lines; with `--compare REAL_LINES` it diffs them against real Xen's
//! instead, prints each differing line and the per-case summary, and exits 1 on a difference.
//!
//! Usage: `on-model x86_64-pvh-dom0|x86_64-pvh-domu|arm64-dom0|arm64-domu [--xen 4.17|4.20]
//! [--compare FILE] [--label TEXT]` (`--xen`: the release the model answers as; default the
//! newest it knows).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;
use xenmem_conformance::model::{compare, CONFIGURATIONS};
use xenmem_sim::Release;

const USAGE: &str = "usage: on-model x86_64-pvh-dom0|x86_64-pvh-domu|arm64-dom0|arm64-domu [--xen 4.17|4.20] [--compare FILE] [--label TEXT]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let xen = match opt("--xen") {
        None => Release::NEWEST,
        Some(v) => match v.parse().ok().and_then(Release::from_version) {
            Some(r) => r,
            None => {
                let known: Vec<String> = Release::ALL.iter().map(|r| r.to_string()).collect();
                eprintln!("unsupported Xen version {v:?}: the model knows {}", known.join(", "));
                return ExitCode::from(2);
            }
        },
    };
    let Some((_, run)) = CONFIGURATIONS.iter().find(|(n, _)| n == which) else {
        eprintln!("unknown configuration {which}\n{USAGE}");
        return ExitCode::from(2);
    };
    let mut out = String::new();
    let start = Instant::now();
    let (sim, _) = run(xen, &mut out);
    let took = start.elapsed();
    if let Err(v) = sim.check_invariants() {
        eprintln!("model invariant violated after the run: {v:?}");
        return ExitCode::FAILURE;
    }
    let Some(real_file) = opt("--compare") else {
        print!("{out}");
        eprintln!("model side: {} lines in {:.3} ms", out.lines().count(), took.as_secs_f64() * 1e3);
        return ExitCode::SUCCESS;
    };
    let real = match std::fs::read_to_string(&real_file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{real_file}: {e}");
            return ExitCode::from(2);
        }
    };
    let c = compare(&real, &out);
    // Per case: observations and differences, in order of first appearance.
    let mut cases: BTreeMap<usize, (String, usize, usize)> = BTreeMap::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in real.lines().enumerate() {
        let case = line.split(' ').next().unwrap_or("").to_string();
        let k = *index.entry(case.clone()).or_insert(i);
        let e = cases.entry(k).or_insert((case, 0, 0));
        e.1 += 1;
        if c.differ.iter().any(|(n, _, _)| *n == i + 1) {
            e.2 += 1;
        }
    }
    for (case, n, bad) in cases.values() {
        println!(
            "  {:<28} {n:>3} observations  {}",
            case,
            if *bad == 0 { "agree".to_string() } else { format!("{bad} DIFFER") }
        );
    }
    for (line, r, m) in &c.differ {
        println!("DIFF line {line}\n  real Xen: {r}\n  model:    {m}");
    }
    let label = opt("--label").unwrap_or_default();
    println!(
        "conformance{}: {} observations, {} agree, {} differ",
        if label.is_empty() { String::new() } else { format!(" ({label})") },
        c.observations,
        c.agree,
        c.differ.len()
    );
    println!("model side wall time: {:.3} ms", took.as_secs_f64() * 1e3);
    if c.differ.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
