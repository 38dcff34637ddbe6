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
//! # Normalised values, and what each could hide
//!
//! Some values legitimately differ between two machines. They are printed by relation, never
//! dropped. Each relation is weaker than the value, so each is listed with what a wrong
//! answer could get past it (a model, or a real Xen, that is wrong only in that way passes):
//! - guest frames of the caller's scratch hole (which the platform picks from its memory
//!   map) print as `s+N`, N pages from the hole's start. Hides only the hole's base: every
//!   offset is exact, and frames outside the hole print in hex.
//! - dom0's own page count prints as it is (`=16384`), with what the domctl side reports for
//!   the same domain (`getdomaininfo(own id) -> tot=.. max=..`); later the suite prints only
//!   changes (`+1`) of it. A change of the right size from a wrong start is caught by the
//!   first line; nothing is hidden. `current_reservation(own id) -> =SELF` hides nothing
//!   either (the value itself is on the line before).
//! - `maximum_reservation(SELF)` prints `=unlimited`, `=current`, `>current` or `<current`:
//!   a limited maximum that is wrong but still above the count passes here (the absolute
//!   maximum is on the `getdomaininfo(own id)` line).
//! - a highest mapped GFN of the caller prints as `below-s`, `inside-s` or `above-s` (dom0,
//!   whose highest GFN is the platform's MMIO layout) or `below-s`/`at-or-above-s` (domU):
//!   a wrong highest GFN in the same band passes. The domU's, read by dom0, prints exactly.
//! - a domU's own counts (which its builder chose) print relative to its own current
//!   reservation (`=current`, `>current`), and the fill to `max_pages` as `n=room`,
//!   `=max`, `n=all`, `=before`: exact relations, but a wrong absolute count for the domU
//!   that keeps them passes.
//! - `u32::MAX` prints as `=unlimited`: a maximum of exactly 4294967295 pages is the same
//!   thing.
//! - bytes read through a mapping: the first 8 of the page only. A wrong frame that agrees on
//!   those 8 bytes passes; the suite writes distinct patterns where it matters (foreign data,
//!   the acquired grant frames, Arm's spare RAM), so "which frame" is proven by content.
//! - `unreadable` / `unwritable`: the platform could not touch the frame. Real and model
//!   kernels answer by what is mapped; the PV dom0 run (`xenmem conformance`) cannot reach
//!   its own frames at all, so there those lines cannot differ. Where an x86 kernel touches
//!   a GFN that maps nothing, Xen emulates the access (no ioreq server claims it: a read
//!   gives all ones, a write is dropped), so the line is `bytes=ffffffffffffffff` or `ok`;
//!   the model's platform makes the same one-byte accesses through the model's emulation
//!   (`Sim::guest_io`), so those are compared too. On Arm Xen injects a data abort, which
//!   the arm64 kernel's exception vector catches: `unreadable`, on the model alike.
//! - getdomaininfo prints tot_pages, max_pages and five flags (dying, hvm, shutdown, paused,
//!   hap); other flags (blocked, running, ...) are hidden. After destroy only `found
//!   dying=..`/`gone` is printed, hiding the dying domain's counts.
//! - domain ids print as `SELF`, `OWN`, `SIB`, `U=dN`/`dN`; a batch entry Xen never reached
//!   prints `-` (a sentinel no errno equals).
//! - `lib:<reason>`: the library refused before any hypercall; such lines test the library,
//!   and agree on both sides by construction.
//! - MFNs (what a PV caller gets back from populate or acquire_resource) are never printed:
//!   which machine frame came back is not compared.
//! - ioreq cases ([`ioreq`]): event-channel ports print as `set`/`none`/`zero` (whether Xen
//!   gave one) and a bound port's status as a relation (`interdomain U vp_eport`: the remote
//!   end is the guest's port dom0 read from the slot). A wrong port number that is still
//!   nonzero, and still the one the slot names, passes. The served domU prints as `U`.
//! - guest addresses of the device print relative to its base (`+0x8`) within two pages of
//!   it, hex elsewhere: nothing is hidden but the base, which is a constant of the suite.
//! - `ioreq.serve guest finished -> poweroff` is, on the model, said by the platform when
//!   the guest's list of accesses is done (the real kernel reads the domU's shutdown reason):
//!   a model that lost an access still shows it, in `served=` and the guest's own lines.
//! - how many polls or yields the serving took is never printed (it depends on timing).
//!
//! # What no run observes
//!
//! Behaviours of the model that no real-Xen case reaches, so a wrong model there passes (the
//! mutation figures in BENCHMARKS.md name each survivor by this list):
//! - device-model privilege (`d->target`, set by `XEN_DOMCTL_set_target`, is set in no run)
//!   and the xenstore domain's privilege (`XSM_XS_PRIV`);
//! - DOMID_IO as a foreign owner (Xen 4.17 on Arm takes a data abort in the hypervisor);
//! - `guest_handle_subrange_okay` (the library never passes a list in Xen's half of the
//!   address space);
//! - vmtrace buffers: QEMU's CPUs have no processor trace, so no domain has one and the
//!   resource's size is 0 everywhere;
//! - acquire_resource's continuation index (`start_extent`): Xen sets it only when it preempts
//!   itself, which no call here makes it do, and the library always sends 0; and a list of
//!   more than 2^26 frames (512 MiB of list);
//! - ioreq pages beyond the first synchronous one: they take more than 127 vCPUs, and x86 HVM
//!   domains have at most 128, so every ioreq server's size is 2 (a wrong formula that agrees
//!   up to 128 vCPUs cannot be told apart on any Xen);
//! - which way the model copies a batch's arrays (a chunk at a time, or element by element
//!   when `errs` overlaps `idxs` or `gpfns`): both give Xen's results, and no library call
//!   overlaps them (`xenmem-sim`'s own semantics tests cover the overlap);
//! - acquire_resource's 32-bit range check where the resource's own limit gives the same
//!   `-EINVAL` (no resource has 2^32 frames), and Xen's unreachable guard against a resource
//!   that gives no frames or too many;
//! - the caller's memory past a batch's arrays: no line looks beyond `errs`, so a model that
//!   read or wrote entries past the batch's size would pass (a canary after the arrays, on
//!   real Xen and the model, is the case to write).

