//! The model side of the differential run: `xenmem-sim` machines configured as the QEMU
//! machines `cargo xtask conformance` boots are (xtask/src/machine.rs), and the suite
//! run on them through the very same library calls (`xenmem::Xen` over
//! [`xenmem_sim::SimBackend`]).
//!
//! Only configuration lives here — the Xen release, the machine's size, which domains exist
//! with how much RAM, where the platform's scratch hole is — never an expected answer: the
//! answers are the model's, and the golden files hold real Xen's (one directory per release).

use crate::ioreq::{guest_line, Access, Seen, ACCESSES, MMIO_BASE};
use crate::{economy, Arch, Config, GuestStep, Platform, Summary};
use xenmem::hypercall::Counting;
use xenmem::{DomId, EntryStatus, Gfn, Mfn, Xen};
use xenmem_sim::{
    DomainConfig, DomainKind, GuestIo, IoOutcome, MachineConfig, Release, Sim, SimBackend, SimError,
};

/// QEMU's `-m 512`: 512 MiB of machine RAM.
const MACHINE_FRAMES: u64 = 512 << 8;
/// `dom0_mem=64M`.
const DOM0_PAGES: u64 = 64 << 8;
/// The scratch hole the x86_64 kernel picks as dom0 (first 2 MiB-aligned hole above RAM and
/// the firmware's reserved ranges: gfn 0x20000 on that machine).
const DOM0_SCRATCH: Gfn = Gfn(0x2_0000);
/// Both kernels hand the suite 1024 scratch pages.
const SCRATCH_PAGES: u64 = 1024;
/// Bytes in a page.
const PAGE: u64 = 4096;
/// The domU the kernel builds: 16 MiB of RAM at gfn 0, `max_mem` 32 MiB, 32 grant frames,
/// grant v1 (`grant_opts` 1), its scratch hole right above its RAM.
const DOMU_RAM_PAGES: u64 = 16 << 8;
const DOMU_MAX_PAGES: u64 = 32 << 8;
const DOMU_SCRATCH: Gfn = Gfn(0x1000);
/// The sibling the kernel builds beside it: 1 MiB limit, four pages at gfn 0x100.
const SIBLING_MAX_PAGES: u64 = 1 << 8;

/// A platform over the model: hypercalls through the library, guest memory through the
/// model's host-side accessors.
#[derive(Debug)]
pub struct ModelPlatform {
    sim: Sim,
    xen: Xen<SimBackend>,
    caller: DomId,
    spare_ram: Option<Gfn>,
}

impl ModelPlatform {
    /// The suite's caller is `caller` on `sim`.
    pub fn new(sim: &Sim, caller: DomId) -> Self {
        ModelPlatform { sim: sim.clone(), xen: Xen::new(sim.backend(caller)), caller, spare_ram: None }
    }

    /// Offers the suite `gfn` as the caller's spare RAM page, as the real kernel does.
    pub fn with_spare_ram(mut self, gfn: Gfn) -> Self {
        self.spare_ram = Some(gfn);
        self
    }
}

impl ModelPlatform {
    /// The kernels touch a frame with one-byte loads and stores; where the caller maps
    /// nothing, each is an access Xen emulates (the model's `guest_io`): on x86, with no
    /// ioreq server claiming it, a read gives all ones and a write is dropped; on Arm it is a
    /// data abort, which the arm64 kernel's exception vector turns into "unreadable".
    /// `Some(value)` for an access that completed (`value` a read's), `None` otherwise.
    fn emulated(&self, io: GuestIo) -> Option<Option<u64>> {
        match self.sim.guest_io(self.caller, 0, io) {
            Ok(IoOutcome::Done { value, .. }) => Some(value),
            _ => None,
        }
    }
}

impl Platform for ModelPlatform {
    type Hv = SimBackend;

