//! Running a scenario on the embedded model.
//!
//! The machine and its domains are built through the model's host-side calls (what Xen's
//! dom0 builder and a toolstack's domain builder do before a guest runs); every step after
//! that is a hypercall through `xenmem::Xen` over `Sim::backend(caller)`, so what the table
//! shows is the library's real marshalling and the model's real answer. The exceptions are
//! `write` and `read`, which stand for the guest's own loads and stores and go through the
//! model's view of the caller's physmap (`Sim::write_gfn` / `read_gfn`), and `guest_access`,
//! a guest vCPU's trapping access (`Sim::guest_io`), whose device model then answers with
//! the library's calls (`xenmem::ioreq` on the page it acquired, an event on the port it
//! bound).

use crate::input::InputError;
use crate::scenario::{EntryExpect, Expect, Op, RemotePort, Scenario, Step};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use xenmem::dm_op::IoreqServerId;
use xenmem::evtchn::Port;
use xenmem::ioreq::{IoDir, IoreqPage, IoreqState, Request};
use xenmem::{DomId, EntryStatus, Error, Gfn, Invalid, MapSpace, Mfn, Xen, XenError};
use xenmem_sim::{
    DomainConfig, DomainInfo, EntryKind, GfnPage, GuestIo, IoOutcome, IoSpace, MachineConfig, PhysmapRange,
    Sim, SimError,
};

/// What Xen (or the library, or the model's host side) answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Success without a value.
    Ok,
    /// Extents done (populate, increase, decrease) or frames (a size query).
    Count(u64),
    /// Pages (a reservation).
    Pages(u64),
    /// A frame number (maximum_gpfn).
    Gfn(u64),
    /// Bytes read.
    Bytes(Vec<u8>),
    /// Xen's errno.
    Xen(XenError),
    /// The library's refusal before any hypercall.
    Lib(Invalid),
    /// Nothing readable or writable at the caller's GFN (read and write only).
    Unmapped,
    /// A new ioreq server's id.
    Server(u16),
    /// A new local event-channel port.
    Port(u32),
    /// What became of a guest access, and the request its device model took.
    Io(IoAnswer),
    /// The model's host side refused the step (a guest access it does not emulate, a page
    /// the caller has not mapped, ...).
    Refused(String),
}

/// A guest access's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoAnswer {
    /// What the guest's vCPU got.
    pub outcome: IoOutcome,
    /// The request the emulator took from its page, if the access reached one.
    pub request: Option<Request>,
    /// Why the emulator could not answer, if it could not.
    pub note: Option<&'static str>,
}

impl Answer {
    fn from_error(e: Error) -> Answer {
        match e {
            Error::Xen(x) => Answer::Xen(x),
            Error::Invalid(i) => Answer::Lib(i),
            // A future variant: keep its errno visible.
            _ => Answer::Xen(XenError::from_errno(e.errno())),
        }
    }

    fn unit(r: Result<(), Error>) -> Answer {
        r.map_or_else(Answer::from_error, |()| Answer::Ok)
    }
}

/// One argument of an operation: its name, how the table prints it, and its JSON value.
#[derive(Clone, Debug)]
pub struct Arg {
    /// The field name, as in scenario files.
    pub name: &'static str,
    /// For the table.
    pub text: String,
    /// For `--json`.
    pub json: serde_json::Value,
}

/// One issued operation and what came back.
#[derive(Clone, Debug)]
pub struct StepResult {
    /// The step's number in the file.
    pub index: usize,
    /// Repetition (0-based) when the step repeats.
    pub rep: Option<u64>,
    /// Line of the step in the file.
    pub line: usize,
    /// The caller.
    pub by: u16,
    /// Operation name.
    pub op: &'static str,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// The answer.
    pub answer: Answer,
    /// A batch's per-entry statuses.
    pub errs: Option<Vec<EntryStatus>>,
    /// Machine frames Xen wrote back to a PV caller's frame list.
    pub mfns: Option<Vec<Mfn>>,
    /// What was expected, as written.
    pub expected: Option<String>,
    /// Why the answer does not match the expectation.
    pub mismatch: Option<String>,
    /// The step's note.
    pub note: Option<String>,
}

/// A domain at the end of the run.
#[derive(Clone, Debug)]
pub struct DomainView {
    /// Its id.
    pub id: u16,
    /// Its scenario name.
    pub name: String,
    /// The model's view; `None` once it is gone.
    pub info: Option<DomainInfo>,
    /// Its physmap, compressed.
    pub ranges: Vec<PhysmapRange>,
    /// For foreign mappings: which frames of their owner they show.
    pub links: Vec<Link>,
}

