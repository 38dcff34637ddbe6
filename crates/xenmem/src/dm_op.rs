//! `HYPERVISOR_dm_op` (hypercall 41): what a device model asks of Xen about the domain it
//! emulates for — here the ioreq-server sub-ops, in the order a device model issues them:
//!
//! 1. [`Xen::create_ioreq_server`] (the server's pages are allocated on their first
//!    `acquire_resource`: frame 0 the buffered page, frame 1 the synchronous one);
//! 2. [`Xen::get_ioreq_server_info`] with `no_gfns` for the buffered page's event channel;
//! 3. [`Xen::map_io_range_to_ioreq_server`] for each port, MMIO or PCI range;
//! 4. [`Xen::set_ioreq_server_state`] to start (Xen writes each vCPU's `vp_eport` then);
//! 5. bind the ports (`crate::evtchn`) and serve (`crate::ioreq`);
//! 6. [`Xen::destroy_ioreq_server`].
//!
//! Xen 4.17's checks, in order (`do_dm_op` in `xen/common/dm.c`, `dm_op` in
//! `xen/arch/{x86,arm}/hvm/dm.c`, `ioreq_server_dm_op` in `xen/common/ioreq.c`):
//! 1. a build without `CONFIG_IOREQ_SERVER` (Debian's arm64 Xen) has no hypercall 41:
//!    `-ENOSYS`;
//! 2. `nr_bufs` 0 → `-ENODATA`, more than 2 → `-E2BIG`, the array unreadable → `-EFAULT`;
//! 3. the target as a remote domain: unknown or `DOMID_SELF` → `-ESRCH`, the caller → `-EPERM`;
//! 4. x86: a target that is not HVM (PVH counts as HVM) → `-EINVAL`;
//! 5. the caller must be the control domain or the target's device model → `-EPERM`;
//! 6. `bufs[0]` shorter than the header and the sub-op's body → `-EFAULT`; a sub-op past 20
//!    → `-EOPNOTSUPP`; `pad` non-zero → `-EINVAL`;
//! 7. the sub-op: a body's own `pad` non-zero → `-EINVAL`; a server id with no server →
//!    `-ENOENT`; a server created by another domain → `-EPERM`; then each one's own rules
//!    (named at each function).
//!
//! The library builds the struct itself, so only what the caller chooses can be wrong; it
//! refuses a range whose end lies before its start ([`Invalid::RangeEnd`]) before any
//! hypercall. Each function issues one hypercall with one buffer (`bufs[0]` = the 32-byte
//! `struct xen_dm_op`, which Xen reads and writes in place). [`Xen::dm_op_struct`] sends any
//! struct as it is (to observe Xen's refusals); [`Xen::dm_op`] any buffer array.
//!
//! On a Linux dom0 the calls go through privcmd's plain hypercall ioctl (xenmem-privcmd's
//! backend), with the buffers in the calling process's memory.

use crate::abi::dm_op::*;
use crate::abi::HYPERVISOR_DM_OP;
use crate::error::{Error, Invalid, XenError};
use crate::hypercall::Hypercall;
use crate::types::DomId;
use crate::Xen;
use zerocopy::IntoBytes;

/// An ioreq server's id (`ioservid_t`), unique per emulated domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IoreqServerId(pub u16);

/// Whether (and how) a server takes buffered requests (`HVM_IOREQSRV_BUFIOREQ_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufIoreq {
    /// No buffered page: every request is synchronous.
    Off,
    /// A buffered page whose pointers only the device model moves.
    Legacy,
    /// A buffered page whose pointers Xen may rewrite atomically.
    Atomic,
    /// Another value, sent as given (Xen refuses it: `-EINVAL`).
    Other(u8),
}

impl BufIoreq {
    /// The raw value.
    pub const fn raw(self) -> u8 {
        match self {
            BufIoreq::Off => HVM_IOREQSRV_BUFIOREQ_OFF,
            BufIoreq::Legacy => HVM_IOREQSRV_BUFIOREQ_LEGACY,
            BufIoreq::Atomic => HVM_IOREQSRV_BUFIOREQ_ATOMIC,
            BufIoreq::Other(v) => v,
        }
    }
}

/// What a range names (`XEN_DMOP_IO_RANGE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoRangeType {
    /// I/O ports (x86).
    Port,
    /// Guest-physical addresses.
    Memory,
    /// PCI functions ([`crate::abi::dm_op::xen_dmop_pci_sbdf`]).
    Pci,
    /// Another value, sent as given (Xen refuses it: `-EINVAL`).
    Other(u32),
}

