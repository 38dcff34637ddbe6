//! The guest side of emulated I/O, driven from the host: "vCPU 0 of the domU reads 4 bytes at
//! this address" ([`Sim::guest_io`]), so a device model can be tested against the model with
//! no Xen. What Xen does with such an access (x86 `hvmemul_do_io` in
//! `xen/arch/x86/hvm/emulate.c`; Arm `try_handle_mmio` in `xen/arch/arm/io.c` and
//! `try_fwd_ioserv` in `xen/arch/arm/ioreq.c`):
//!
//! 1. Xen's own handlers first. The model has two of x86's: port 0xE9 takes one-byte writes
//!    (Xen's debug console; reads fall through) and port 0xCF8 remembers a 4-byte write (the
//!    PCI address latch; the access still goes on to the servers). Addresses the model does
//!    not emulate are refused with [`SimError::NotEmulated`]: x86's local APIC page
//!    (0xFEE00000), Arm's virtual GIC (0x03001000–0x0401FFFF).
//! 2. The enabled ioreq server whose range holds the access (`crate::ioreq`): the request
//!    is posted in the vCPU's slot, the server's port is signalled, and the vCPU waits
//!    ([`IoOutcome::Waiting`]) until the device model answers and sends an event; then
//!    [`Sim::guest_io_status`] gives what the access got. If the slot was not free (a device
//!    model that left a bad state, or changed `vp_eport`), the access fails: x86 injects #GP
//!    for MMIO ([`IoOutcome::Fault`]) and crashes the domain for a port
//!    ([`IoOutcome::Crashed`]); Arm injects a data abort.
//! 3. No server: x86 ignores the access (a read gives all ones, a write is dropped); Arm
//!    injects a data abort.
//!
//! A read's value is what lands in the guest's register: on x86 the access's `size` bytes of
//! the answer, zero-extended; on Arm the whole 64-bit `data` the device model wrote (Xen
//! leaves narrowing to it). An Arm read request carries `data` 0 here, where Xen passes the
//! destination register's old content.
//!
//! Only single accesses (`count` 1, no `rep`, data in the request) are offered, to an
//! address no P2M entry covers; a GFN that maps memory is refused
//! ([`SimError::NotEmulated`]), as the access would not reach Xen.

use crate::error::SimError;
use crate::ioreq::{InFlight, Sent, Woken};
use crate::machine::Machine;
use crate::Sim;
use xenmem::abi::ioreq::*;
use xenmem::DomId;

/// x86's debug console port (`XEN_HVM_DEBUGCONS_IOPORT`).
const DEBUGCONS_IOPORT: u64 = 0xe9;
/// x86's PCI configuration address port.
const PCI_CF8: u64 = 0xcf8;
/// The x86 local APIC's default page.
const APIC_PAGE: u64 = 0xfee0_0000;
/// Arm's virtual GIC, v2 and v3 (`GUEST_GICD_BASE` to the end of `GUEST_GICV3_GICR0`).
const ARM_VGIC: (u64, u64) = (0x0300_1000, 0x0402_0000);

/// The address space of an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoSpace {
    /// x86 `in`/`out`.
    Port,
    /// A load or store to guest-physical memory.
    Mmio,
}

/// One access by a guest's vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuestIo {
    /// Port or MMIO.
    pub space: IoSpace,
    /// Port number or guest-physical address.
    pub addr: u64,
    /// Bytes: 1, 2, 4 or 8 (8 for MMIO only).
    pub size: u8,
    /// `Some(value)` for a write, `None` for a read.
    pub write: Option<u64>,
}

impl GuestIo {
    /// A load of `size` bytes at `addr`.
    pub const fn mmio_read(addr: u64, size: u8) -> GuestIo {
        GuestIo { space: IoSpace::Mmio, addr, size, write: None }
    }

    /// A store of the low `size` bytes of `value` at `addr`.
    pub const fn mmio_write(addr: u64, size: u8, value: u64) -> GuestIo {
        GuestIo { space: IoSpace::Mmio, addr, size, write: Some(value) }
    }

