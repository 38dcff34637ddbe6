//! A software model of Xen's side of `HYPERVISOR_memory_op` (and `xen_version` and the few
//! `domctl` commands a toolstack needs), so guest code can be tested on a host with no Xen:
//! `xenmem`'s real marshalling runs unchanged against it through the same
//! [`xenmem::Hypercall`] trait the hardware backends implement.
//!
//! It answers as Xen 4.20 (Debian 13's) or 4.17 (Debian 12's), both held to the real
//! hypervisor's recorded answers: [`MachineConfig::with_xen`] picks one ([`Release::NEWEST`]
//! by default), and [`releases`] lists every way their answers differ, one predicate per Xen
//! commit.
//!
//! ```
//! use xenmem::{DomId, Gfn, MemFlags, Xen};
//! use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim};
//!
//! let sim = Sim::new(MachineConfig::x86_64(1 << 16));
//! let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
//! let xen = Xen::new(sim.backend(dom0));
//! let mut gfns = [Gfn(0x100), Gfn(0x101)];
//! assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns), Ok(2));
//! assert_eq!(xen.current_reservation(DomId::SELF), Ok(2));
//! sim.check_invariants().unwrap();
//! ```
//!
//! # Modules
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | machine and domain configurations with Xen's defaults |
//! | [`releases`] | the Xen releases the model answers as, and each difference between them |
//! | `frames`, `allocator` | the frame table (owner, references, lazily backed contents) and the buddy heap |
//! | `p2m` | a domain's P2M: a radix tree of page-sized tables |
//! | `domain`, `lifecycle`, `mm` | domains, their creation and destruction, page references |
//! | `grant_table`, `physmap` | grant frames; the x86 and Arm P2M operations |
//! | `ioreq`, `rangeset`, `evtchn` | ioreq servers and their ranges; event channels |
//! | `dm_op`, `event_channel_op` | the decoders of hypercalls 41 and 32 |
//! | [`guest_io`] | a guest's emulated accesses, driven from the host ([`Sim::guest_io`]) |
//! | `xsm` | the default (dummy) XSM policy |
//! | `memory_op`, `domctl`, `xen_version` | the hypercall decoders, one file per memory_op sub-op |
//! | [`GfnPage`] | a page a domain maps, for `xenmem`'s shared-page accessors |
//! | [`guest_memory`], `process` | the caller's memory: [`ArenaMemory`], and [`ProcessMemory`] (the one unsafe module) |
//! | [`faults`] | [`FaultInjector`], a wrapper around any backend |
//! | `invariants` | [`Sim::check_invariants`] |
//!
//! Hypercalls from several threads are serialised by one lock around the machine, as if
//! every hypercall ran to completion before the next started: Xen's preemption and
//! continuations are invisible to a caller, and the model runs each call in one go.
//!
//! No input reaches a panic: guest addresses go through a fallible accessor, arithmetic on
//! guest values is checked.
//!
//! # Where the model answers for Xen
//!
//! Each function names the Xen function whose logic it follows. Where Xen's behaviour could
//! not be followed, the model's choice is documented where it is made; in short:
//! - sub-ops and domctl commands it does not implement return `-ENOSYS`, and a caller that
//!   cannot run (unknown, dying, crashed) gets `-ESRCH`: Xen would never see such a call;
//! - populate-on-demand follows `p2m-pod.c` for PoD entries, the cache and demand populate
//!   (`physmap/pod.rs` says what of it is left out);
//! - Arm 4.17 takes a data abort on a foreign mapping from `DOMID_IO`/`DOMID_XEN`; the model
//!   answers `-ESRCH` as the later fix does;
//! - x86 refuses P2M changes to a domain being destroyed with `-ENOMEM`, where Xen's outcome
//!   depends on its paging pool;
//! - freed frames are scrubbed, so every allocation reads as zeros;
//! - no domain has a vNUMA topology; the x86 P2M is the page-table one of AMD's NPT (a GFN
//!   beyond 36 bits is `-ENOENT`; Intel's EPT would say `-EINVAL`).
//!
//! # Costs
//!
//! On the project's 2-core machine: populating a 16 GiB guest takes about 1 ns a page at
//! order 9 and 12 ns at order 0, a foreign batch about 13 ns an entry, removing a foreign
//! mapping (one hypercall) about 19 ns; a mapped page that was never written costs 4 to 13
//! bytes of model memory (4 for the frame table, up to 8 for a P2M entry, a quarter byte a
//! frame for the heap's bitmaps; order-9 extents are 2 MiB superpage entries).
//! `benches/model.rs` measures them; BENCHMARKS.md says where the time goes.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod allocator;
pub mod config;
mod dm_op;
mod domain;
mod domctl;
mod error;
mod event_channel_op;
mod evtchn;
pub mod faults;
mod frames;
mod gfn_page;
mod grant_table;
pub mod guest_io;
pub mod guest_memory;
mod invariants;
mod ioreq;
mod lifecycle;
mod machine;
mod memory_op;
mod mm;
mod p2m;
mod physmap;
mod process;
mod rangeset;
pub mod releases;
mod xen_version;
mod xsm;

