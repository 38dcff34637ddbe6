//! ioreq servers (`xen/common/ioreq.c`, `xen/arch/x86/hvm/ioreq.c`): creation with an event
//! channel per vCPU, the pages allocated on first acquire, ranges, enabling, destruction; and
//! the two halves of a forwarded access, `ioreq_send` (post the request in the vCPU's slot and
//! notify) and `wait_for_io` (what the vCPU finds in its slot when it is woken).
//!
//! Rules, with the Xen 4.17 function each follows:
//! - `ioreq_server_create`: on Arm any buffered mode → `-EINVAL`; a mode above
//!   `HVM_IOREQSRV_BUFIOREQ_ATOMIC` → `-EINVAL`; the lowest free id of 8 (`-ENOSPC`); for each
//!   vCPU of the target a Xen-consumed port offered to the emulator, plus one for the buffered
//!   page with vCPU 0 (`ioreq_server_add_vcpu`); no pages yet.
//! - `get_ioreq_server`: an id of 8 or more, or a free one → `-ENOENT`; every operation after
//!   creation then requires `s->emulator == current` → `-EPERM`.
//! - `ioreq_server_get_frame` (acquire_resource): allocate the pages if not yet done
//!   (`-ENOMEM`), then frame 0 is the buffered page (`-ENOENT` without one), frame 1 the
//!   synchronous page, anything else `-EINVAL`.
//! - `ioreq_server_get_info`: without `XEN_DMOP_no_gfns` x86 maps the pages into the target
//!   (`arch_ioreq_server_map_pages`): `-EPERM` once they were acquired; Arm `-EOPNOTSUPP`.
//! - `ioreq_server_map_io_range` / `_unmap_io_range`: `start > end` → `-EINVAL` first; a type
//!   other than port, memory, PCI → `-EINVAL`; an overlap → `-EEXIST`; a range not wholly held
//!   → `-ENOENT`; at most 256 ranges per type (`-ENOMEM`, see `crate::rangeset`).
//! - `ioreq_server_set_state`: enabling writes each vCPU's port into its slot's `vp_eport`
//!   (when the synchronous page exists).
//! - `ioreq_server_destroy`: ports closed, pages let go (freed once nobody maps them).
//! - `ioreq_server_select`: the enabled servers, highest id first, whose range of the access's
//!   type holds all of it; x86 port accesses to 0xcfc–0xcff while 0xcf8 holds an enabled
//!   address become PCI configuration requests (`arch_ioreq_server_get_type_addr`).
//! - `ioreq_send`: the slot must be `NONE` and its `vp_eport` the vCPU's port, otherwise the
//!   access is not handled (the caller decides what the guest sees); then the request is
//!   written with state `READY`, the port notified and the vCPU left waiting.
//! - `wait_for_io`, when the vCPU is woken (the emulator sent on the port): `IORESP_READY` →
//!   the slot goes back to `NONE` and the data is the answer; `READY` or `INPROCESS` → keep
//!   waiting; `NONE` → done with all-ones data; any other state → the target is crashed. (The
//!   "state went backwards" check cannot fire: the model evaluates the slot once per wake-up.)
//!
//! Not modelled: the legacy mapping of the pages into the target (`get_info` without
//! `no_gfns` before an acquire answers the model's `-ENOSYS`), buffered requests (Xen posts
//! them only for x86 standard VGA and RTC offsets, which the model does not emulate), memory
//! types (`map_mem_type_to_ioreq_server`).

use crate::domain::Dying;
use crate::error::errno::*;
use crate::machine::{ExtraPage, Machine};
use crate::mm::MemFlags;
use crate::rangeset::RangeSet;
use std::collections::BTreeMap;
use xenmem::abi::dm_op::{HVM_IOREQSRV_BUFIOREQ_ATOMIC, HVM_IOREQSRV_BUFIOREQ_OFF, XEN_DMOP_IO_RANGE_PCI};
use xenmem::abi::dm_op::{XEN_DMOP_IO_RANGE_MEMORY, XEN_DMOP_IO_RANGE_PORT};
use xenmem::abi::ioreq::*;
use zerocopy::{FromBytes, IntoBytes};

