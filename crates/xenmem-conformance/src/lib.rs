//! The conformance suite: named cases that drive xenmem's operations through any backend and
//! print one canonical line per observation, so a run on real Xen and a run on the model can
//! be diffed line by line.
//!
//! no_std and allocation-free: the same code runs inside the freestanding guest kernel
//! (`guest/x86_64`) and in a host test against `xenmem-sim`.

#![no_std]
#![forbid(unsafe_code)]

use core::fmt::Write;
use xenmem::{Gfn, Hypercall, Xen};

/// What a run needs from the machine it runs on, beyond hypercalls.
pub trait Platform {
    /// The hypercall backend.
    type Hv: Hypercall;

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
    /// Pages available from `scratch_gfn` on.
    pub scratch_pages: u64,
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Observation lines printed.
    pub observations: u32,
}

/// Runs the cases a privileged domain (dom0) can run, printing canonical lines to `out`.
pub fn run_dom0<P: Platform>(p: &mut P, cfg: &Config, out: &mut dyn Write) -> Summary {
    let mut s = Summary::default();
    let r = p.xen().current_reservation(xenmem::DomId::SELF);
    let _ = writeln!(out, "obs current_reservation.self current_reservation(DOMID_SELF) -> {}", r.is_ok());
    s.observations += 1;
    let r = p.xen().add_to_physmap(xenmem::DomId::SELF, xenmem::MapSpace::SharedInfo, 0, cfg.scratch_gfn);
    let _ = writeln!(out, "obs add.shared_info add_to_physmap(DOMID_SELF,shared_info,0,scratch+0) -> {r:?}");
    s.observations += 1;
    s
}

/// Runs the cases an unprivileged domain (a domU) can run, printing canonical lines to `out`.
/// `cfg.self_id` is the domU's own id.
pub fn run_domu<P: Platform>(p: &mut P, cfg: &Config, out: &mut dyn Write) -> Summary {
    let mut s = Summary::default();
    let r = p.xen().current_reservation(xenmem::DomId::SELF);
    let _ = writeln!(out, "obs domu.current_reservation.self current_reservation(DOMID_SELF) -> {}", r.is_ok());
    s.observations += 1;
    let r = p.xen().current_reservation(xenmem::DomId(0));
    let _ = writeln!(out, "obs domu.current_reservation.d0 current_reservation(d0) -> {r:?}");
    s.observations += 1;
    let _ = cfg;
    s
}
