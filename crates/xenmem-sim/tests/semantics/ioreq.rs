//! ioreq servers through dm_op (hypercall 41), their pages through acquire_resource, and the
//! guest accesses they serve. Expected values follow Xen 4.17.7's `xen/common/dm.c`,
//! `xen/arch/x86/hvm/dm.c`, `xen/common/ioreq.c`, `xen/arch/x86/hvm/emulate.c` and
//! `xen/common/event_channel.c` (cited per case) and XEN-FACTS' record of a real 4.17.7 run
//! (an ioreq server serving a PVH domU).

use crate::common::{xe, Rig};
use xenmem::abi::dm_op::*;
use xenmem::dm_op::{BufIoreq, IoRangeType, IoreqServerId};
use xenmem::evtchn::{ChannelState, Port};
use xenmem::ioreq::{IoDir, IoType, IoreqPage, IoreqState};
use xenmem::{DomId, Error, Gfn, Invalid, ResourceType, XenError};
use xenmem_sim::{DomainConfig, DomainKind, GfnPage, GuestIo, IoOutcome, MachineConfig, SimError};

const MMIO: u64 = 0xfeb0_0000;
const PAGE_GFN: Gfn = Gfn(0x58000);

/// A dm_op with one buffer of `size` bytes holding `op`.
fn raw(r: &Rig, by: DomId, domid: DomId, op: &XenDmOp, size: u64) -> Result<u64, Error> {
    let mut o = *op;
    let mut bufs = [XenDmOpBuf { h: &mut o as *mut XenDmOp as u64, size }];
    assert!(size <= 32);
    // SAFETY: the buffer is `o`, live for the call, and `size` is at most its 32 bytes.
    unsafe { r.xen(by).dm_op(domid, &mut bufs) }
}

/// Server 0 of the domU, run by dom0, its synchronous page acquired at PAGE_GFN, an MMIO
/// page registered, enabled, and slot 0's port bound: (server, dom0's port, the page).
fn serving(r: &Rig) -> (IoreqServerId, Port, IoreqPage<GfnPage>) {
    let xen = r.xen(r.dom0);
    let id = xen.create_ioreq_server(r.domu, BufIoreq::Off).unwrap();
    xen.acquire_resource(r.domu, ResourceType::IoreqServer, id.0.into(), 1, &mut [PAGE_GFN]).unwrap();
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, MMIO, MMIO + 0xfff).unwrap();
    xen.set_ioreq_server_state(r.domu, id, true).unwrap();
    let page = IoreqPage::new(GfnPage::new(&r.sim, r.dom0, PAGE_GFN).unwrap());
    let port = xen.evtchn_bind_interdomain(r.domu, Port(page.vp_eport(0).unwrap())).unwrap();
    (id, port, page)
}