/// `count` consecutive GFNs of a domain mapping consecutive GFNs of `owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// The first GFN in the mapping domain.
    pub gfn: u64,
    /// Pages.
    pub count: u64,
    /// The owner.
    pub owner: u16,
    /// The first GFN in the owner's physmap.
    pub owner_gfn: u64,
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Its description.
    pub description: Option<String>,
    /// The machine's architecture name.
    pub arch: &'static str,
    /// Machine frames.
    pub frames: u64,
    /// The Xen release the model answered as (`4.20`).
    pub xen: String,
    /// Every issued operation.
    pub steps: Vec<StepResult>,
    /// Every declared domain, at the end.
    pub domains: Vec<DomainView>,
    /// Hypercalls the run issued.
    pub hypercalls: u64,
}

impl Report {
    /// The steps whose answer did not match.
    pub fn mismatches(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| s.mismatch.is_some())
    }

    /// A domain's scenario name (or `dN`).
    pub fn name_of(&self, id: u16) -> String {
        self.domains.iter().find(|d| d.id == id).map_or_else(|| format!("d{id}"), |d| d.name.clone())
    }
}

/// What the scenario's emulators remember between steps: the local port each bound to a
/// remote one (emulator, remote domain, remote port → local port).
#[derive(Default)]
struct Binds(BTreeMap<(u16, u16, u32), u32>);

/// Builds the scenario's machine and domains.
///
/// # Errors
///
/// An [`InputError`] at the domain whose configuration the model refuses (more memory than
/// the machine has, a `max_pages` below its memory, ...).
pub fn build(s: &Scenario) -> Result<Sim, InputError> {
    let xen = s.machine.xen.unwrap_or(xenmem_sim::Release::NEWEST);
    let sim = Sim::new(MachineConfig::new(s.machine.arch, s.machine.frames).with_xen(xen));
    let refuse = |d: &crate::scenario::Domain, field: &str, e: SimError| InputError {
        file: s.file.clone(),
        line: Some(d.line),
        context: Some(format!("domain \"{}\"", d.name)),
        field: Some(field.to_string()),
        message: format!("the model refuses it: {e}"),
    };
    // A device model's target must exist when it is created.
    let mut order: Vec<&crate::scenario::Domain> = s.domains.iter().filter(|d| d.target.is_none()).collect();
    order.extend(s.domains.iter().filter(|d| d.target.is_some()));
    for d in order {
        let mut cfg = DomainConfig::domu(d.kind);
        cfg.id = Some(d.id);
        cfg.control = d.control;
        cfg.hardware = d.hardware;
        cfg.max_pages = d.max_pages;
        cfg.max_grant_frames = d.grant_frames;
        cfg.grant_version = d.grant_version;
        cfg.target = d.target.map(DomId);
        sim.create_domain(cfg).map_err(|e| refuse(d, "id", e))?;
        if d.memory > 0 {
            sim.populate_ram(DomId(d.id), d.memory_at, d.memory).map_err(|e| refuse(d, "memory", e))?;
        }
    }
    for d in &s.domains {
        for io in &d.ioreq_servers {
            sim.create_ioreq_server(DomId(d.id), DomId(io.emulator), io.bufioreq)
                .map_err(|e| refuse(d, "ioreq_servers", e))?;
        }
    }
    Ok(sim)
}

/// Runs every step on a machine built by [`build`]. `progress` shows a counter on stderr
/// when it is a terminal and the run is long.
pub fn run(s: &Scenario, sim: &Sim, progress: bool) -> Report {
    let names: BTreeMap<u16, String> = s.domains.iter().map(|d| (d.id, d.name.clone())).collect();
    let total: u64 = s.steps.iter().map(|st| st.repeat).sum();
    let mut meter = Progress::new(progress && std::io::stderr().is_terminal(), total);
    let mut steps = Vec::new();
    let mut binds = Binds::default();
    for st in &s.steps {
        for rep in 0..st.repeat {
            let op = if rep == 0 { st.op.clone() } else { st.op.shifted(rep * st.stride) };
            let mut r = issue(sim, st.by, &op, &names, &mut binds);
            r.index = st.index;
            r.rep = (st.repeat > 1).then_some(rep);
            r.line = st.line;
            r.note = st.note.clone();
            check(st, &mut r);
            steps.push(r);
            meter.tick(st.index, op.name());
        }
    }
    meter.done();
    let domains = s
        .domains
        .iter()
        .map(|d| {
            let id = DomId(d.id);
            let ranges = sim.physmap(id);
            let links = links(sim, id, &ranges);
            DomainView { id: d.id, name: d.name.clone(), info: sim.domain_info(id), ranges, links }
        })
        .collect();
    Report {
        name: s.name.clone(),
        file: s.file.clone(),
        description: s.description.clone(),
        arch: match s.machine.arch {
            xenmem_sim::Arch::X86_64 => "x86_64",
            xenmem_sim::Arch::Arm64 => "arm64",
        },
        frames: s.machine.frames,
        xen: sim.config().xen.to_string(),
        steps,
        domains,
        hypercalls: sim.hypercalls(),
    }
}

