//! Domains coming and going: `domain_create` (with `grant_table_init` and the shared-info
//! page), `domain_kill` and its relinquishing of memory, `domain_crash`, vCPU creation, the
//! grant table's growth (`gnttab_grow_table`) and version switch.
//!
//! May touch the machine's domains, frames and Xen heap tables through `crate::mm`.

use crate::config::DomainKind;
use crate::domain::{Domain, Dying, GrantTable};
use crate::error::errno::*;
use crate::frames::FrameMap;
use crate::machine::{ExtraPage, Machine, XenPageKind};
use crate::mm::MemFlags;
use crate::p2m::{Kind, P2m};
use std::collections::BTreeMap;

/// `INITIAL_NR_GRANT_FRAMES` (x86 and Arm).
const INITIAL_NR_GRANT_FRAMES: u32 = 1;
/// `SHUTDOWN_crash`.
pub(crate) const SHUTDOWN_CRASH: u8 = 3;

/// Everything `domain_create` needs, already checked by the caller's front end.
pub(crate) struct NewDomain {
    pub id: u16,
    pub kind: DomainKind,
    pub hap: bool,
    pub control: bool,
    pub hardware: bool,
    pub xenstore: bool,
    pub passthrough: bool,
    /// `CDF_directmap`: the domain's RAM sits at machine frames equal to its GFNs.
    pub directmap: bool,
    pub target: Option<u16>,
    pub max_pages: u64,
    pub max_vcpus: u32,
    /// vCPUs to create now (a host-built domain gets all; domctl's gets none).
    pub vcpus: u32,
    pub running: bool,
    pub max_grant_frames: u32,
    pub grant_version: u8,
    pub vmtrace_size: u32,
    /// `max_evtchn_port`.
    pub max_evtchn_port: u32,
    pub handle: [u8; 16],
    pub emulation_flags: u32,
    pub misc_flags: u32,
    /// The P2M pool it starts with.
    pub p2m_pool_pages: u64,
    pub nested_virt: bool,
    pub altp2m: bool,
}

/// Arm `p2m_init` up to Xen 4.17: 16 pages set aside for every new domain's P2M.
const P2M_INIT_POOL_PAGES_4_17: u64 = 16;

/// The P2M pool a domain made by createdomain starts with ([`crate::Release`]).
pub(crate) fn createdomain_pool_pages(m: &Machine) -> u64 {
    if m.is_arm() && m.cfg.xen.arm_p2m_pool_starts_empty() {
        0
    } else {
        P2M_INIT_POOL_PAGES_4_17
    }
}

/// The P2M pool Xen's boot-time builder gives dom0 and dom0less domains (Arm
/// `domain_p2m_pages`, as libxl sizes a domU's): 256 pages a vCPU, one per MiB of RAM and 128
/// more, rounded up to whole MiB.
pub(crate) fn built_pool_pages(max_pages: u64, vcpus: u32) -> u64 {
    let kib = 4 * (256 * vcpus as u64 + (max_pages.min(u32::MAX as u64) * 4) / 1024 + 128);
    kib.div_ceil(1024) << 8
}

/// `grant_to_status_frames`: status frames for `n` shared frames of v2 entries
/// (`DIV_ROUND_UP(n * 256, 2048)`, in 32-bit arithmetic as Xen's `unsigned int`).
pub(crate) fn grant_to_status_frames(n: u32) -> u32 {
    n.wrapping_mul(256).wrapping_add(2047) / 2048
}

/// `status_to_grant_frames` (`DIV_ROUND_UP(n * 2048, 256)`, 32-bit).
pub(crate) fn status_to_grant_frames(n: u32) -> u32 {
    n.wrapping_mul(2048).wrapping_add(255) / 256
}

impl Machine {
    /// The largest grant-table version this build supports (`GNTTAB_MAX_VERSION`: 2 on x86,
    /// 1 on Arm).
    pub(crate) fn gnttab_max_version(&self) -> u8 {
        if self.is_arm() {
            1
        } else {
            2
        }
    }

