//! `xenmem conformance`: the dom0 conformance suite (`xenmem_conformance::run_dom0`) as an
//! x86 PV dom0 sees it, through privcmd on a real Linux dom0 and on the embedded model
//! configured alike — the same Xen release: the running hypervisor's with privcmd, `--xen`'s
//! (default the newest the model knows) against saved lines — and the two diffed line by line.
//!
//! A PV dom0 cannot reach its own pseudo-physical frames through the suite's scratch GFNs
//! (physmap operations on it are `-EACCES`; nothing gets mapped there), so both platforms
//! answer "cannot" to the suite's reads and writes: the lines that depend on them print
//! `unreadable` on both sides, not a difference.

use crate::{out, Failure};
use std::fmt::Write as _;
use std::path::PathBuf;
use xenmem::{DomId, Gfn, Hypercall, Xen};
use xenmem_conformance::{Config, Platform};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Release, Sim};

/// `conformance` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// First GFN of the suite's scratch hole: on a PV dom0 any pseudo-physical range above
    /// its RAM (the lines print GFNs relative to it).
    #[arg(long, default_value = "0x100000")]
    pub scratch: String,
    /// The model's dom0: pages it owns (with privcmd: what Xen reports for the real dom0).
    #[arg(long, default_value = "65536")]
    pub dom0_pages: String,
    /// The model's dom0: its maximum reservation (`unlimited`, or pages).
    #[arg(long, default_value = "unlimited")]
    pub dom0_max: String,
    /// The model's machine RAM in frames (QEMU's -m 512: 131072).
    #[arg(long, default_value = "131072")]
    pub machine_frames: String,
    /// Save the lines of this backend's run here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Compare the model's run against lines saved from a real one (default backend only).
    #[arg(long, value_name = "FILE")]
    pub against: Option<PathBuf>,
    /// Print every observation line, not only the differing ones.
    #[arg(long)]
    pub lines: bool,
}

/// A platform whose caller cannot read or write its own frames through the scratch hole:
/// an x86 PV dom0, on real Xen and on the model alike.
struct PvDom0<H> {
    xen: Xen<H>,
}

impl<H: Hypercall> Platform for PvDom0<H> {
    type Hv = H;

    fn xen(&self) -> &Xen<H> {
        &self.xen
    }

    fn read_phys(&mut self, _: Gfn, _: usize, _: &mut [u8]) -> bool {
        false
    }

    fn write_phys(&mut self, _: Gfn, _: usize, _: &[u8]) -> bool {
        false
    }
}

const SCRATCH_PAGES: u64 = 1024;

fn suite<H: Hypercall>(xen: Xen<H>, scratch: Gfn) -> (String, u32) {
    let mut p = PvDom0 { xen };
    let cfg = Config { self_id: 0, scratch_gfn: scratch, scratch_pages: SCRATCH_PAGES, sibling: None };
    let mut lines = String::new();
    let s = xenmem_conformance::run_dom0(&mut p, &cfg, &mut lines);
    (lines, s.observations)
}

/// The model running `xen`, configured as an x86 PV dom0 of `pages` pages (at GFN 0), limit
/// `max`.
fn model_lines(
    xen: Release,
    frames: u64,
    pages: u64,
    max: u64,
    scratch: Gfn,
) -> Result<(String, u32), Failure> {
    let sim = Sim::new(MachineConfig::x86_64(frames).with_xen(xen));
    let cfg = DomainConfig { max_pages: max, ..DomainConfig::dom0(DomainKind::Pv) };
    let d0 =
        sim.create_domain(cfg).map_err(|e| Failure::Input(format!("the model refuses the PV dom0: {e}")))?;
    sim.populate_ram(d0, Gfn(0), pages)
        .map_err(|e| Failure::Input(format!("the model cannot give its PV dom0 {pages} pages: {e}")))?;
    Ok(suite(Xen::new(sim.backend(d0)), scratch))
}

fn num(what: &str, s: &str) -> Result<u64, Failure> {
    crate::scenario::value_uint(s)
        .ok_or_else(|| Failure::Input(format!("<arguments>: field `{what}`: \"{s}\" is not a number")))
}

