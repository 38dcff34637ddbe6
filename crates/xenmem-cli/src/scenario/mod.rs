//! A scenario: a machine, its domains, and the operations they issue, each optionally with the
//! outcome Xen is expected to give. Read from TOML by [`parse()`]; run by `crate::exec`.
//!
//! The types hold resolved values (domain ids, typed spaces, errno values), so a scenario that
//! parsed can only fail at run time in the ways Xen (or the model's host side) fails.

mod parse;
mod value;

pub use parse::{parse, xen_release};
pub use value::{hex_bytes as value_hex, parse_uint as value_uint};

use xenmem::dm_op::{BufIoreq, IoRangeType};
use xenmem::{DomId, Gfn, MapSpace, MemFlags, ResourceType, XenError};
use xenmem_sim::{Arch, DomainKind, GuestIo, Release};

/// A whole scenario file.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it came from (for messages).
    pub file: String,
    /// Its `name`, or the file name.
    pub name: String,
    /// Its `description`, if any.
    pub description: Option<String>,
    /// The machine.
    pub machine: Machine,
    /// The domains, in file order.
    pub domains: Vec<Domain>,
    /// The operations, in file order.
    pub steps: Vec<Step>,
}

/// `[machine]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// x86_64 or arm64.
    pub arch: Arch,
    /// RAM in 4 KiB frames.
    pub frames: u64,
    /// The Xen release the model answers as (`xen = "4.17"`); `None`: the newest it knows.
    pub xen: Option<Release>,
}

/// One `[[domain]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// How steps name it.
    pub name: String,
    /// Its id.
    pub id: u16,
    /// PV (not translated), PVH or HVM.
    pub kind: DomainKind,
    /// The control domain (toolstack privileges).
    pub control: bool,
    /// The hardware domain.
    pub hardware: bool,
    /// Pages of RAM it is built with.
    pub memory: u64,
    /// First GFN of that RAM.
    pub memory_at: Gfn,
    /// `max_pages`.
    pub max_pages: u64,
    /// Grant-table frames it may grow to.
    pub grant_frames: u32,
    /// The highest grant-table version it may use (`grant_opts`; the table starts at 1).
    pub grant_version: u8,
    /// The domain it is the device model of.
    pub target: Option<u16>,
    /// ioreq servers to create for it, each run by an emulator domain.
    pub ioreq_servers: Vec<IoreqServer>,
    /// Line of its `[[domain]]` header.
    pub line: usize,
}

/// An ioreq server a domain starts with (the model's stand-in for dm_op's create).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoreqServer {
    /// The emulating domain.
    pub emulator: u16,
    /// With a buffered-ioreq page.
    pub bufioreq: bool,
}

/// One `[[step]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// 1-based position in the file.
    pub index: usize,
    /// Line of its `[[step]]` header.
    pub line: usize,
    /// The calling domain.
    pub by: u16,
    /// What it does.
    pub op: Op,
    /// The outcome it must have, if given.
    pub expect: Option<Expect>,
    /// Per-entry outcomes of a batch, if given.
    pub expect_errs: Option<Vec<EntryExpect>>,
    /// Times to issue it (at least 1).
    pub repeat: u64,
    /// Pages added to every GFN of the step on each repetition.
    pub stride: u64,
    /// A remark shown beside the step (`note = "..."`).
    pub note: Option<String>,
}