    fn arch(&self) -> Arch {
        match self.sim.config().arch {
            xenmem_sim::Arch::X86_64 => Arch::X86_64,
            xenmem_sim::Arch::Arm64 => Arch::Arm64,
        }
    }

    fn xen(&self) -> &Xen<SimBackend> {
        &self.xen
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        match self.sim.read_gfn(self.caller, gfn, offset, buf) {
            Ok(()) => true,
            Err(SimError::NotMapped(..)) => {
                let at = gfn.0 * PAGE + offset as u64;
                buf.iter_mut().enumerate().all(|(i, b)| {
                    match self.emulated(GuestIo::mmio_read(at + i as u64, 1)) {
                        Some(Some(v)) => {
                            *b = v as u8;
                            true
                        }
                        _ => false,
                    }
                })
            }
            Err(_) => false,
        }
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        match self.sim.write_gfn(self.caller, gfn, offset, data) {
            Ok(()) => true,
            Err(SimError::NotMapped(..)) => {
                let at = gfn.0 * PAGE + offset as u64;
                data.iter()
                    .enumerate()
                    .all(|(i, &b)| self.emulated(GuestIo::mmio_write(at + i as u64, 1, b.into())).is_some())
            }
            Err(_) => false,
        }
    }

    fn spare_ram(&self) -> Option<Gfn> {
        self.spare_ram
    }
}

/// The x86_64 machine with its PVH dom0, as Xen `xen` built it for the kernel.
pub fn x86_64_pvh_machine(xen: Release) -> Sim {
    let sim = Sim::new(MachineConfig::x86_64(MACHINE_FRAMES).with_xen(xen));
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).expect("dom0");
    sim.populate_ram(dom0, Gfn(0), DOM0_PAGES).expect("dom0 RAM");
    // Xen maps the firmware's reserved ranges 1:1 into a PVH hardware domain; the top one
    // ends just below 4 GiB, which is what makes dom0's highest mapped GFN lie above the
    // scratch hole.
    sim.map_mmio(dom0, Gfn(0xf_ffff), Mfn(0xf_ffff)).expect("dom0 firmware range");
    sim
}

/// Runs the dom0 cases on the model configured as the x86_64 QEMU machine under Xen `xen`.
pub fn run_x86_64_pvh_dom0(xen: Release, out: &mut dyn core::fmt::Write) -> (Sim, Summary) {
    let sim = x86_64_pvh_machine(xen);
    let mut p = ModelPlatform::new(&sim, DomId(0));
    let cfg = Config { self_id: 0, scratch_gfn: DOM0_SCRATCH, scratch_pages: SCRATCH_PAGES, sibling: None };
    let summary = crate::run_dom0(&mut p, &cfg, out);
    (sim, summary)
}

/// The hypercall economy's machine ([`crate::economy`]): dom0's machine under Xen `xen` and a domU with the
/// RAM the kernel's toolstack gives it (16 MiB at gfn 0), whose pages dom0 maps. Returns the
/// model, the domU, and its populated GFNs.
pub fn x86_64_economy_machine(xen: Release) -> (Sim, DomId, core::ops::Range<u64>) {
    let sim = x86_64_pvh_machine(xen);
    let domu = sim
        .create_domain(DomainConfig { max_pages: DOMU_MAX_PAGES, ..DomainConfig::domu(DomainKind::Pvh) })
        .expect("domU");
    sim.populate_ram(domu, Gfn(0), DOMU_RAM_PAGES).expect("domU RAM");
    (sim, domu, 0..DOMU_RAM_PAGES)
}

