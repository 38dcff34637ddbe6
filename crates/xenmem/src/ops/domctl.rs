//! The toolstack side: the `domctl` commands that create, size, inspect and destroy a domain
//! (hypercall 36). Only the control domain may use them (Xen's default policy answers others
//! with `-EPERM`); a wrong interface version is `-EACCES`, which is why every call here is
//! marshalled for the running release ([`crate::version`]): one hypercall each, plus one
//! `xen_version` the first time a [`Xen`] needs the release.
//!
//! These exist so that a guest acting as a toolstack (the conformance kernel, a Rust dom0)
//! can make a domain to map from; they are not a full domctl binding.

use super::Xen;
use crate::abi::domctl::*;
use crate::abi::HYPERVISOR_DOMCTL;
use crate::error::{Error, XenError};
use crate::hypercall::Hypercall;
use crate::types::DomId;
use zerocopy::FromBytes;

impl<H: Hypercall> Xen<H> {
    /// Issues any domctl, with `op.interface_version` set to the running release's; Xen may
    /// write results back into `op`.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::abi::domctl::{XenDomctl, XEN_DOMCTL_PAUSEDOMAIN};
    /// // SAFETY: pausedomain's body holds no guest handles.
    /// unsafe { xen.domctl(&mut XenDomctl::new(XEN_DOMCTL_PAUSEDOMAIN, 1))? };
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Safety
    ///
    /// Every guest handle in `op`'s body (gethvmcontext's buffer, say) must be valid for the
    /// accesses that command makes, for the whole call.
    ///
    /// # Errors
    ///
    /// Xen's errno; [`Error::Unsupported`] (nothing issued) for a release this library does
    /// not know.
    pub unsafe fn domctl(&self, op: &mut XenDomctl) -> Result<(), Error> {
        op.interface_version = self.domctl_interface()?.interface_version();
        // SAFETY: `op` is a live xen_domctl borrowed for the call; its handles are the
        // caller's contract.
        let rc =
            unsafe { self.backend().hypercall(HYPERVISOR_DOMCTL, [op as *mut XenDomctl as u64, 0, 0, 0, 0]) };
        XenError::check(rc).map(drop).map_err(Error::Xen)
    }

    /// A domctl built by this module, whose body holds no guest handles.
    fn domctl_plain(&self, op: &mut XenDomctl) -> Result<(), Error> {
        // SAFETY: createdomain, destroydomain, unpausedomain, max_mem, max_vcpus,
        // set_paging_mempool_size and getdomaininfo carry only values: Xen reads and writes the 144-byte struct alone.
        unsafe { self.domctl(op) }
    }

    /// Creates a domain (`XEN_DOMCTL_createdomain`); `id` 0 lets Xen pick. Returns its id.
    /// The body is written in the running release's layout.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let domu = xen.create_domain(xenmem::DomId(0), &xenmem::domctl::pvh_domu(1, 32))?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno; [`Error::Unsupported`] for an unknown release;
    /// [`crate::Invalid::CreateDomainField`] for a field the release has no room for.
    pub fn create_domain(&self, id: DomId, cfg: &DomctlCreateDomain) -> Result<DomId, Error> {
        let mut op = XenDomctl::new(XEN_DOMCTL_CREATEDOMAIN, id.raw());
        let mut body = [0u8; 128];
        cfg.encode(self.domctl_interface()?, &mut body)?;
        op.body_mut().copy_from_slice(&body);
        self.domctl_plain(&mut op)?;
        Ok(DomId(op.domain))
    }

