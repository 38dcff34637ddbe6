//! What the host sees of the machine, without changing it: domains, physmaps, guest memory,
//! event channels and ioreq servers, counters and the model's own memory. Every call takes
//! the machine's lock for its duration, so it sees no hypercall half-done.

use crate::domain::Dying;
use crate::frames::Owner;
use crate::machine::{ExtraPage, Machine, XenPageKind};
use crate::p2m::{self, Kind};
use crate::Sim;
use crate::{invariants, lifecycle, DomainKind, IoreqServerView, SimError, Violation, PAGE_SIZE};
use xenmem::{DomId, Gfn, Mfn};

/// What a domain's P2M maps at a GFN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// One of the domain's own RAM pages.
    Ram,
    /// A RAM page of `owner`, mapped with `gmfn_foreign`.
    Foreign {
        /// The domain that owns the page.
        owner: DomId,
    },
    /// Grant-table shared frame `frame` of `owner` (the domain itself via add_to_physmap,
    /// another domain via acquire_resource).
    GrantShared {
        /// Whose grant table.
        owner: DomId,
        /// The frame's index.
        frame: u32,
    },
    /// Grant-table status frame `frame` of `owner` (grant v2).
    GrantStatus {
        /// Whose grant table.
        owner: DomId,
        /// The frame's index.
        frame: u32,
    },
    /// The shared-info page of `owner`.
    SharedInfo {
        /// Whose shared info.
        owner: DomId,
    },
    /// Page `frame` (0 buffered, 1 synchronous) of ioreq server `server` of `target`.
    IoreqPage {
        /// The emulated domain.
        target: DomId,
        /// The server id.
        server: u16,
        /// The resource frame.
        frame: u32,
    },
    /// Frame `frame` of vCPU `vcpu`'s trace buffer in `owner`.
    VmtraceBuf {
        /// Whose buffer.
        owner: DomId,
        /// The vCPU.
        vcpu: u32,
        /// The frame within the buffer.
        frame: u32,
    },
    /// A device frame.
    Mmio {
        /// The machine frame.
        mfn: Mfn,
    },
    /// Populate-on-demand (x86 HVM): no page yet; Xen backs it from the domain's PoD cache
    /// on first use.
    PopulateOnDemand,
}

impl EntryKind {
    /// Whether `next` is what the GFN after one of kind `self` holds in a contiguous run.
    fn continues(self, next: EntryKind) -> bool {
        use EntryKind::*;
        match (self, next) {
            (Ram, Ram) => true,
            (Foreign { owner: a }, Foreign { owner: b }) => a == b,
            (GrantShared { owner: a, frame: f }, GrantShared { owner: b, frame: g })
            | (GrantStatus { owner: a, frame: f }, GrantStatus { owner: b, frame: g }) => {
                a == b && f.checked_add(1) == Some(g)
            }
            (IoreqPage { target: a, server: s, frame: f }, IoreqPage { target: b, server: t, frame: g }) => {
                a == b && s == t && f.checked_add(1) == Some(g)
            }
            (VmtraceBuf { owner: a, vcpu: v, frame: f }, VmtraceBuf { owner: b, vcpu: w, frame: g }) => {
                a == b && v == w && f.checked_add(1) == Some(g)
            }
            (Mmio { mfn: a }, Mmio { mfn: b }) => a.checked_add(1) == Some(b),
            (PopulateOnDemand, PopulateOnDemand) => true,
            _ => false,
        }
    }
}

/// A run of consecutive GFNs with one kind of mapping (consecutive frames of it, where the
/// kind names a frame): `kind` describes the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhysmapRange {
    /// The first GFN.
    pub first_gfn: Gfn,
    /// GFNs in the run.
    pub count: u64,
    /// What the first GFN maps.
    pub kind: EntryKind,
}

/// A domain as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    /// The id.
    pub id: DomId,
    /// PV, PVH or HVM.
    pub kind: DomainKind,
    /// Xen translates its addresses.
    pub translated: bool,
    /// Pages it owns (`tot_pages`).
    pub tot_pages: u64,
    /// Its limit (`max_pages`).
    pub max_pages: u64,
    /// Pages it owns that Xen does not count (ioreq and trace pages).
    pub extra_pages: u64,
    /// Destruction has started (`is_dying`); the domain is listed until its last page goes.
    pub dying: bool,
    /// Shut down with this code (3: crashed).
    pub shutdown: Option<u8>,
    /// Paused by the toolstack.
    pub paused: bool,
    /// The control domain.
    pub control: bool,
    /// The hardware domain.
    pub hardware: bool,
    /// The domain it is a device model of.
    pub target: Option<DomId>,
    /// Grant-table shared frames now.
    pub grant_frames: u32,
    /// Grant-table status frames now (v2).
    pub status_frames: u32,
    /// Grant-table frames it may grow to.
    pub max_grant_frames: u32,
    /// Current grant-table version.
    pub grant_version: u8,
    /// Where its shared-info page is mapped in its own physmap.
    pub shared_info_gfn: Option<Gfn>,
    /// The highest GFN ever mapped (`maximum_gpfn`'s answer).
    pub max_gpfn: Gfn,
    /// GFNs mapped now.
    pub mapped: u64,
    /// vCPUs it may have.
    pub max_vcpus: u32,
    /// vCPUs created.
    pub vcpus: u32,
    /// ioreq servers it has.
    pub ioreq_servers: u16,
}

