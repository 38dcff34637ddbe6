//! The device model's cases: the caller (dom0) serves an ioreq server for an unprivileged
//! domain ([`Platform::ioreq_guest`], printed `U`) end to end, and the guest's own view of
//! the same accesses.
//!
//! dom0's side, in order: refusals around creating a server; a server without buffered
//! requests; its info with `no_gfns`; `acquire_resource` of its frames (the size, frame 0
//! that such a server lacks, frame 2, an unknown server, then frame 1, the synchronous page,
//! at `s+0`); an MMIO range ([`MMIO_BASE`], one page) and refusals of others; enabling it;
//! vCPU 0's `vp_eport` bound with `evtchn_bind_interdomain`. Then the guest runs
//! ([`Platform::guest_start`]) and dom0 serves its slot by polling it (no interrupts): each
//! request taken in state `READY` is one line (type, direction, address relative to the
//! range, size, count, a write's data) with the device's answer and the event channel send.
//! Afterwards the server is disabled, destroyed, and what is left is refused; a second
//! server with buffered requests (atomic) shows its frame 0 at `s+1`, and both frames in one call
//! at `s+3` and `s+4`.
//!
//! The device: at `+0x0` a counter whose reads return 1, 2, 3, ... (writes ignored), at
//! `+0x8` a scratch register that keeps what was written (the whole request data, so a
//! narrower read shows Xen's narrowing), anything else reads 0.
//!
//! The guest's side ([`ACCESSES`], [`guest_line`]): one line per access, what its vCPU got.
//! A real guest kernel runs them in its own domain (its lines come back through its log); on
//! the model, the platform drives them through the host API as the guest would.

use crate::report::{ErrName, Run, N, R};
use crate::Platform;
use core::cell::RefCell;
use core::fmt::{self, Display, Write};
use xenmem::dm_op::{BufIoreq, IoRangeType, IoreqServerId, IoreqServerInfo};
use xenmem::evtchn::{ChannelState, Port};
use xenmem::ioreq::{IoDir, IoType, IoreqPage, IoreqState, Request};
use xenmem::shared_page::PageBytes;
use xenmem::{DomId, Error, Gfn, Invalid, ResourceType};

/// Where the device sits in the guest's physical address space: in the hole above its RAM,
/// below the local APIC, where neither Xen nor the guest's builder puts anything.
pub const MMIO_BASE: u64 = 0xfeb0_0000;
/// The device's range: one page.
pub const MMIO_LEN: u64 = 0x1000;
/// An id that names no domain.
const NOBODY: DomId = DomId(100);
/// A server id no server has.
const NO_SERVER: u32 = 7;

/// One access of the guest: `offset` from [`MMIO_BASE`], `size` bytes, a write of `write`
/// or a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Bytes from [`MMIO_BASE`].
    pub offset: u64,
    /// 1, 2, 4 or 8.
    pub size: u8,
    /// A write's value, `None` for a read.
    pub write: Option<u64>,
}

const fn rd(offset: u64, size: u8) -> Access {
    Access { offset, size, write: None }
}

const fn wr(offset: u64, size: u8, v: u64) -> Access {
    Access { offset, size, write: Some(v) }
}

/// The guest's accesses, in order. The last two lie past the range: no server claims them.
pub const ACCESSES: [Access; 18] = [
    rd(0x0, 4),
    rd(0x0, 4),
    wr(0x8, 4, 0xcafe_f00d),
    rd(0x8, 4),
    wr(0x8, 8, 0x0123_4567_89ab_cdef),
    rd(0x8, 8),
    rd(0x8, 2),
    rd(0x8, 1),
    wr(0x0, 4, 7),
    rd(0x0, 4),
    wr(0x10, 1, 0xab),
    rd(0x10, 1),
    rd(0xffc, 4),
    wr(0x8, 2, 0xbeef),
    rd(0x8, 8),
    rd(0x0, 8),
    rd(0x1000, 4),
    wr(0x1000, 4, 0x5555_5555),
];

