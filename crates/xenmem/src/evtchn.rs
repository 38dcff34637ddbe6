//! Event channels (`HYPERVISOR_event_channel_op`, hypercall 32): the operations that carry an
//! ioreq server's notifications, and the 2-level ABI's pending bits in a shared-info page.
//!
//! Xen 4.17's rules (`xen/common/event_channel.c`), by operation:
//! - [`Xen::evtchn_alloc_unbound`]: `dom` (`DOMID_SELF` allowed) unknown → `-ESRCH`; no free
//!   port (below the domain's `max_evtchn_port` and the ABI's 4096) → `-ENOSPC`, a dying
//!   domain → `-EINVAL`; the caller must be `dom`, its device model or the control domain →
//!   `-EPERM`.
//! - [`Xen::evtchn_bind_interdomain`]: the remote domain unknown → `-ESRCH`; no free local
//!   port → `-ENOSPC`; the remote port not unbound, or not offered to the caller →
//!   `-EINVAL`. The new local port starts **pending** (Xen cannot know whether an event was
//!   lost before the bind).
//! - [`Xen::evtchn_send`]: a port that is not allocated, or one whose other end is Xen
//!   itself → `-EINVAL`; an unbound port drops the event and succeeds.
//! - [`Xen::evtchn_close`]: not allocated, or Xen's own → `-EINVAL`; the other end of an
//!   interdomain channel becomes unbound (offered to the caller again).
//! - [`Xen::evtchn_status`]: `dom` unknown → `-ESRCH`; a port past the allocated ones →
//!   `-EINVAL`; a channel Xen itself consumes (such as an ioreq server's port in the emulated
//!   domain) → `-EACCES`; the caller must be `dom`, its device model or the control domain →
//!   `-EPERM`.
//!
//! An ioreq server's ports live in the **emulated** domain, unbound and offered to the
//! emulator: the device model binds each `vp_eport` with `evtchn_bind_interdomain`, then
//! sends on its local port after completing a request; Xen signals that local port when it
//! posts one. A kernel watches its ports in its shared-info page ([`SharedInfoLayout`],
//! [`test_and_clear_pending`]); a Linux process uses `/dev/xen/evtchn` instead, because the
//! Linux kernel owns its domain's ports. One hypercall per operation.

pub use crate::abi::evtchn::SharedInfoLayout;
use crate::abi::evtchn::*;
use crate::abi::HYPERVISOR_EVENT_CHANNEL_OP;
use crate::error::{Error, XenError};
use crate::hypercall::Hypercall;
use crate::shared_page::SharedPage;
use crate::types::DomId;
use crate::Xen;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// An event-channel port of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Port(pub u32);

/// What a port is (`EVTCHNOP_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Free.
    Closed,
    /// Waiting for `remote` to bind.
    Unbound {
        /// The domain that may bind.
        remote: DomId,
    },
    /// Connected to `port` of `remote`.
    Interdomain {
        /// The other domain.
        remote: DomId,
        /// Its port.
        port: Port,
    },
    /// A physical IRQ.
    Pirq(u32),
    /// A virtual IRQ.
    Virq(u32),
    /// An IPI.
    Ipi,
    /// A status this library does not know.
    Other(u32),
}

/// A port's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelStatus {
    /// Its state.
    pub state: ChannelState,
    /// The vCPU it notifies.
    pub vcpu: u32,
}

impl<H: Hypercall> Xen<H> {
    fn evtchn_op<T: IntoBytes + FromBytes + Immutable>(&self, cmd: u32, arg: &mut T) -> Result<(), Error> {
        let args = [u64::from(cmd), arg as *mut T as u64, 0, 0, 0];
        // SAFETY: `arg` is the live argument struct of `cmd` (the callers pair them); none
        // of these structs holds a guest handle.
        let rc = unsafe { self.backend().hypercall(HYPERVISOR_EVENT_CHANNEL_OP, args) };
        XenError::check(rc).map(drop).map_err(Error::Xen)
    }

    /// Allocates a port in `dom` that `remote` may bind to.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::DomId;
    /// let port = xen.evtchn_alloc_unbound(DomId::SELF, DomId(1))?;
    /// assert_eq!(port.0, 1); // port 0 is reserved
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn evtchn_alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<Port, Error> {
        let mut a = EvtchnAllocUnbound { dom: dom.raw(), remote_dom: remote.raw(), port: 0 };
        self.evtchn_op(EVTCHNOP_ALLOC_UNBOUND, &mut a)?;
        Ok(Port(a.port))
    }