/// `MAX_NR_IOREQ_SERVERS`.
pub(crate) const MAX_NR_IOREQ_SERVERS: u16 = 8;
/// `MAX_NR_IO_RANGES`.
const MAX_NR_IO_RANGES: u32 = 256;

/// `struct ioreq_vcpu`: a vCPU of the target as one server sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoreqVcpu {
    pub vcpu: u32,
    /// `ioreq_evtchn`: the Xen-consumed port in the target.
    pub port: u32,
    /// A request of this vCPU is with this server.
    pub pending: bool,
}

/// `struct ioreq_server`.
#[derive(Clone, Debug)]
pub(crate) struct IoreqServer {
    /// The domain that created it (`s->emulator`).
    pub emulator: u16,
    /// `HVM_IOREQSRV_BUFIOREQ_*`.
    pub bufioreq_handling: u8,
    /// The synchronous ioreq page, allocated on first use.
    pub ioreq: Option<u64>,
    /// The buffered ioreq page, allocated on first use.
    pub bufioreq_page: Option<u64>,
    pub enabled: bool,
    /// Port, memory and PCI ranges.
    pub ranges: [RangeSet; 3],
    pub vcpus: Vec<IoreqVcpu>,
    /// `bufioreq_evtchn`.
    pub bufioreq_evtchn: Option<u32>,
}

impl IoreqServer {
    /// `HANDLE_BUFIOREQ(s)`.
    pub(crate) fn handles_bufioreq(&self) -> bool {
        self.bufioreq_handling != HVM_IOREQSRV_BUFIOREQ_OFF
    }
}

/// A forwarded access a vCPU waits for (`v->io.req` while a server holds it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// The server it went to.
    pub server: u16,
    /// The request as posted (`vio->req`).
    pub req: Ioreq,
    /// The server was destroyed while the vCPU waited: nothing will wake it again (Xen frees
    /// the port without waking the vCPU blocked on it).
    pub orphaned: bool,
}

/// How `ioreq_send` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Posted: the vCPU waits (`IOREQ_STATUS_RETRY`).
    Waiting,
    /// Not handled (`IOREQ_STATUS_UNHANDLED`): a bad slot, or the vCPU unknown to the server.
    Unhandled,
}

/// What the vCPU found when woken (`wait_for_io`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Woken {
    /// Still waiting.
    Waiting,
    /// Done; `data` goes to the access.
    Done { data: u64 },
    /// The state made Xen crash the domain.
    Crashed,
}

/// A domain's I/O state: each vCPU's access in flight, the last outcome, and the PCI
/// address latch (`d->arch.hvm.pci_cf8`).
#[derive(Clone, Debug, Default)]
pub(crate) struct DomainIo {
    pub pci_cf8: u32,
    pub in_flight: BTreeMap<u32, InFlight>,
    /// A vCPU's last forwarded access and what it came to (for the host's query).
    pub completed: BTreeMap<u32, (InFlight, Woken)>,
}

/// An ioreq server as the host sees it ([`crate::Sim::ioreq_servers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoreqServerView {
    /// Its id.
    pub id: u16,
    /// The domain that created it and serves it.
    pub emulator: xenmem::DomId,
    /// `HVM_IOREQSRV_BUFIOREQ_*`.
    pub bufioreq_handling: u8,
    /// Enabled (receives requests).
    pub enabled: bool,
    /// Its pages exist (they are allocated by the first `acquire_resource`).
    pub pages: bool,
    /// (vCPU, port in the emulated domain) for each vCPU.
    pub ports: Vec<(u32, u32)>,
    /// The buffered page's port.
    pub bufioreq_port: Option<u32>,
    /// (`XEN_DMOP_IO_RANGE_*`, first, last) of every range.
    pub ranges: Vec<(u32, u64, u64)>,
}