/// A step counter on stderr, drawn at most ten times a second, only for runs that take a
/// while (a short run would just flicker).
struct Progress {
    on: bool,
    total: u64,
    done: u64,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(on: bool, total: u64) -> Progress {
        Progress { on, total, done: 0, start: Instant::now(), last: None }
    }

    fn tick(&mut self, step: usize, op: &str) {
        self.done += 1;
        if !self.on || self.start.elapsed() < Duration::from_millis(300) {
            return;
        }
        if self.last.is_some_and(|l| l.elapsed() < Duration::from_millis(100)) && self.done < self.total {
            return;
        }
        self.last = Some(Instant::now());
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r\x1b[K[{}/{}] step {step}: {op}", self.done, self.total);
        let _ = e.flush();
    }

    fn done(&mut self) {
        if self.on && self.last.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

fn dom_arg(name: &'static str, d: DomId, names: &BTreeMap<u16, String>) -> Arg {
    let text = match names.get(&d.0) {
        Some(n) => n.clone(),
        None if d == DomId::SELF => "self".to_string(),
        None => d.to_string(),
    };
    Arg { name, json: serde_json::json!({ "id": d.0, "name": text }), text }
}

fn num_arg(name: &'static str, v: u64) -> Arg {
    Arg { name, text: v.to_string(), json: v.into() }
}

fn hex_arg(name: &'static str, v: u64) -> Arg {
    let text = if v == u64::MAX { "INVALID".to_string() } else { format!("{v:#x}") };
    Arg { name, text, json: v.into() }
}

fn text_arg(name: &'static str, text: String) -> Arg {
    Arg { name, json: text.clone().into(), text }
}

/// Consecutive frame numbers as runs: `0x100-0x103, 0x200`.
pub fn frames_text(v: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j].checked_add(1) == Some(v[j + 1]) {
            j += 1;
        }
        let one = |x: u64| if x == u64::MAX { "INVALID".to_string() } else { format!("{x:#x}") };
        out.push(if j == i { one(v[i]) } else { format!("{}-{}", one(v[i]), one(v[j])) });
        i = j + 1;
    }
    format!("[{}]", out.join(", "))
}

fn list_arg(name: &'static str, v: &[u64]) -> Arg {
    Arg { name, text: frames_text(v), json: v.to_vec().into() }
}

fn gfn_list(v: &[Gfn]) -> Vec<u64> {
    v.iter().map(|g| g.0).collect()
}

fn space_text(s: MapSpace) -> String {
    s.name().map_or_else(|| format!("space {}", s.raw()), str::to_string)
}

fn resource_text(t: xenmem::ResourceType) -> String {
    t.name().map_or_else(|| format!("type {}", t.raw()), str::to_string)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// The GFN where `emulator` maps resource frame `frame` of server `server` of `target`.
fn ioreq_page_gfn(sim: &Sim, emulator: DomId, target: DomId, server: u16, frame: u32) -> Option<Gfn> {
    sim.physmap(emulator).into_iter().find_map(|r| match r.kind {
        EntryKind::IoreqPage { target: t, server: s, frame: f }
            if t == target && s == server && f <= frame && u64::from(frame - f) < r.count =>
        {
            Some(Gfn(r.first_gfn.0 + u64::from(frame - f)))
        }
        _ => None,
    })
}

/// The synchronous page of `server` of `target` holding vCPU `vcpu`'s slot, as `emulator`
/// maps it, and the slot.
fn ioreq_slot(
    sim: &Sim,
    emulator: DomId,
    target: DomId,
    server: u16,
    vcpu: u32,
) -> Option<(IoreqPage<GfnPage>, u32)> {
    let (frame, slot) = xenmem::ioreq::slot_of(vcpu);
    let gfn = ioreq_page_gfn(sim, emulator, target, server, u32::try_from(frame).ok()?)?;
    Some((IoreqPage::new(GfnPage::new(sim, emulator, gfn).ok()?), slot))
}

/// `guest`'s vCPU `vcpu` makes `io`; a forwarded access is served by its server's emulator
/// through the page it acquired and the port it bound (see [`Op::GuestAccess`]).
fn guest_access(
    sim: &Sim,
    guest: DomId,
    vcpu: u32,
    io: GuestIo,
    answer: u64,
    state: Option<u8>,
    binds: &Binds,
) -> Answer {
    let server = match sim.guest_io(guest, vcpu, io) {
        Err(e) => return Answer::Refused(e.to_string()),
        Ok(IoOutcome::Waiting { server }) => server,
        Ok(outcome) => return Answer::Io(IoAnswer { outcome, request: None, note: None }),
    };
    let waiting =
        |request, note| Answer::Io(IoAnswer { outcome: IoOutcome::Waiting { server }, request, note });
    let Some(emulator) = sim.ioreq_servers(guest).into_iter().find(|v| v.id == server).map(|v| v.emulator)
    else {
        return waiting(None, Some("no such server"));
    };
    let Some((mut page, slot)) = ioreq_slot(sim, emulator, guest, server, vcpu) else {
        return waiting(None, Some("the emulator has not mapped the server's page"));
    };
    let Ok(Some(req)) = page.take(slot) else { return waiting(None, Some("no request in the slot")) };
    let done = match state {
        Some(st) => page.set_state(slot, IoreqState::from_raw(st)),
        None => page.complete(slot, (req.dir == IoDir::Read).then_some(answer)),
    };
    if done.is_err() {
        return waiting(Some(req), Some("the slot cannot be written"));
    }
    let Some(&local) = binds.0.get(&(emulator.0, guest.0, req.vp_eport)) else {
        return waiting(Some(req), Some("the emulator bound no port to the slot's vp_eport"));
    };
    // The device model consumes Xen's event, then signals its own.
    let _ = sim.evtchn_take_pending(emulator, local);
    if Xen::new(sim.backend(emulator)).evtchn_send(Port(local)).is_err() {
        return waiting(Some(req), Some("the emulator's event was refused"));
    }
    let outcome = sim.guest_io_status(guest, vcpu).unwrap_or(IoOutcome::Waiting { server });
    Answer::Io(IoAnswer { outcome, request: Some(req), note: None })
}

/// Issues one operation as `by`.
fn issue(sim: &Sim, by: u16, op: &Op, names: &BTreeMap<u16, String>, binds: &mut Binds) -> StepResult {
    let xen = Xen::new(sim.backend(DomId(by)));
    let mut errs = None;
    let mut mfns = None;
    let mut args = Vec::new();
    let answer = match op {
        Op::AddToPhysmap { domid, space, idx, gfn, size } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(text_arg("space", space_text(*space)));
            args.push(hex_arg("idx", *idx));
            args.push(hex_arg("gfn", gfn.0));
            if *space == MapSpace::GmfnRange {
                args.push(num_arg("size", u64::from(*size)));
                Answer::unit(xen.add_to_physmap_range(*domid, Gfn(*idx), *gfn, *size))
            } else {
                Answer::unit(xen.add_to_physmap(*domid, *space, *idx, *gfn))
            }
        }
        Op::AddToPhysmapBatch { domid, space, foreign, idxs, gfns } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(text_arg("space", space_text(*space)));
            if *space == MapSpace::GmfnForeign || foreign.0 != 0 {
                args.push(dom_arg("foreign", *foreign, names));
            }
            args.push(list_arg("idxs", idxs));
            args.push(list_arg("gfns", &gfn_list(gfns)));
            let mut st = vec![EntryStatus::NOT_DONE; idxs.len()];
            // The library insists on one length for all three slices; a scenario listing
            // different numbers of idxs and gfns shows that refusal.
            let a = Answer::unit(xen.add_to_physmap_batch(*domid, *space, *foreign, idxs, gfns, &mut st));
            errs = Some(st);
            a
        }
        Op::RemoveFromPhysmap { domid, gfn } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(hex_arg("gfn", gfn.0));
            Answer::unit(xen.remove_from_physmap(*domid, *gfn))
        }
        Op::PopulatePhysmap { domid, order, flags, gfns } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("order", u64::from(*order)));
            if flags.raw() != 0 {
                args.push(hex_arg("mem_flags", u64::from(flags.raw())));
            }
            args.push(list_arg("gfns", &gfn_list(gfns)));
            let mut list = gfns.clone();
            match xen.populate_physmap(*domid, *order, *flags, &mut list) {
                Ok(n) => {
                    if target_is_pv(sim, by, *domid) && n > 0 {
                        mfns = Some(list[..n].iter().map(|&g| Mfn::from(g)).collect());
                    }
                    Answer::Count(n as u64)
                }
                Err(e) => Answer::from_error(e),
            }
        }
        Op::AcquireResource { domid, ty, id, frame, gfns } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(text_arg("type", resource_text(*ty)));
            args.push(num_arg("id", u64::from(*id)));
            args.push(hex_arg("frame", *frame));
            args.push(list_arg("gfns", &gfn_list(gfns)));
            let mut list = gfns.clone();
            match xen.acquire_resource(*domid, *ty, *id, *frame, &mut list) {
                Ok(()) => {
                    if target_is_pv(sim, by, DomId::SELF) {
                        mfns = Some(list.iter().map(|&g| Mfn::from(g)).collect());
                    }
                    Answer::Ok
                }
                Err(e) => Answer::from_error(e),
            }
        }
        Op::AcquireResourceSize { domid, ty, id } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(text_arg("type", resource_text(*ty)));
            args.push(num_arg("id", u64::from(*id)));
            xen.acquire_resource_size(*domid, *ty, *id)
                .map_or_else(Answer::from_error, |n| Answer::Count(n.into()))
        }
        Op::IncreaseReservation { domid, order, flags, count } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("order", u64::from(*order)));
            if flags.raw() != 0 {
                args.push(hex_arg("mem_flags", u64::from(flags.raw())));
            }
            args.push(num_arg("count", *count));
            xen.increase_reservation(*domid, *order, *flags, *count)
                .map_or_else(Answer::from_error, Answer::Count)
        }
        Op::DecreaseReservation { domid, order, gfns } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("order", u64::from(*order)));
            args.push(list_arg("gfns", &gfn_list(gfns)));
            xen.decrease_reservation(*domid, *order, gfns)
                .map_or_else(Answer::from_error, |n| Answer::Count(n as u64))
        }
        Op::CurrentReservation { domid } => {
            args.push(dom_arg("domid", *domid, names));
            xen.current_reservation(*domid).map_or_else(Answer::from_error, Answer::Pages)
        }
        Op::MaximumReservation { domid } => {
            args.push(dom_arg("domid", *domid, names));
            xen.maximum_reservation(*domid).map_or_else(Answer::from_error, Answer::Pages)
        }
        Op::MaximumGpfn { domid } => {
            args.push(dom_arg("domid", *domid, names));
            xen.maximum_gpfn(*domid).map_or_else(Answer::from_error, |g| Answer::Gfn(g.0))
        }
        Op::SetMaxMem { domid, kib } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("kib", *kib));
            Answer::unit(xen.set_max_mem(*domid, *kib))
        }
        Op::DestroyDomain { domid } => {
            args.push(dom_arg("domid", *domid, names));
            Answer::unit(xen.destroy_domain(*domid))
        }
        Op::Write { gfn, offset, data } => {
            args.push(hex_arg("gfn", gfn.0));
            args.push(num_arg("offset", *offset as u64));
            args.push(text_arg("data", hex(data)));
            match sim.write_gfn(DomId(by), *gfn, *offset, data) {
                Ok(()) => Answer::Ok,
                Err(_) => Answer::Unmapped,
            }
        }
        Op::Read { gfn, offset, len } => {
            args.push(hex_arg("gfn", gfn.0));
            args.push(num_arg("offset", *offset as u64));
            args.push(num_arg("len", *len as u64));
            let mut buf = vec![0; *len];
            match sim.read_gfn(DomId(by), *gfn, *offset, &mut buf) {
                Ok(()) => Answer::Bytes(buf),
                Err(_) => Answer::Unmapped,
            }
        }
        Op::CreateIoreqServer { domid, bufioreq } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(text_arg("bufioreq", bufioreq_text(*bufioreq)));
            xen.create_ioreq_server(*domid, *bufioreq)
                .map_or_else(Answer::from_error, |id| Answer::Server(id.0))
        }
        Op::IoRange { domid, id, ty, start, end, map } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("id", u64::from(*id)));
            args.push(text_arg("range", range_text(*ty)));
            args.push(hex_arg("start", *start));
            args.push(hex_arg("end", *end));
            let id = IoreqServerId(*id);
            Answer::unit(if *map {
                xen.map_io_range_to_ioreq_server(*domid, id, *ty, *start, *end)
            } else {
                xen.unmap_io_range_from_ioreq_server(*domid, id, *ty, *start, *end)
            })
        }
        Op::SetIoreqServerState { domid, id, enabled } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("id", u64::from(*id)));
            args.push(Arg { name: "enabled", text: enabled.to_string(), json: (*enabled).into() });
            Answer::unit(xen.set_ioreq_server_state(*domid, IoreqServerId(*id), *enabled))
        }
        Op::DestroyIoreqServer { domid, id } => {
            args.push(dom_arg("domid", *domid, names));
            args.push(num_arg("id", u64::from(*id)));
            Answer::unit(xen.destroy_ioreq_server(*domid, IoreqServerId(*id)))
        }
        Op::BindInterdomain { domid, port } => {
            args.push(dom_arg("domid", *domid, names));
            let remote = if *domid == DomId::SELF { DomId(by) } else { *domid };
            let number = match *port {
                RemotePort::Number(p) => {
                    args.push(num_arg("port", u64::from(p)));
                    Some(p)
                }
                RemotePort::Ioreq { id, vcpu } => {
                    args.push(num_arg("ioreq_server", u64::from(id)));
                    args.push(num_arg("vcpu", u64::from(vcpu)));
                    // The device model reads the port Xen wrote into the vCPU's slot.
                    ioreq_slot(sim, DomId(by), remote, id, vcpu).and_then(|(p, slot)| p.vp_eport(slot).ok())
                }
            };
            match number {
                None => Answer::Refused("the caller maps no page of that ioreq server".to_string()),
                Some(p) => match xen.evtchn_bind_interdomain(*domid, Port(p)) {
                    Ok(local) => {
                        binds.0.insert((by, remote.0, p), local.0);
                        Answer::Port(local.0)
                    }
                    Err(e) => Answer::from_error(e),
                },
            }
        }
        Op::GuestAccess { vcpu, io, answer, state } => {
            args.push(text_arg(
                "space",
                match io.space {
                    IoSpace::Mmio => "mmio",
                    IoSpace::Port => "port",
                }
                .to_string(),
            ));
            args.push(hex_arg("addr", io.addr));
            args.push(num_arg("size", u64::from(io.size)));
            if let Some(v) = io.write {
                args.push(hex_arg("write", v));
            }
            if let Some(a) = answer {
                args.push(hex_arg("answer", *a));
            }
            if let Some(st) = state {
                args.push(num_arg("state", u64::from(*st)));
            }
            if *vcpu != 0 {
                args.push(num_arg("vcpu", u64::from(*vcpu)));
            }
            guest_access(sim, DomId(by), *vcpu, *io, answer.unwrap_or(0), *state, binds)
        }
    };
    StepResult {
        index: 0,
        rep: None,
        line: 0,
        by,
        op: op.name(),
        args,
        answer,
        errs,
        mfns,
        expected: None,
        mismatch: None,
        note: None,
    }
}