#[test]
fn a_read_and_a_write_served_end_to_end() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    // ioreq_server_max_frames: 1 + DIV_ROUND_UP(1 * 32, 4096) = 2, with or without a server.
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::IoreqServer, 0), Ok(2));
    let id = xen.create_ioreq_server(r.domu, BufIoreq::Off).unwrap();
    assert_eq!(id, IoreqServerId(0)); // the lowest free of MAX_NR_IOREQ_SERVERS
                                      // No buffered page: get_info leaves bufioreq_port as sent (HANDLE_BUFIOREQ false).
    assert_eq!(xen.get_ioreq_server_info(r.domu, id, true).unwrap().bufioreq_port, 0);
    // Pages are allocated on the first acquire (ioreq_server_alloc_pages): uncounted.
    assert_eq!(r.sim.domain_info(r.domu).unwrap().extra_pages, 0);
    xen.acquire_resource(r.domu, ResourceType::IoreqServer, 0, 1, &mut [PAGE_GFN]).unwrap();
    assert_eq!(r.sim.domain_info(r.domu).unwrap().extra_pages, 1);
    // XEN-FACTS: vp_eport is 0 until the server is enabled.
    let page = IoreqPage::new(GfnPage::new(&r.sim, r.dom0, PAGE_GFN).unwrap());
    assert_eq!(page.vp_eport(0), Ok(0));
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, MMIO, MMIO + 0xfff).unwrap();
    // Not enabled yet: ioreq_server_select skips it, x86's null handler reads all ones.
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 4)),
        Ok(IoOutcome::Done { value: Some(0xffff_ffff), server: None })
    );
    xen.set_ioreq_server_state(r.domu, id, true).unwrap();
    // The port is the domU's first (port 0 is reserved), Xen's own, offered to dom0.
    let vp = page.vp_eport(0).unwrap();
    assert_eq!(vp, 1);
    // XEN-FACTS: EVTCHNOP_status on the domU's end is -EACCES (consumer_is_xen).
    assert_eq!(r.xen(r.domu).evtchn_status(DomId::SELF, Port(vp)), xe(XenError::Acces));
    let mine = xen.evtchn_bind_interdomain(r.domu, Port(vp)).unwrap();
    // evtchn_bind_interdomain sets the new local port pending once.
    assert_eq!(r.sim.evtchn_take_pending(r.dom0, mine.0), Ok(true));

    // A 4-byte read: posted READY with the fields of hvmemul_do_io, the port signalled.
    let out = r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO + 8, 4)).unwrap();
    assert_eq!(out, IoOutcome::Waiting { server: 0 });
    assert_eq!(r.sim.evtchn_pending(r.dom0, mine.0), Ok(true));
    let mut page = page;
    let req = page.take(0).unwrap().unwrap();
    assert_eq!(
        (req.addr, req.size, req.count, req.dir, req.io_type),
        (MMIO + 8, 4, 1, IoDir::Read, IoType::Copy)
    );
    assert_eq!((req.data, req.data_is_ptr, req.df, req.vp_eport), (0, false, false, vp));
    // INPROCESS is a state wait_for_io keeps waiting in.
    xen.evtchn_send(mine).unwrap();
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Waiting { server: 0 }));
    // The answer: data, IORESP_READY, an event. Xen resets the slot to NONE; x86 keeps the
    // access's 4 bytes.
    page.complete(0, Some(0x1_2345_6789)).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(
        r.sim.guest_io_status(r.domu, 0),
        Some(IoOutcome::Done { value: Some(0x2345_6789), server: Some(0) })
    );
    assert_eq!(page.state(0), Ok(IoreqState::None));

    // A write waits for its answer too (XEN-FACTS).
    assert!(r.sim.evtchn_take_pending(r.dom0, mine.0).unwrap());
    let out = r.sim.guest_io(r.domu, 0, GuestIo::mmio_write(MMIO + 0x10, 2, 0xabcd_1234)).unwrap();
    assert_eq!(out, IoOutcome::Waiting { server: 0 });
    let req = page.take(0).unwrap().unwrap();
    assert_eq!((req.dir, req.size, req.data), (IoDir::Write, 2, 0x1234));
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 4)),
        Err(SimError::InvalidConfig("that vCPU still waits for its previous access"))
    );
    page.complete(0, None).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Done { value: None, server: Some(0) }));
    // Outside the range: never forwarded.
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO + 0x1000, 8)),
        Ok(IoOutcome::Done { value: Some(u64::MAX), server: None })
    );
    r.ok();
}

