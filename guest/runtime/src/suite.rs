//! Running the conformance suite in a role, with the progress lines around it that the boot
//! tool looks for.

use core::fmt::Write;
use xenmem_conformance::{run_dom0, run_domu, Config, Platform, Summary};

use crate::console::{Console, Tagged};
use crate::{Arch, Role};

/// Runs the suite of `role` on `p`: prints where its scratch hole is, every suite line tagged
/// for the role, and then `conformance-done observations=N` (with `suite_ms=` when the
/// architecture has a clock).
pub fn run<A: Arch, P: Platform>(con: &mut Console<A>, role: Role, p: &mut P, cfg: &Config) -> Summary {
    let tag = role.tag();
    let _ = writeln!(con, "{tag}: scratch {} pages {}", cfg.scratch_gfn, cfg.scratch_pages);
    let t0 = A::now_ms();
    let summary = {
        let mut out = Tagged::new(con, role.suite_tag());
        let summary = match role {
            Role::Dom0 => run_dom0(p, cfg, &mut out),
            Role::Domu => run_domu(p, cfg, &mut out),
        };
        // A last suite line without its newline would otherwise glue onto the next line.
        out.end_line();
        summary
    };
    let _ = write!(con, "{tag}: conformance-done observations={}", summary.observations);
    if let (Some(t0), Some(t1)) = (t0, A::now_ms()) {
        let _ = write!(con, " suite_ms={}", t1.saturating_sub(t0));
    }
    let _ = writeln!(con);
    con.flush();
    summary
}