impl Machine {
    /// The host's view of `d`'s servers.
    pub(crate) fn ioreq_server_views(&self, d: u16) -> Vec<IoreqServerView> {
        let Some(dom) = self.domains.get(&d) else { return Vec::new() };
        dom.ioreq_servers
            .iter()
            .map(|(&id, s)| IoreqServerView {
                id,
                emulator: xenmem::DomId(s.emulator),
                bufioreq_handling: s.bufioreq_handling,
                enabled: s.enabled,
                pages: s.ioreq.is_some(),
                ports: s.vcpus.iter().map(|sv| (sv.vcpu, sv.port)).collect(),
                bufioreq_port: s.bufioreq_evtchn,
                ranges: (0u32..3)
                    .flat_map(|t| s.ranges[t as usize].iter().map(move |(a, b)| (t, a, b)))
                    .collect(),
            })
            .collect()
    }

    fn server(&self, d: u16, id: u16) -> Option<&IoreqServer> {
        self.dom(d).ioreq_servers.get(&id)
    }

    fn server_mut(&mut self, d: u16, id: u16) -> Option<&mut IoreqServer> {
        self.dom_mut(d).ioreq_servers.get_mut(&id)
    }

    /// `get_ioreq_server` and the emulator check every operation after creation makes.
    pub(crate) fn ioreq_server_of(&self, d: u16, id: u16, caller: u16) -> Result<&IoreqServer, i32> {
        let s = self.server(d, id).filter(|_| id < MAX_NR_IOREQ_SERVERS).ok_or(ENOENT)?;
        if s.emulator != caller {
            return Err(EPERM);
        }
        Ok(s)
    }

    /// `ioreq_server_create(d, bufioreq_handling)` by `emulator` (`current`).
    pub(crate) fn ioreq_server_create(&mut self, d: u16, emulator: u16, handling: u8) -> Result<u16, i32> {
        if self.is_arm() && handling != HVM_IOREQSRV_BUFIOREQ_OFF {
            return Err(EINVAL);
        }
        if handling > HVM_IOREQSRV_BUFIOREQ_ATOMIC {
            return Err(EINVAL);
        }
        let dom = self.dom(d);
        let id = (0..MAX_NR_IOREQ_SERVERS).find(|i| !dom.ioreq_servers.contains_key(i)).ok_or(ENOSPC)?;
        let mut s = IoreqServer {
            emulator,
            bufioreq_handling: handling,
            ioreq: None,
            bufioreq_page: None,
            enabled: false,
            ranges: std::array::from_fn(|_| RangeSet::with_limit(MAX_NR_IO_RANGES)),
            vcpus: Vec::new(),
            bufioreq_evtchn: None,
        };
        for v in 0..dom.vcpus {
            if let Err(e) = self.ioreq_server_add_vcpu(d, &mut s, v) {
                self.ioreq_server_remove_all_vcpus(d, &mut s);
                return Err(e);
            }
        }
        self.dom_mut(d).ioreq_servers.insert(id, s);
        Ok(id)
    }

    /// `ioreq_server_add_vcpu`: the vCPU's port, and the buffered page's with vCPU 0.
    fn ioreq_server_add_vcpu(&mut self, d: u16, s: &mut IoreqServer, v: u32) -> Result<(), i32> {
        let port = self.alloc_unbound_xen_event_channel(d, v, s.emulator)?;
        if v == 0 && s.handles_bufioreq() {
            match self.alloc_unbound_xen_event_channel(d, 0, s.emulator) {
                Ok(p) => s.bufioreq_evtchn = Some(p),
                Err(e) => {
                    self.free_xen_event_channel(d, port);
                    return Err(e);
                }
            }
        }
        s.vcpus.push(IoreqVcpu { vcpu: v, port, pending: false });
        if s.enabled {
            self.ioreq_server_update_evtchn(s, v, port);
        }
        Ok(())
    }