/// The hypercall economy on the model, as the x86_64 kernel runs it on real Xen: dom0 maps the
/// domU's RAM at [`economy::windows_needed`] windows from [`economy::WINDOWS_AT`] (65,536
/// frames), an untimed pass, then each way once ([`economy::measure_ways`]), timed by `clock`.
/// The model's invariants are checked after the run.
///
/// # Errors
///
/// The way that failed and why, or the invariant the run broke.
pub fn economy_on_model<C: economy::Clock>(xen: Release, clock: &C) -> Result<[economy::Measure; 3], String> {
    let (sim, domu, ram) = x86_64_economy_machine(xen);
    let source: Vec<Gfn> = ram.map(Gfn).collect();
    let per_window = source.len() as u64;
    let windows: Vec<Gfn> =
        (0..economy::windows_needed(per_window)).map(|w| economy::window(w, per_window)).collect();
    let target = economy::Target { foreign: domu, source: &source, windows: &windows };
    let xen = Xen::new(Counting::new(sim.backend(DomId(0))));
    let n = xenmem::BATCH_MAX_ENTRIES;
    let (mut idxs, mut gfns, mut errs) = (vec![Gfn(0); n], vec![Gfn(0); n], vec![EntryStatus::NOT_DONE; n]);
    let mut scratch = economy::Scratch { idxs: &mut idxs, gfns: &mut gfns, errs: &mut errs };
    let measured = economy::measure_ways(&xen, clock, &target, &mut scratch)
        .map_err(|(way, e)| format!("economy {}: {e:?}", way.name))?;
    sim.check_invariants().map_err(|v| format!("model invariant violated after the economy: {v:?}"))?;
    Ok(measured)
}

/// Runs the domU cases on the model: dom0's machine plus the sibling and the domU the
/// kernel's toolstack builds, the domU as the caller.
pub fn run_x86_64_pvh_domu(xen: Release, out: &mut dyn core::fmt::Write) -> (Sim, Summary) {
    let sim = x86_64_pvh_machine(xen);
    let domu_like = |max_pages| DomainConfig {
        max_pages,
        max_grant_frames: 32,
        grant_version: 1,
        ..DomainConfig::domu(DomainKind::Pvh)
    };
    let sibling = sim.create_domain(domu_like(SIBLING_MAX_PAGES)).expect("sibling");
    sim.populate_ram(sibling, Gfn(0x100), 4).expect("sibling RAM");
    let domu = sim.create_domain(domu_like(DOMU_MAX_PAGES)).expect("domU");
    sim.populate_ram(domu, Gfn(0), DOMU_RAM_PAGES).expect("domU RAM");
    let mut p = ModelPlatform::new(&sim, domu);
    let cfg = Config {
        self_id: domu.raw(),
        scratch_gfn: DOMU_SCRATCH,
        scratch_pages: SCRATCH_PAGES,
        sibling: Some(sibling.raw()),
    };
    let summary = crate::run_domu(&mut p, &cfg, out);
    (sim, summary)
}

/// `cargo xtask conformance --arch arm64`'s machine: QEMU `virt` with `-m 1G`, RAM at 0x40000000, so
/// machine frames up to 0x80000. The model numbers its frames from 0: the 1 GiB below RAM is
/// heap the real machine does not have, which no case runs dry; `maximum_ram_page` is the same.
const ARM64_MACHINE_FRAMES: u64 = 0x8_0000;
/// `dom0_mem=128M`: Xen maps dom0 1:1 (GFN == MFN) and gave it 0x70000000-0x78000000;
/// `max_pages` is the same 32768 (dom0's maximum_reservation is `=current` on Arm).
const ARM64_DOM0_RAM: Gfn = Gfn(0x7_0000);
const ARM64_DOM0_PAGES: u64 = 128 << 8;
/// The kernel's dom0 scratch hole: the first extended region Xen listed for dom0
/// (0x40400000-0x70000000), 2 MiB aligned.
const ARM64_DOM0_SCRATCH: Gfn = Gfn(0x4_0400);
/// The page the arm64 kernel offers as dom0's spare RAM: the middle of its first RAM bank.
const ARM64_DOM0_SPARE: Gfn = Gfn(0x7_4000);
/// The dom0less domU (`domU1` in the device tree: `memory = <0 0x20000>`, one vCPU): d1,
/// 128 MiB at `GUEST_RAM0_BASE` with `max_pages` equal to it, Xen's default 64 grant frames,
/// grant v1 (Arm has no v2).
const ARM64_DOMU: DomId = DomId(1);
const ARM64_DOMU_RAM: Gfn = Gfn(0x4_0000);
const ARM64_DOMU_PAGES: u64 = 128 << 8;
/// The room dom0 adds above the domU's RAM before the domU runs its cases (16 MiB).
const ARM64_DOMU_ROOM: u64 = 16 << 8;
/// The domU's scratch hole: right above its RAM.
const ARM64_DOMU_SCRATCH: Gfn = Gfn(0x4_8000);
/// The sibling dom0 makes after its own cases: d3 (d2 was the domain of dom0's cases), 1 MiB
/// limit, four pages at gfn 0x100, 32 grant frames.
const ARM64_SIBLING: u16 = 3;