impl IoRangeType {
    /// The raw value.
    pub const fn raw(self) -> u32 {
        match self {
            IoRangeType::Port => XEN_DMOP_IO_RANGE_PORT,
            IoRangeType::Memory => XEN_DMOP_IO_RANGE_MEMORY,
            IoRangeType::Pci => XEN_DMOP_IO_RANGE_PCI,
            IoRangeType::Other(v) => v,
        }
    }

    /// The type for a raw value.
    pub const fn from_raw(v: u32) -> IoRangeType {
        match v {
            XEN_DMOP_IO_RANGE_PORT => IoRangeType::Port,
            XEN_DMOP_IO_RANGE_MEMORY => IoRangeType::Memory,
            XEN_DMOP_IO_RANGE_PCI => IoRangeType::Pci,
            v => IoRangeType::Other(v),
        }
    }
}

/// What `get_ioreq_server_info` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IoreqServerInfo {
    /// The buffered page's event channel, in the emulated domain (0 without buffered
    /// requests: Xen leaves the field as sent).
    pub bufioreq_port: u32,
    /// Where the synchronous page is mapped in the target (0 with `no_gfns`).
    pub ioreq_gfn: u64,
    /// Where the buffered page is mapped in the target (0 with `no_gfns`).
    pub bufioreq_gfn: u64,
}

impl<H: Hypercall> Xen<H> {
    /// Issues `dm_op(domid, bufs.len(), bufs)`; returns Xen's non-negative result.
    ///
    /// # Safety
    ///
    /// Every buffer's handle must be valid for reads and writes of its `size` bytes for the
    /// whole call (Xen reads the sub-op from `bufs[0]` and may write results into any).
    ///
    /// # Errors
    ///
    /// [`Invalid::TooManyBuffers`] past `u32::MAX` buffers; otherwise Xen's errno.
    pub unsafe fn dm_op(&self, domid: DomId, bufs: &mut [XenDmOpBuf]) -> Result<u64, Error> {
        let n = u32::try_from(bufs.len()).map_err(|_| Invalid::TooManyBuffers)?;
        let args = [u64::from(domid.raw()), u64::from(n), bufs.as_mut_ptr() as u64, 0, 0];
        // SAFETY: `bufs` is live for the call; its handles are the caller's contract.
        let rc = unsafe { self.backend().hypercall(HYPERVISOR_DM_OP, args) };
        XenError::check(rc).map_err(Error::Xen)
    }

    /// Issues `op` as the one buffer of a dm_op on `domid`; Xen writes results back into it.
    /// Safe for any contents: with one buffer Xen can reach nothing but the struct.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::abi::dm_op::*;
    /// // A range whose end lies before its start, which the typed call would refuse itself.
    /// let body = XenDmOpIoreqServerRange { id: 0, pad: 0, r#type: 1, start: 0x2000, end: 0x1000 };
    /// let mut op = XenDmOp::new(XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, &body);
    /// assert_eq!(xen.dm_op_struct(xenmem::DomId(1), &mut op), Err(xenmem::XenError::Inval.into()));
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn dm_op_struct(&self, domid: DomId, op: &mut XenDmOp) -> Result<(), Error> {
        let mut bufs =
            [XenDmOpBuf { h: op as *mut XenDmOp as u64, size: core::mem::size_of::<XenDmOp>() as u64 }];
        // SAFETY: the one handle points to `op`, live and exclusively borrowed for the call,
        // and its size is the struct's.
        unsafe { self.dm_op(domid, &mut bufs) }.map(drop)
    }

    fn dm_op_body<T: IntoBytes + zerocopy::Immutable>(
        &self,
        domid: DomId,
        op: u32,
        body: &T,
    ) -> Result<XenDmOp, Error> {
        let mut o = XenDmOp::new(op, body);
        self.dm_op_struct(domid, &mut o)?;
        Ok(o)
    }

    /// Creates an ioreq server for `domid`, run by the caller (its emulator from then on).
    /// Xen gives it an event channel per vCPU of the target (and one more for the buffered
    /// page) and no pages yet.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::dm_op::BufIoreq;
    /// let id = xen.create_ioreq_server(d1, BufIoreq::Off)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The checks above; then `-EINVAL` for a `handle_bufioreq` above 2 (any non-zero one on
    /// Arm), `-ENOSPC` past 8 servers, an event-channel allocation's error.
    pub fn create_ioreq_server(&self, domid: DomId, bufioreq: BufIoreq) -> Result<IoreqServerId, Error> {
        let body = XenDmOpCreateIoreqServer { handle_bufioreq: bufioreq.raw(), pad: [0; 3], id: 0 };
        let o = self.dm_op_body(domid, XEN_DMOP_CREATE_IOREQ_SERVER, &body)?;
        let out: XenDmOpCreateIoreqServer = o.body().ok_or(Error::Xen(XenError::Fault))?;
        Ok(IoreqServerId(out.id))
    }

