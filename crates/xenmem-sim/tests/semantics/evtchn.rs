//! Event channels (hypercall 32) following `xen/common/event_channel.c` and `event_2l.c` of
//! Xen 4.17.7, and the bits they set in a guest's shared-info page (`public/xen.h`).

use crate::common::{xe, Rig};
use xenmem::abi::evtchn::{EvtchnPortArg, SharedInfoLayout};
use xenmem::evtchn::{is_pending, test_and_clear_pending, ChannelState, ChannelStatus, Port};
use xenmem::{DomId, Gfn, Hypercall, MapSpace, XenError};
use xenmem_sim::{GfnPage, MachineConfig};

#[test]
fn alloc_bind_send_close() {
    let r = Rig::x86();
    let (x0, xu) = (r.xen(r.dom0), r.xen(r.domu));
    // get_free_port: port 0 is ECS_RESERVED (evtchn_init), so the first is 1.
    let a = xu.evtchn_alloc_unbound(DomId::SELF, r.dom0).unwrap();
    assert_eq!(a, Port(1));
    // A remote_dom of DOMID_SELF is recorded as the caller.
    let b = xu.evtchn_alloc_unbound(DomId::SELF, DomId::SELF).unwrap();
    assert_eq!(xu.evtchn_status(DomId::SELF, b).unwrap().state, ChannelState::Unbound { remote: r.domu });
    // rcu_lock_domain_by_any_id: -ESRCH; xsm_evtchn_unbound (XSM_TARGET): a domU may not
    // allocate in dom0; the control domain may allocate in the domU.
    assert_eq!(xu.evtchn_alloc_unbound(DomId(77), r.dom0), xe(XenError::Srch));
    assert_eq!(xu.evtchn_alloc_unbound(r.dom0, r.domu), xe(XenError::Perm));
    assert_eq!(x0.evtchn_alloc_unbound(r.domu, r.dom0), Ok(Port(3)));
    // evtchn_bind_interdomain: the remote port must be unbound and offered to the caller.
    assert_eq!(x0.evtchn_bind_interdomain(r.domu, b), xe(XenError::Inval));
    assert_eq!(x0.evtchn_bind_interdomain(r.domu, Port(40)), xe(XenError::Inval));
    assert_eq!(x0.evtchn_bind_interdomain(r.domu, Port(4000)), xe(XenError::Inval));
    assert_eq!(x0.evtchn_bind_interdomain(DomId(77), a), xe(XenError::Srch));
    let l = x0.evtchn_bind_interdomain(r.domu, a).unwrap();
    assert_eq!(l, Port(1));
    assert_eq!(
        x0.evtchn_status(DomId::SELF, l),
        Ok(ChannelStatus { state: ChannelState::Interdomain { remote: r.domu, port: a }, vcpu: 0 })
    );
    // The control domain may ask about the domU's ports (XSM_TARGET); the domU not about
    // dom0's.
    assert_eq!(
        x0.evtchn_status(r.domu, a).unwrap().state,
        ChannelState::Interdomain { remote: r.dom0, port: l }
    );
    assert_eq!(xu.evtchn_status(r.dom0, l), xe(XenError::Perm));
    // The bind set dom0's end pending; a send from the domU sets it again once taken.
    assert_eq!(r.sim.evtchn_take_pending(r.dom0, l.0), Ok(true));
    assert_eq!(r.sim.evtchn_pending(r.dom0, l.0), Ok(false));
    xu.evtchn_send(a).unwrap();
    assert_eq!(r.sim.evtchn_take_pending(r.dom0, l.0), Ok(true));
    // Sending on an unbound port drops the event; on a free or invalid one → -EINVAL.
    xu.evtchn_send(b).unwrap();
    assert_eq!(xu.evtchn_send(Port(0)), xe(XenError::Inval));
    assert_eq!(xu.evtchn_send(Port(9)), xe(XenError::Inval));
    assert_eq!(xu.evtchn_send(Port(1 << 20)), xe(XenError::Inval));
    // Status of a free port in the allocated bucket is closed; past it -EINVAL (port_is_valid).
    assert_eq!(xu.evtchn_status(DomId::SELF, Port(9)).unwrap().state, ChannelState::Closed);
    assert_eq!(xu.evtchn_status(DomId::SELF, Port(64)), xe(XenError::Inval));
    // evtchn_close: the other end becomes unbound, offered to the closer.
    x0.evtchn_close(l).unwrap();
    assert_eq!(xu.evtchn_status(DomId::SELF, a).unwrap().state, ChannelState::Unbound { remote: r.dom0 });
    assert_eq!(x0.evtchn_close(l), xe(XenError::Inval));
    assert_eq!(x0.evtchn_close(Port(0)), xe(XenError::Inval));
    // An unknown sub-op → -ENOSYS (do_event_channel_op's default).
    let mut arg = EvtchnPortArg { port: 1 };
    let at = &mut arg as *mut EvtchnPortArg as u64;
    // SAFETY: `arg` is live for the call; sub-op 99 reads nothing.
    let rc = unsafe { x0.backend().hypercall(32, [99, at, 0, 0, 0]) };
    assert_eq!(rc, -38);
    r.ok();
}

