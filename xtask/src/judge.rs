//! The differential run: boot real Xen with the conformance kernel of one architecture, run the
//! identical suite on the model configured as that machine, and diff the two line by line;
//! then hold real Xen's answers to the recording plain `cargo test` holds the model to
//! (`crates/xenmem-conformance/golden/<release>/`), or, with `--record`, write that recording.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use xenmem_conformance::model::compare;

use crate::debian::{out_dir, Packages};
use crate::guest;
use crate::machine::{self, console_lines, tagged};
use crate::proc::{self, Error};
use crate::table::{Arch, Release, SuiteRun};

/// What one differential run printed at its end, for the caller's closing summary.
pub struct Outcome {
    /// The `conformance...: N observations, N agree, K differ` lines.
    pub summaries: Vec<String>,
    /// Whether every comparison agreed and real Xen matched its recording.
    pub ok: bool,
    /// For a release other than the first: how many of its real answers the model configured
    /// as the first release gets wrong (the suite must tell the releases apart).
    pub first_release_differ: Option<usize>,
}

/// The golden folder of `release`.
pub fn golden_dir(repo: &Path, release: &Release) -> PathBuf {
    repo.join("crates/xenmem-conformance/golden").join(release.name)
}

/// Boots `release` on `arch`, diffs both suites against the model, and checks (or records)
/// the golden files.
pub fn run(repo: &Path, release: &Release, arch: Arch, record: bool) -> Result<Outcome, Error> {
    println!("== real Xen {} ({}) under QEMU (TCG) ==", release.name, arch.name());
    machine::tools(arch)?;
    let packages = Packages::new(repo, release.suite)?;
    let package = release.hypervisor_package(arch);
    let package = match arch {
        Arch::X86_64 => package,
        // A foreign architecture's package is named with it.
        Arch::Arm64 => format!("{package}:arm64"),
    };
    let root = packages.unpacked(&package)?;
    let xen = machine::hypervisor_image(&root, &release.hypervisor_file(arch))?;
    let kernel = guest::build(repo, arch)?;

    let dir = out_dir(repo).join(format!("xen-{}", release.name));
    fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let log = dir.join(format!("{}.log", arch.name()));
    // x86_64's boot includes the hypercall economy's ~400,000 hypercalls (about 40 s under TCG
    // on an idle machine): room for a machine three times slower before the timeout.
    let boot = proc::boot(&mut machine::command(repo, arch, &xen, &kernel)?, &log, proc::timeout(300))?;
    println!("boot to exit: {}", boot.describe());
    let console = console_lines(&log)?;

    let progress: Vec<&str> =
        ["xenmem-guest: ", "xenmem-domu-guest: "].iter().flat_map(|t| tagged(&console, t)).collect();
    let markers = [
        ("xenmem-guest: ", "conformance-done"),
        ("xenmem-domu-guest: ", "conformance-done"),
        ("xenmem-guest: ", "domu-done"),
        ("xenmem-guest: ", "ioreq-done"),
    ];
    let missing: Vec<String> = markers
        .iter()
        .filter(|(tag, m)| !tagged(&console, tag).iter().any(|l| l.starts_with(m)))
        .map(|(tag, m)| format!("{tag}{m}"))
        .collect();
    for line in progress
        .iter()
        .filter(|l| ["conformance-done", "domu", "total", "ioreq"].iter().any(|p| l.starts_with(p)))
    {
        println!("{line}");
    }
    if !missing.is_empty() {
        eprintln!("FAILED: no {} in {}; its last lines:", missing.join(", no "), log.display());
        for l in console.iter().rev().take(40).collect::<Vec<_>>().into_iter().rev() {
            eprintln!("{l}");
        }
        return Err(Error::msg(format!("the {} boot on Xen {} did not finish", arch.name(), release.name)));
    }

    println!("== the model, configured as that machine ==");
    let mut ok = true;
    let mut summaries = Vec::new();
    let mut model_ms = None;
    let first = Release::first();
    let mut first_release_differ = (release.name != first.name).then_some(0);
    for suite in arch.all_suites() {
        let real: String = suite
            .role
            .tags()
            .iter()
            .flat_map(|tag| tagged(&console, tag))
            .map(|l| format!("{l}\n"))
            .collect();
        let lines_file = dir.join(format!("{}.lines", suite.config));
        fs::write(&lines_file, &real).map_err(Error::io(&lines_file))?;
        println!("{} suite lines: {} -> {}", suite.config, real.lines().count(), lines_file.display());
        let (summary, agreed, ms) = diff_with_model(&suite, release, &real)?;
        model_ms.get_or_insert(ms);
        ok &= agreed;
        summaries.push(summary);
        ok &= golden(repo, release, &suite, &real, record)?;
        if let Some(k) = first_release_differ.as_mut() {
            let mut model = String::new();
            (suite.model)(first.model, &mut model);
            let differ = compare(&real, &model).differ.len();
            println!("{}: model as {} vs real {}: {differ} differ", suite.config, first.name, release.name);
            *k += differ;
        }
    }
    if arch == Arch::X86_64 {
        let economy = crate::economy::judge(&console, release);
        ok &= economy.ok;
        summaries.extend(economy.summaries);
    }
    if let Some(ms) = model_ms {
        println!(
            "wall time: real Xen boot to exit {:.2} s (dom0 and domU), model dom0 suite {ms:.3} ms: {:.0}x faster",
            boot.wall.as_secs_f64(),
            boot.wall.as_secs_f64() * 1000.0 / ms
        );
    }
    Ok(Outcome { summaries, ok, first_release_differ })
}