    /// A server's buffered-ioreq event channel; with `no_gfns` false, Xen also maps the
    /// pages into the *target's* physmap (the legacy interface) and returns where.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::dm_op::BufIoreq;
    /// let id = xen.create_ioreq_server(d1, BufIoreq::Atomic)?;
    /// let info = xen.get_ioreq_server_info(d1, id, true)?;
    /// assert_ne!(info.bufioreq_port, 0);
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The checks above; `-EINVAL` for unknown flags; `-ENOENT`, `-EPERM` for the server;
    /// with gfns, `-EPERM` once the pages were acquired, and the legacy mapping's errors.
    pub fn get_ioreq_server_info(
        &self,
        domid: DomId,
        id: IoreqServerId,
        no_gfns: bool,
    ) -> Result<IoreqServerInfo, Error> {
        let flags = if no_gfns { XEN_DMOP_NO_GFNS } else { 0 };
        let body =
            XenDmOpGetIoreqServerInfo { id: id.0, flags, bufioreq_port: 0, ioreq_gfn: 0, bufioreq_gfn: 0 };
        let o = self.dm_op_body(domid, XEN_DMOP_GET_IOREQ_SERVER_INFO, &body)?;
        let out: XenDmOpGetIoreqServerInfo = o.body().ok_or(Error::Xen(XenError::Fault))?;
        Ok(IoreqServerInfo {
            bufioreq_port: out.bufioreq_port,
            ioreq_gfn: out.ioreq_gfn,
            bufioreq_gfn: out.bufioreq_gfn,
        })
    }