/// What the guest's vCPU got from an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A read's value.
    Read(u64),
    /// A write completed.
    Written,
    /// Xen injected a fault.
    Fault,
    /// Xen crashed the domain.
    Crashed,
}

/// Prints the guest's line for access `a`: `ioreq.guest read +0x8 size=4 -> =0xcafef00d`.
pub fn guest_line(out: &mut dyn Write, a: &Access, seen: Seen) {
    let _ = match a.write {
        None => write!(out, "ioreq.guest read +{:#x} size={}", a.offset, a.size),
        Some(v) => write!(out, "ioreq.guest write +{:#x} size={} data={v:#x}", a.offset, a.size),
    };
    let _ = match seen {
        Seen::Read(v) => writeln!(out, " -> ={v:#x}"),
        Seen::Written => writeln!(out, " -> ok"),
        Seen::Fault => writeln!(out, " -> fault"),
        Seen::Crashed => writeln!(out, " -> crashed"),
    };
}

/// What one turn of the guest came to ([`Platform::guest_step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestStep {
    /// It still runs.
    Running,
    /// It ended: `poweroff` when it made all its accesses and stopped as it should,
    /// otherwise how it ended (`crash`, `reboot`, `timeout`, ...).
    Finished(&'static str),
}

/// A frame of the caller reached through the platform, as a [`SharedPage`](xenmem::shared_page::SharedPage) (how the library's
/// [`IoreqPage`] reads the slot on any platform).
struct PhysPage<'a, P: Platform> {
    p: RefCell<&'a mut P>,
    gfn: Gfn,
}

impl<P: Platform> PageBytes for PhysPage<'_, P> {
    fn read(&self, off: usize, buf: &mut [u8]) -> bool {
        self.p.borrow_mut().read_phys(self.gfn, off, buf)
    }
    fn write(&mut self, off: usize, data: &[u8]) -> bool {
        self.p.get_mut().write_phys(self.gfn, off, data)
    }
    // The default fetch_and (read, then write) is not indivisible: the suite never uses it on
    // a page another agent writes.
}

/// The slot page at `gfn`, over the platform.
fn slot_page<'a, P: Platform>(p: &'a mut P, gfn: Gfn) -> IoreqPage<PhysPage<'a, P>> {
    IoreqPage::new(PhysPage { p: RefCell::new(p), gfn })
}

/// The device behind the range.
#[derive(Default)]
struct Device {
    reads: u64,
    scratch: u64,
}

impl Device {
    fn access(&mut self, req: &Request) -> Option<u64> {
        let offset = req.addr.wrapping_sub(MMIO_BASE);
        match (req.dir, offset) {
            (IoDir::Read, 0) => {
                self.reads += 1;
                Some(self.reads)
            }
            (IoDir::Read, 8) => Some(self.scratch),
            (IoDir::Read, _) => Some(0),
            (IoDir::Write, 8) => {
                self.scratch = req.value();
                None
            }
            (IoDir::Write, _) => None,
        }
    }
}

/// An address of the guest relative to the range: `+0x8`, or hex far from it.
struct Rel(u64);

impl Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.checked_sub(MMIO_BASE) {
            Some(o) if o < 2 * MMIO_LEN => write!(f, "+{o:#x}"),
            _ => write!(f, "{:#x}", self.0),
        }
    }
}

/// The device's answer: a read's value, `ok` for a write.
struct Answer(Option<u64>);

impl Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "={v:#x}"),
            None => f.write_str("ok"),
        }
    }
}

/// A server id: `id=N`.
struct Id(Result<IoreqServerId, Error>);

impl Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(id) => write!(f, "id={}", id.0),
            Err(e) => ErrName(e).fmt(f),
        }
    }
}

/// A server's info with the ports shown as set or not (their numbers are whatever was free).
struct Info(Result<IoreqServerInfo, Error>);

impl Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(i) => write!(
                f,
                "bufioreq_port={} ioreq_gfn={:#x} bufioreq_gfn={:#x}",
                if i.bufioreq_port == 0 { "none" } else { "set" },
                i.ioreq_gfn,
                i.bufioreq_gfn
            ),
            Err(e) => ErrName(e).fmt(f),
        }
    }
}