/// Runs `suite` on the model, compares it with `real`, and prints per-case results, each
/// differing line, and the summary line (which it also returns, with whether all agreed and
/// the model's wall time in ms).
fn diff_with_model(suite: &SuiteRun, release: &Release, real: &str) -> Result<(String, bool, f64), Error> {
    let mut model = String::new();
    let start = Instant::now();
    let (sim, _) = (suite.model)(release.model, &mut model);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if let Err(v) = sim.check_invariants() {
        return Err(Error::msg(format!("{}: model invariant violated after the run: {v:?}", suite.config)));
    }
    let c = compare(real, &model);
    // Per case, in order of first appearance: observations and differences.
    let mut order: BTreeMap<usize, (&str, usize, usize)> = BTreeMap::new();
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, line) in real.lines().enumerate() {
        let case = line.split(' ').next().unwrap_or("");
        let k = *first.entry(case).or_insert(i);
        let e = order.entry(k).or_insert((case, 0, 0));
        e.1 += 1;
        if c.differ.iter().any(|(n, _, _)| *n == i + 1) {
            e.2 += 1;
        }
    }
    for (case, n, bad) in order.values() {
        let verdict = if *bad == 0 { "agree".to_string() } else { format!("{bad} DIFFER") };
        println!("  {case:<28} {n:>3} observations  {verdict}");
    }
    for (line, r, m) in &c.differ {
        println!("DIFF line {line}\n  real Xen: {r}\n  model:    {m}");
    }
    let label = suite.label(release);
    let summary = format!(
        "conformance{}: {} observations, {} agree, {} differ",
        if label.is_empty() { String::new() } else { format!(" ({label})") },
        c.observations,
        c.agree,
        c.differ.len()
    );
    println!("{summary}");
    println!("model side wall time: {ms:.3} ms");
    Ok((summary, c.differ.is_empty(), ms))
}

/// Holds real Xen's lines to the recording (or writes it, with `record`). A mismatch prints
/// the differing lines and returns `false`.
fn golden(repo: &Path, release: &Release, suite: &SuiteRun, real: &str, record: bool) -> Result<bool, Error> {
    let dir = golden_dir(repo, release);
    let file = dir.join(format!("{}.txt", suite.config));
    if record {
        fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        fs::write(&file, real).map_err(Error::io(&file))?;
        println!("recorded real Xen's answers in {} (review the diff before committing)", file.display());
        return Ok(true);
    }
    let recorded = fs::read_to_string(&file).map_err(Error::io(&file))?;
    let c = compare(&recorded, real);
    if c.differ.is_empty() {
        return Ok(true);
    }
    eprintln!("real Xen's answers changed since {} was recorded:", file.display());
    for (line, was, now) in &c.differ {
        eprintln!("  line {line}\n    recorded: {was}\n    now:      {now}");
    }
    Ok(false)
}