/// The operations a step can issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `XENMEM_add_to_physmap` (`size` only for `gmfn_range`).
    AddToPhysmap { domid: DomId, space: MapSpace, idx: u64, gfn: Gfn, size: u16 },
    /// `XENMEM_add_to_physmap_batch`.
    AddToPhysmapBatch { domid: DomId, space: MapSpace, foreign: DomId, idxs: Vec<u64>, gfns: Vec<Gfn> },
    /// `XENMEM_remove_from_physmap`.
    RemoveFromPhysmap { domid: DomId, gfn: Gfn },
    /// `XENMEM_populate_physmap`.
    PopulatePhysmap { domid: DomId, order: u32, flags: MemFlags, gfns: Vec<Gfn> },
    /// `XENMEM_acquire_resource` mapping frames at `gfns`.
    AcquireResource { domid: DomId, ty: ResourceType, id: u32, frame: u64, gfns: Vec<Gfn> },
    /// `XENMEM_acquire_resource`'s size query.
    AcquireResourceSize { domid: DomId, ty: ResourceType, id: u32 },
    /// `XENMEM_increase_reservation`.
    IncreaseReservation { domid: DomId, order: u32, flags: MemFlags, count: u64 },
    /// `XENMEM_decrease_reservation`.
    DecreaseReservation { domid: DomId, order: u32, gfns: Vec<Gfn> },
    /// `XENMEM_current_reservation`.
    CurrentReservation { domid: DomId },
    /// `XENMEM_maximum_reservation`.
    MaximumReservation { domid: DomId },
    /// `XENMEM_maximum_gpfn`.
    MaximumGpfn { domid: DomId },
    /// `XEN_DOMCTL_max_mem`.
    SetMaxMem { domid: DomId, kib: u64 },
    /// `XEN_DOMCTL_destroydomain`.
    DestroyDomain { domid: DomId },
    /// The caller stores bytes into its own guest frame.
    Write { gfn: Gfn, offset: usize, data: Vec<u8> },
    /// The caller loads bytes from its own guest frame.
    Read { gfn: Gfn, offset: usize, len: usize },
    /// `XEN_DMOP_create_ioreq_server` for `domid`, the caller its emulator.
    CreateIoreqServer { domid: DomId, bufioreq: BufIoreq },
    /// `XEN_DMOP_map_io_range_to_ioreq_server` (`map`) or `_unmap_io_range_from_`.
    IoRange { domid: DomId, id: u16, ty: IoRangeType, start: u64, end: u64, map: bool },
    /// `XEN_DMOP_set_ioreq_server_state`.
    SetIoreqServerState { domid: DomId, id: u16, enabled: bool },
    /// `XEN_DMOP_destroy_ioreq_server`.
    DestroyIoreqServer { domid: DomId, id: u16 },
    /// `EVTCHNOP_bind_interdomain` to `port` of `domid`, or to the `vp_eport` the caller reads
    /// in vCPU `vcpu`'s slot of ioreq server `id`'s page (mapped by an `acquire_resource`).
    BindInterdomain { domid: DomId, port: RemotePort },
    /// The caller's vCPU makes `io`; if it goes to an ioreq server, the server's emulator
    /// answers as a device model does (takes the request from the page it acquired, writes
    /// `answer` (0 if absent) for a read, sets `IORESP_READY` — or `state` when given — and
    /// sends an event on the port it bound with `bind_interdomain`).
    GuestAccess { vcpu: u32, io: GuestIo, answer: Option<u64>, state: Option<u8> },
}

/// The port a `bind_interdomain` step binds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemotePort {
    /// A port number.
    Number(u32),
    /// The `vp_eport` of vCPU `vcpu` of ioreq server `id`, as its page says.
    Ioreq { id: u16, vcpu: u32 },
}