    /// Destroys a domain. It stays dying while foreign mappings still hold its pages.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let d = xen.create_domain(xenmem::DomId(0), &xenmem::domctl::pvh_domu(1, 32))?;
    /// xen.destroy_domain(d)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn destroy_domain(&self, d: DomId) -> Result<(), Error> {
        self.domctl_plain(&mut XenDomctl::new(XEN_DOMCTL_DESTROYDOMAIN, d.raw()))
    }

    /// Unpauses a domain (starts a new one).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// // A domain starts paused by its creator; unpausing it once starts it.
    /// let d = xen.create_domain(xenmem::DomId(0), &xenmem::domctl::pvh_domu(1, 32))?;
    /// xen.set_max_vcpus(d, 1)?;
    /// xen.unpause_domain(d)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn unpause_domain(&self, d: DomId) -> Result<(), Error> {
        self.domctl_plain(&mut XenDomctl::new(XEN_DOMCTL_UNPAUSEDOMAIN, d.raw()))
    }

    /// Sets a domain's memory limit in KiB (`max_pages = kib / 4`).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// xen.set_max_mem(xenmem::DomId(1), 4096)?; // 1024 pages
    /// assert_eq!(xen.maximum_reservation(xenmem::DomId(1))?, 1024);
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn set_max_mem(&self, d: DomId, kib: u64) -> Result<(), Error> {
        let mut op = XenDomctl::new(XEN_DOMCTL_MAX_MEM, d.raw());
        op.u[0] = kib;
        self.domctl_plain(&mut op)
    }

    /// Creates the domain's vCPUs (`XEN_DOMCTL_max_vcpus`).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let d = xen.create_domain(xenmem::DomId(0), &xenmem::domctl::pvh_domu(1, 32))?;
    /// xen.set_max_vcpus(d, 1)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn set_max_vcpus(&self, d: DomId, n: u32) -> Result<(), Error> {
        let mut op = XenDomctl::new(XEN_DOMCTL_MAX_VCPUS, d.raw());
        op.body_mut()[..4].copy_from_slice(&n.to_le_bytes());
        self.domctl_plain(&mut op)
    }

    /// Sizes a domain's P2M pool (`XEN_DOMCTL_set_paging_mempool_size`) to `bytes`, a
    /// multiple of 4 KiB. On Arm since Xen 4.18 a toolstack must do this before mapping
    /// anything into a domain it created
    /// ([`crate::XenVersion::arm_p2m_pool_starts_empty`]).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::arm64(1 << 16).with_xen(xenmem_sim::Release::Xen4_20));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let d = xen.create_domain(xenmem::DomId(0), &xenmem::domctl::arm_domu(1, 32))?;
    /// if xen.xen_version()?.arm_p2m_pool_starts_empty() {
    ///     xen.set_paging_mempool_size(d, 4 << 20)?;
    /// }
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno (`-EINVAL` for a size that is not page-sized, `-ENOMEM` when the heap
    /// cannot hold the pool).
    pub fn set_paging_mempool_size(&self, d: DomId, bytes: u64) -> Result<(), Error> {
        let mut op = XenDomctl::new(XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE, d.raw());
        op.u[0] = bytes;
        self.domctl_plain(&mut op)
    }

    /// Information on the first domain whose id is `d` or above (check its `domain` field).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let info = xen.domain_info(xenmem::DomId(1))?;
    /// assert_eq!((info.domain, info.tot_pages), (1, 4));
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno (`-ESRCH` when there is none).
    pub fn domain_info(&self, d: DomId) -> Result<DomctlGetDomainInfo, Error> {
        let mut op = XenDomctl::new(XEN_DOMCTL_GETDOMAININFO, d.raw());
        self.domctl_plain(&mut op)?;
        DomctlGetDomainInfo::read_from_prefix(op.body())
            .map(|(v, _)| v)
            .map_err(|_| Error::Xen(XenError::Fault))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{domctl::pvh_domu, DomId, Error, Invalid, Xen, XenError, XenVersion};

    fn u32s(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn new_id_7(s: &Seen) -> Reply {
        let mut out = s.arg.clone();
        out[8] = 7; // Xen writes the new domain's id into `domain`
        Reply { rc: 0, domctl: Some(out), ..Reply::default() }
    }

    #[test]
    fn createdomain_bytes_and_new_id_4_17() {
        let xen = Xen::with_version(Recorder::new(new_id_7), XenVersion::V4_17);
        assert_eq!(xen.create_domain(DomId(0), &pvh_domu(1, 32)), Ok(DomId(7)));
        let c = &xen.backend().calls()[0];
        assert_eq!(c.op, 36);
        // cmd 1, interface 0x15, domain 0, padding.
        assert_eq!(&c.arg[..16], &cat(&[&u32s(&[1, 0x15]), &[0; 8]])[..]);
        // ssidref, handle[16], flags hvm|hap, iommu, vcpus 1, evtchn 1023, grant 32, maptrack
        // 1024, grant_opts 1, vmtrace 0, cpupool 0, emulation LAPIC, misc 0.
        let body = cat(&[&u32s(&[0]), &[0; 16], &u32s(&[3, 0, 1, 1023, 32, 1024, 1, 0, 0, 1, 0])]);
        assert_eq!(&c.arg[16..80], &body[..]);
        assert!(c.arg[80..].iter().all(|&b| b == 0));
    }

    #[test]
    fn createdomain_bytes_4_20_have_altp2m_opts() {
        let xen = Xen::with_version(Recorder::new(new_id_7), XenVersion::V4_20);
        let cfg = crate::abi::domctl::DomctlCreateDomain { altp2m_opts: 2, ..pvh_domu(1, 32) };
        assert_eq!(xen.create_domain(DomId(0), &cfg), Ok(DomId(7)));
        let c = &xen.backend().calls()[0];
        assert_eq!(&c.arg[..16], &cat(&[&u32s(&[1, 0x17]), &[0; 8]])[..]);
        // ... grant_opts 1, altp2m_opts 2, vmtrace 0, cpupool 0, emulation LAPIC, misc 0.
        let body = cat(&[&u32s(&[0]), &[0; 16], &u32s(&[3, 0, 1, 1023, 32, 1024, 1, 2, 0, 0, 1, 0])]);
        assert_eq!(&c.arg[16..84], &body[..]);
        assert!(c.arg[84..].iter().all(|&b| b == 0));
    }

    #[test]
    fn first_domctl_asks_the_version() {
        let xen = Xen::new(Recorder::new(|s: &Seen| match s.op {
            17 => Reply { rc: 0x4_0012, ..Reply::default() },
            _ => Reply::default(),
        }));
        xen.unpause_domain(DomId(1)).unwrap();
        xen.unpause_domain(DomId(1)).unwrap();
        let c = xen.backend().calls();
        assert_eq!(c.iter().map(|c| c.op).collect::<Vec<_>>(), [17, 36, 36]);
        assert_eq!(&c[1].arg[..8], &u32s(&[4, 0x16])[..]);
    }

    #[test]
    fn unsupported_release_sends_no_domctl() {
        let xen = Xen::new(Recorder::new(rc(0x4_0016)));
        let v = XenVersion::new(4, 22);
        assert_eq!(xen.create_domain(DomId(0), &pvh_domu(1, 32)), Err(Error::Unsupported(v)));
        assert_eq!(xen.destroy_domain(DomId(1)), Err(Error::Unsupported(v)));
        assert!(xen.backend().calls().iter().all(|c| c.op == 17));
        // altp2m_opts has no room before 4.19: refused before any domctl.
        let xen = Xen::with_version(Recorder::new(rc(0)), XenVersion::V4_18);
        let cfg = crate::abi::domctl::DomctlCreateDomain { altp2m_opts: 1, ..pvh_domu(1, 32) };
        assert_eq!(xen.create_domain(DomId(0), &cfg), Err(Error::Invalid(Invalid::CreateDomainField)));
        assert!(xen.backend().calls().is_empty());
    }

    #[test]
    fn max_mem_vcpus_pool_and_info() {
        let xen = Xen::with_version(
            Recorder::new(|s: &Seen| {
                let mut out = s.arg.clone();
                if s.arg[0] == 5 {
                    out[16] = 3; // domain found
                    out[24..32].copy_from_slice(&4u64.to_le_bytes()); // tot_pages
                    out[32..40].copy_from_slice(&256u64.to_le_bytes()); // max_pages
                }
                Reply { rc: 0, domctl: Some(out), ..Reply::default() }
            }),
            XenVersion::V4_17,
        );
        xen.set_max_mem(DomId(3), 1024).unwrap();
        xen.set_max_vcpus(DomId(3), 2).unwrap();
        let info = xen.domain_info(DomId(2)).unwrap();
        assert_eq!((info.domain, info.tot_pages, info.max_pages), (3, 4, 256));
        xen.set_paging_mempool_size(DomId(3), 4 << 20).unwrap();
        let c = xen.backend().calls();
        assert_eq!(&c[0].arg[..10], &cat(&[&u32s(&[11, 0x15]), &[3, 0]])[..]);
        assert_eq!(&c[0].arg[16..24], &1024u64.to_le_bytes());
        assert_eq!(&c[1].arg[..4], &u32s(&[15])[..]);
        assert_eq!(&c[1].arg[16..20], &u32s(&[2])[..]);
        assert_eq!(&c[2].arg[..10], &cat(&[&u32s(&[5, 0x15]), &[2, 0]])[..]);
        assert_eq!(&c[3].arg[..10], &cat(&[&u32s(&[86, 0x15]), &[3, 0]])[..]);
        assert_eq!(&c[3].arg[16..24], &(4u64 << 20).to_le_bytes());
    }

    #[test]
    fn errors_decode() {
        let xen = Xen::with_version(Recorder::new(rc(-1)), XenVersion::V4_20);
        assert_eq!(xen.destroy_domain(DomId(1)), Err(Error::Xen(XenError::Perm)));
        assert_eq!(&xen.backend().calls()[0].arg[..10], &cat(&[&u32s(&[2, 0x17]), &[1, 0]])[..]);
    }
}
