//! The hypercall economy of a real boot (issue 14): the x86_64 kernel's `xenmem-economy:`
//! lines (guest/x86_64/src/economy.rs) read back, their hypercall counts held to what the batch
//! sizes imply, the model's run of the same three ways set beside them
//! (`xenmem_conformance::model::economy_on_model`), and xenmem's ratio to each peer on real
//! Xen as the sentences CI prints. Times are reported, never asserted: a slow machine fails
//! nothing.

use std::time::Instant;

use xenmem_conformance::economy::{self, Clock, Measure, LINUX, WAYS, XENMEM, ZEPHYR};

use crate::machine::tagged;
use crate::table::Release;

/// The tag of the kernel's lines.
const TAG: &str = "xenmem-economy: ";

/// What the judgement printed for the closing summary, and whether it passed.
pub struct Outcome {
    /// The `hypercall economy: ...` sentences for real Xen.
    pub summaries: Vec<String>,
    /// The real lines were there, one per way, with exact counts, and the model ran.
    pub ok: bool,
}

struct HostClock(Instant);

impl Clock for HostClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Judges the economy lines of one x86_64 boot of `release`.
pub fn judge(console: &[String], release: &Release) -> Outcome {
    println!("== hypercall economy (Xen {}, x86_64 PVH dom0): real Xen and the model ==", release.name);
    let fail = |why: String| {
        eprintln!("FAILED: hypercall economy on Xen {}: {why}", release.name);
        Outcome { summaries: Vec::new(), ok: false }
    };
    let lines = tagged(console, TAG);
    for l in lines.iter().filter(|l| !l.starts_with("economy ")) {
        println!("  kernel: {l}");
    }
    let real = match real_measures(&lines) {
        Ok(r) => r,
        Err(why) => return fail(why),
    };
    let model = match xenmem_conformance::model::economy_on_model(release.model, &HostClock(Instant::now())) {
        Ok(m) => m,
        Err(why) => return fail(format!("the model: {why}")),
    };
    if let Some((m, e)) = model.iter().find_map(|m| economy::check_counts(m).err().map(|e| (m, e))) {
        return fail(format!("the model's {} way: {e:?} ({m:?})", m.way.name));
    }
    print_table(&real, &model);
    let place = format!("real Xen {}", release.name);
    let mut summaries = Vec::new();
    // Batch 128 first, then Linux's, as the sentences are listed in BENCHMARKS.md.
    for peer in [ZEPHYR, LINUX] {
        let at = |set: &[Measure; 3], way| set.iter().copied().find(|m| m.way == way);
        let (Some(ours), Some(theirs), Some(ours_model), Some(theirs_model)) =
            (at(&real, XENMEM), at(&real, peer), at(&model, XENMEM), at(&model, peer))
        else {
            return fail("a way is missing".to_string());
        };
        let mut text = String::new();
        let _ = economy::write_ratio(&mut text, &ours_model, &theirs_model, "the model");
        let _ = economy::write_ratio(&mut text, &ours, &theirs, &place);
        for line in text.lines() {
            println!("{line}");
        }
        summaries.extend(
            text.lines()
                .filter(|l| l.contains(&place))
                .filter(|l| l.starts_with("hypercall"))
                .map(String::from),
        );
    }
    Outcome { summaries, ok: true }
}

/// One measurement per way, in [`WAYS`]' order, each with the counts its batch implies.
fn real_measures(lines: &[&str]) -> Result<[Measure; 3], String> {
    if let Some(failed) = lines.iter().find(|l| l.contains("failed")) {
        return Err(format!("the kernel says: {failed}"));
    }
    let parsed: Vec<Measure> = lines.iter().filter_map(|l| economy::parse_measure(l)).collect();
    let mut found = [None; 3];
    for (slot, way) in found.iter_mut().zip(WAYS) {
        let mut of_way = parsed.iter().filter(|m| m.way == way);
        match (of_way.next(), of_way.next()) {
            (Some(&m), None) => *slot = Some(m),
            (None, _) => return Err(format!("no `{TAG}economy {} ...` line in the console", way.name)),
            (Some(_), Some(_)) => return Err(format!("two lines for the {} way", way.name)),
        }
    }
    let [Some(a), Some(b), Some(c)] = found else { return Err("a way is missing".to_string()) };
    for m in [a, b, c] {
        economy::check_counts(&m).map_err(|e| {
            format!(
                "the {} way (batch {}) took {} calls to map and {} to unmap {} frames: {e:?}",
                m.way.name, m.way.batch, m.map_hypercalls, m.unmap_hypercalls, m.frames
            )
        })?;
    }
    Ok([a, b, c])
}