    /// An `in` of `size` bytes from `port`.
    pub const fn port_read(port: u16, size: u8) -> GuestIo {
        GuestIo { space: IoSpace::Port, addr: port as u64, size, write: None }
    }

    /// An `out` of the low `size` bytes of `value` to `port`.
    pub const fn port_write(port: u16, size: u8, value: u64) -> GuestIo {
        GuestIo { space: IoSpace::Port, addr: port as u64, size, write: Some(value) }
    }
}

/// What became of an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoOutcome {
    /// Completed. `value` is what a read gave the vCPU (`None` for a write); `server` the
    /// ioreq server that answered (`None`: Xen itself, or nobody).
    Done {
        /// A read's value.
        value: Option<u64>,
        /// The server that answered.
        server: Option<u16>,
    },
    /// Posted to ioreq server `server`; the vCPU waits for the device model.
    Waiting {
        /// The server.
        server: u16,
    },
    /// Xen injected a fault into the guest (x86 #GP, Arm data abort).
    Fault,
    /// Xen crashed the domain.
    Crashed,
}

/// The low `size` bytes of `v`.
fn narrow(v: u64, size: u32) -> u64 {
    if size >= 8 {
        v
    } else {
        v & ((1u64 << (size * 8)) - 1)
    }
}

impl Machine {
    /// A vCPU's access, as described in the module documentation.
    fn guest_io(&mut self, d: u16, v: u32, io: GuestIo) -> Result<IoOutcome, SimError> {
        let id = DomId(d);
        let dom = self.domains.get(&d).ok_or(SimError::NoSuchDomain(id))?;
        if !dom.can_run() || dom.controller_pause > 0 || v >= dom.vcpus {
            return Err(SimError::InvalidConfig("that vCPU is not running"));
        }
        if dom.io.in_flight.contains_key(&v) {
            return Err(SimError::InvalidConfig("that vCPU still waits for its previous access"));
        }
        if !dom.hvm {
            return Err(SimError::InvalidConfig("a PV guest's accesses are not emulated"));
        }
        let port = io.space == IoSpace::Port;
        if port && self.is_arm() {
            return Err(SimError::InvalidConfig("Arm has no I/O ports"));
        }
        if !(matches!(io.size, 1 | 2 | 4) || (!port && io.size == 8)) {
            return Err(SimError::InvalidConfig("an access is 1, 2, 4 or 8 bytes (ports: up to 4)"));
        }
        let last = io.addr.checked_add(u64::from(io.size) - 1);
        if port && last.is_none_or(|l| l > 0xffff) {
            return Err(SimError::InvalidConfig("ports end at 0xffff"));
        }
        if !port && last.is_none_or(|l| l >> 12 != io.addr >> 12) {
            return Err(SimError::InvalidConfig("an MMIO access stays within its page"));
        }
        if !port {
            let gfn = io.addr >> 12;
            if !dom.p2m.get(gfn).is_empty() {
                return Err(SimError::NotEmulated(id, io.addr));
            }
            let internal = if self.is_arm() {
                (ARM_VGIC.0..ARM_VGIC.1).contains(&io.addr)
            } else {
                io.addr >> 12 == APIC_PAGE >> 12
            };
            if internal {
                return Err(SimError::NotEmulated(id, io.addr));
            }
        }
        self.dom_mut(d).io.completed.remove(&v);
        let size = u32::from(io.size);
        let data = io.write.map_or(0, |w| narrow(w, size));
        if port && io.addr == DEBUGCONS_IOPORT && size == 1 && io.write.is_some() {
            return Ok(IoOutcome::Done { value: None, server: None });
        }
        if port && io.addr == PCI_CF8 && size == 4 && io.write.is_some() {
            self.dom_mut(d).io.pci_cf8 = data as u32;
        }
        let mut req = Ioreq {
            addr: io.addr,
            data,
            count: 1,
            size,
            vp_eport: 0,
            _pad0: 0,
            flags: STATE_IOREQ_READY | if io.write.is_none() { IOREQ_DIR } else { 0 },
            r#type: if port { IOREQ_TYPE_PIO } else { IOREQ_TYPE_COPY },
        };
        let server = if self.cfg.ioreq_server { self.ioreq_server_select(d, &mut req) } else { None };
        let Some(server) = server else {
            // x86's null_handler: reads all ones, writes dropped. Arm: IO_UNHANDLED → abort.
            if self.is_arm() {
                return Ok(IoOutcome::Fault);
            }
            return Ok(IoOutcome::Done { value: io.write.is_none().then(|| narrow(!0, size)), server: None });
        };
        match self.ioreq_send(d, v, server, &req) {
            Sent::Waiting => Ok(IoOutcome::Waiting { server }),
            // x86 MMIO: handle_mmio fails → #GP; x86 ports: "Unexpected PIO status" →
            // domain_crash; Arm: IO_UNHANDLED → data abort.
            Sent::Unhandled if port => {
                self.domain_crash(d);
                Ok(IoOutcome::Crashed)
            }
            Sent::Unhandled => Ok(IoOutcome::Fault),
        }
    }