#[test]
fn port_io_and_xens_own_ports() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (id, mine, mut page) = serving(&r);
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Port, 0xe9, 0xe9).unwrap();
    // hvm_print_line takes one-byte writes to 0xE9 before any server (XEN-FACTS: "port 0xE9
    // stays Xen's"); a read is refused by it and goes on to the server.
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::port_write(0xe9, 1, b'x'.into())),
        Ok(IoOutcome::Done { value: None, server: None })
    );
    assert_eq!(r.sim.guest_io(r.domu, 0, GuestIo::port_read(0xe9, 1)), Ok(IoOutcome::Waiting { server: 0 }));
    let req = page.take(0).unwrap().unwrap();
    assert_eq!((req.addr, req.io_type, req.dir), (0xe9, IoType::Pio, IoDir::Read));
    page.complete(0, Some(0x5a)).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(
        r.sim.guest_io_status(r.domu, 0),
        Some(IoOutcome::Done { value: Some(0x5a), server: Some(0) })
    );
    // A port range must hold the whole access (rangeset_contains_range of addr..addr+size-1).
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::port_read(0xe9, 2)),
        Ok(IoOutcome::Done { value: Some(0xffff), server: None })
    );
    assert!(r.sim.guest_io(r.domu, 0, GuestIo::port_read(0xe9, 8)).is_err());
    assert!(r.sim.guest_io(r.domu, 0, GuestIo::port_read(0xffff, 2)).is_err());
    assert!(r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO + 0xffe, 4)).is_err());
    // RAM and the local APIC do not reach ioreq servers.
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(0x100 << 12, 4)),
        Err(SimError::NotEmulated(r.domu, 0x100 << 12))
    );
    assert!(matches!(
        r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(0xfee0_0020, 4)),
        Err(SimError::NotEmulated(..))
    ));
    r.ok();
}

#[test]
fn pci_config_cycles() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (id, mine, mut page) = serving(&r);
    let sbdf = xen_dmop_pci_sbdf(0, 0, 3, 0);
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Pci, sbdf, sbdf).unwrap();
    // hvm_access_cf8 latches a 4-byte write to 0xcf8 and still forwards it; nobody claims
    // the port, so it is dropped.
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::port_write(0xcf8, 4, 0x8000_1810)),
        Ok(IoOutcome::Done { value: None, server: None })
    );
    // arch_ioreq_server_get_type_addr: 0xcfc with the enable bit set is PCI config space;
    // ioreq_server_select rewrites the request (type PCI_CONFIG, addr SBDF << 32 | reg).
    assert_eq!(r.sim.guest_io(r.domu, 0, GuestIo::port_read(0xcfe, 2)), Ok(IoOutcome::Waiting { server: 0 }));
    let req = page.take(0).unwrap().unwrap();
    assert_eq!((req.io_type, req.addr, req.size), (IoType::PciConfig, (0x18 << 32) | 0x12, 2));
    page.complete(0, Some(0x8086)).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(
        r.sim.guest_io_status(r.domu, 0),
        Some(IoOutcome::Done { value: Some(0x8086), server: Some(0) })
    );
    // Another function: no server, all ones.
    r.sim.guest_io(r.domu, 0, GuestIo::port_write(0xcf8, 4, 0x8000_2000)).unwrap();
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::port_read(0xcfc, 4)),
        Ok(IoOutcome::Done { value: Some(0xffff_ffff), server: None })
    );
}

#[test]
fn what_a_buggy_emulator_gets() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (_, mine, mut page) = serving(&r);
    // wait_for_io: STATE_IOREQ_NONE ends the wait with data ~0.
    r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 2)).unwrap();
    page.set_state(0, IoreqState::None).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(
        r.sim.guest_io_status(r.domu, 0),
        Some(IoOutcome::Done { value: Some(0xffff), server: Some(0) })
    );
    // An event with the request still READY: the vCPU keeps waiting.
    r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 2)).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Waiting { server: 0 }));
    // An answer without an event: nothing happens until the event.
    page.complete(0, Some(7)).unwrap();
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Waiting { server: 0 }));
    xen.evtchn_send(mine).unwrap();
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Done { value: Some(7), server: Some(0) }));
    // ioreq_send: a slot left in another state ("device model set bad IO state") is not
    // handled: an MMIO access gets #GP (hvm_hap_nested_page_fault), the slot is untouched.
    page.set_state(0, IoreqState::InProcess).unwrap();
    assert_eq!(r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 4)), Ok(IoOutcome::Fault));
    assert_eq!(page.state(0), Ok(IoreqState::InProcess));
    page.set_state(0, IoreqState::None).unwrap();
    // wait_for_io: a state past IORESP_READY crashes the domain.
    r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 4)).unwrap();
    page.set_state(0, IoreqState::Other(9)).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Crashed));
    assert!(r.sim.domain_info(r.domu).unwrap().crashed());
    r.ok();

    // A changed vp_eport ("device model set bad event channel") on a port access: x86's
    // handle_pio crashes the domain ("Unexpected PIO status").
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (id, _, _) = serving(&r);
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Port, 0x3f8, 0x3ff).unwrap();
    r.sim.write_gfn(r.dom0, PAGE_GFN, 24, &77u32.to_le_bytes()).unwrap();
    assert_eq!(r.sim.guest_io(r.domu, 0, GuestIo::port_write(0x3f8, 1, 0x41)), Ok(IoOutcome::Crashed));
    assert!(r.sim.domain_info(r.domu).unwrap().crashed());
    r.ok();
}