/// The arm64 machine as Xen `xen` built it at boot: dom0 and the dom0less domU.
/// `domu_max_pages` is the domU's limit (its RAM at boot; dom0 raises it later).
pub fn arm64_machine(xen: Release, domu_max_pages: u64) -> Sim {
    let sim = Sim::new(MachineConfig::arm64(ARM64_MACHINE_FRAMES).with_xen(xen));
    let dom0 = sim
        .create_domain(DomainConfig { max_pages: ARM64_DOM0_PAGES, ..DomainConfig::dom0(DomainKind::Pvh) })
        .expect("dom0");
    sim.populate_ram(dom0, ARM64_DOM0_RAM, ARM64_DOM0_PAGES).expect("dom0 RAM");
    let domu = sim
        .create_domain(DomainConfig {
            id: Some(ARM64_DOMU.raw()),
            max_pages: domu_max_pages,
            max_grant_frames: 64,
            grant_version: 1,
            ..DomainConfig::domu(DomainKind::Pvh)
        })
        .expect("dom0less domU");
    sim.populate_ram(domu, ARM64_DOMU_RAM, ARM64_DOMU_PAGES).expect("domU RAM");
    sim
}

/// Runs the dom0 cases on the model configured as the arm64 QEMU machine
/// while dom0 runs them: the dom0less domU exists (and waits).
pub fn run_arm64_dom0(xen: Release, out: &mut dyn core::fmt::Write) -> (Sim, Summary) {
    let sim = arm64_machine(xen, ARM64_DOMU_PAGES);
    let mut p = ModelPlatform::new(&sim, DomId(0)).with_spare_ram(ARM64_DOM0_SPARE);
    let cfg =
        Config { self_id: 0, scratch_gfn: ARM64_DOM0_SCRATCH, scratch_pages: SCRATCH_PAGES, sibling: None };
    let summary = crate::run_dom0(&mut p, &cfg, out);
    (sim, summary)
}

/// Runs the domU cases on the model: the dom0less domU as the caller, after dom0 made the
/// sibling and raised the domU's limit.
pub fn run_arm64_domu(xen: Release, out: &mut dyn core::fmt::Write) -> (Sim, Summary) {
    let sim = arm64_machine(xen, ARM64_DOMU_PAGES + ARM64_DOMU_ROOM);
    let sibling = sim
        .create_domain(DomainConfig {
            id: Some(ARM64_SIBLING),
            max_pages: SIBLING_MAX_PAGES,
            max_grant_frames: 32,
            grant_version: 1,
            ..DomainConfig::domu(DomainKind::Pvh)
        })
        .expect("sibling");
    sim.populate_ram(sibling, Gfn(0x100), 4).expect("sibling RAM");
    let mut p = ModelPlatform::new(&sim, ARM64_DOMU);
    let cfg = Config {
        self_id: ARM64_DOMU.raw(),
        scratch_gfn: ARM64_DOMU_SCRATCH,
        scratch_pages: SCRATCH_PAGES,
        sibling: Some(sibling.raw()),
    };
    let summary = crate::run_domu(&mut p, &cfg, out);
    (sim, summary)
}