/// Nanoseconds a frame, two decimals.
fn per_frame(ns: u64, frames: u64) -> String {
    format!("{:.2}", ns as f64 / frames.max(1) as f64)
}

fn print_table(real: &[Measure; 3], model: &[Measure; 3]) {
    println!(
        "{:<14} {:>6} {:>7} {:>21} {:>25} {:>25}",
        "way",
        "batch",
        "frames",
        "map calls real/model",
        "map ns/frame real/model",
        "unmap ns/frame real/model"
    );
    for (r, m) in real.iter().zip(model) {
        println!(
            "{:<14} {:>6} {:>7} {:>21} {:>25} {:>25}",
            r.way.name,
            r.way.batch,
            r.frames,
            format!("{} / {}", r.map_hypercalls, m.map_hypercalls),
            format!("{} / {}", per_frame(r.map_ns, r.frames), per_frame(m.map_ns, m.frames)),
            format!("{} / {}", per_frame(r.unmap_ns, r.frames), per_frame(m.unmap_ns, m.frames)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    const GOOD: &str = "\
xenmem-economy: clock tsc_khz=2100001 source domid=3 mappable=4096/4096 windows=16 at=0x100000
xenmem-economy: economy linux batch=1 frames=65536 hypercalls=65536 ns_per_frame=132684.35 unmap_hypercalls=65536 unmap_ns_per_frame=87378.69
xenmem-economy: economy zephyr-xenlib batch=128 frames=65536 hypercalls=512 ns_per_frame=25346.18 unmap_hypercalls=65536 unmap_ns_per_frame=71783.65
xenmem-economy: economy xenmem batch=65535 frames=65536 hypercalls=2 ns_per_frame=23969.25 unmap_hypercalls=65536 unmap_ns_per_frame=76080.62
xenmem-economy: done in 37817 ms";

    #[test]
    fn a_real_run_is_read_back() {
        let c = console(GOOD);
        let m = real_measures(&tagged(&c, TAG)).unwrap();
        assert_eq!(m.map(|m| m.map_hypercalls), [65_536, 512, 2]);
        assert_eq!(m[2].map_ns, 2_396_925 * 65_536 / 100);
    }

    #[test]
    fn wrong_counts_missing_or_doubled_ways_and_failures_fail() {
        let wrong = GOOD.replace("hypercalls=512 ", "hypercalls=513 ");
        assert!(real_measures(&tagged(&console(&wrong), TAG)).unwrap_err().contains("MapCalls"));
        let unmap = GOOD.replace(
            "unmap_hypercalls=65536 unmap_ns_per_frame=76080",
            "unmap_hypercalls=2 unmap_ns_per_frame=76080",
        );
        assert!(real_measures(&tagged(&console(&unmap), TAG)).unwrap_err().contains("UnmapCalls"));
        let few = GOOD.replace("frames=65536 hypercalls=2 ", "frames=4096 hypercalls=1 ");
        assert!(real_measures(&tagged(&console(&few), TAG)).unwrap_err().contains("TooFewFrames"));
        let missing: String =
            GOOD.lines().filter(|l| !l.contains("zephyr")).map(|l| format!("{l}\n")).collect();
        assert!(real_measures(&tagged(&console(&missing), TAG)).unwrap_err().contains("zephyr-xenlib"));
        let doubled = format!("{GOOD}\n{}", GOOD.lines().nth(1).unwrap());
        assert!(real_measures(&tagged(&console(&doubled), TAG)).unwrap_err().contains("two lines"));
        let failed = format!("{GOOD}\nxenmem-economy: way linux failed: Map(..)");
        assert!(real_measures(&tagged(&console(&failed), TAG)).unwrap_err().contains("kernel says"));
        assert!(real_measures(&[]).is_err());
    }
}