pub use config::{Arch, DomainConfig, DomainKind, MachineConfig, MaxOrders, MmioRange};
pub use error::SimError;
pub use faults::{FaultInjector, FaultRule, Outcome};
pub use frames::PAGE_SIZE;
pub use gfn_page::GfnPage;
pub use guest_io::{GuestIo, IoOutcome, IoSpace};
pub use guest_memory::{ArenaMemory, BadAddress, GuestMemory};
pub use invariants::Violation;
pub use ioreq::IoreqServerView;
pub use process::{ProcessMemory, SimBackend};
pub use releases::Release;

use crate::domain::Dying;
use crate::error::errno::*;
use crate::frames::Owner;
use crate::lifecycle::NewDomain;
use crate::machine::{ExtraPage, Machine, XenPageKind};
use crate::mm::MemFlags;
use crate::p2m::Kind;
use std::sync::{Arc, Mutex, MutexGuard};
use xenmem::abi::{
    HYPERVISOR_DM_OP, HYPERVISOR_DOMCTL, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_MEMORY_OP,
    HYPERVISOR_XEN_VERSION,
};
use xenmem::{DomId, Gfn, Mfn, XenError};

/// The model: a machine running Xen 4.17 or 4.20 ([`MachineConfig::xen`]). Cheap to clone (all clones share one machine) and
/// `Send + Sync`, so vCPUs of several domains may issue hypercalls from several threads.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Machine>>,
}