fn bufioreq_text(b: xenmem::dm_op::BufIoreq) -> String {
    use xenmem::dm_op::BufIoreq;
    match b {
        BufIoreq::Off => "off".to_string(),
        BufIoreq::Legacy => "legacy".to_string(),
        BufIoreq::Atomic => "atomic".to_string(),
        BufIoreq::Other(n) => n.to_string(),
    }
}

fn range_text(t: xenmem::dm_op::IoRangeType) -> String {
    use xenmem::dm_op::IoRangeType;
    match t {
        IoRangeType::Port => "port".to_string(),
        IoRangeType::Memory => "memory".to_string(),
        IoRangeType::Pci => "pci".to_string(),
        IoRangeType::Other(n) => n.to_string(),
    }
}

/// A request as the device model saw it: `read 4 bytes at 0xfeb00000 (mmio)`.
pub fn request_text(r: &Request) -> String {
    use xenmem::ioreq::IoType;
    let kind = match r.io_type {
        IoType::Pio => "port".to_string(),
        IoType::Copy => "mmio".to_string(),
        IoType::PciConfig => "pci config".to_string(),
        other => format!("type {}", other.raw()),
    };
    match r.dir {
        IoDir::Read => format!("read {} bytes at {:#x} ({kind})", r.size, r.addr),
        IoDir::Write => format!("write {:#x}, {} bytes at {:#x} ({kind})", r.value(), r.size, r.addr),
    }
}