    fn ioreq_server_remove_all_vcpus(&mut self, d: u16, s: &mut IoreqServer) {
        for sv in std::mem::take(&mut s.vcpus) {
            if sv.vcpu == 0 {
                if let Some(p) = s.bufioreq_evtchn.take() {
                    self.free_xen_event_channel(d, p);
                }
            }
            self.free_xen_event_channel(d, sv.port);
        }
    }

    /// `ioreq_server_add_vcpu_all`: a new vCPU of `d` joins every server.
    pub(crate) fn ioreq_server_add_vcpu_all(&mut self, d: u16, v: u32) -> Result<(), i32> {
        let ids: Vec<u16> = self.dom(d).ioreq_servers.keys().rev().copied().collect();
        for id in ids {
            let Some(mut s) = self.dom_mut(d).ioreq_servers.remove(&id) else { continue };
            let r = self.ioreq_server_add_vcpu(d, &mut s, v);
            self.dom_mut(d).ioreq_servers.insert(id, s);
            r?;
        }
        Ok(())
    }

    /// `ioreq_server_update_evtchn`: the vCPU's port into its slot, if the page exists.
    fn ioreq_server_update_evtchn(&mut self, s: &IoreqServer, v: u32, port: u32) {
        if let (Some(page), true) = (s.ioreq, v < IOREQS_PER_PAGE) {
            self.frames.write(page, v as usize * IOREQ_SIZE + 24, &port.to_le_bytes());
        }
    }

    /// `ioreq_server_alloc_pages`: the synchronous page, then the buffered one; a failure
    /// gives the first back. `MEMF_no_refcount` pages of the target holding a type reference,
    /// cleared.
    fn ioreq_server_alloc_pages(&mut self, d: u16, id: u16) -> Result<(), i32> {
        let Some(s) = self.server(d, id) else { return Err(ENOENT) };
        let (need_io, need_buf) = (s.ioreq.is_none(), s.handles_bufioreq() && s.bufioreq_page.is_none());
        let f = MemFlags { no_refcount: true, ..MemFlags::default() };
        if need_io {
            // alloc_domheap_page's NULL, whatever the reason, is -ENOMEM.
            let m = self.alloc_domheap_pages(d, 0, f).map_err(|_| ENOMEM)?;
            self.frames.get_ref(m);
            self.extra.insert(m, ExtraPage::Ioreq { server: id, frame: 1 });
            if let Some(s) = self.server_mut(d, id) {
                s.ioreq = Some(m);
            }
        }
        if need_buf {
            match self.alloc_domheap_pages(d, 0, f) {
                Ok(m) => {
                    self.frames.get_ref(m);
                    self.extra.insert(m, ExtraPage::Ioreq { server: id, frame: 0 });
                    if let Some(s) = self.server_mut(d, id) {
                        s.bufioreq_page = Some(m);
                    }
                }
                Err(_) => {
                    let page = self.server_mut(d, id).and_then(|s| s.ioreq.take());
                    if let Some(m) = page {
                        self.put_page_alloc_ref(m);
                        self.put_page(m);
                    }
                    return Err(ENOMEM);
                }
            }
        }
        Ok(())
    }

    /// `ioreq_server_get_frame(d, id, idx)` by `caller`: the MFN of resource frame `idx`.
    pub(crate) fn ioreq_server_get_frame(
        &mut self,
        d: u16,
        id: u16,
        caller: u16,
        idx: u64,
    ) -> Result<u64, i32> {
        self.ioreq_server_of(d, id, caller)?;
        self.ioreq_server_alloc_pages(d, id)?;
        let s = self.server(d, id).ok_or(ENOENT)?;
        match idx {
            0 => s.bufioreq_page.filter(|_| s.handles_bufioreq()).ok_or(ENOENT),
            1 => s.ioreq.ok_or(ENOENT),
            _ => Err(EINVAL),
        }
    }