/// Turns the guest may wait for the device model without it taking the request, before the
/// model calls the guest stuck (the real kernel's bound is a time).
const MAX_STALLS: u32 = 1000;

/// dom0 as the device model of `guest`, whose vCPU 0 makes `accesses` through the model's
/// host API ([`Sim::guest_io`]) one per turn, as the real guest kernel makes them in its own
/// domain; its lines ([`guest_line`]) are kept for after dom0's.
#[derive(Debug)]
pub struct GuestModel {
    inner: ModelPlatform,
    sim: Sim,
    guest: DomId,
    accesses: &'static [Access],
    next: usize,
    /// The access the vCPU waits on.
    waiting: Option<Access>,
    stalls: u32,
    /// The guest's lines.
    pub lines: String,
}

impl GuestModel {
    /// dom0 on `sim`, serving `guest`.
    pub fn new(sim: &Sim, guest: DomId, accesses: &'static [Access]) -> Self {
        GuestModel {
            inner: ModelPlatform::new(sim, DomId(0)),
            sim: sim.clone(),
            guest,
            accesses,
            next: 0,
            waiting: None,
            stalls: 0,
            lines: String::new(),
        }
    }

    fn seen(&mut self, a: &Access, o: IoOutcome) -> Option<GuestStep> {
        let seen = match o {
            IoOutcome::Done { value: Some(v), .. } => Seen::Read(v),
            IoOutcome::Done { value: None, .. } => Seen::Written,
            IoOutcome::Fault => Seen::Fault,
            IoOutcome::Crashed => Seen::Crashed,
            IoOutcome::Waiting { .. } => {
                self.waiting = Some(*a);
                self.stalls += 1;
                return (self.stalls > MAX_STALLS).then_some(GuestStep::Finished("timeout"));
            }
        };
        self.waiting = None;
        self.stalls = 0;
        guest_line(&mut self.lines, a, seen);
        // A real guest has no handler for a fault: it ends there.
        match seen {
            Seen::Fault | Seen::Crashed => Some(GuestStep::Finished("crash")),
            _ => None,
        }
    }
}

impl Platform for GuestModel {
    type Hv = SimBackend;

    fn arch(&self) -> Arch {
        self.inner.arch()
    }

    fn xen(&self) -> &Xen<SimBackend> {
        self.inner.xen()
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        self.inner.read_phys(gfn, offset, buf)
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        self.inner.write_phys(gfn, offset, data)
    }

    fn ioreq_guest(&self) -> Option<DomId> {
        Some(self.guest)
    }

    fn guest_step(&mut self) -> GuestStep {
        if let Some(a) = self.waiting {
            let Some(o) = self.sim.guest_io_status(self.guest, 0) else { return GuestStep::Finished("lost") };
            if let Some(end) = self.seen(&a, o) {
                return end;
            }
            if self.waiting.is_some() {
                return GuestStep::Running;
            }
        }
        let Some(&a) = self.accesses.get(self.next) else { return GuestStep::Finished("poweroff") };
        self.next += 1;
        let io = match a.write {
            None => GuestIo::mmio_read(MMIO_BASE + a.offset, a.size),
            Some(v) => GuestIo::mmio_write(MMIO_BASE + a.offset, a.size, v),
        };
        match self.sim.guest_io(self.guest, 0, io) {
            Ok(o) => self.seen(&a, o).unwrap_or(GuestStep::Running),
            Err(_) => GuestStep::Finished("refused by the model"),
        }
    }
}