#![cfg_attr(not(feature = "model"), no_std)]
#![forbid(unsafe_code)]

mod acquire_chunks;
mod batch_chunks;
mod dom0;
mod domu;
pub mod economy;
pub mod ioreq;
#[cfg(feature = "model")]
pub mod model;
mod report;

use core::fmt::Write;
use xenmem::{DomId, Gfn, Hypercall, Xen};

pub use ioreq::GuestStep;
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

    /// A page of the caller's own RAM that nothing uses, which the suite may give back to Xen
    /// and ask for again (it is how Arm's 1:1 dom0 shows). `None` (the default) skips those
    /// cases.
    fn spare_ram(&self) -> Option<Gfn> {
        None
    }

    /// The unprivileged domain the ioreq suite ([`run_ioreq`]) serves as its device model,
    /// paused until [`Platform::guest_start`]. `None` (the default): the suite has no guest.
    fn ioreq_guest(&self) -> Option<DomId> {
        None
    }

    /// Lets the guest begin its accesses ([`ioreq::ACCESSES`]): a real machine unpauses it.
    fn guest_start(&mut self) {}

    /// Gives the guest a turn (a real machine yields the CPU and looks whether it has shut
    /// down; the model makes its next access). The default: it has finished.
    fn guest_step(&mut self) -> GuestStep {
        GuestStep::Finished("none")
    }
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

/// Runs the device model's cases ([`ioreq`]): the caller serves an ioreq server for
/// [`Platform::ioreq_guest`] while the guest makes its accesses.
pub fn run_ioreq<P: Platform>(p: &mut P, cfg: &Config, out: &mut dyn Write) -> Summary {
    let mut run = Run::new(p, cfg, out);
    ioreq::run(&mut run);
    run.summary()
}

/// Runs the cases an unprivileged domain (a domU) can run, printing canonical lines to `out`.
/// `cfg.self_id` is the domU's own id.
pub fn run_domu<P: Platform>(p: &mut P, cfg: &Config, out: &mut dyn Write) -> Summary {
    let mut run = Run::new(p, cfg, out);
    domu::run(&mut run);
    run.summary()
}