    /// `ioreq_server_get_info` by `caller`: the buffered port (`None` without a buffered
    /// page). `want_gfns` is the legacy mapping (see the module documentation).
    pub(crate) fn ioreq_server_get_info(
        &mut self,
        d: u16,
        id: u16,
        caller: u16,
        want_gfns: bool,
    ) -> Result<Option<u32>, i32> {
        let s = self.ioreq_server_of(d, id, caller)?;
        if want_gfns {
            if self.is_arm() {
                return Err(EOPNOTSUPP);
            }
            // hvm_map_ioreq_gfn: pages acquired (no gfn) may not be mapped into the target.
            if s.ioreq.is_some() {
                return Err(EPERM);
            }
            return Err(ENOSYS);
        }
        Ok(if s.handles_bufioreq() { s.bufioreq_evtchn } else { None })
    }

    /// `ioreq_server_map_io_range` (`map`) or `_unmap_io_range` by `caller`.
    /// `range` is (`XEN_DMOP_IO_RANGE_*`, first, last).
    pub(crate) fn ioreq_server_io_range(
        &mut self,
        d: u16,
        id: u16,
        caller: u16,
        map: bool,
        range: (u32, u64, u64),
    ) -> Result<(), i32> {
        let (ty, start, end) = range;
        if start > end {
            return Err(EINVAL);
        }
        self.ioreq_server_of(d, id, caller)?;
        let s = self.server_mut(d, id).ok_or(ENOENT)?;
        let r = match ty {
            XEN_DMOP_IO_RANGE_PORT | XEN_DMOP_IO_RANGE_MEMORY | XEN_DMOP_IO_RANGE_PCI => {
                &mut s.ranges[ty as usize]
            }
            _ => return Err(EINVAL),
        };
        if map {
            if r.overlaps(start, end) {
                return Err(EEXIST);
            }
            r.add(start, end)
        } else {
            if !r.contains(start, end) {
                return Err(ENOENT);
            }
            r.remove(start, end)
        }
    }

    /// `ioreq_server_set_state` by `caller`.
    pub(crate) fn ioreq_server_set_state(
        &mut self,
        d: u16,
        id: u16,
        caller: u16,
        enabled: bool,
    ) -> Result<(), i32> {
        self.ioreq_server_of(d, id, caller)?;
        let s = self.server(d, id).cloned().ok_or(ENOENT)?;
        if enabled && !s.enabled {
            for sv in &s.vcpus {
                self.ioreq_server_update_evtchn(&s, sv.vcpu, sv.port);
            }
        }
        if let Some(s) = self.server_mut(d, id) {
            s.enabled = enabled;
        }
        Ok(())
    }

    /// `ioreq_server_destroy` by `caller`.
    pub(crate) fn ioreq_server_destroy(&mut self, d: u16, id: u16, caller: u16) -> Result<(), i32> {
        self.ioreq_server_of(d, id, caller)?;
        let Some(mut s) = self.dom_mut(d).ioreq_servers.remove(&id) else { return Err(ENOENT) };
        self.ioreq_server_remove_all_vcpus(d, &mut s);
        for f in self.dom_mut(d).io.in_flight.values_mut().filter(|f| f.server == id) {
            f.orphaned = true;
        }
        for m in [s.bufioreq_page, s.ioreq].into_iter().flatten() {
            self.put_page_alloc_ref(m);
            self.put_page(m);
        }
        Ok(())
    }