fn io_text(a: &IoAnswer) -> String {
    let mut t = match a.outcome {
        IoOutcome::Done { value: Some(v), server: Some(s) } => format!("read {v:#x} (server {s} answered)"),
        IoOutcome::Done { value: None, server: Some(s) } => format!("written (server {s} answered)"),
        IoOutcome::Done { value: Some(v), server: None } => format!("read {v:#x} (Xen: no server)"),
        IoOutcome::Done { value: None, server: None } => {
            "written (Xen: no server, or its own port)".to_string()
        }
        IoOutcome::Waiting { server } => format!("waiting for server {server}"),
        IoOutcome::Fault => "fault injected into the guest".to_string(),
        IoOutcome::Crashed => "the guest crashed".to_string(),
    };
    if let Some(r) = &a.request {
        t.push_str(&format!("; request: {}", request_text(r)));
    }
    if let Some(n) = a.note {
        t.push_str(&format!(" ({n})"));
    }
    t
}

/// Whether `d` (as `by` names it) is a PV domain, into whose frame lists Xen writes MFNs.
fn target_is_pv(sim: &Sim, by: u16, d: DomId) -> bool {
    let id = if d == DomId::SELF { DomId(by) } else { d };
    sim.domain_info(id).is_some_and(|i| !i.translated)
}