/// Runs the suite (see the module docs).
pub fn run(privcmd: bool, xen: Option<Release>, a: &Args) -> Result<(), Failure> {
    let scratch = Gfn(num("--scratch", &a.scratch)?);
    let frames = num("--machine-frames", &a.machine_frames)?;
    if !privcmd {
        let pages = num("--dom0-pages", &a.dom0_pages)?;
        let max =
            if a.dom0_max == "unlimited" { u64::from(u32::MAX) } else { num("--dom0-max", &a.dom0_max)? };
        let (lines, n) = model_lines(xen.unwrap_or(Release::NEWEST), frames, pages, max, scratch)?;
        save(a, &lines)?;
        return match &a.against {
            None => {
                out(&lines);
                out(&format!("conformance (pv dom0, model): {n} observations\n"));
                Ok(())
            }
            Some(f) => {
                let real = std::fs::read_to_string(f)
                    .map_err(|e| Failure::Input(format!("{}: {e}", f.display())))?;
                diff("pv dom0, saved run vs model", &real, &lines, a.lines)
            }
        };
    }
    real(a, frames, scratch)
}

fn save(a: &Args, lines: &str) -> Result<(), Failure> {
    if let Some(p) = &a.out {
        std::fs::write(p, lines)
            .map_err(|e| Failure::Input(format!("{}: cannot write: {e}", p.display())))?;
    }
    Ok(())
}

/// Prints the comparison; 1 when any line differs.
fn diff(label: &str, real: &str, model: &str, all: bool) -> Result<(), Failure> {
    let c = xenmem_conformance::model::compare(real, model);
    let mut s = String::new();
    if all {
        for l in real.lines() {
            let _ = writeln!(s, "  {l}");
        }
    }
    for (line, r, m) in &c.differ {
        let _ = writeln!(s, "DIFF line {line}\n  real Xen: {r}\n  model:    {m}");
    }
    let _ = writeln!(
        s,
        "conformance ({label}): {} observations, {} agree, {} differ",
        c.observations,
        c.agree,
        c.differ.len()
    );
    out(&s);
    if c.differ.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed)
    }
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn real(a: &Args, frames: u64, scratch: Gfn) -> Result<(), Failure> {
    use xenmem_privcmd::Privcmd;
    let p = match Privcmd::open() {
        Ok(p) => p,
        Err(xenmem_privcmd::Error::NotDom0 { path }) => {
            return Err(Failure::Input(format!(
            "not a Xen dom0: {} does not exist (not running on Xen, or the xen-privcmd module is not loaded)",
            path.display()
        )))
        }
        Err(e) => return Err(Failure::Input(e.to_string())),
    };
    let xen = Xen::new(p);
    // The model answers as the release that runs.
    let v = xen.xen_version().map_err(|e| Failure::Input(format!("xen_version: {e}")))?;
    let release = Release::from_version(v).ok_or_else(|| {
        let known: Vec<String> = Release::ALL.iter().map(|r| r.to_string()).collect();
        Failure::Input(format!("Xen {v} runs here; the model answers as {} only", known.join(" or ")))
    })?;
    // The model's dom0 gets what Xen gave the real one, before the suite changes it.
    let pages = xen.current_reservation(DomId::SELF);
    let max = xen.maximum_reservation(DomId::SELF);
    let (Ok(pages), Ok(max)) = (pages, max) else {
        out(&format!(
            "cannot size the real dom0: current_reservation {pages:?}, maximum_reservation {max:?}\n"
        ));
        return Err(Failure::Failed);
    };
    out(&format!(
        "real dom0 on Xen {v}: {pages} pages, maximum {}\n",
        if max == u64::from(u32::MAX) { "unlimited".to_string() } else { max.to_string() }
    ));
    let (real, n) = suite(xen, scratch);
    save(a, &real)?;
    let (model, m) = model_lines(release, frames, pages, max, scratch)?;
    out(&format!("real run: {n} observations; model run: {m} observations\n"));
    diff("pv dom0, privcmd", &real, &model, a.lines)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn real(_: &Args, _: u64, _: Gfn) -> Result<(), Failure> {
    Err(Failure::Input("--backend privcmd needs 64-bit Linux (a Xen dom0)".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_pv_dom0_runs_the_suite() {
        let (lines, n) = model_lines(Release::Xen4_17, 131_072, 65_536, u64::from(u32::MAX), Gfn(0x10_0000))
            .unwrap_or_else(|_| panic!());
        assert_eq!(lines.lines().count(), n as usize);
        // Xen's answers for a PV dom0 (XEN-FACTS: add_to_physmap needs a translated target,
        // -EACCES for x86 PV): the suite's own shared-info mapping is refused.
        assert!(
            lines.contains("add.shared_info add_to_physmap(SELF, shared_info, 0x0, s+0) -> -EACCES"),
            "{lines}"
        );
        assert!(lines.contains("query.self maximum_reservation(SELF) -> =unlimited"));
    }
}