fn state_name(s: IoreqState) -> &'static str {
    match s {
        IoreqState::None => "NONE",
        IoreqState::Ready => "READY",
        IoreqState::InProcess => "INPROCESS",
        IoreqState::RespReady => "IORESP_READY",
        IoreqState::Other(_) => "OTHER",
    }
}

fn type_name(t: IoType) -> &'static str {
    match t {
        IoType::Pio => "pio",
        IoType::Copy => "copy",
        IoType::PciConfig => "pci_config",
        IoType::TimeOffset => "timeoffset",
        IoType::Invalidate => "invalidate",
        IoType::Other(_) => "other",
    }
}

/// Most requests the serve loop takes (the guest makes [`ACCESSES`]`.len()`; more would be a
/// guest or a Xen gone wrong, and must not keep the run going).
const MAX_SERVED: u32 = 64;

pub(crate) fn run<P: Platform>(r: &mut Run<'_, P>) {
    let Some(u) = r.ioreq_guest() else {
        r.obs("ioreq.guest", format_args!("a guest to serve"), "none");
        return;
    };
    create_refusals(r, u);
    let id = r.xen().create_ioreq_server(u, BufIoreq::Off);
    r.obs("ioreq.create", format_args!("create_ioreq_server(U, bufioreq off)"), Id(id));
    let Ok(id) = id else {
        // No server (a Xen built without ioreq servers): what the rest of the interface says.
        without_server(r, u);
        r.guest_start();
        while r.guest_step() == GuestStep::Running {}
        return;
    };
    let sid = u32::from(id.0);
    let v = r.xen().get_ioreq_server_info(u, id, true);
    r.obs("ioreq.info", format_args!("get_ioreq_server_info(U, id, no_gfns)"), Info(v));
    let v = r.xen().get_ioreq_server_info(u, IoreqServerId(NO_SERVER as u16), true);
    r.obs("ioreq.info", format_args!("get_ioreq_server_info(U, unknown id, no_gfns)"), Info(v));
    acquire(r, u, sid);
    ranges(r, u, id);
    let v = r.xen().set_ioreq_server_state(u, id, true);
    r.obs("ioreq.state", format_args!("set_ioreq_server_state(U, id, enabled)"), R(v));
    let v = r.xen().set_ioreq_server_state(u, id, true);
    r.obs("ioreq.state", format_args!("set_ioreq_server_state(U, id, enabled) again"), R(v));
    let s0 = r.s(0);
    let eport = observe_slot(r, s0, "after enable").unwrap_or(0);
    let local = r.xen().evtchn_bind_interdomain(u, Port(eport));
    r.obs("ioreq.bind", format_args!("evtchn_bind_interdomain(U, vp_eport)"), R(local.map(drop)));
    if let Ok(local) = local {
        let st = r.xen().evtchn_status(DomId::SELF, local);
        let shown = match st {
            Ok(s) => match s.state {
                ChannelState::Interdomain { remote, port } if remote == u && port.0 == eport => {
                    "interdomain U vp_eport"
                }
                ChannelState::Interdomain { .. } => "interdomain elsewhere",
                _ => "other",
            },
            Err(_) => "error",
        };
        r.obs("ioreq.bind", format_args!("evtchn_status(SELF, local)"), shown);
        serve(r, local);
    } else {
        r.guest_start();
        while r.guest_step() == GuestStep::Running {}
    }
    after(r, u, id, sid, local.ok());
    buffered(r, u);
}

fn create_refusals<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let v = r.xen().create_ioreq_server(NOBODY, BufIoreq::Off);
    r.obs("ioreq.create", format_args!("create_ioreq_server(d100, bufioreq off)"), Id(v));
    let v = r.xen().create_ioreq_server(DomId::SELF, BufIoreq::Off);
    r.obs("ioreq.create", format_args!("create_ioreq_server(SELF, bufioreq off)"), Id(v));
    if let Ok(id) = v {
        let v = r.xen().destroy_ioreq_server(DomId::SELF, id);
        r.obs("ioreq.create", format_args!("destroy_ioreq_server(SELF, id)"), R(v));
    }
    let v = r.xen().create_ioreq_server(u, BufIoreq::Other(3));
    r.obs("ioreq.create", format_args!("create_ioreq_server(U, bufioreq 3)"), Id(v));
    if let Ok(id) = v {
        let v = r.xen().destroy_ioreq_server(u, id);
        r.obs("ioreq.create", format_args!("destroy_ioreq_server(U, id)"), R(v));
    }
}