/// How an answer reads in the table (and in mismatch messages).
pub fn answer_text(a: &Answer, op: &str) -> String {
    match a {
        Answer::Ok => "ok".to_string(),
        Answer::Count(n) => match op {
            "acquire_resource_size" => format!("{n} frames"),
            _ => format!("{n} done"),
        },
        Answer::Pages(n) if *n == u64::from(u32::MAX) => "unlimited".to_string(),
        Answer::Pages(n) => format!("{n} pages"),
        Answer::Gfn(g) => format!("{g:#x}"),
        Answer::Bytes(b) => hex(b),
        Answer::Xen(e) => errno_text(*e),
        Answer::Lib(i) => format!("refused by the library ({:?}: {})", i, i.message()),
        Answer::Unmapped => "nothing mapped there".to_string(),
        Answer::Server(id) => format!("server {id}"),
        Answer::Port(p) => format!("port {p}"),
        Answer::Io(io) => io_text(io),
        Answer::Refused(why) => format!("refused by the model: {why}"),
    }
}

/// `-ESRCH`, or `-1234` for a code without a name.
pub fn errno_text(e: XenError) -> String {
    match e.name() {
        Some(n) => format!("-{n}"),
        None => format!("-{}", e.errno()),
    }
}

/// A batch entry: `ok`, `-EINVAL`, or `-` (not reached).
pub fn entry_text(e: EntryStatus) -> String {
    match e.result() {
        None => "-".to_string(),
        Some(Ok(())) => "ok".to_string(),
        Some(Err(x)) => errno_text(x),
    }
}