    /// `ioreq_server_select`: the server for an access of `req.type` at `req.addr`, with the
    /// request turned into a PCI configuration one where x86 does that.
    pub(crate) fn ioreq_server_select(&self, d: u16, req: &mut Ioreq) -> Option<u16> {
        let (ty, addr) = self.arch_ioreq_server_get_type_addr(d, req)?;
        let dom = self.dom(d);
        for (&id, s) in dom.ioreq_servers.iter().rev() {
            if !s.enabled {
                continue;
            }
            let r = &s.ranges[ty as usize];
            let hit = match ty {
                XEN_DMOP_IO_RANGE_PORT => {
                    let end = addr.wrapping_add(u64::from(req.size)).wrapping_sub(1);
                    addr <= end && r.contains(addr, end)
                }
                XEN_DMOP_IO_RANGE_MEMORY => {
                    // count is 1 and df clear for the accesses the model forwards.
                    let end = req.addr.wrapping_add(u64::from(req.size)).wrapping_sub(1);
                    req.addr <= end && r.contains(req.addr, end)
                }
                _ => {
                    if r.contains(addr >> 32, addr >> 32) {
                        req.r#type = IOREQ_TYPE_PCI_CONFIG;
                        req.addr = addr;
                        true
                    } else {
                        false
                    }
                }
            };
            if hit {
                return Some(id);
            }
        }
        None
    }

    /// `arch_ioreq_server_get_type_addr` (x86: config cycles through 0xcfc while 0xcf8's
    /// enable bit is set become PCI ones; Arm: every access is MMIO).
    fn arch_ioreq_server_get_type_addr(&self, d: u16, req: &Ioreq) -> Option<(u32, u64)> {
        match req.r#type {
            IOREQ_TYPE_COPY => Some((XEN_DMOP_IO_RANGE_MEMORY, req.addr)),
            IOREQ_TYPE_PIO => {
                let cf8 = self.dom(d).io.pci_cf8;
                if !self.is_arm() && req.addr & !3 == 0xcfc && cf8 & (1 << 31) != 0 {
                    // hvm_pci_decode_addr: segment 0, bus/dev/fn from bits 8..23, register
                    // from bits 2..7 plus the byte within 0xcfc. AMD's extended register bits
                    // (a family 10h-16h host feature) are not modelled.
                    let sbdf = u64::from((cf8 & 0x00ff_ff00) >> 8);
                    let reg = u64::from(cf8 & 0xfc) | (req.addr & 3);
                    Some((XEN_DMOP_IO_RANGE_PCI, sbdf << 32 | reg))
                } else {
                    Some((XEN_DMOP_IO_RANGE_PORT, req.addr))
                }
            }
            _ => None,
        }
    }

    /// The slot of vCPU `v` in page `page`.
    fn read_slot(&self, page: u64, v: u32) -> Ioreq {
        let mut b = [0u8; IOREQ_SIZE];
        self.frames.read(page, v as usize * IOREQ_SIZE, &mut b);
        Ioreq::read_from_bytes(&b).unwrap_or_default()
    }

    fn write_slot(&mut self, page: u64, v: u32, r: &Ioreq) {
        self.frames.write(page, v as usize * IOREQ_SIZE, r.as_bytes());
    }

    /// `ioreq_send(s, proto, false)` for vCPU `v` of `d`.
    pub(crate) fn ioreq_send(&mut self, d: u16, v: u32, id: u16, proto: &Ioreq) -> Sent {
        let Some(s) = self.server(d, id) else { return Sent::Unhandled };
        let Some(sv) = s.vcpus.iter().find(|sv| sv.vcpu == v).copied() else { return Sent::Unhandled };
        // get_ioreq: the model refuses vCPUs past one page before it gets here.
        let Some(page) = s.ioreq.filter(|_| v < IOREQS_PER_PAGE) else { return Sent::Unhandled };
        let slot = self.read_slot(page, v);
        if slot.state() != STATE_IOREQ_NONE || slot.vp_eport != sv.port {
            // "device model set bad IO state" / "bad event channel".
            return Sent::Unhandled;
        }
        let mut r = proto.with_state(STATE_IOREQ_NONE);
        r.vp_eport = sv.port;
        self.write_slot(page, v, &r);
        self.write_slot(page, v, &r.with_state(STATE_IOREQ_READY));
        self.notify_via_xen_event_channel(d, sv.port);
        if let Some(sv) = self.server_mut(d, id).and_then(|s| s.vcpus.iter_mut().find(|sv| sv.vcpu == v)) {
            sv.pending = true;
        }
        self.dom_mut(d)
            .io
            .in_flight
            .insert(v, InFlight { server: id, req: proto.with_state(STATE_IOREQ_READY), orphaned: false });
        Sent::Waiting
    }

    /// `default_xen_notification_fn` + `vcpu_ioreq_handle_completion`'s `wait_for_io` for
    /// vCPU `v` of `d`, as it runs when the emulator's event wakes it.
    pub(crate) fn ioreq_wake_vcpu(&mut self, d: u16, v: u32) {
        let Some(dom) = self.domains.get(&d) else { return };
        if dom.dying != Dying::Alive || dom.shutdown.is_some() {
            return;
        }
        let Some(f) = dom.io.in_flight.get(&v).copied().filter(|f| !f.orphaned) else { return };
        let woken = match self.server(d, f.server) {
            Some(s) if s.vcpus.iter().any(|sv| sv.vcpu == v && sv.pending) => {
                let page = s.ioreq.unwrap_or_default();
                let slot = self.read_slot(page, v);
                match slot.state() {
                    STATE_IORESP_READY => {
                        self.write_slot(page, v, &slot.with_state(STATE_IOREQ_NONE));
                        Woken::Done { data: slot.data }
                    }
                    STATE_IOREQ_READY | STATE_IOREQ_INPROCESS => Woken::Waiting,
                    STATE_IOREQ_NONE => Woken::Done { data: !0 },
                    _ => Woken::Crashed,
                }
            }
            // No server holds it (vcpu_ioreq_handle_completion finds nothing pending): the
            // access completes with the data it was posted with.
            _ => Woken::Done { data: f.req.data },
        };
        if woken == Woken::Waiting {
            return;
        }
        if let Some(sv) =
            self.server_mut(d, f.server).and_then(|s| s.vcpus.iter_mut().find(|sv| sv.vcpu == v))
        {
            sv.pending = false;
        }
        self.dom_mut(d).io.in_flight.remove(&v);
        self.dom_mut(d).io.completed.insert(v, (f, woken));
        if woken == Woken::Crashed {
            self.domain_crash(d);
        }
    }
}