/// The domU as the x86_64 kernel's toolstack builds it (16 MiB at gfn 0, 32 MiB limit, one
/// vCPU) on dom0's machine.
fn x86_64_domu(sim: &Sim) -> DomId {
    let domu = sim
        .create_domain(DomainConfig {
            max_pages: DOMU_MAX_PAGES,
            max_grant_frames: 32,
            grant_version: 1,
            ..DomainConfig::domu(DomainKind::Pvh)
        })
        .expect("domU");
    sim.populate_ram(domu, Gfn(0), DOMU_RAM_PAGES).expect("domU RAM");
    domu
}

/// Runs the ioreq cases on the model configured as the x86_64 machine: dom0 serves a domU
/// built as the kernel's toolstack builds its second one; dom0's lines, then the guest's.
pub fn run_x86_64_ioreq(xen: Release, out: &mut dyn core::fmt::Write) -> (Sim, Summary) {
    let sim = x86_64_pvh_machine(xen);
    let domu = x86_64_domu(&sim);
    let mut p = GuestModel::new(&sim, domu, &ACCESSES);
    let cfg = Config { self_id: 0, scratch_gfn: DOM0_SCRATCH, scratch_pages: SCRATCH_PAGES, sibling: None };
    let mut summary = crate::run_ioreq(&mut p, &cfg, out);
    let _ = out.write_str(&p.lines);
    summary.observations += p.lines.lines().count() as u32;
    (sim, summary)
}

/// Runs the ioreq cases on the model configured as the arm64 machine after its two suites:
/// dom0 asks for a server for the dom0less domU, which makes no accesses (Debian's arm64 Xen
/// has no ioreq servers; the model's arm64 machine neither).
pub fn run_arm64_ioreq(xen: Release, out: &mut dyn core::fmt::Write) -> (Sim, Summary) {
    let sim = arm64_machine(xen, ARM64_DOMU_PAGES + ARM64_DOMU_ROOM);
    let mut p = GuestModel::new(&sim, ARM64_DOMU, &[]);
    let cfg =
        Config { self_id: 0, scratch_gfn: ARM64_DOM0_SCRATCH, scratch_pages: SCRATCH_PAGES, sibling: None };
    let summary = crate::run_ioreq(&mut p, &cfg, out);
    (sim, summary)
}

/// The suite's configurations on the model: (name, runner). The name is also the golden
/// file's (`golden/<release>/<name>.txt`).
pub type Runner = fn(Release, &mut dyn core::fmt::Write) -> (Sim, Summary);

/// Every configuration, by the name the golden files and `cargo xtask` use.
pub const CONFIGURATIONS: [(&str, Runner); 4] = [
    ("x86_64-pvh-dom0", run_x86_64_pvh_dom0),
    ("x86_64-pvh-domu", run_x86_64_pvh_domu),
    ("arm64-dom0", run_arm64_dom0),
    ("arm64-domu", run_arm64_domu),
];

/// The device model's configurations, apart from [`CONFIGURATIONS`]: the releases need not
/// answer them differently.
pub const IOREQ_CONFIGURATIONS: [(&str, Runner); 2] =
    [("x86_64-ioreq", run_x86_64_ioreq), ("arm64-ioreq", run_arm64_ioreq)];

/// How two runs' lines compare: per case, and in all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Lines compared: those that agree plus those that differ (at least the longer run).
    pub observations: usize,
    /// Lines that agree.
    pub agree: usize,
    /// `(line number, real Xen's line, the model's line)` for each that differs; a line one
    /// side lacks is `<missing>` there, numbered where it would sit among real Xen's lines.
    pub differ: Vec<(usize, String, String)>,
}

/// Longest runs compared by alignment; beyond it (never reached by the suite's few hundred
/// lines) line by line.
const ALIGN_MAX_CELLS: usize = 1 << 24;

