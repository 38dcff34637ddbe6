//! The conformance suite: named cases that drive xenmem's operations through any backend and
//! print one canonical line per observation, so a run on real Xen and a run on the model can
//! be diffed line by line.
//!
//! no_std and allocation-free: the same code runs inside the freestanding guest kernel
//! (`guest/x86_64`) and on the host against `xenmem-sim`.
//!
//! # The canonical line
//!
//! `<case> <operation with its arguments> -> <result>`, where a result is `ok`, a count
//! `n=4`, a value `=256`, Xen's errno by name (`-ESRCH`), a batch's per-entry statuses
//! (`errs=[0,-EINVAL,-]`, `-` for an entry Xen never reached), or bytes read back through a
//! mapping (`bytes=5a5a5a5a`). A refusal by the library itself, before any hypercall, is
//! `lib:<reason>`.
//!
//! # Normalised values
//!
//! Some values legitimately differ between two machines. They are printed by relation, never
//! dropped:
//! - guest frames of the caller's scratch hole (which the platform picks from its memory
//!   map) print as `s+N`, N pages from the hole's start;
//! - the caller's own page counts (Xen sizes dom0 from the machine) print as `=self` when
//!   two ways of asking agree, and as a difference (`+1`) after the suite changes them;
//! - a highest mapped GFN prints relative to the scratch hole (`=s+N`) or as `below-s`;
//! - an unlimited maximum reservation prints as `=unlimited`;
//! - MFNs (PV callers only) print as `mfn#K`, K numbering distinct frames in order of
//!   appearance, so "the same frame as before" survives the comparison.

#![cfg_attr(not(feature = "model"), no_std)]
#![forbid(unsafe_code)]

mod dom0;
mod domu;
pub mod economy;
#[cfg(feature = "model")]
pub mod model;
mod report;

use core::fmt::Write;
use xenmem::{Gfn, Hypercall, Xen};

pub use report::Run;

/// The architecture of the machine a run is on. Most cases are the same everywhere; the
/// domain dom0 creates is not (its createdomain body is per architecture), and cases that only
/// mean something on one architecture run only there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arch {
    /// x86_64 (the PVH kernels): what every platform was before arm64, hence the default.
    #[default]
    X86_64,
    /// arm64: every guest is translated; dom0 is mapped 1:1.
    Arm64,
}

/// What a run needs from the machine it runs on, beyond hypercalls.
pub trait Platform {
    /// The hypercall backend.
    type Hv: Hypercall;

    /// The machine's architecture.
    fn arch(&self) -> Arch {
        Arch::X86_64
    }

    /// The operations, over the backend.
    fn xen(&self) -> &Xen<Self::Hv>;

    /// Reads `buf.len()` bytes at byte `offset` of the caller's own guest frame `gfn`
    /// (through whatever is mapped there). `false` if the platform cannot.
    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool;

    /// Writes `data` at byte `offset` of the caller's own guest frame `gfn`.
    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool;
}

/// Facts about the machine that a case needs and that legitimately differ between runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Config {
    /// The caller's own numeric domain id.
    pub self_id: u16,
    /// First GFN of a hole in the caller's physmap with room for [`Config::scratch_pages`]
    /// pages: cases map things there. Printed only relative to itself.
    pub scratch_gfn: Gfn,
    /// Pages available from `scratch_gfn` on (at least 512).
    pub scratch_pages: u64,
    /// Another unprivileged domain that exists while a domU runs its cases (a sibling), if
    /// the platform made one. Printed as `SIB`.
    pub sibling: Option<u16>,
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Observation lines printed.
    pub observations: u32,
}

/// Runs the cases a privileged domain (dom0: control and hardware domain, translated) runs,
/// printing canonical lines to `out`. It creates, uses and destroys one domU of its own.
pub fn run_dom0<P: Platform>(p: &mut P, cfg: &Config, out: &mut dyn Write) -> Summary {
    let mut run = Run::new(p, cfg, out);
    dom0::run(&mut run);
    run.summary()
}

/// Runs the cases an unprivileged domain (a domU) can run, printing canonical lines to `out`.
/// `cfg.self_id` is the domU's own id.
pub fn run_domu<P: Platform>(p: &mut P, cfg: &Config, out: &mut dyn Write) -> Summary {
    let mut run = Run::new(p, cfg, out);
    domu::run(&mut run);
    run.summary()
}