/// A Xen without ioreq servers: the other operations on a server that cannot exist.
fn without_server<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let id = IoreqServerId(0);
    let v = r.xen().get_ioreq_server_info(u, id, true);
    r.obs("ioreq.info", format_args!("get_ioreq_server_info(U, 0, no_gfns)"), Info(v));
    let v = r.xen().acquire_resource_size(u, ResourceType::IoreqServer, 0);
    r.obs("ioreq.acquire", format_args!("acquire_resource_size(U, ioreq_server, 0)"), N(v));
    let mut at = [r.s(0)];
    let v = r.xen().acquire_resource(u, ResourceType::IoreqServer, 0, 1, &mut at);
    r.obs("ioreq.acquire", format_args!("acquire_resource(U, ioreq_server, 0, frame 1, s+0)"), R(v));
    let v = r.xen().map_io_range_to_ioreq_server(u, id, IoRangeType::Memory, MMIO_BASE, MMIO_BASE + 0xfff);
    r.obs("ioreq.range", format_args!("map_io_range(U, 0, memory, +0x0, +0xfff)"), R(v));
    let v = r.xen().set_ioreq_server_state(u, id, true);
    r.obs("ioreq.state", format_args!("set_ioreq_server_state(U, 0, enabled)"), R(v));
    let v = r.xen().destroy_ioreq_server(u, id);
    r.obs("ioreq.destroy", format_args!("destroy_ioreq_server(U, 0)"), R(v));
    let v = r.xen().dm_op_nr_vcpus(u);
    r.obs("ioreq.nr_vcpus", format_args!("dm_op nr_vcpus(U)"), N(v));
}

fn acquire<P: Platform>(r: &mut Run<'_, P>, u: DomId, sid: u32) {
    let v = r.xen().acquire_resource_size(u, ResourceType::IoreqServer, sid);
    r.obs("ioreq.acquire", format_args!("acquire_resource_size(U, ioreq_server, id)"), N(v));
    let v = r.xen().acquire_resource_size(u, ResourceType::IoreqServer, NO_SERVER);
    r.obs("ioreq.acquire", format_args!("acquire_resource_size(U, ioreq_server, unknown id)"), N(v));
    let s0 = r.s(0);
    for (what, id, frame) in
        [("id, frame 0", sid, 0), ("id, frame 2", sid, 2), ("unknown id, frame 1", NO_SERVER, 1)]
    {
        let v = r.xen().acquire_resource(u, ResourceType::IoreqServer, id, frame, &mut [s0]);
        r.obs("ioreq.acquire", format_args!("acquire_resource(U, ioreq_server, {what}, s+0)"), R(v));
    }
    let v = r.xen().acquire_resource(u, ResourceType::IoreqServer, sid, 1, &mut [s0]);
    r.obs("ioreq.acquire", format_args!("acquire_resource(U, ioreq_server, id, frame 1, s+0)"), R(v));
    let _ = observe_slot(r, s0, "before enable");
}

/// Slot 0 of the page at `gfn`: its state, and whether Xen has written its port (the number
/// itself is Xen's choice); returns the port.
fn observe_slot<P: Platform>(r: &mut Run<'_, P>, gfn: Gfn, when: &str) -> Result<u32, Invalid> {
    let (state, eport) = {
        let page = slot_page(r.platform(), gfn);
        (page.state(0), page.vp_eport(0))
    };
    let shown = match (state, eport) {
        (Ok(s), Ok(e)) => (state_name(s), if e == 0 { "zero" } else { "set" }),
        _ => ("lib", "lib"),
    };
    r.obs(
        "ioreq.page",
        format_args!("slot 0 {when}"),
        format_args!("state={} vp_eport={}", shown.0, shown.1),
    );
    eport
}