#[test]
fn ports_run_out_at_max_evtchn_port() {
    let r = Rig::x86();
    let x0 = r.xen(r.dom0);
    // A domain created with max_evtchn_port 2: ports 1 and 2, then -ENOSPC.
    let cfg =
        xenmem::abi::domctl::DomctlCreateDomain { max_evtchn_port: 2, ..xenmem::domctl::pvh_domu(1, 32) };
    let d = x0.create_domain(DomId(0), &cfg).unwrap();
    assert_eq!(x0.evtchn_alloc_unbound(d, r.dom0), Ok(Port(1)));
    assert_eq!(x0.evtchn_alloc_unbound(d, r.dom0), Ok(Port(2)));
    assert_eq!(x0.evtchn_alloc_unbound(d, r.dom0), xe(XenError::NoSpc));
    // dom0 grows its table past the first bucket of 64.
    for i in 1..=70 {
        assert_eq!(x0.evtchn_alloc_unbound(DomId::SELF, d), Ok(Port(i)));
    }
    assert_eq!(x0.evtchn_status(DomId::SELF, Port(127)).unwrap().state, ChannelState::Closed);
    assert_eq!(x0.evtchn_status(DomId::SELF, Port(128)), xe(XenError::Inval));
    r.ok();
}

/// Sets up a channel dom0 → domU and maps the domU's shared info at `Gfn(0x9000)`.
fn pending_bits(cfg: MachineConfig, layout: SharedInfoLayout) {
    let r = Rig::with(cfg, xenmem_sim::DomainKind::Pvh);
    let (x0, xu) = (r.xen(r.dom0), r.xen(r.domu));
    xu.add_to_physmap(DomId::SELF, MapSpace::SharedInfo, 0, Gfn(0x9000)).unwrap();
    let mut si = GfnPage::new(&r.sim, r.domu, Gfn(0x9000)).unwrap();
    // Ports 1..=65 of the domU, offered to dom0 and bound; port 65 is in word 1.
    let mut pairs = Vec::new();
    for _ in 0..65 {
        let p = xu.evtchn_alloc_unbound(DomId::SELF, r.dom0).unwrap();
        pairs.push((p, x0.evtchn_bind_interdomain(r.domu, p).unwrap()));
    }
    let (u65, d65) = pairs[64];
    assert_eq!(u65, Port(65));
    // Mask port 65 (the guest writes evtchn_mask itself), then send: evtchn_2l_set_pending
    // sets the pending bit but neither the selector nor the upcall flag.
    let (moff, mbit) = layout.mask_word(65);
    r.sim.write_gfn(r.domu, Gfn(0x9000), moff, &mbit.to_le_bytes()).unwrap();
    x0.evtchn_send(d65).unwrap();
    assert!(is_pending(&si, &layout, 65));
    let mut b = [0u8; 9];
    r.sim.read_gfn(r.domu, Gfn(0x9000), 0, &mut b).unwrap();
    assert_eq!((b[0], &b[8..9]), (0, &[0u8][..]));
    // Port 2, unmasked: pending, selector bit 0, evtchn_upcall_pending of vCPU 0.
    x0.evtchn_send(pairs[1].1).unwrap();
    r.sim.read_gfn(r.domu, Gfn(0x9000), 0, &mut b).unwrap();
    assert_eq!((b[0], b[8]), (1, 1));
    assert!(test_and_clear_pending(&mut si, &layout, 2));
    assert!(!is_pending(&si, &layout, 2));
    // Closing a port clears its pending bit (evtchn_free).
    assert!(is_pending(&si, &layout, 65));
    xu.evtchn_close(u65).unwrap();
    assert!(!is_pending(&si, &layout, 65));
    r.ok();
}

#[test]
fn pending_bits_in_shared_info_x86() {
    pending_bits(MachineConfig::x86_64(1 << 16), SharedInfoLayout::X86_64);
}

#[test]
fn pending_bits_in_shared_info_arm() {
    pending_bits(MachineConfig::arm64(1 << 16), SharedInfoLayout::ARM64);
}
