//! Event channels of the 2-level ABI (`xen/common/event_channel.c`, `event_2l.c`): each
//! domain's ports, the channels Xen itself consumes (an ioreq server's ports), and the
//! pending bits a guest sees in its shared-info page.
//!
//! What is modelled: alloc_unbound, bind_interdomain, send, close and status, Xen-consumer
//! channels (`alloc_unbound_xen_event_channel`, `notify_via_xen_event_channel`, and the
//! wake-up when the other end sends), and `evtchn_destroy` when a domain dies. Ports are
//! allocated as Xen does: port 0 reserved, the lowest free one first, table grown in buckets
//! of 64 (a release build's `struct evtchn` rounds to 64 bytes: 64 per page), up to the
//! domain's `max_evtchn_port` and the ABI's 4096. Setting a port pending writes Xen's bits:
//! `evtchn_pending` in the shared-info page, and, when the port is not masked, the word's bit
//! in the vCPU's `evtchn_pending_sel` and `evtchn_upcall_pending` (vCPUs whose `vcpu_info`
//! lies in the shared-info page only). VIRQs, IPIs, PIRQs, FIFO and unmask are not modelled.

use crate::error::errno::*;
use crate::machine::Machine;
use xenmem::abi::evtchn::*;
use xenmem::abi::DOMID_SELF;

/// Ports added to the table at a time (`EVTCHNS_PER_BUCKET`).
const EVTCHNS_PER_BUCKET: u32 = 64;

/// A channel's state (`ECS_*`; VIRQ, IPI and PIRQ are not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChanState {
    Free,
    /// Port 0.
    Reserved,
    /// Waiting for `remote` to bind.
    Unbound {
        remote: u16,
    },
    /// Connected to `port` of `dom`.
    Interdomain {
        dom: u16,
        port: u32,
    },
}

/// `struct evtchn`, the parts modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chan {
    pub state: ChanState,
    /// `xen_consumer`: Xen handles this end (an ioreq server's port in the emulated domain).
    pub xen_consumer: bool,
    /// `notify_vcpu_id`.
    pub notify_vcpu: u32,
}

const FREE: Chan = Chan { state: ChanState::Free, xen_consumer: false, notify_vcpu: 0 };

/// A domain's ports.
#[derive(Clone, Debug)]
pub(crate) struct EvtchnTable {
    /// `max_evtchn_port`.
    pub max_port: u32,
    /// Every valid port (`valid_evtchns` of them).
    pub chans: Vec<Chan>,
}

impl EvtchnTable {
    /// `evtchn_init`: the first bucket, with port 0 reserved.
    pub(crate) fn new(max_port: u32) -> EvtchnTable {
        let mut chans = vec![FREE; EVTCHNS_PER_BUCKET as usize];
        chans[0].state = ChanState::Reserved;
        EvtchnTable { max_port: max_port.min(i32::MAX as u32), chans }
    }

    /// `_evtchn_from_port`: the channel, if the port is valid.
    pub(crate) fn get(&self, port: u32) -> Option<&Chan> {
        self.chans.get(port as usize)
    }

    fn get_mut(&mut self, port: u32) -> Option<&mut Chan> {
        self.chans.get_mut(port as usize)
    }
}

/// `EVTCHNOP_status`'s answer: status, vCPU, the union.
pub(crate) type Status = (u32, u32, [u32; 2]);

impl Machine {
    /// The shared-info layout guests of this machine see.
    pub(crate) fn shared_info_layout(&self) -> SharedInfoLayout {
        if self.is_arm() {
            SharedInfoLayout::ARM64
        } else {
            SharedInfoLayout::X86_64
        }
    }