    /// `domain_create` past its checks: the record, the shared-info page (`arch_domain_create`)
    /// and a grant table of `INITIAL_NR_GRANT_FRAMES` (`grant_table_init`). `-ENOMEM` if the
    /// heap cannot give the Xen pages.
    pub(crate) fn domain_create(&mut self, n: NewDomain) -> Result<u16, i32> {
        let translated = n.kind.is_translated();
        let shared_info = self.alloc_shared_xenheap_page(n.id, XenPageKind::SharedInfo).ok_or(ENOMEM)?;
        let dom = Domain {
            id: n.id,
            kind: n.kind,
            translated,
            hvm: translated,
            hap: n.hap && translated,
            control: n.control,
            hardware: n.hardware,
            xenstore: n.xenstore,
            passthrough: n.passthrough,
            directmap: n.directmap,
            target: n.target,
            tot_pages: 0,
            extra_pages: 0,
            max_pages: n.max_pages.min(u32::MAX as u64),
            dying: Dying::Alive,
            shutdown: None,
            controller_pause: u32::from(!n.running),
            creation_finished: n.running,
            p2m: P2m::new(),
            pv_m2p: FrameMap::default(),
            shared_info,
            grant: GrantTable {
                version: 1,
                max_version: n.grant_version,
                max_frames: n.max_grant_frames,
                shared: Vec::new(),
                status: Vec::new(),
            },
            ioreq_servers: BTreeMap::new(),
            evtchn: crate::evtchn::EvtchnTable::new(n.max_evtchn_port),
            io: crate::ioreq::DomainIo::default(),
            max_vcpus: n.max_vcpus,
            vcpus: 0,
            online_vcpus: 0,
            vmtrace_size: n.vmtrace_size,
            vmtrace_bufs: Vec::new(),
            handle: n.handle,
            pod_entries: 0,
            pod_cache: Vec::new(),
            pod_max_guest: 0,
            pod_reclaim_single: 0,
            pod_mrp: [u64::MAX; crate::physmap::POD_MRP_ENTRIES],
            pod_mrp_idx: 0,
            emulation_flags: n.emulation_flags,
            misc_flags: n.misc_flags,
            p2m_pool_pages: n.p2m_pool_pages,
            nested_virt: n.nested_virt,
            altp2m: n.altp2m,
        };
        self.domains.insert(n.id, dom);
        if self.gnttab_grow_table(n.id, 0).is_err() || self.create_vcpus(n.id, n.vcpus).is_err() {
            // Undo as domain_create's failure path does.
            self.dom_mut(n.id).dying = Dying::Dead;
            self.domain_relinquish(n.id);
            self.reap_if_done(n.id);
            return Err(ENOMEM);
        }
        if n.running {
            self.dom_mut(n.id).online_vcpus = n.vcpus;
        }
        Ok(n.id)
    }

    /// `vcpu_create` for vCPUs `0..n` not yet created, with their trace buffers
    /// (`vmtrace_alloc_buffer`: `MEMF_no_refcount` pages holding a type reference).
    pub(crate) fn create_vcpus(&mut self, d: u16, n: u32) -> Result<(), i32> {
        let (have, size) = (self.dom(d).vcpus, self.dom(d).vmtrace_size);
        for v in have..n {
            if size != 0 {
                let frames = (size as u64 >> 12).max(1);
                let order = 63 - frames.leading_zeros();
                let mfn = self.alloc_domheap_pages(
                    d,
                    order,
                    MemFlags { no_refcount: true, ..MemFlags::default() },
                )?;
                for i in 0..frames {
                    self.frames.get_ref(mfn + i);
                    self.extra.insert(mfn + i, ExtraPage::Vmtrace { vcpu: v, frame: i as u32 });
                }
                self.dom_mut(d).vmtrace_bufs.push(mfn);
            }
            self.dom_mut(d).vcpus = v + 1;
            // hvm_vcpu_initialise: the new vCPU joins every ioreq server.
            self.ioreq_server_add_vcpu_all(d, v)?;
        }
        Ok(())
    }

    /// `gnttab_grow_table`: at least `INITIAL_NR_GRANT_FRAMES`, new shared frames (and status
    /// frames in v2) shared with the domain. `-ENOMEM` if the heap runs dry (the frames
    /// allocated so far are kept, which Xen would undo; the model never needs to).
    pub(crate) fn gnttab_grow_table(&mut self, d: u16, req: u32) -> Result<(), i32> {
        let req = req.max(INITIAL_NR_GRANT_FRAMES);
        let have = self.dom(d).grant.shared.len() as u32;
        for i in have..req {
            let mfn = self.alloc_shared_xenheap_page(d, XenPageKind::GrantShared(i)).ok_or(ENOMEM)?;
            self.dom_mut(d).grant.shared.push(mfn);
        }
        if self.dom(d).grant.version == 2 {
            self.gnttab_populate_status_frames(d, req)?;
        }
        Ok(())
    }

    fn gnttab_populate_status_frames(&mut self, d: u16, grant_frames: u32) -> Result<(), i32> {
        let want = grant_to_status_frames(grant_frames);
        let have = self.dom(d).grant.status.len() as u32;
        for i in have..want {
            let mfn = self.alloc_shared_xenheap_page(d, XenPageKind::GrantStatus(i)).ok_or(ENOMEM)?;
            self.dom_mut(d).grant.status.push(mfn);
        }
        Ok(())
    }

