//! A domain's state: identity and privileges, page accounting, its P2M, shared info, grant
//! table, ioreq servers and event channels, and where it is on the way to destruction.
//!
//! Data and small queries only. Changing frames or P2Ms goes through `crate::mm` and
//! `crate::physmap`, which keep the frame table and this state in step.

use crate::config::DomainKind;
use crate::frames::FrameMap;
use crate::p2m::P2m;
use std::collections::BTreeMap;

/// `d->is_dying`.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dying {
    /// Running (or paused, or shut down).
    Alive,
    /// `domain_kill` has started tearing it down.
    Dying,
    /// Torn down; the record stays while other domains still hold its pages.
    Dead,
}

/// `struct grant_table`, the parts memory_op sees.
pub(crate) struct GrantTable {
    /// `gt_version`: 1 until the guest asks for 2.
    pub version: u8,
    /// `max_version` from `grant_opts`.
    pub max_version: u8,
    /// `max_grant_frames`.
    pub max_frames: u32,
    /// MFNs of the shared frames (`shared_raw`), `nr_grant_frames` of them.
    pub shared: Vec<u64>,
    /// MFNs of the status frames (version 2 only).
    pub status: Vec<u64>,
}

pub(crate) use crate::ioreq::IoreqServer;

/// A domain.
pub(crate) struct Domain {
    pub id: u16,
    pub kind: DomainKind,
    /// `paging_mode_translate`.
    pub translated: bool,
    /// `is_hvm_domain` (PVH and HVM on x86; every Arm domain).
    pub hvm: bool,
    /// Hardware-assisted paging.
    pub hap: bool,
    pub control: bool,
    pub hardware: bool,
    pub xenstore: bool,
    pub passthrough: bool,
    /// `is_domain_direct_mapped` (`CDF_directmap`): Arm's hardware domain, whose GFNs equal
    /// its MFNs. populate_physmap only maps back its own frames, and guest_remove_page keeps
    /// the allocation reference.
    pub directmap: bool,
    /// `d->target`.
    pub target: Option<u16>,
    /// `tot_pages`, excluding `MEMF_no_refcount` pages.
    pub tot_pages: u64,
    /// Pages owned without counting (ioreq pages).
    pub extra_pages: u64,
    /// `max_pages` (32 bits in Xen).
    pub max_pages: u64,
    pub dying: Dying,
    /// `shutdown_code` once shut down (crash: 3).
    pub shutdown: Option<u8>,
    /// `controller_pause_count`.
    pub controller_pause: u32,
    /// `creation_finished`.
    pub creation_finished: bool,
    /// The P2M; for a PV domain, the pseudo-physical map its own P2M list would hold.
    pub p2m: P2m,
    /// PV only: MFN → pseudo-physical frame (Xen's M2P for the domain's pages).
    pub pv_m2p: FrameMap<u64>,
    /// The shared-info page (a xenheap frame).
    pub shared_info: u64,
    pub grant: GrantTable,
    pub ioreq_servers: BTreeMap<u16, IoreqServer>,
    /// Event-channel ports.
    pub evtchn: crate::evtchn::EvtchnTable,
    /// Emulated I/O of its vCPUs.
    pub io: crate::ioreq::DomainIo,
    pub max_vcpus: u32,
    /// vCPUs created (by `XEN_DOMCTL_max_vcpus` or at build).
    pub vcpus: u32,
    /// vCPUs running a guest (host-built domains; domctl-created ones have none).
    pub online_vcpus: u32,
    pub vmtrace_size: u32,
    /// Per-vCPU trace buffers: first MFN of each (`v->vmtrace.pg`).
    pub vmtrace_bufs: Vec<u64>,
    pub handle: [u8; 16],
    /// `p2m->pod.entry_count`: PoD entries in the P2M.
    pub pod_entries: u64,
    /// `p2m->pod.single`/`super`: pages held back for PoD entries (still the domain's, still
    /// counted in `tot_pages`, mapped nowhere), as single frames.
    pub pod_cache: Vec<u64>,
    /// `p2m->pod.max_guest`: the highest GFN demand-populated so far (0: none).
    pub pod_max_guest: u64,
    /// `p2m->pod.reclaim_single`: where the next emergency sweep starts (0: at `max_guest`).
    pub pod_reclaim_single: u64,
    /// `p2m->pod.mrp`: the most recently demand-populated GFNs, checked first for zero pages
    /// to take back (`u64::MAX`: an empty slot), and the next slot to write.
    pub pod_mrp: [u64; crate::physmap::POD_MRP_ENTRIES],
    pub pod_mrp_idx: usize,
    pub emulation_flags: u32,
    pub misc_flags: u32,
    /// Pages in the P2M pool (`p2m_total_pages`), the only source of Arm's P2M table pages.
    /// The model keeps the count, not the pages (the pool is not taken from its heap), and
    /// counts no table pages: an empty pool refuses every new mapping, any other none.
    pub p2m_pool_pages: u64,
    /// Created with nested virtualisation (`XEN_DOMCTL_CDF_nested_virt`).
    pub nested_virt: bool,
    /// Created with altp2m on (`altp2m_opts`, Xen 4.19 on).
    pub altp2m: bool,
}