impl Op {
    /// The operation's name as scenario files spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Op::AddToPhysmap { .. } => "add_to_physmap",
            Op::AddToPhysmapBatch { .. } => "add_to_physmap_batch",
            Op::RemoveFromPhysmap { .. } => "remove_from_physmap",
            Op::PopulatePhysmap { .. } => "populate_physmap",
            Op::AcquireResource { .. } => "acquire_resource",
            Op::AcquireResourceSize { .. } => "acquire_resource_size",
            Op::IncreaseReservation { .. } => "increase_reservation",
            Op::DecreaseReservation { .. } => "decrease_reservation",
            Op::CurrentReservation { .. } => "current_reservation",
            Op::MaximumReservation { .. } => "maximum_reservation",
            Op::MaximumGpfn { .. } => "maximum_gpfn",
            Op::SetMaxMem { .. } => "set_max_mem",
            Op::DestroyDomain { .. } => "destroy_domain",
            Op::Write { .. } => "write",
            Op::Read { .. } => "read",
            Op::CreateIoreqServer { .. } => "create_ioreq_server",
            Op::IoRange { map: true, .. } => "map_io_range",
            Op::IoRange { map: false, .. } => "unmap_io_range",
            Op::SetIoreqServerState { .. } => "set_ioreq_server_state",
            Op::DestroyIoreqServer { .. } => "destroy_ioreq_server",
            Op::BindInterdomain { .. } => "bind_interdomain",
            Op::GuestAccess { .. } => "guest_access",
        }
    }

    /// Every operation name a step may use.
    pub const NAMES: [&'static str; 22] = [
        "add_to_physmap",
        "add_to_physmap_batch",
        "remove_from_physmap",
        "populate_physmap",
        "acquire_resource",
        "acquire_resource_size",
        "increase_reservation",
        "decrease_reservation",
        "current_reservation",
        "maximum_reservation",
        "maximum_gpfn",
        "set_max_mem",
        "destroy_domain",
        "write",
        "read",
        "create_ioreq_server",
        "map_io_range",
        "unmap_io_range",
        "set_ioreq_server_state",
        "destroy_ioreq_server",
        "bind_interdomain",
        "guest_access",
    ];

    /// The step shifted by `pages` on every GFN (for repetitions): destination GFNs, and the
    /// indexes that are GFNs too (the `gmfn`, `gmfn_range` and `gmfn_foreign` spaces).
    pub fn shifted(&self, pages: u64) -> Op {
        let sh = |g: Gfn| Gfn(g.0.wrapping_add(pages));
        let shv = |v: &[Gfn]| v.iter().map(|&g| sh(g)).collect::<Vec<_>>();
        let gfn_space =
            |s: MapSpace| matches!(s, MapSpace::Gmfn | MapSpace::GmfnRange | MapSpace::GmfnForeign);
        let mut op = self.clone();
        match &mut op {
            Op::AddToPhysmap { gfn, idx, space, .. } => {
                *gfn = sh(*gfn);
                if gfn_space(*space) {
                    *idx = idx.wrapping_add(pages);
                }
            }
            Op::AddToPhysmapBatch { gfns, idxs, space, .. } => {
                *gfns = shv(gfns);
                if gfn_space(*space) {
                    idxs.iter_mut().for_each(|i| *i = i.wrapping_add(pages));
                }
            }
            Op::RemoveFromPhysmap { gfn, .. } | Op::Write { gfn, .. } | Op::Read { gfn, .. } => {
                *gfn = sh(*gfn)
            }
            Op::PopulatePhysmap { gfns, .. }
            | Op::AcquireResource { gfns, .. }
            | Op::DecreaseReservation { gfns, .. } => *gfns = shv(gfns),
            _ => {}
        }
        op
    }
}

/// An expected outcome (`expect = ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `"ok"`: success with no value (for a batch: the call itself succeeded).
    Ok,
    /// `"-ESRCH"`: Xen's errno.
    Errno(XenError),
    /// `"lib"` / `"lib:GfnsLength"`: the library refused before any hypercall.
    Lib(Option<String>),
    /// A count or value: `4`.
    Value(u64),
    /// `"unlimited"`: a maximum reservation of `u32::MAX` pages.
    Unlimited,
    /// Bytes a read gives back (`"5a a5 3c"`).
    Bytes(Vec<u8>),
    /// `"unmapped"`: nothing readable at the GFN.
    Unmapped,
    /// `"waiting"`: a guest access still waits for its device model.
    Waiting,
    /// `"fault"`: Xen injected a fault into the guest for its access.
    Fault,
    /// `"crashed"`: Xen crashed the guest over its access.
    Crashed,
}

/// One expected entry status of a batch (`expect_errs = ["ok", "-EINVAL", "-"]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryExpect {
    /// Mapped.
    Ok,
    /// Failed with this errno.
    Errno(XenError),
    /// Not reached (`"-"`).
    NotDone,
}