    /// `gnttab_set_version` (the grant_table_op; the model offers it host-side): `-EINVAL` for
    /// a version other than 1 or 2 or above the domain's maximum; going to 2 adds status
    /// frames; going back to 1 frees them, `-EBUSY` while any is mapped anywhere.
    pub(crate) fn gnttab_set_version(&mut self, d: u16, v: u8) -> Result<(), i32> {
        let g = &self.dom(d).grant;
        if !(1..=2).contains(&v) || v > g.max_version {
            return Err(EINVAL);
        }
        if v == g.version {
            return Ok(());
        }
        if v == 2 {
            self.dom_mut(d).grant.version = 2;
            let frames = self.dom(d).grant.shared.len() as u32;
            return self.gnttab_populate_status_frames(d, frames);
        }
        let status = self.dom(d).grant.status.clone();
        if status
            .iter()
            .any(|m| self.frames.refs(*m) != 0 || self.xenheap.get(m).is_some_and(|x| x.gfn.is_some()))
        {
            return Err(EBUSY);
        }
        for m in status {
            self.xenheap.remove(&m);
            self.frames.release(m);
            self.heap.free(m, 0);
        }
        let g = &mut self.dom_mut(d).grant;
        g.status.clear();
        g.version = 1;
        Ok(())
    }

    /// `domain_crash`: the domain shuts down with `SHUTDOWN_crash` (it stops running but is
    /// not dying until a toolstack destroys it).
    pub(crate) fn domain_crash(&mut self, d: u16) {
        if let Some(dom) = self.domains.get_mut(&d) {
            if dom.shutdown.is_none() {
                dom.shutdown = Some(SHUTDOWN_CRASH);
                dom.online_vcpus = 0;
            }
        }
    }

    /// `domain_kill` (the caller's own domain was refused by the front end): tear down ioreq
    /// servers and the P2M (dropping the references foreign entries hold), let go of every
    /// page's allocation reference, and mark the domain dead. It stays listed while other
    /// domains still hold any of its pages.
    pub(crate) fn domain_kill(&mut self, d: u16) {
        if self.dom(d).dying != Dying::Alive {
            return;
        }
        self.dom_mut(d).dying = Dying::Dying;
        self.dom_mut(d).online_vcpus = 0;
        // evtchn_destroy comes before the relinquishing: peers' ends become unbound.
        self.evtchn_destroy(d);
        self.domain_relinquish(d);
        self.dom_mut(d).dying = Dying::Dead;
        self.reap_if_done(d);
    }

    /// `domain_relinquish_resources` and the page-list walk of `relinquish_memory`.
    fn domain_relinquish(&mut self, d: u16) {
        // ioreq servers: their pages lose the type and allocation references.
        let servers = std::mem::take(&mut self.dom_mut(d).ioreq_servers);
        for s in servers.values() {
            for m in [s.ioreq, s.bufioreq_page].into_iter().flatten() {
                self.put_page(m);
                self.put_page_alloc_ref(m);
            }
        }
        // vmtrace buffers likewise.
        let bufs = std::mem::take(&mut self.dom_mut(d).vmtrace_bufs);
        let frames = (self.dom(d).vmtrace_size as u64 >> 12).max(1);
        for b in bufs {
            for m in b..b + frames {
                self.put_page(m);
                self.put_page_alloc_ref(m);
            }
        }
        // P2M teardown: foreign entries give their references back.
        let entries: Vec<(u64, crate::p2m::Entry)> = self.dom(d).p2m.iter().collect();
        self.dom_mut(d).p2m.clear();
        // p2m_pod_empty_cache: the cache's pages are the domain's own and go with the rest.
        self.dom_mut(d).pod_cache.clear();
        self.dom_mut(d).pod_entries = 0;
        self.dom_mut(d).pv_m2p.clear();
        for (gfn, e) in entries {
            match e.kind() {
                Some(Kind::Foreign) => self.put_page(e.mfn()),
                Some(Kind::XenHeap) => {
                    if let Some(x) = self.xenheap.get_mut(&e.mfn()) {
                        if x.gfn == Some(gfn) {
                            x.gfn = None;
                        }
                    }
                }
                _ => {}
            }
        }
        // Every page of the domain's own, then the Xen heap pages shared with it.
        let owned: Vec<u64> = self.frames.owned_by(d).collect();
        for m in owned {
            self.put_page_alloc_ref(m);
        }
        let dom = self.dom(d);
        let mut xen: Vec<u64> = vec![dom.shared_info];
        xen.extend(dom.grant.shared.iter().chain(dom.grant.status.iter()));
        for m in xen {
            self.frames.clear_allocated(m);
        }
    }
}