fn ranges<P: Platform>(r: &mut Run<'_, P>, u: DomId, id: IoreqServerId) {
    let b = MMIO_BASE;
    let cases: [(&str, IoRangeType, u64, u64); 5] = [
        ("memory, +0x1000, +0x0", IoRangeType::Memory, b + 0x1000, b),
        ("memory, +0x0, +0xfff", IoRangeType::Memory, b, b + 0xfff),
        ("memory, +0x800, +0x17ff", IoRangeType::Memory, b + 0x800, b + 0x17ff),
        ("memory, +0x0, +0xfff", IoRangeType::Memory, b, b + 0xfff),
        ("type 7, +0x0, +0xfff", IoRangeType::Other(7), b, b + 0xfff),
    ];
    for (what, ty, start, end) in cases {
        let v = r.xen().map_io_range_to_ioreq_server(u, id, ty, start, end);
        r.obs("ioreq.range", format_args!("map_io_range(U, id, {what})"), R(v));
    }
    let v = r.xen().unmap_io_range_from_ioreq_server(u, id, IoRangeType::Memory, b + 0x2000, b + 0x2fff);
    r.obs("ioreq.range", format_args!("unmap_io_range(U, id, memory, +0x2000, +0x2fff)"), R(v));
}

/// Lets the guest run and answers its slot until it has finished.
fn serve<P: Platform>(r: &mut Run<'_, P>, local: Port) {
    let s0 = r.s(0);
    let mut device = Device::default();
    let mut served = 0u32;
    r.guest_start();
    let end = loop {
        let taken = slot_page(r.platform(), s0).take(0);
        match taken {
            Ok(Some(req)) if served < MAX_SERVED => {
                served += 1;
                let simple = req.io_type == IoType::Copy && req.count == 1 && !req.data_is_ptr;
                let value =
                    if simple { device.access(&req) } else { (req.dir == IoDir::Read).then_some(u64::MAX) };
                let done = slot_page(r.platform(), s0).complete(0, value);
                // Read back before the event: until it is sent, nothing but this loop moves
                // the slot on.
                let state = slot_page(r.platform(), s0).state(0);
                let state = match (done, state) {
                    (Ok(()), Ok(s)) => state_name(s),
                    _ => "lib",
                };
                let sent = r.xen().evtchn_send(local);
                let dir = if req.dir == IoDir::Read { "read" } else { "write" };
                // As Xen put it in the slot: a read's too (what it carries is Xen's choice).
                let data = req.data;
                r.obs(
                    "ioreq.serve",
                    format_args!(
                        "slot 0 READY {} {dir} {} size={} count={} ptr={} data={data:#x}",
                        type_name(req.io_type),
                        Rel(req.addr),
                        req.size,
                        req.count,
                        u8::from(req.data_is_ptr),
                    ),
                    format_args!("{} state={state} send={}", Answer(value), R(sent)),
                );
            }
            Ok(Some(_)) => break "too many requests",
            Ok(None) => match r.guest_step() {
                GuestStep::Running => {}
                GuestStep::Finished(how) => break how,
            },
            Err(_) => break "lib",
        }
    };
    r.obs("ioreq.serve", format_args!("guest finished"), format_args!("{end} served={served}"));
    let state = slot_page(r.platform(), s0).state(0).map(state_name).unwrap_or("lib");
    r.obs("ioreq.serve", format_args!("slot 0 at the end"), format_args!("state={state}"));
}