#[test]
fn dm_op_checks_in_xens_order() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let create = XenDmOp::new(XEN_DMOP_CREATE_IOREQ_SERVER, &XenDmOpCreateIoreqServer::default());
    // do_dm_op: nr_bufs 0 → -ENODATA, more than ARRAY_SIZE(args.buf) = 2 → -E2BIG.
    // SAFETY: no buffers, then three that Xen refuses before reading any.
    unsafe {
        assert_eq!(xen.dm_op(r.domu, &mut []), xe(XenError::NoData));
        assert_eq!(xen.dm_op(r.domu, &mut [XenDmOpBuf::default(); 3]), xe(XenError::TooBig));
    }
    // rcu_lock_remote_domain_by_id: DOMID_SELF and unknown ids -ESRCH, the caller -EPERM.
    assert_eq!(raw(&r, r.dom0, DomId::SELF, &create, 32), xe(XenError::Srch));
    assert_eq!(raw(&r, r.dom0, DomId(99), &create, 32), xe(XenError::Srch));
    assert_eq!(raw(&r, r.dom0, r.dom0, &create, 32), xe(XenError::Perm));
    // x86 dm_op: !is_hvm_domain → -EINVAL, before XSM.
    let pv = r.sim.create_domain(DomainConfig::domu(DomainKind::Pv)).unwrap();
    assert_eq!(raw(&r, r.dom0, pv, &create, 32), xe(XenError::Inval));
    assert_eq!(raw(&r, r.domu, pv, &create, 32), xe(XenError::Inval));
    // xsm_dm_op(XSM_DM_PRIV): another domU is neither control domain nor device model.
    let other = r.sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
    assert_eq!(raw(&r, other, r.domu, &create, 32), xe(XenError::Perm));
    // The header (8 bytes), then header + op_size[op], else -EFAULT.
    assert_eq!(raw(&r, r.dom0, r.domu, &create, 7), xe(XenError::Fault));
    assert_eq!(raw(&r, r.dom0, r.domu, &create, 13), xe(XenError::Fault));
    // op >= ARRAY_SIZE(op_size) → -EOPNOTSUPP; x86's table has no set_irq_level (19), so
    // ioreq_server_dm_op's default answers; op 0 likewise.
    for op in [21, 0x8000_0000, 19, 0] {
        assert_eq!(raw(&r, r.dom0, r.domu, &XenDmOp { op, ..create }, 32), xe(XenError::OpNotSupp), "{op}");
    }
    // op.pad → -EINVAL; the body's pad → -EINVAL.
    assert_eq!(raw(&r, r.dom0, r.domu, &XenDmOp { pad: 1, ..create }, 32), xe(XenError::Inval));
    let padded = XenDmOpCreateIoreqServer { pad: [0, 1, 0], ..Default::default() };
    assert_eq!(raw(&r, r.dom0, r.domu, &XenDmOp::new(1, &padded), 32), xe(XenError::Inval));
    // ioreq_server_create: handle_bufioreq > HVM_IOREQSRV_BUFIOREQ_ATOMIC → -EINVAL.
    assert_eq!(xen.create_ioreq_server(r.domu, BufIoreq::Other(3)), xe(XenError::Inval));
    // Exactly header + body is enough.
    assert_eq!(raw(&r, r.dom0, r.domu, &create, 14), Ok(0));
    // nr_vcpus: d->max_vcpus.
    assert_eq!(xen.dm_op_nr_vcpus(r.domu), Ok(1));
    // 8 servers, then -ENOSPC.
    for _ in 1..8 {
        xen.create_ioreq_server(r.domu, BufIoreq::Atomic).unwrap();
    }
    assert_eq!(xen.create_ioreq_server(r.domu, BufIoreq::Off), xe(XenError::NoSpc));
    assert_eq!(r.sim.ioreq_servers(r.domu).len(), 8);
    r.ok();
}