    /// `evtchn_allocate_port`.
    fn evtchn_allocate_port(&mut self, d: u16, port: u32) -> Result<(), i32> {
        let t = &mut self.dom_mut(d).evtchn;
        if port > t.max_port || port >= EVTCHN_2L_NR_CHANNELS {
            return Err(ENOSPC);
        }
        match t.get(port) {
            Some(c) if c.state != ChanState::Free => Err(EBUSY),
            Some(_) => Ok(()),
            None => {
                let want = (port / EVTCHNS_PER_BUCKET + 1) * EVTCHNS_PER_BUCKET;
                t.chans.resize(want as usize, FREE);
                Ok(())
            }
        }
    }

    /// `get_free_port`: the lowest free port.
    fn get_free_port(&mut self, d: u16) -> Result<u32, i32> {
        if self.dom(d).is_dying() {
            return Err(EINVAL);
        }
        let max = self.dom(d).evtchn.max_port;
        for port in 0..=max {
            match self.evtchn_allocate_port(d, port) {
                Ok(()) => return Ok(port),
                Err(EBUSY) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ENOSPC)
    }

    /// `evtchn_alloc_unbound` issued by `caller`.
    pub(crate) fn evtchn_alloc_unbound(&mut self, caller: u16, dom: u16, remote: u16) -> Result<u32, i32> {
        let d = self.lookup_any(caller, dom).ok_or(ESRCH)?;
        let port = self.get_free_port(d)?;
        // xsm_evtchn_unbound(XSM_TARGET); the port goes back to free on refusal.
        crate::xsm::target(self, caller, d)?;
        let remote = if remote == DOMID_SELF { caller } else { remote };
        if let Some(c) = self.dom_mut(d).evtchn.get_mut(port) {
            *c = Chan { state: ChanState::Unbound { remote }, ..FREE };
        }
        Ok(port)
    }

    /// `evtchn_bind_interdomain` issued by `caller` (the local domain).
    pub(crate) fn evtchn_bind_interdomain(&mut self, caller: u16, rdom: u16, rport: u32) -> Result<u32, i32> {
        let rd = self.lookup_any(caller, rdom).ok_or(ESRCH)?;
        let lport = self.get_free_port(caller)?;
        let rchn = *self.dom(rd).evtchn.get(rport).ok_or(EINVAL)?;
        if rchn.state != (ChanState::Unbound { remote: caller }) {
            return Err(EINVAL);
        }
        if let Some(c) = self.dom_mut(caller).evtchn.get_mut(lport) {
            *c = Chan { state: ChanState::Interdomain { dom: rd, port: rport }, ..FREE };
        }
        if let Some(c) = self.dom_mut(rd).evtchn.get_mut(rport) {
            c.state = ChanState::Interdomain { dom: caller, port: lport };
        }
        // An event sent to the unbound port may have been lost: always raise the new one.
        self.evtchn_set_pending(caller, lport);
        Ok(lport)
    }

    /// `evtchn_close(d, port, guest)`.
    pub(crate) fn evtchn_close(&mut self, d: u16, port: u32, guest: bool) -> Result<(), i32> {
        let c = *self.dom(d).evtchn.get(port).ok_or(EINVAL)?;
        if c.xen_consumer && guest {
            return Err(EINVAL);
        }
        match c.state {
            ChanState::Free | ChanState::Reserved => return Err(EINVAL),
            ChanState::Unbound { .. } => {}
            ChanState::Interdomain { dom, port: rport } => {
                if let Some(r) = self.domains.get_mut(&dom).and_then(|r| r.evtchn.get_mut(rport)) {
                    r.state = ChanState::Unbound { remote: d };
                }
            }
        }
        self.evtchn_free(d, port);
        Ok(())
    }

    /// `evtchn_free`: the pending bit cleared (usable channels only), the port free.
    fn evtchn_free(&mut self, d: u16, port: u32) {
        self.evtchn_clear_pending(d, port);
        if let Some(c) = self.dom_mut(d).evtchn.get_mut(port) {
            *c = FREE;
        }
    }

    /// `evtchn_send(current->domain, port)`.
    pub(crate) fn evtchn_send(&mut self, d: u16, port: u32) -> Result<(), i32> {
        let c = *self.dom(d).evtchn.get(port).ok_or(EINVAL)?;
        if c.xen_consumer {
            return Err(EINVAL);
        }
        match c.state {
            ChanState::Interdomain { dom, port: rport } => {
                let r = self.domains.get(&dom).and_then(|r| r.evtchn.get(rport).copied());
                match r {
                    // default_xen_notification_fn: wake the vCPU if it waits in Xen.
                    Some(r) if r.xen_consumer => self.ioreq_wake_vcpu(dom, r.notify_vcpu),
                    Some(_) => self.evtchn_set_pending(dom, rport),
                    None => {}
                }
                Ok(())
            }
            ChanState::Unbound { .. } => Ok(()),
            ChanState::Free | ChanState::Reserved => Err(EINVAL),
        }
    }

    /// `evtchn_status` issued by `caller`.
    pub(crate) fn evtchn_status(&self, caller: u16, dom: u16, port: u32) -> Result<Status, i32> {
        let d = self.lookup_any(caller, dom).ok_or(ESRCH)?;
        let c = *self.dom(d).evtchn.get(port).ok_or(EINVAL)?;
        if c.xen_consumer {
            return Err(EACCES);
        }
        crate::xsm::target(self, caller, d)?;
        let (status, u) = match c.state {
            ChanState::Free | ChanState::Reserved => (EVTCHNSTAT_CLOSED, [0, 0]),
            ChanState::Unbound { remote } => (EVTCHNSTAT_UNBOUND, [u32::from(remote), 0]),
            ChanState::Interdomain { dom, port } => (EVTCHNSTAT_INTERDOMAIN, [u32::from(dom), port]),
        };
        Ok((status, c.notify_vcpu, u))
    }

    /// `alloc_unbound_xen_event_channel(d, vcpu, remote)`: a port of `d` that Xen consumes,
    /// offered to `remote`. The caller (`current`) is `remote` itself here: an emulator
    /// creating a server, which `xsm_evtchn_unbound` lets through as the target's device
    /// model or the control domain.
    pub(crate) fn alloc_unbound_xen_event_channel(
        &mut self,
        d: u16,
        vcpu: u32,
        remote: u16,
    ) -> Result<u32, i32> {
        let port = self.get_free_port(d)?;
        crate::xsm::target(self, remote, d)?;
        if let Some(c) = self.dom_mut(d).evtchn.get_mut(port) {
            *c = Chan { state: ChanState::Unbound { remote }, xen_consumer: true, notify_vcpu: vcpu };
        }
        Ok(port)
    }

    /// `free_xen_event_channel`.
    pub(crate) fn free_xen_event_channel(&mut self, d: u16, port: u32) {
        let _ = self.evtchn_close(d, port, false);
    }

    /// `notify_via_xen_event_channel(d, port)`: signal the other end, if it is bound.
    pub(crate) fn notify_via_xen_event_channel(&mut self, d: u16, port: u32) {
        if let Some(&Chan { state: ChanState::Interdomain { dom, port: rport }, .. }) =
            self.dom(d).evtchn.get(port)
        {
            self.evtchn_set_pending(dom, rport);
        }
    }

    /// `evtchn_destroy`: every port of a dying domain closed (peers become unbound).
    pub(crate) fn evtchn_destroy(&mut self, d: u16) {
        let n = self.dom(d).evtchn.chans.len() as u32;
        for port in 1..n {
            let _ = self.evtchn_close(d, port, false);
        }
    }

    /// A 64-bit word of `d`'s shared-info page.
    fn shared_info_u64(&self, d: u16, off: usize) -> u64 {
        let mut b = [0u8; 8];
        self.frames.read(self.dom(d).shared_info, off, &mut b);
        u64::from_le_bytes(b)
    }

    fn set_shared_info_u64(&mut self, d: u16, off: usize, v: u64) {
        let mfn = self.dom(d).shared_info;
        self.frames.write(mfn, off, &v.to_le_bytes());
    }

    /// `evtchn_port_set_pending` → `evtchn_2l_set_pending`, for channels a guest consumes.
    pub(crate) fn evtchn_set_pending(&mut self, d: u16, port: u32) {
        let Some(dom) = self.domains.get(&d) else { return };
        let Some(c) = dom.evtchn.get(port).copied() else { return };
        if c.xen_consumer || port >= EVTCHN_2L_NR_CHANNELS {
            return;
        }
        let l = self.shared_info_layout();
        let (off, bit) = l.pending_word(port);
        let old = self.shared_info_u64(d, off);
        if old & bit != 0 {
            return;
        }
        self.set_shared_info_u64(d, off, old | bit);
        let (moff, mbit) = l.mask_word(port);
        if self.shared_info_u64(d, moff) & mbit != 0 || c.notify_vcpu >= self.dom(d).vcpus {
            return;
        }
        // vcpu_info outside the shared-info page (vCPUs past the legacy ones, unless they
        // registered one, which the model does not offer) is Xen's dummy: nothing to see.
        let Some(vi) = l.vcpu_info(c.notify_vcpu) else { return };
        let sel_bit = 1u64 << (port / 64);
        let sel = self.shared_info_u64(d, vi + VCPU_INFO_PENDING_SEL);
        if sel & sel_bit == 0 {
            self.set_shared_info_u64(d, vi + VCPU_INFO_PENDING_SEL, sel | sel_bit);
            let mfn = self.dom(d).shared_info;
            self.frames.write(mfn, vi + VCPU_INFO_UPCALL_PENDING, &[1]);
        }
    }

    /// `evtchn_port_clear_pending`.
    fn evtchn_clear_pending(&mut self, d: u16, port: u32) {
        let Some(c) = self.dom(d).evtchn.get(port).copied() else { return };
        if c.xen_consumer || port >= EVTCHN_2L_NR_CHANNELS {
            return;
        }
        let (off, bit) = self.shared_info_layout().pending_word(port);
        let old = self.shared_info_u64(d, off);
        self.set_shared_info_u64(d, off, old & !bit);
    }

    /// Whether `port` of `d` is pending (its bit in `evtchn_pending`).
    pub(crate) fn evtchn_is_pending(&self, d: u16, port: u32) -> bool {
        if port >= EVTCHN_2L_NR_CHANNELS {
            return false;
        }
        let (off, bit) = self.shared_info_layout().pending_word(port);
        self.shared_info_u64(d, off) & bit != 0
    }

    /// What the guest does to consume an event: clear its pending bit. Returns whether it
    /// was set.
    pub(crate) fn evtchn_take_pending(&mut self, d: u16, port: u32) -> bool {
        let was = self.evtchn_is_pending(d, port);
        if was {
            let (off, bit) = self.shared_info_layout().pending_word(port);
            let old = self.shared_info_u64(d, off);
            self.set_shared_info_u64(d, off, old & !bit);
        }
        was
    }
}

/// What is wrong between the domains' ports, if anything: an interdomain channel whose other
/// end does not point back, a port past a domain's table, a table not in whole buckets.
pub(crate) fn inconsistency(m: &Machine) -> Option<String> {
    for (d, dom) in m.domains.iter() {
        let t = &dom.evtchn;
        if t.chans.is_empty() || t.chans.len() % EVTCHNS_PER_BUCKET as usize != 0 {
            return Some(format!("d{d}: {} ports is not whole buckets", t.chans.len()));
        }
        if t.chans[0].state != ChanState::Reserved {
            return Some(format!("d{d}: port 0 is not reserved"));
        }
        for (p, c) in t.chans.iter().enumerate() {
            if let ChanState::Interdomain { dom: rd, port: rp } = c.state {
                let back = m.domains.get(&rd).and_then(|r| r.evtchn.get(rp)).map(|r| r.state);
                if back != Some(ChanState::Interdomain { dom: d, port: p as u32 }) {
                    return Some(format!("d{d} port {p}: bound to d{rd} port {rp}, which says {back:?}"));
                }
            }
        }
    }
    None
}