    /// Binds a new local port to `remote_port` of `remote`, which must be unbound and offered
    /// to the caller. Returns the local port (pending once, see the module documentation).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::DomId;
    /// // A loopback channel: a port of our own, offered to ourselves.
    /// let a = xen.evtchn_alloc_unbound(DomId::SELF, DomId::SELF)?;
    /// let b = xen.evtchn_bind_interdomain(DomId::SELF, a)?;
    /// xen.evtchn_send(b)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn evtchn_bind_interdomain(&self, remote: DomId, remote_port: Port) -> Result<Port, Error> {
        let mut b = EvtchnBindInterdomain {
            remote_dom: remote.raw(),
            _pad: 0,
            remote_port: remote_port.0,
            local_port: 0,
        };
        self.evtchn_op(EVTCHNOP_BIND_INTERDOMAIN, &mut b)?;
        Ok(Port(b.local_port))
    }

    /// Signals the other end of `port`.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// // Port 0 is reserved, never allocated.
    /// assert_eq!(xen.evtchn_send(xenmem::evtchn::Port(0)), Err(xenmem::XenError::Inval.into()));
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn evtchn_send(&self, port: Port) -> Result<(), Error> {
        self.evtchn_op(EVTCHNOP_SEND, &mut EvtchnPortArg { port: port.0 })
    }

    /// Closes one of the caller's ports.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::DomId;
    /// let p = xen.evtchn_alloc_unbound(DomId::SELF, DomId(1))?;
    /// xen.evtchn_close(p)?;
    /// assert_eq!(xen.evtchn_close(p), Err(xenmem::XenError::Inval.into()));
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn evtchn_close(&self, port: Port) -> Result<(), Error> {
        self.evtchn_op(EVTCHNOP_CLOSE, &mut EvtchnPortArg { port: port.0 })
    }

    /// What `port` of `dom` is.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::evtchn::ChannelState;
    /// use xenmem::DomId;
    /// let p = xen.evtchn_alloc_unbound(DomId::SELF, DomId(1))?;
    /// let s = xen.evtchn_status(DomId::SELF, p)?;
    /// assert_eq!(s.state, ChannelState::Unbound { remote: DomId(1) });
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn evtchn_status(&self, dom: DomId, port: Port) -> Result<ChannelStatus, Error> {
        let mut s = EvtchnStatus { dom: dom.raw(), port: port.0, ..EvtchnStatus::default() };
        self.evtchn_op(EVTCHNOP_STATUS, &mut s)?;
        let state = match s.status {
            EVTCHNSTAT_CLOSED => ChannelState::Closed,
            EVTCHNSTAT_UNBOUND => ChannelState::Unbound { remote: DomId(s.u[0] as u16) },
            EVTCHNSTAT_INTERDOMAIN => {
                ChannelState::Interdomain { remote: DomId(s.u[0] as u16), port: Port(s.u[1]) }
            }
            EVTCHNSTAT_PIRQ => ChannelState::Pirq(s.u[0]),
            EVTCHNSTAT_VIRQ => ChannelState::Virq(s.u[0]),
            EVTCHNSTAT_IPI => ChannelState::Ipi,
            other => ChannelState::Other(other),
        };
        Ok(ChannelStatus { state, vcpu: s.vcpu })
    }
}

/// Whether `port` is pending in a shared-info page laid out as `layout`.
pub fn is_pending<P: SharedPage>(page: &P, layout: &SharedInfoLayout, port: u32) -> bool {
    if port >= EVTCHN_2L_NR_CHANNELS {
        return false;
    }
    let (off, bit) = layout.pending_word(port);
    page.load_u64(off) & bit != 0
}

/// Clears `port`'s pending bit in one indivisible step (Xen may be setting others in the same
/// word) and says whether it was set: how a kernel consumes an event. Ports past the 2-level
/// ABI's 4096 are never pending.
pub fn test_and_clear_pending<P: SharedPage>(page: &mut P, layout: &SharedInfoLayout, port: u32) -> bool {
    if port >= EVTCHN_2L_NR_CHANNELS {
        return false;
    }
    let (off, bit) = layout.pending_word(port);
    page.fetch_and_u64(off, !bit) & bit != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;
    use crate::shared_page::SlicePage;

    #[test]
    fn operations_send_xens_structs() {
        let xen = Xen::new(Recorder::new(|s: &Seen| {
            let mut out = s.arg.clone();
            match s.args[0] {
                6 => out[4] = 7, // alloc_unbound: port
                0 => out[8] = 8, // bind: local port
                5 => {
                    out[8] = 2; // interdomain
                    out[16] = 1; // dom 1
                    out[20] = 4; // port 4
                    out[12] = 1; // vcpu
                }
                _ => {}
            }
            Reply { rc: 0, evtchn: Some(out), ..Reply::default() }
        }));
        assert_eq!(xen.evtchn_alloc_unbound(DomId::SELF, DomId(1)), Ok(Port(7)));
        assert_eq!(xen.evtchn_bind_interdomain(DomId(1), Port(3)), Ok(Port(8)));
        xen.evtchn_send(Port(8)).unwrap();
        xen.evtchn_close(Port(8)).unwrap();
        let s = xen.evtchn_status(DomId(0), Port(8)).unwrap();
        assert_eq!(
            s,
            ChannelStatus { state: ChannelState::Interdomain { remote: DomId(1), port: Port(4) }, vcpu: 1 }
        );
        let c = xen.backend().calls();
        assert!(c.iter().all(|c| c.op == 32));
        assert_eq!(c[0].arg, [0xf0, 0x7f, 1, 0, 0, 0, 0, 0]);
        assert_eq!(c[1].arg, [1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!((c[2].args[0], &c[2].arg[..]), (4, &[8, 0, 0, 0][..]));
        assert_eq!((c[3].args[0], &c[3].arg[..]), (3, &[8, 0, 0, 0][..]));
        assert_eq!(&c[4].arg[..8], &[0, 0, 0, 0, 8, 0, 0, 0]);
    }

    #[test]
    fn errors_decode() {
        let xen = Xen::new(Recorder::new(rc(-13)));
        assert_eq!(xen.evtchn_status(DomId(1), Port(1)), Err(Error::Xen(XenError::Acces)));
    }

    #[test]
    fn pending_bits() {
        let mut bytes = [0u8; 4096];
        let l = SharedInfoLayout::X86_64;
        bytes[2048 + 8] = 0b10; // port 65
        let mut p = SlicePage::new(&mut bytes).unwrap();
        assert!(is_pending(&p, &l, 65));
        assert!(!is_pending(&p, &l, 64));
        assert!(test_and_clear_pending(&mut p, &l, 65));
        assert!(!test_and_clear_pending(&mut p, &l, 65));
        assert!(!test_and_clear_pending(&mut p, &l, 5000));
        assert!(!is_pending(&p, &l, u32::MAX));
    }
}