impl DomainInfo {
    /// Whether it crashed (shut down with `SHUTDOWN_crash`).
    pub fn crashed(&self) -> bool {
        self.shutdown == Some(lifecycle::SHUTDOWN_CRASH)
    }
}

/// Bytes of model memory, by structure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// All domains' P2M tables.
    pub p2m_bytes: usize,
    /// The frame table (4 bytes a frame of RAM) and its overflow map.
    pub frame_table_bytes: usize,
    /// Contents of frames that were written.
    pub contents_bytes: usize,
    /// The allocator's free lists.
    pub allocator_bytes: usize,
    /// Side tables (Xen heap pages, uncounted pages, PV M2P).
    pub side_bytes: usize,
    /// GFNs mapped in all P2Ms.
    pub mapped_pages: u64,
}

impl MemoryUsage {
    /// Everything.
    pub fn total(&self) -> usize {
        self.p2m_bytes + self.frame_table_bytes + self.contents_bytes + self.allocator_bytes + self.side_bytes
    }

    /// Model bytes per mapped page (0 when nothing is mapped).
    pub fn bytes_per_mapped_page(&self) -> f64 {
        if self.mapped_pages == 0 {
            0.0
        } else {
            self.total() as f64 / self.mapped_pages as f64
        }
    }
}

impl Sim {
    /// The frame `d` reaches at `gfn`, following foreign, grant, shared-info and ioreq
    /// entries to the page behind them (for a PV domain, its pseudo-physical map).
    pub fn translate(&self, d: DomId, gfn: Gfn) -> Option<Mfn> {
        let m = self.lock();
        let e = m.domains.get(&d.0)?.p2m.get(gfn.0);
        e.kind().map(|_| Mfn(e.mfn()))
    }

    pub(crate) fn readable(
        m: &Machine,
        d: DomId,
        gfn: Gfn,
        offset: usize,
        len: usize,
    ) -> Result<u64, SimError> {
        if offset.checked_add(len).is_none_or(|e| e > PAGE_SIZE) {
            return Err(SimError::OutOfPage { offset, len });
        }
        let dom = m.domains.get(&d.0).ok_or(SimError::NoSuchDomain(d))?;
        let e = dom.p2m.get(gfn.0);
        match e.kind() {
            Some(Kind::Ram | Kind::Foreign | Kind::XenHeap) => Ok(e.mfn()),
            _ => Err(SimError::NotMapped(d, gfn)),
        }
    }

    /// Reads `buf.len()` bytes at byte `offset` of what `d` maps at `gfn`.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`], [`SimError::NotMapped`] (a hole, MMIO),
    /// [`SimError::OutOfPage`].
    pub fn read_gfn(&self, d: DomId, gfn: Gfn, offset: usize, buf: &mut [u8]) -> Result<(), SimError> {
        let m = self.lock();
        let mfn = Self::readable(&m, d, gfn, offset, buf.len())?;
        m.frames.read(mfn, offset, buf);
        Ok(())
    }

    /// The ids of every listed domain (dying ones included).
    pub fn domains(&self) -> Vec<DomId> {
        self.lock().domains.keys().map(DomId).collect()
    }

    /// What the model knows of `d`, or `None` once it is gone.
    pub fn domain_info(&self, d: DomId) -> Option<DomainInfo> {
        let m = self.lock();
        let dom = m.domains.get(&d.0)?;
        Some(DomainInfo {
            id: d,
            kind: dom.kind,
            translated: dom.translated,
            tot_pages: dom.tot_pages(),
            max_pages: dom.max_pages,
            extra_pages: dom.extra_pages,
            dying: dom.dying != Dying::Alive,
            shutdown: dom.shutdown,
            paused: dom.controller_pause > 0,
            control: dom.control,
            hardware: dom.hardware,
            target: dom.target.map(DomId),
            grant_frames: dom.grant.shared.len() as u32,
            status_frames: dom.grant.status.len() as u32,
            max_grant_frames: dom.grant.max_frames,
            grant_version: dom.grant.version,
            shared_info_gfn: m.xenheap.get(&dom.shared_info).and_then(|x| x.gfn).map(Gfn),
            max_gpfn: Gfn(m.maximum_gpfn(d.0)),
            mapped: dom.p2m.len(),
            max_vcpus: dom.max_vcpus,
            vcpus: dom.vcpus,
            ioreq_servers: dom.ioreq_servers.len() as u16,
        })
    }