fn expect_text(e: &Expect) -> String {
    match e {
        Expect::Ok => "ok".to_string(),
        Expect::Errno(x) => errno_text(*x),
        Expect::Lib(None) => "a library refusal".to_string(),
        Expect::Lib(Some(r)) => format!("lib:{r}"),
        Expect::Value(n) => n.to_string(),
        Expect::Unlimited => "unlimited".to_string(),
        Expect::Bytes(b) => hex(b),
        Expect::Unmapped => "unmapped".to_string(),
        Expect::Waiting => "waiting".to_string(),
        Expect::Fault => "fault".to_string(),
        Expect::Crashed => "crashed".to_string(),
    }
}

fn matches(e: &Expect, a: &Answer) -> bool {
    match (e, a) {
        (Expect::Ok, Answer::Ok) => true,
        (Expect::Errno(x), Answer::Xen(y)) => x == y,
        (Expect::Lib(None), Answer::Lib(_)) => true,
        (Expect::Lib(Some(r)), Answer::Lib(i)) => format!("{i:?}") == *r,
        (Expect::Value(n), Answer::Count(m) | Answer::Pages(m) | Answer::Gfn(m)) => n == m,
        (Expect::Unlimited, Answer::Pages(m)) => *m == u64::from(u32::MAX),
        (Expect::Bytes(b), Answer::Bytes(c)) => b == c,
        (Expect::Unmapped, Answer::Unmapped) => true,
        (Expect::Value(n), Answer::Server(id)) => *n == u64::from(*id),
        (Expect::Value(n), Answer::Port(p)) => *n == u64::from(*p),
        (e, Answer::Io(io)) => {
            matches!(
                (e, io.outcome),
                (Expect::Ok, IoOutcome::Done { value: None, .. })
                    | (Expect::Waiting, IoOutcome::Waiting { .. })
                    | (Expect::Fault, IoOutcome::Fault)
                    | (Expect::Crashed, IoOutcome::Crashed)
            ) || matches!((e, io.outcome), (Expect::Value(n), IoOutcome::Done { value: Some(v), .. }) if *n == v)
        }
        _ => false,
    }
}