fn after<P: Platform>(r: &mut Run<'_, P>, u: DomId, id: IoreqServerId, sid: u32, local: Option<Port>) {
    let v = r.xen().get_ioreq_server_info(u, id, true);
    r.obs("ioreq.after", format_args!("get_ioreq_server_info(U, id, no_gfns)"), Info(v));
    let v = r.xen().set_ioreq_server_state(u, id, false);
    r.obs("ioreq.after", format_args!("set_ioreq_server_state(U, id, disabled)"), R(v));
    let v =
        r.xen().unmap_io_range_from_ioreq_server(u, id, IoRangeType::Memory, MMIO_BASE, MMIO_BASE + 0xfff);
    r.obs("ioreq.after", format_args!("unmap_io_range(U, id, memory, +0x0, +0xfff)"), R(v));
    let v = r.xen().destroy_ioreq_server(u, id);
    r.obs("ioreq.after", format_args!("destroy_ioreq_server(U, id)"), R(v));
    let v = r.xen().destroy_ioreq_server(u, id);
    r.obs("ioreq.after", format_args!("destroy_ioreq_server(U, id) again"), R(v));
    let v = r.xen().set_ioreq_server_state(u, id, true);
    r.obs("ioreq.after", format_args!("set_ioreq_server_state(U, id, enabled) after destroy"), R(v));
    let s2 = r.s(2);
    let v = r.xen().acquire_resource(u, ResourceType::IoreqServer, sid, 1, &mut [s2]);
    r.obs(
        "ioreq.after",
        format_args!("acquire_resource(U, ioreq_server, id, frame 1, s+2) after destroy"),
        R(v),
    );
    let s0 = r.s(0);
    let v = r.xen().remove_from_physmap(DomId::SELF, s0);
    r.obs("ioreq.after", format_args!("remove_from_physmap(SELF, s+0)"), R(v));
    if let Some(local) = local {
        let st = r.xen().evtchn_status(DomId::SELF, local);
        let shown = match st {
            Ok(s) => match s.state {
                ChannelState::Closed => "closed",
                ChannelState::Unbound { remote } if remote == u => "unbound U",
                ChannelState::Unbound { .. } => "unbound other",
                ChannelState::Interdomain { remote, .. } if remote == u => "interdomain U",
                _ => "other",
            },
            Err(_) => "error",
        };
        r.obs("ioreq.after", format_args!("evtchn_status(SELF, local)"), shown);
        let v = r.xen().evtchn_close(local);
        r.obs("ioreq.after", format_args!("evtchn_close(local)"), R(v));
    }
}

/// A server with a buffered page (atomic): its frame 0.
fn buffered<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let id = r.xen().create_ioreq_server(u, BufIoreq::Atomic);
    r.obs("ioreq.buffered", format_args!("create_ioreq_server(U, bufioreq atomic)"), Id(id));
    let Ok(id) = id else { return };
    let sid = u32::from(id.0);
    let v = r.xen().get_ioreq_server_info(u, id, true);
    r.obs("ioreq.buffered", format_args!("get_ioreq_server_info(U, id, no_gfns)"), Info(v));
    let v = r.xen().acquire_resource_size(u, ResourceType::IoreqServer, sid);
    r.obs("ioreq.buffered", format_args!("acquire_resource_size(U, ioreq_server, id)"), N(v));
    let s1 = r.s(1);
    let v = r.xen().acquire_resource(u, ResourceType::IoreqServer, sid, 0, &mut [s1]);
    r.obs("ioreq.buffered", format_args!("acquire_resource(U, ioreq_server, id, frame 0, s+1)"), R(v));
    let b = r.peek::<8>(s1);
    r.obs("ioreq.buffered", format_args!("peek s+1 (read and write pointers)"), b);
    // Both frames in one call: Xen takes them frame by frame from the first.
    let (s3, s4) = (r.s(3), r.s(4));
    let v = r.xen().acquire_resource(u, ResourceType::IoreqServer, sid, 0, &mut [s3, s4]);
    r.obs("ioreq.buffered", format_args!("acquire_resource(U, ioreq_server, id, frames 0..2, s+3..)"), R(v));
    let v = r.xen().destroy_ioreq_server(u, id);
    r.obs("ioreq.buffered", format_args!("destroy_ioreq_server(U, id)"), R(v));
    for (at, g) in [(1, s1), (3, s3), (4, s4)] {
        let v = r.xen().remove_from_physmap(DomId::SELF, g);
        r.obs("ioreq.buffered", format_args!("remove_from_physmap(SELF, s+{at})"), R(v));
    }
}