#[test]
fn server_operations_and_their_refusals() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let id = xen.create_ioreq_server(r.domu, BufIoreq::Atomic).unwrap();
    // get_ioreq_server: no server, or an id past MAX_NR_IOREQ_SERVERS → -ENOENT.
    for bad in [IoreqServerId(1), IoreqServerId(8), IoreqServerId(0xffff)] {
        assert_eq!(xen.set_ioreq_server_state(r.domu, bad, true), xe(XenError::NoEnt));
        assert_eq!(xen.get_ioreq_server_info(r.domu, bad, true), xe(XenError::NoEnt));
        assert_eq!(xen.destroy_ioreq_server(r.domu, bad), xe(XenError::NoEnt));
        assert_eq!(
            xen.map_io_range_to_ioreq_server(r.domu, bad, IoRangeType::Port, 1, 1),
            xe(XenError::NoEnt)
        );
    }
    // A device model of the domU may drive dm_op, but not dom0's server (s->emulator).
    let dm = r
        .sim
        .create_domain(DomainConfig { target: Some(r.domu), ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    let dmx = r.xen(dm);
    assert_eq!(dmx.set_ioreq_server_state(r.domu, id, true), xe(XenError::Perm));
    assert_eq!(dmx.destroy_ioreq_server(r.domu, id), xe(XenError::Perm));
    assert_eq!(dmx.get_ioreq_server_info(r.domu, id, true), xe(XenError::Perm));
    let own = dmx.create_ioreq_server(r.domu, BufIoreq::Off).unwrap();
    assert_eq!(own, IoreqServerId(1));
    assert_eq!(xen.set_ioreq_server_state(r.domu, own, true), xe(XenError::Perm));
    // get_info: unknown flags → -EINVAL; the buffered port is the domU's second (vCPU 0's
    // ioreq port first, then the buffered one: ioreq_server_add_vcpu).
    let mut op = XenDmOp::new(
        XEN_DMOP_GET_IOREQ_SERVER_INFO,
        &XenDmOpGetIoreqServerInfo { flags: 2, ..Default::default() },
    );
    assert_eq!(xen.dm_op_struct(r.domu, &mut op), xe(XenError::Inval));
    assert_eq!(xen.get_ioreq_server_info(r.domu, id, true).unwrap().bufioreq_port, 2);
    // Ranges: start > end → -EINVAL (the library refuses it first); bad type → -EINVAL;
    // an overlap → -EEXIST; unmapping what is not wholly held → -ENOENT.
    assert_eq!(
        xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, 2, 1),
        Err(Error::Invalid(Invalid::RangeEnd))
    );
    let body = XenDmOpIoreqServerRange { id: id.0, pad: 0, r#type: 1, start: 2, end: 1 };
    let mut op = XenDmOp::new(XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, &body);
    assert_eq!(xen.dm_op_struct(r.domu, &mut op), xe(XenError::Inval));
    assert_eq!(
        xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Other(3), 1, 2),
        xe(XenError::Inval)
    );
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, 0x1000, 0x1fff).unwrap();
    assert_eq!(
        xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, 0x1fff, 0x2fff),
        xe(XenError::Exist)
    );
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Port, 0x1fff, 0x2fff).unwrap();
    assert_eq!(
        xen.unmap_io_range_from_ioreq_server(r.domu, id, IoRangeType::Memory, 0x1800, 0x2000),
        xe(XenError::NoEnt)
    );
    xen.unmap_io_range_from_ioreq_server(r.domu, id, IoRangeType::Memory, 0x1800, 0x18ff).unwrap();
    // rangeset_limit(MAX_NR_IO_RANGES): the 257th separate range → -ENOMEM.
    let s = r.sim.ioreq_servers(r.domu)[0].ranges.iter().filter(|x| x.0 == 1).count();
    assert_eq!(s, 2);
    for i in 2..256u64 {
        xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, i << 16, i << 16).unwrap();
    }
    assert_eq!(
        xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, 1 << 40, 1 << 40),
        xe(XenError::NoMem)
    );
    // ... but one touching a range on its left merges into it.
    xen.map_io_range_to_ioreq_server(r.domu, id, IoRangeType::Memory, (2 << 16) + 1, (2 << 16) + 1).unwrap();
    // get_info without no_gfns once the pages were acquired: hvm_map_ioreq_gfn → -EPERM.
    xen.acquire_resource(r.domu, ResourceType::IoreqServer, 0, 0, &mut [Gfn(0x58000), Gfn(0x58001)]).unwrap();
    assert_eq!(xen.get_ioreq_server_info(r.domu, id, false), xe(XenError::Perm));
    r.ok();
}