/// What is wrong with the ioreq servers, if anything: a vCPU's port that is not a Xen-consumed
/// channel of the target offered to (or bound by) the emulator, a vCPU waiting without its
/// server knowing, or the reverse.
pub(crate) fn inconsistency(m: &Machine) -> Option<String> {
    use crate::evtchn::ChanState;
    for (d, dom) in m.domains.iter() {
        for (id, s) in &dom.ioreq_servers {
            for sv in &s.vcpus {
                let c = dom.evtchn.get(sv.port);
                let ok = c.is_some_and(|c| {
                    c.xen_consumer
                        && c.notify_vcpu == sv.vcpu
                        && match c.state {
                            ChanState::Unbound { remote } => remote == s.emulator,
                            ChanState::Interdomain { .. } => true,
                            _ => false,
                        }
                });
                if !ok {
                    return Some(format!("d{d} server {id}: vCPU {} port {} is {c:?}", sv.vcpu, sv.port));
                }
                let waits = dom.io.in_flight.get(&sv.vcpu).is_some_and(|f| f.server == *id && !f.orphaned);
                if waits != sv.pending {
                    return Some(format!(
                        "d{d} server {id}: vCPU {} pending {} but waits {waits}",
                        sv.vcpu, sv.pending
                    ));
                }
            }
        }
    }
    None
}