/// Compares real Xen's lines with the model's. The two are aligned on their longest common
/// subsequence, so a line that one side has and the other lacks counts once instead of
/// shifting every line after it; each stretch between agreeing lines pairs the two sides'
/// lines in order.
pub fn compare(real: &str, model: &str) -> Comparison {
    let r: Vec<&str> = real.lines().collect();
    let m: Vec<&str> = model.lines().collect();
    let (n, k) = (r.len(), m.len());
    let w = k + 1;
    let mut c = Comparison::default();
    if (n + 1).saturating_mul(w) > ALIGN_MAX_CELLS {
        for i in 0..n.max(k) {
            let (a, b) = (r.get(i).copied().unwrap_or(MISSING), m.get(i).copied().unwrap_or(MISSING));
            c.push(i + 1, a, b);
        }
        return c;
    }
    // lcs[i * w + j]: the longest common subsequence of r[i..] and m[j..].
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..k).rev() {
            lcs[i * w + j] = if r[i] == m[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut only_real, mut only_model): (Vec<(usize, &str)>, Vec<&str>) = (Vec::new(), Vec::new());
    while i < n || j < k {
        if i < n && j < k && r[i] == m[j] {
            c.flush(&mut only_real, &mut only_model, i);
            c.push(i + 1, r[i], m[j]);
            (i, j) = (i + 1, j + 1);
        } else if j == k || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            only_real.push((i + 1, r[i]));
            i += 1;
        } else {
            only_model.push(m[j]);
            j += 1;
        }
    }
    c.flush(&mut only_real, &mut only_model, n);
    c
}

/// What a side lacks.
const MISSING: &str = "<missing>";

impl Comparison {
    /// The `case op` part of each of real Xen's lines that the model answers differently
    /// (`<missing>` for a line only the model has): what a test names when it expects a wrong
    /// model to be caught.
    pub fn differing_ops(&self) -> Vec<String> {
        self.differ
            .iter()
            .map(|(_, real, _)| real.split(" -> ").next().unwrap_or_default().to_string())
            .collect()
    }

    fn push(&mut self, line: usize, real: &str, model: &str) {
        self.observations += 1;
        if real == model {
            self.agree += 1;
        } else {
            self.differ.push((line, real.to_string(), model.to_string()));
        }
    }

    /// Pairs a stretch of unmatched lines in order; `next` is the index of real Xen's next
    /// matched line (where the model's extra lines would sit).
    fn flush(&mut self, only_real: &mut Vec<(usize, &str)>, only_model: &mut Vec<&str>, next: usize) {
        for p in 0..only_real.len().max(only_model.len()) {
            let (line, a) = only_real.get(p).copied().unwrap_or((next + 1, MISSING));
            let b = only_model.get(p).copied().unwrap_or(MISSING);
            self.differ.push((line, a.to_string(), b.to_string()));
            self.observations += 1;
        }
        only_real.clear();
        only_model.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn a_line_one_side_lacks_counts_once() {
        let c = compare("a\nb\nc\nd\n", "a\nc\nd\n");
        assert_eq!((c.observations, c.agree), (4, 3));
        assert_eq!(c.differ, vec![(2, "b".to_string(), "<missing>".to_string())]);
        let c = compare("a\nc\nd\n", "a\nx\nc\nd\n");
        assert_eq!((c.observations, c.agree), (4, 3));
        assert_eq!(c.differ, vec![(2, "<missing>".to_string(), "x".to_string())]);
    }

    #[test]
    fn a_changed_line_is_one_difference_at_its_place() {
        let c = compare("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!((c.observations, c.agree), (3, 2));
        assert_eq!(c.differ, vec![(2, "b".to_string(), "B".to_string())]);
        let c = compare("a\nb\n", "a\nb\nextra\n");
        assert_eq!(c.differ, vec![(3, "<missing>".to_string(), "extra".to_string())]);
        let c = compare("", "");
        assert_eq!((c.observations, c.agree, c.differ.len()), (0, 0, 0));
    }

    #[test]
    fn identical_runs_agree_everywhere() {
        let c = compare("x\ny\nx\n", "x\ny\nx\n");
        assert_eq!((c.observations, c.agree, c.differ.len()), (3, 3, 0));
    }
}