impl core::fmt::Debug for Sim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.lock();
        f.debug_struct("Sim").field("arch", &m.cfg.arch).field("domains", &m.domains.len()).finish()
    }
}

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
    /// A machine with no domains.
    pub fn new(cfg: MachineConfig) -> Sim {
        Sim { inner: Arc::new(Mutex::new(Machine::new(cfg))) }
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // A panic elsewhere cannot leave the machine half-changed in a way later calls could
        // not cope with any less than the panicking one: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The machine's configuration.
    pub fn config(&self) -> MachineConfig {
        self.lock().cfg.clone()
    }

    /// Builds a domain as a domain builder (or Xen, for dom0) would: created, vCPUs up,
    /// running. `id` `None` takes the next free id as createdomain does.
    ///
    /// # Errors
    ///
    /// [`SimError::BadDomainId`] for a taken or reserved id, [`SimError::InvalidConfig`] for
    /// a PV domain on Arm, a target that does not exist or a grant-table size Xen refuses,
    /// [`SimError::OutOfMemory`] when the heap cannot hold its Xen pages.
    pub fn create_domain(&self, cfg: DomainConfig) -> Result<DomId, SimError> {
        let mut m = self.lock();
        if m.is_arm() && cfg.kind == DomainKind::Pv {
            return Err(SimError::InvalidConfig("every Arm domain is translated: no PV"));
        }
        let id = match cfg.id {
            Some(id) if id >= xenmem::abi::DOMID_FIRST_RESERVED || m.domains.contains_key(&id) => {
                return Err(SimError::BadDomainId(DomId(id)))
            }
            Some(id) => id,
            None => m.next_free_id().map_err(|_| SimError::OutOfMemory)?,
        };
        if let Some(t) = cfg.target {
            if !m.domains.contains_key(&t.0) {
                return Err(SimError::InvalidConfig("the target domain does not exist"));
            }
        }
        if cfg.max_grant_frames < 1 || cfg.max_grant_frames > m.cfg.max_grant_frames_default {
            return Err(SimError::InvalidConfig("max_grant_frames must be 1..=gnttab_max_frames"));
        }
        if cfg.max_vcpus < 1 {
            return Err(SimError::InvalidConfig("a domain needs a vCPU"));
        }
        let grant_version = cfg.grant_version.clamp(1, m.gnttab_max_version());
        let n = NewDomain {
            id,
            kind: cfg.kind,
            hap: m.cfg.hap,
            control: cfg.control,
            hardware: cfg.hardware,
            xenstore: cfg.xenstore,
            passthrough: cfg.passthrough,
            // Xen builds the Arm hardware domain mapped 1:1 (`create_dom0`: `CDF_privileged |
            // CDF_directmap`, xen/arch/arm/domain_build.c); x86 never direct-maps.
            directmap: m.is_arm() && cfg.hardware && id == 0,
            target: cfg.target.map(|t| t.0),
            max_pages: cfg.max_pages,
            max_vcpus: cfg.max_vcpus,
            vcpus: cfg.max_vcpus,
            running: true,
            max_grant_frames: cfg.max_grant_frames,
            grant_version,
            vmtrace_size: cfg.vmtrace_size,
            // Xen builds dom0 with max_evtchn_port -1 (clamped to INT_MAX); libxl gives a
            // domU 1023 unless told otherwise.
            max_evtchn_port: if cfg.control { i32::MAX as u32 } else { 1023 },
            handle: [0; 16],
            emulation_flags: 0,
            misc_flags: 0,
            p2m_pool_pages: lifecycle::built_pool_pages(cfg.max_pages, cfg.max_vcpus),
            nested_virt: false,
            altp2m: false,
        };
        m.domain_create(n).map(DomId).map_err(|_| SimError::OutOfMemory)
    }

    /// Destroys a domain as `XEN_DOMCTL_destroydomain` does. While other domains still map
    /// its pages it stays listed as dying; it disappears with the last such mapping.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`].
    pub fn destroy_domain(&self, d: DomId) -> Result<(), SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        m.domain_kill(d.0);
        Ok(())
    }

    /// Gives `d` `pages` new pages of RAM at `first_gfn..`, as a domain builder's
    /// populate_physmap would (largest extents the alignment allows, up to order 9), under
    /// the same rules (`max_pages`, a dying domain, the P2M's size). A direct-mapped domain
    /// (Arm's dom0) gets the machine frames equal to its GFNs, as Xen builds it.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`], [`SimError::OutOfMemory`] (for a direct-mapped domain also
    /// when those frames are not free or not on the machine), or [`SimError::Xen`] with the
    /// errno of the check that refused (`E2BIG` over `max_pages`, `EINVAL` dying, ...).
    pub fn populate_ram(&self, d: DomId, first_gfn: Gfn, pages: u64) -> Result<(), SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        if !m.gfn_range_ok(first_gfn.0, pages) {
            return Err(SimError::xen(m.gfn_range_errno()));
        }
        let mut done = 0;
        while done < pages {
            let gfn = first_gfn.0 + done;
            let mut order = 9u32;
            while order > 0 && (gfn % (1 << order) != 0 || pages - done < 1 << order) {
                order -= 1;
            }
            // A direct-mapped domain's RAM is the machine's frames of the same numbers.
            let direct = m.dom(d.0).directmap;
            let mfn = loop {
                let got = if direct {
                    m.alloc_domheap_pages_at(d.0, gfn, order)
                } else {
                    m.alloc_domheap_pages(d.0, order, MemFlags::default())
                };
                match got {
                    Ok(mfn) => break mfn,
                    Err(ENOMEM) if order > 0 => order -= 1,
                    Err(ENOMEM) => return Err(SimError::OutOfMemory),
                    Err(e) => return Err(SimError::xen(e)),
                }
            };
            m.guest_physmap_add_page(d.0, gfn, mfn, order).map_err(SimError::xen)?;
            done += 1 << order;
        }
        Ok(())
    }

    /// The frame `d` reaches at `gfn`, following foreign, grant, shared-info and ioreq
    /// entries to the page behind them (for a PV domain, its pseudo-physical map).
    pub fn translate(&self, d: DomId, gfn: Gfn) -> Option<Mfn> {
        let m = self.lock();
        let e = m.domains.get(&d.0)?.p2m.get(gfn.0);
        e.kind().map(|_| Mfn(e.mfn()))
    }

    fn readable(m: &Machine, d: DomId, gfn: Gfn, offset: usize, len: usize) -> Result<u64, SimError> {
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

    /// Writes `data` at byte `offset` of what `d` maps at `gfn`.
    ///
    /// # Errors
    ///
    /// As [`Sim::read_gfn`].
    pub fn write_gfn(&self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), SimError> {
        let mut m = self.lock();
        let mfn = Self::readable(&m, d, gfn, offset, data.len())?;
        m.frames.write(mfn, offset, data);
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

    /// Creates an ioreq server of `target` as `emulator`'s `XEN_DMOP_create_ioreq_server`
    /// would (a buffered page in `HVM_IOREQSRV_BUFIOREQ_ATOMIC` mode when `bufioreq`), and
    /// returns its id: a shortcut for setting a machine up.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::Xen`] with dm_op's answer: `ENOSYS` on a build
    /// without ioreq servers (Arm's default), `EPERM` when `emulator` is the target itself
    /// or neither the control domain nor the target's device model, `EINVAL` for a PV target
    /// (x86) or a buffered page (Arm), `ENOSPC` past 8 servers.
    pub fn create_ioreq_server(
        &self,
        target: DomId,
        emulator: DomId,
        bufioreq: bool,
    ) -> Result<u16, SimError> {
        let mut m = self.lock();
        m.lookup_by_id(target.0).ok_or(SimError::NoSuchDomain(target))?;
        m.lookup_by_id(emulator.0).ok_or(SimError::NoSuchDomain(emulator))?;
        let handling = if bufioreq { xenmem::abi::dm_op::HVM_IOREQSRV_BUFIOREQ_ATOMIC } else { 0 };
        dm_op::create_ioreq_server(&mut m, emulator.0, target.0, handling).map_err(SimError::xen)
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

    /// Clears `port`'s pending bit as the guest does when it handles the event; says whether
    /// it was set.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`].
    pub fn evtchn_take_pending(&self, d: DomId, port: u32) -> Result<bool, SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        Ok(m.evtchn_take_pending(d.0, port))
    }

    /// `d`'s ioreq servers, lowest id first.
    pub fn ioreq_servers(&self, d: DomId) -> Vec<IoreqServerView> {
        self.lock().ioreq_server_views(d.0)
    }

    /// Switches `d`'s grant table to version `v` (standing in for `GNTTABOP_set_version`).
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::Xen`]: `EINVAL` for a version the domain may
    /// not use, `EBUSY` when going back to 1 while a status frame is mapped.
    pub fn set_grant_version(&self, d: DomId, v: u8) -> Result<(), SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        m.gnttab_set_version(d.0, v).map_err(SimError::xen)
    }

    /// Maps device frame `mfn` at `gfn` of translated domain `d` (standing in for
    /// `XEN_DOMCTL_memory_mapping`), replacing nothing: the GFN must be free.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::InvalidConfig`] for RAM frames, a PV domain or
    /// an occupied GFN.
    pub fn map_mmio(&self, d: DomId, gfn: Gfn, mfn: Mfn) -> Result<(), SimError> {
        let mut m = self.lock();
        let dom = m.domains.get(&d.0).ok_or(SimError::NoSuchDomain(d))?;
        if m.frames.valid(mfn.0)
            || !dom.translated
            || !dom.p2m.get(gfn.0).is_empty()
            || !m.gfn_range_ok(gfn.0, 1)
        {
            return Err(SimError::InvalidConfig(
                "MMIO needs a device frame and a free GFN of a translated domain",
            ));
        }
        m.p2m_write_run(d.0, gfn.0, 1, Kind::Mmio, mfn.0);
        Ok(())
    }

    /// Checks the model's invariants (see the `invariants` module).
    ///
    /// # Errors
    ///
    /// The first [`Violation`] found.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        invariants::check(&self.lock())
    }

    /// A [`xenmem::Hypercall`] backend issuing hypercalls as `caller`, reading their
    /// arguments from this process's memory.
    pub fn backend(&self, caller: DomId) -> SimBackend {
        SimBackend { sim: self.clone(), caller }
    }

    /// Hypercall `op` with `args`, issued by `caller`, decoded exactly as Xen takes it:
    /// memory_op (12), xen_version (17), event_channel_op (32), domctl (36) and dm_op (41,
    /// absent from a build without ioreq servers); any other number is `-ENOSYS`. A caller that cannot
    /// run (unknown, dying, crashed) gets `-ESRCH` (the model's answer: Xen would never see
    /// the call).
    pub fn hypercall(&self, caller: DomId, mem: &mut dyn GuestMemory, op: u32, args: [u64; 5]) -> i64 {
        let mut m = self.lock();
        m.hypercalls += 1;
        if !m.domains.get(&caller.0).is_some_and(|d| d.can_run()) {
            return -(ESRCH as i64);
        }
        match op {
            HYPERVISOR_MEMORY_OP => memory_op::do_memory_op(&mut m, caller.0, mem, args[0], args[1]),
            HYPERVISOR_DOMCTL => domctl::do_domctl(&mut m, caller.0, mem, args[0]),
            HYPERVISOR_XEN_VERSION => xen_version::do_xen_version(&m, mem, args[0], args[1]),
            HYPERVISOR_DM_OP => dm_op::do_dm_op(&mut m, caller.0, mem, args),
            HYPERVISOR_EVENT_CHANNEL_OP => {
                event_channel_op::do_event_channel_op(&mut m, caller.0, mem, args[0], args[1])
            }
            _ => -(ENOSYS as i64),
        }
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

    /// The errno Xen would give as a [`XenError`], for tests that compare with `-rc`.
    pub fn errno(rc: i64) -> Option<XenError> {
        XenError::check(rc).err()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Sim>();
        check::<SimBackend>();
    }
}

/// The README (the package's front page) compiles as a doctest, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