fn entry_matches(e: EntryExpect, s: EntryStatus) -> bool {
    match (e, s.result()) {
        (EntryExpect::Ok, Some(Ok(()))) => true,
        (EntryExpect::Errno(x), Some(Err(y))) => x == y,
        (EntryExpect::NotDone, None) => true,
        _ => false,
    }
}

fn check(st: &Step, r: &mut StepResult) {
    let mut expected = Vec::new();
    let mut wrong = Vec::new();
    if let Some(e) = &st.expect {
        expected.push(expect_text(e));
        if !matches(e, &r.answer) {
            wrong.push(format!("expected {}, got {}", expect_text(e), answer_text(&r.answer, r.op)));
        }
    }
    if let (Some(want), Some(got)) = (&st.expect_errs, &r.errs) {
        let w: Vec<String> = want
            .iter()
            .map(|e| match e {
                EntryExpect::Ok => "ok".to_string(),
                EntryExpect::Errno(x) => errno_text(*x),
                EntryExpect::NotDone => "-".to_string(),
            })
            .collect();
        let g: Vec<String> = got.iter().map(|&s| entry_text(s)).collect();
        expected.push(format!("errs [{}]", w.join(", ")));
        if want.len() != got.len() || want.iter().zip(got).any(|(&e, &s)| !entry_matches(e, s)) {
            wrong.push(format!("expected errs [{}], got [{}]", w.join(", "), g.join(", ")));
        }
    }
    r.expected = (!expected.is_empty()).then(|| expected.join("; "));
    r.mismatch = (!wrong.is_empty()).then(|| wrong.join("; "));
}

/// For each foreign run of `d`'s physmap, the owner's GFNs behind it, found by matching
/// machine frames (the model's `translate`). Owners with more RAM than a picture could show
/// are skipped rather than walked page by page.
fn links(sim: &Sim, d: DomId, ranges: &[PhysmapRange]) -> Vec<Link> {
    const WALK_LIMIT: u64 = 1 << 20;
    let mut by_owner: BTreeMap<u16, BTreeMap<u64, u64>> = BTreeMap::new();
    let mut out = Vec::new();
    for r in ranges {
        let EntryKind::Foreign { owner } = r.kind else { continue };
        let m2g = by_owner.entry(owner.0).or_insert_with(|| {
            let mut m = BTreeMap::new();
            let ram: Vec<PhysmapRange> =
                sim.physmap(owner).into_iter().filter(|x| x.kind == EntryKind::Ram).collect();
            if ram.iter().map(|x| x.count).sum::<u64>() <= WALK_LIMIT {
                for x in ram {
                    for g in x.first_gfn.0..x.first_gfn.0 + x.count {
                        if let Some(mfn) = sim.translate(owner, Gfn(g)) {
                            m.insert(mfn.0, g);
                        }
                    }
                }
            }
            m
        });
        let mut cur: Option<Link> = None;
        for g in r.first_gfn.0..r.first_gfn.0 + r.count {
            let og = sim.translate(d, Gfn(g)).and_then(|mfn| m2g.get(&mfn.0).copied());
            match (og, cur.as_mut()) {
                (Some(o), Some(c)) if c.gfn + c.count == g && c.owner_gfn + c.count == o => c.count += 1,
                (Some(o), _) => {
                    out.extend(cur.take());
                    cur = Some(Link { gfn: g, count: 1, owner: owner.0, owner_gfn: o });
                }
                (None, _) => out.extend(cur.take()),
            }
        }
        out.extend(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_runs() {
        assert_eq!(frames_text(&[1, 2, 3, 7, 9, 10]), "[0x1-0x3, 0x7, 0x9-0xa]");
        assert_eq!(frames_text(&[u64::MAX]), "[INVALID]");
        assert_eq!(frames_text(&[]), "[]");
    }
}