#[test]
fn destroy_closes_ports_and_frees_pages() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (id, mine, _) = serving(&r);
    assert_eq!(
        xen.evtchn_status(DomId::SELF, mine).unwrap().state,
        ChannelState::Interdomain { remote: r.domu, port: Port(1) }
    );
    xen.destroy_ioreq_server(r.domu, id).unwrap();
    // free_xen_event_channel → evtchn_close: dom0's end is offered to the domU again.
    assert_eq!(xen.evtchn_status(DomId::SELF, mine).unwrap().state, ChannelState::Unbound { remote: r.domu });
    assert_eq!(r.xen(r.domu).evtchn_status(DomId::SELF, Port(1)).unwrap().state, ChannelState::Closed);
    assert!(r.sim.ioreq_servers(r.domu).is_empty());
    // The page lives on while dom0 maps it; unmapping it frees it.
    assert_eq!(r.sim.domain_info(r.domu).unwrap().extra_pages, 1);
    r.ok();
    xen.remove_from_physmap(DomId::SELF, PAGE_GFN).unwrap();
    assert_eq!(r.sim.domain_info(r.domu).unwrap().extra_pages, 0);
    assert_eq!(xen.destroy_ioreq_server(r.domu, id), xe(XenError::NoEnt));
    r.ok();

    // Destroying the domain closes its ports the same way (evtchn_destroy).
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (_, mine, _) = serving(&r);
    xen.destroy_domain(r.domu).unwrap();
    assert_eq!(xen.evtchn_status(DomId::SELF, mine).unwrap().state, ChannelState::Unbound { remote: r.domu });
    xen.remove_from_physmap(DomId::SELF, PAGE_GFN).unwrap();
    assert!(r.sim.domain_info(r.domu).is_none());
    r.ok();
}

#[test]
fn vcpus_created_later_join_the_servers() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let d = xen.create_domain(DomId(0), &xenmem::domctl::pvh_domu(2, 32)).unwrap();
    let id = xen.create_ioreq_server(d, BufIoreq::Atomic).unwrap();
    // No vCPU yet: no ports (the buffered one comes with vCPU 0).
    let v = &r.sim.ioreq_servers(d)[0];
    assert!(v.ports.is_empty() && v.bufioreq_port.is_none());
    assert_eq!(xen.dm_op_nr_vcpus(d), Ok(2));
    // XEN_DOMCTL_max_vcpus → hvm_vcpu_initialise → ioreq_server_add_vcpu_all.
    xen.set_max_vcpus(d, 2).unwrap();
    let v = &r.sim.ioreq_servers(d)[0];
    assert_eq!((v.ports.clone(), v.bufioreq_port), (vec![(0, 1), (1, 3)], Some(2)));
    assert_eq!(xen.get_ioreq_server_info(d, id, true).unwrap().bufioreq_port, 2);
    r.ok();
}