    /// `d`'s physmap, compressed into runs (empty for an unknown domain).
    pub fn physmap(&self, d: DomId) -> Vec<PhysmapRange> {
        let m = self.lock();
        let Some(dom) = m.domains.get(&d.0) else { return Vec::new() };
        let mut out: Vec<PhysmapRange> = Vec::new();
        let mut last: Option<(u64, EntryKind)> = None;
        for (gfn, e) in dom.p2m.iter() {
            let kind = entry_kind(&m, d.0, e);
            match (out.last_mut(), last) {
                (Some(r), Some((lg, lk))) if lg.checked_add(1) == Some(gfn) && lk.continues(kind) => {
                    r.count += 1
                }
                _ => out.push(PhysmapRange { first_gfn: Gfn(gfn), count: 1, kind }),
            }
            last = Some((gfn, kind));
        }
        out
    }

    /// Whether `port` of `d` is pending: its bit in the shared-info page's `evtchn_pending`,
    /// which a guest that mapped its shared info reads too.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`].
    pub fn evtchn_pending(&self, d: DomId, port: u32) -> Result<bool, SimError> {
        let m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        Ok(m.evtchn_is_pending(d.0, port))
    }

    /// `d`'s ioreq servers, lowest id first.
    pub fn ioreq_servers(&self, d: DomId) -> Vec<IoreqServerView> {
        self.lock().ioreq_server_views(d.0)
    }

    /// Checks the model's invariants (see the `invariants` module).
    ///
    /// # Errors
    ///
    /// The first [`Violation`] found.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        invariants::check(&self.lock())
    }

    /// Hypercalls issued so far.
    pub fn hypercalls(&self) -> u64 {
        self.lock().hypercalls
    }

    /// Free machine frames.
    pub fn free_frames(&self) -> u64 {
        self.lock().heap.free_frames()
    }

    /// Model memory, by structure.
    pub fn memory_usage(&self) -> MemoryUsage {
        let m = self.lock();
        let (frame_table_bytes, contents_bytes) = m.frames.memory_usage();
        let p2m_bytes = m.domains.values().map(|d| d.p2m.memory_usage()).sum();
        let entry = 16 + 1;
        let side_bytes = (m.xenheap.capacity() + m.extra.capacity()) * (entry + 16)
            + m.domains.values().map(|d| d.pv_m2p.capacity() * entry).sum::<usize>();
        MemoryUsage {
            p2m_bytes,
            frame_table_bytes,
            contents_bytes,
            allocator_bytes: m.heap.memory_usage(),
            side_bytes,
            mapped_pages: m.domains.values().map(|d| d.p2m.len()).sum(),
        }
    }
}

/// What an entry of `d`'s P2M maps, in the public terms.
fn entry_kind(m: &Machine, d: u16, e: p2m::Entry) -> EntryKind {
    let mfn = e.mfn();
    match e.kind() {
        Some(Kind::Mmio) | None => EntryKind::Mmio { mfn: Mfn(mfn) },
        Some(Kind::Pod) => EntryKind::PopulateOnDemand,
        Some(Kind::Ram) => EntryKind::Ram,
        Some(Kind::XenHeap | Kind::Foreign) => {
            if let Some(x) = m.xenheap.get(&mfn) {
                let owner = DomId(x.shared_with);
                return match x.what {
                    XenPageKind::SharedInfo => EntryKind::SharedInfo { owner },
                    XenPageKind::GrantShared(frame) => EntryKind::GrantShared { owner, frame },
                    XenPageKind::GrantStatus(frame) => EntryKind::GrantStatus { owner, frame },
                };
            }
            let owner = match m.frames.owner(mfn) {
                Owner::Domain(o) => DomId(o),
                _ => DomId(d),
            };
            match m.extra.get(&mfn) {
                Some(ExtraPage::Ioreq { server, frame }) => {
                    EntryKind::IoreqPage { target: owner, server: *server, frame: *frame }
                }
                Some(ExtraPage::Vmtrace { vcpu, frame }) => {
                    EntryKind::VmtraceBuf { owner, vcpu: *vcpu, frame: *frame }
                }
                None if e.kind() == Some(Kind::Foreign) => EntryKind::Foreign { owner },
                None => EntryKind::Ram,
            }
        }
    }
}