    /// What a forwarded access of vCPU `v` came to, `None` if it made none since its last
    /// direct one.
    fn guest_io_status(&self, d: u16, v: u32) -> Option<IoOutcome> {
        let io = &self.domains.get(&d)?.io;
        if let Some(f) = io.in_flight.get(&v) {
            return Some(IoOutcome::Waiting { server: f.server });
        }
        let (f, w): &(InFlight, Woken) = io.completed.get(&v)?;
        Some(match *w {
            Woken::Crashed => IoOutcome::Crashed,
            Woken::Waiting => IoOutcome::Waiting { server: f.server },
            Woken::Done { data } => {
                let read = f.req.dir() == IOREQ_READ;
                let value = if self.is_arm() { data } else { narrow(data, f.req.size) };
                IoOutcome::Done { value: read.then_some(value), server: Some(f.server) }
            }
        })
    }
}

impl Sim {
    /// vCPU `vcpu` of `d` makes the access `io`: what Xen does with it (see the module
    /// documentation). An access forwarded to an ioreq server comes back as
    /// [`IoOutcome::Waiting`]; once the device model has answered and sent its event,
    /// [`Sim::guest_io_status`] gives the result.
    ///
    /// ```
    /// use xenmem_sim::{DomainConfig, DomainKind, GuestIo, IoOutcome, MachineConfig, Sim};
    /// let sim = Sim::new(MachineConfig::x86_64(1 << 16));
    /// let domu = sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
    /// // No ioreq server claims it: x86 reads all ones.
    /// let r = sim.guest_io(domu, 0, GuestIo::mmio_read(0xfeb0_0000, 4)).unwrap();
    /// assert_eq!(r, IoOutcome::Done { value: Some(0xffff_ffff), server: None });
    /// ```
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::InvalidConfig`] for a vCPU that is not running
    /// or still waits, a PV domain, a size other than 1, 2, 4 (ports) or 8 (MMIO), a port on
    /// Arm, an access crossing a page or past port 0xffff; [`SimError::NotEmulated`] for an
    /// address that maps memory or one of Xen's devices the model does not emulate.
    pub fn guest_io(&self, d: DomId, vcpu: u32, io: GuestIo) -> Result<IoOutcome, SimError> {
        self.lock().guest_io(d.0, vcpu, io)
    }

    /// What vCPU `vcpu`'s last access forwarded to an ioreq server came to: still
    /// [`IoOutcome::Waiting`], or its end. `None` when it made no such access, or a newer one
    /// that Xen handled itself.
    pub fn guest_io_status(&self, d: DomId, vcpu: u32) -> Option<IoOutcome> {
        self.lock().guest_io_status(d.0, vcpu)
    }
}