#[test]
fn arm_without_ioreq_servers() {
    // Debian's arm64 Xen has no CONFIG_IOREQ_SERVER: hypercall 41 is not in its table
    // (hypercall-defs.c), ioreq_server_max_frames is 0.
    let r = Rig::arm();
    let xen = r.xen(r.dom0);
    assert_eq!(xen.create_ioreq_server(r.domu, BufIoreq::Off), xe(XenError::NoSys));
    assert_eq!(xen.dm_op_nr_vcpus(r.domu), xe(XenError::NoSys));
    assert_eq!(xen.acquire_resource_size(r.domu, ResourceType::IoreqServer, 0), xe(XenError::Inval));
    assert_eq!(
        xen.acquire_resource(r.domu, ResourceType::IoreqServer, 0, 1, &mut [PAGE_GFN]),
        xe(XenError::Inval)
    );
    assert_eq!(r.sim.create_ioreq_server(r.domu, r.dom0, false), Err(SimError::Xen(XenError::NoSys)));
    // An unclaimed MMIO access: IO_UNHANDLED → a data abort in the guest.
    assert_eq!(r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(0x1000_0000, 4)), Ok(IoOutcome::Fault));
    assert!(r.sim.guest_io(r.domu, 0, GuestIo::port_read(0x60, 1)).is_err());
    // The event channels are there all the same.
    let p = xen.evtchn_alloc_unbound(DomId::SELF, r.domu).unwrap();
    assert_eq!(p, Port(1));
    r.ok();
}

#[test]
fn arm_with_ioreq_servers() {
    let cfg = MachineConfig { ioreq_server: true, ..MachineConfig::arm64(1 << 16) };
    let r = Rig::with(cfg, DomainKind::Pvh);
    let xen = r.xen(r.dom0);
    // ioreq_server_create: !IS_ENABLED(CONFIG_X86) && bufioreq_handling → -EINVAL.
    assert_eq!(xen.create_ioreq_server(r.domu, BufIoreq::Atomic), xe(XenError::Inval));
    // Arm's op_size table has set_irq_level (19), which the model does not emulate, and no
    // x86 sub-ops (7): -EOPNOTSUPP from ioreq_server_dm_op's default.
    let op = |n| XenDmOp { op: n, ..XenDmOp::default() };
    assert_eq!(raw(&r, r.dom0, r.domu, &op(7), 32), xe(XenError::OpNotSupp));
    assert_eq!(raw(&r, r.dom0, r.domu, &op(19), 32), xe(XenError::NoSys));
    let (_, mine, mut page) = serving(&r);
    // get_info with gfns: arch_ioreq_server_map_pages → -EOPNOTSUPP on Arm.
    assert_eq!(xen.get_ioreq_server_info(r.domu, IoreqServerId(0), false), xe(XenError::OpNotSupp));
    assert_eq!(
        r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO + 4, 1)),
        Ok(IoOutcome::Waiting { server: 0 })
    );
    assert_eq!(page.take(0).unwrap().unwrap().size, 1);
    // handle_ioserv puts the whole of `data` in the register (no narrowing for an unsigned
    // load).
    page.complete(0, Some(0x1234)).unwrap();
    xen.evtchn_send(mine).unwrap();
    assert_eq!(
        r.sim.guest_io_status(r.domu, 0),
        Some(IoOutcome::Done { value: Some(0x1234), server: Some(0) })
    );
    r.ok();
}

#[test]
fn a_vcpu_waiting_on_a_destroyed_server_never_wakes() {
    let r = Rig::x86();
    let xen = r.xen(r.dom0);
    let (id, mine, _) = serving(&r);
    r.sim.guest_io(r.domu, 0, GuestIo::mmio_read(MMIO, 4)).unwrap();
    // ioreq_server_destroy frees the port (free_xen_event_channel) without waking the vCPU
    // blocked on it (_VPF_blocked_in_xen stays set).
    xen.destroy_ioreq_server(r.domu, id).unwrap();
    assert_eq!(xen.evtchn_send(mine), Ok(()));
    assert_eq!(r.sim.guest_io_status(r.domu, 0), Some(IoOutcome::Waiting { server: 0 }));
    // A new server takes id 0 again; the old wait is not its business.
    let again = xen.create_ioreq_server(r.domu, BufIoreq::Off).unwrap();
    assert_eq!(again, id);
    r.ok();
}