impl Domain {
    /// `domain_tot_pages`.
    pub(crate) fn tot_pages(&self) -> u64 {
        self.tot_pages
    }

    pub(crate) fn is_dying(&self) -> bool {
        self.dying != Dying::Alive
    }

    /// Whether the domain can run a vCPU (and so issue hypercalls).
    pub(crate) fn can_run(&self) -> bool {
        self.dying == Dying::Alive && self.shutdown.is_none()
    }
}

/// Domains by id: a table indexed by the id itself, so the lookups every hypercall makes
/// several of are one load (Xen hashes; a direct table is simpler and as fast).
#[derive(Default)]
pub(crate) struct DomainTable {
    slots: Vec<Option<Box<Domain>>>,
    count: usize,
}

impl DomainTable {
    #[inline]
    pub(crate) fn get(&self, id: &u16) -> Option<&Domain> {
        self.slots.get(*id as usize).and_then(|s| s.as_deref())
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &u16) -> Option<&mut Domain> {
        self.slots.get_mut(*id as usize).and_then(|s| s.as_deref_mut())
    }

    /// Two different domains at once, the first to change (the hot paths that move a
    /// reference from one domain's page into another's P2M).
    pub(crate) fn pair(&mut self, a: u16, b: u16) -> Option<(&mut Domain, &Domain)> {
        let (a, b) = (a as usize, b as usize);
        if a == b || a.max(b) >= self.slots.len() {
            return None;
        }
        let (lo, hi) = self.slots.split_at_mut(a.max(b));
        let (x, y) = if a < b { (lo.get_mut(a)?, hi.first()?) } else { (hi.first_mut()?, lo.get(b)?) };
        Some((x.as_deref_mut()?, y.as_deref()?))
    }

    pub(crate) fn contains_key(&self, id: &u16) -> bool {
        self.get(id).is_some()
    }

    pub(crate) fn insert(&mut self, id: u16, d: Domain) {
        let i = id as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(Box::new(d)).is_none() {
            self.count += 1;
        }
    }

    pub(crate) fn remove(&mut self, id: &u16) -> Option<Domain> {
        let d = self.slots.get_mut(*id as usize)?.take()?;
        self.count -= 1;
        Some(*d)
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Domains in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, &Domain)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_deref().map(|d| (i as u16, d)))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = u16> + '_ {
        self.iter().map(|(i, _)| i)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Domain> + '_ {
        self.iter().map(|(_, d)| d)
    }

    /// The first domain with an id at or above `id`.
    pub(crate) fn first_from(&self, id: u16) -> Option<u16> {
        self.iter().map(|(i, _)| i).find(|&i| i >= id)
    }
}