    fn io_range(
        &self,
        op: u32,
        domid: DomId,
        id: IoreqServerId,
        ty: IoRangeType,
        start: u64,
        end: u64,
    ) -> Result<(), Error> {
        if end < start {
            return Err(Error::Invalid(Invalid::RangeEnd));
        }
        let body = XenDmOpIoreqServerRange { id: id.0, pad: 0, r#type: ty.raw(), start, end };
        self.dm_op_body(domid, op, &body).map(drop)
    }

    /// Sends the target's accesses to `start..=end` (inclusive) of `ty` to the server, once
    /// it is enabled.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::dm_op::{BufIoreq, IoRangeType};
    /// let id = xen.create_ioreq_server(d1, BufIoreq::Off)?;
    /// xen.map_io_range_to_ioreq_server(d1, id, IoRangeType::Memory, 0xfeb0_0000, 0xfeb0_0fff)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::RangeEnd`] before any hypercall; the checks above; `-ENOENT`, `-EPERM` for
    /// the server; `-EINVAL` for an unknown type; `-EEXIST` when it overlaps a range the
    /// server has; `-ENOMEM` past 256 separate ranges of one type.
    pub fn map_io_range_to_ioreq_server(
        &self,
        domid: DomId,
        id: IoreqServerId,
        ty: IoRangeType,
        start: u64,
        end: u64,
    ) -> Result<(), Error> {
        self.io_range(XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, domid, id, ty, start, end)
    }

    /// Stops sending `start..=end` of `ty` to the server.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::dm_op::{BufIoreq, IoRangeType};
    /// let id = xen.create_ioreq_server(d1, BufIoreq::Off)?;
    /// xen.map_io_range_to_ioreq_server(d1, id, IoRangeType::Port, 0x3f8, 0x3ff)?;
    /// xen.unmap_io_range_from_ioreq_server(d1, id, IoRangeType::Port, 0x3f8, 0x3f9)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for mapping, except that a range the server does not wholly hold is `-ENOENT`.
    pub fn unmap_io_range_from_ioreq_server(
        &self,
        domid: DomId,
        id: IoreqServerId,
        ty: IoRangeType,
        start: u64,
        end: u64,
    ) -> Result<(), Error> {
        self.io_range(XEN_DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER, domid, id, ty, start, end)
    }

    /// Enables or disables a server. Only an enabled server receives requests; enabling it
    /// writes each vCPU's `vp_eport` into the synchronous page, if it has been acquired.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let id = xen.create_ioreq_server(d1, xenmem::dm_op::BufIoreq::Off)?;
    /// xen.set_ioreq_server_state(d1, id, true)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The checks above; `-ENOENT`, `-EPERM` for the server.
    pub fn set_ioreq_server_state(
        &self,
        domid: DomId,
        id: IoreqServerId,
        enabled: bool,
    ) -> Result<(), Error> {
        let body = XenDmOpSetIoreqServerState { id: id.0, enabled: u8::from(enabled), pad: 0 };
        self.dm_op_body(domid, XEN_DMOP_SET_IOREQ_SERVER_STATE, &body).map(drop)
    }

    /// Destroys a server: its event channels close (a bound device model's ends become
    /// unbound) and its pages are freed once nobody maps them.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let id = xen.create_ioreq_server(d1, xenmem::dm_op::BufIoreq::Off)?;
    /// xen.destroy_ioreq_server(d1, id)?;
    /// assert_eq!(xen.destroy_ioreq_server(d1, id), Err(xenmem::XenError::NoEnt.into()));
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The checks above; `-ENOENT`, `-EPERM` for the server.
    pub fn destroy_ioreq_server(&self, domid: DomId, id: IoreqServerId) -> Result<(), Error> {
        let body = XenDmOpDestroyIoreqServer { id: id.0, pad: 0 };
        self.dm_op_body(domid, XEN_DMOP_DESTROY_IOREQ_SERVER, &body).map(drop)
    }

    /// The target's `max_vcpus` (`XEN_DMOP_nr_vcpus`): how many slots (and synchronous pages,
    /// one per 128) its servers have.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// assert_eq!(xen.dm_op_nr_vcpus(d1)?, 1);
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The checks above.
    pub fn dm_op_nr_vcpus(&self, domid: DomId) -> Result<u32, Error> {
        let o = self.dm_op_body(domid, XEN_DMOP_NR_VCPUS, &XenDmOpNrVcpus { vcpus: 0 })?;
        let out: XenDmOpNrVcpus = o.body().ok_or(Error::Xen(XenError::Fault))?;
        Ok(out.vcpus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::*;

    #[test]
    fn create_sends_one_buffer_and_reads_the_id() {
        let xen = Xen::new(Recorder::new(|s: &Seen| {
            let mut out = s.arg.clone();
            out[12] = 3; // id
            Reply { rc: 0, dm_op: Some(out), ..Reply::default() }
        }));
        assert_eq!(xen.create_ioreq_server(DomId(1), BufIoreq::Atomic), Ok(IoreqServerId(3)));
        let c = &xen.backend().calls()[0];
        assert_eq!(c.op, 41);
        assert_eq!((c.args[0], c.args[1]), (1, 1));
        assert_eq!(c.arrays[0][8..], 32u64.to_le_bytes());
        assert_eq!(&c.arg[..14], &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn ranges_info_state_destroy() {
        let xen = Xen::new(Recorder::new(|s: &Seen| {
            let mut out = s.arg.clone();
            if s.arg[0] == 2 {
                out[12] = 9; // bufioreq_port
            }
            Reply { rc: 0, dm_op: Some(out), ..Reply::default() }
        }));
        let id = IoreqServerId(2);
        assert_eq!(
            xen.map_io_range_to_ioreq_server(DomId(1), id, IoRangeType::Memory, 0x10, 0xf),
            Err(Error::Invalid(Invalid::RangeEnd))
        );
        assert!(xen.backend().calls().is_empty());
        xen.map_io_range_to_ioreq_server(DomId(1), id, IoRangeType::Memory, 0x1000, 0x1fff).unwrap();
        xen.unmap_io_range_from_ioreq_server(DomId(1), id, IoRangeType::Pci, 5, 5).unwrap();
        let info = xen.get_ioreq_server_info(DomId(1), id, true).unwrap();
        assert_eq!(info, IoreqServerInfo { bufioreq_port: 9, ioreq_gfn: 0, bufioreq_gfn: 0 });
        xen.set_ioreq_server_state(DomId(1), id, true).unwrap();
        xen.destroy_ioreq_server(DomId(1), id).unwrap();
        let c = xen.backend().calls();
        let u64s = |v: u64| v.to_le_bytes();
        assert_eq!(&c[0].arg[..16], &[3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!((&c[0].arg[16..24], &c[0].arg[24..32]), (&u64s(0x1000)[..], &u64s(0x1fff)[..]));
        assert_eq!(&c[1].arg[..16], &[4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&c[2].arg[..12], &[2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0]);
        assert_eq!(&c[3].arg[..12], &[5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0]);
        assert_eq!(&c[4].arg[..12], &[6, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
    }

    #[test]
    fn errors_decode() {
        let xen = Xen::new(Recorder::new(rc(-38)));
        assert_eq!(xen.create_ioreq_server(DomId(1), BufIoreq::Off), Err(Error::Xen(XenError::NoSys)));
        assert_eq!(xen.dm_op_nr_vcpus(DomId(1)), Err(Error::Xen(XenError::NoSys)));
        // SAFETY: no buffers at all.
        assert_eq!(unsafe { xen.dm_op(DomId(1), &mut []) }, Err(Error::Xen(XenError::NoSys)));
        assert_eq!(xen.backend().calls()[2].args[1], 0);
    }
}
