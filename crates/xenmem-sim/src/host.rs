//! The host's hand on the machine: what a domain builder, a toolstack outside the guest or a
//! test harness does without a hypercall (build and destroy domains, give them RAM, write
//! their memory, set up devices and ioreq servers). Each follows the Xen code that does the
//! same at boot or in the toolstack's domctls, under the same checks.

use crate::error::errno::ENOMEM;
use crate::lifecycle::{self, NewDomain};
use crate::mm::MemFlags;
use crate::p2m::Kind;
use crate::{dm_op, DomainConfig, DomainKind, Sim, SimError};
use xenmem::{DomId, Gfn, Mfn};

impl Sim {
    /// Builds a domain as a domain builder (or Xen, for dom0) would: created, vCPUs up,
    /// running. `id` `None` takes the next free id as createdomain does.
    ///
    /// # Errors
    ///
    /// [`SimError::BadDomainId`] for a taken or reserved id, [`SimError::InvalidConfig`] for
    /// a PV domain on Arm, a target that does not exist or a grant-table size Xen refuses,
    /// [`SimError::OutOfMemory`] when the heap cannot hold its Xen pages.
    pub fn create_domain(&self, cfg: DomainConfig) -> Result<DomId, SimError> {
        let mut m = self.lock();
        if m.is_arm() && cfg.kind == DomainKind::Pv {
            return Err(SimError::InvalidConfig("every Arm domain is translated: no PV"));
        }
        let id = match cfg.id {
            Some(id) if id >= xenmem::abi::DOMID_FIRST_RESERVED || m.domains.contains_key(&id) => {
                return Err(SimError::BadDomainId(DomId(id)))
            }
            Some(id) => id,
            None => m.next_free_id().map_err(|_| SimError::OutOfMemory)?,
        };
        if let Some(t) = cfg.target {
            if !m.domains.contains_key(&t.0) {
                return Err(SimError::InvalidConfig("the target domain does not exist"));
            }
        }
        if cfg.max_grant_frames < 1 || cfg.max_grant_frames > m.cfg.max_grant_frames_default {
            return Err(SimError::InvalidConfig("max_grant_frames must be 1..=gnttab_max_frames"));
        }
        if cfg.max_vcpus < 1 {
            return Err(SimError::InvalidConfig("a domain needs a vCPU"));
        }
        let grant_version = cfg.grant_version.clamp(1, m.gnttab_max_version());
        let n = NewDomain {
            id,
            kind: cfg.kind,
            hap: m.cfg.hap,
            control: cfg.control,
            hardware: cfg.hardware,
            xenstore: cfg.xenstore,
            passthrough: cfg.passthrough,
            // Xen builds the Arm hardware domain mapped 1:1 (`create_dom0`: `CDF_privileged |
            // CDF_directmap`, xen/arch/arm/domain_build.c); x86 never direct-maps.
            directmap: m.is_arm() && cfg.hardware && id == 0,
            target: cfg.target.map(|t| t.0),
            max_pages: cfg.max_pages,
            max_vcpus: cfg.max_vcpus,
            vcpus: cfg.max_vcpus,
            running: true,
            max_grant_frames: cfg.max_grant_frames,
            grant_version,
            vmtrace_size: cfg.vmtrace_size,
            // Xen builds dom0 with max_evtchn_port -1 (clamped to INT_MAX); libxl gives a
            // domU 1023 unless told otherwise.
            max_evtchn_port: if cfg.control { i32::MAX as u32 } else { 1023 },
            handle: [0; 16],
            emulation_flags: 0,
            misc_flags: 0,
            p2m_pool_pages: lifecycle::built_pool_pages(cfg.max_pages, cfg.max_vcpus),
            nested_virt: false,
            altp2m: false,
        };
        m.domain_create(n).map(DomId).map_err(|_| SimError::OutOfMemory)
    }

    /// Destroys a domain as `XEN_DOMCTL_destroydomain` does. While other domains still map
    /// its pages it stays listed as dying; it disappears with the last such mapping.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`].
    pub fn destroy_domain(&self, d: DomId) -> Result<(), SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        m.domain_kill(d.0);
        Ok(())
    }

    /// Gives `d` `pages` new pages of RAM at `first_gfn..`, as a domain builder's
    /// populate_physmap would (largest extents the alignment allows, up to order 9), under
    /// the same rules (`max_pages`, a dying domain, the P2M's size). A direct-mapped domain
    /// (Arm's dom0) gets the machine frames equal to its GFNs, as Xen builds it.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`], [`SimError::OutOfMemory`] (for a direct-mapped domain also
    /// when those frames are not free or not on the machine), or [`SimError::Xen`] with the
    /// errno of the check that refused (`E2BIG` over `max_pages`, `EINVAL` dying, ...).
    pub fn populate_ram(&self, d: DomId, first_gfn: Gfn, pages: u64) -> Result<(), SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        if !m.gfn_range_ok(first_gfn.0, pages) {
            return Err(SimError::xen(m.gfn_range_errno()));
        }
        let mut done = 0;
        while done < pages {
            let gfn = first_gfn.0 + done;
            let mut order = 9u32;
            while order > 0 && (gfn % (1 << order) != 0 || pages - done < 1 << order) {
                order -= 1;
            }
            // A direct-mapped domain's RAM is the machine's frames of the same numbers.
            let direct = m.dom(d.0).directmap;
            let mfn = loop {
                let got = if direct {
                    m.alloc_domheap_pages_at(d.0, gfn, order)
                } else {
                    m.alloc_domheap_pages(d.0, order, MemFlags::default())
                };
                match got {
                    Ok(mfn) => break mfn,
                    Err(ENOMEM) if order > 0 => order -= 1,
                    Err(ENOMEM) => return Err(SimError::OutOfMemory),
                    Err(e) => return Err(SimError::xen(e)),
                }
            };
            m.guest_physmap_add_page(d.0, gfn, mfn, order).map_err(SimError::xen)?;
            done += 1 << order;
        }
        Ok(())
    }

    /// Writes `data` at byte `offset` of what `d` maps at `gfn`.
    ///
    /// # Errors
    ///
    /// As [`Sim::read_gfn`].
    pub fn write_gfn(&self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), SimError> {
        let mut m = self.lock();
        let mfn = Self::readable(&m, d, gfn, offset, data.len())?;
        m.frames.write(mfn, offset, data);
        Ok(())
    }

    /// Creates an ioreq server of `target` as `emulator`'s `XEN_DMOP_create_ioreq_server`
    /// would (a buffered page in `HVM_IOREQSRV_BUFIOREQ_ATOMIC` mode when `bufioreq`), and
    /// returns its id: a shortcut for setting a machine up.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::Xen`] with dm_op's answer: `ENOSYS` on a build
    /// without ioreq servers (Arm's default), `EPERM` when `emulator` is the target itself
    /// or neither the control domain nor the target's device model, `EINVAL` for a PV target
    /// (x86) or a buffered page (Arm), `ENOSPC` past 8 servers.
    pub fn create_ioreq_server(
        &self,
        target: DomId,
        emulator: DomId,
        bufioreq: bool,
    ) -> Result<u16, SimError> {
        let mut m = self.lock();
        m.lookup_by_id(target.0).ok_or(SimError::NoSuchDomain(target))?;
        m.lookup_by_id(emulator.0).ok_or(SimError::NoSuchDomain(emulator))?;
        let handling = if bufioreq { xenmem::abi::dm_op::HVM_IOREQSRV_BUFIOREQ_ATOMIC } else { 0 };
        dm_op::create_ioreq_server(&mut m, emulator.0, target.0, handling).map_err(SimError::xen)
    }

    /// Clears `port`'s pending bit as the guest does when it handles the event; says whether
    /// it was set.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`].
    pub fn evtchn_take_pending(&self, d: DomId, port: u32) -> Result<bool, SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        Ok(m.evtchn_take_pending(d.0, port))
    }

    /// Switches `d`'s grant table to version `v` (standing in for `GNTTABOP_set_version`).
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::Xen`]: `EINVAL` for a version the domain may
    /// not use, `EBUSY` when going back to 1 while a status frame is mapped.
    pub fn set_grant_version(&self, d: DomId, v: u8) -> Result<(), SimError> {
        let mut m = self.lock();
        m.lookup_by_id(d.0).ok_or(SimError::NoSuchDomain(d))?;
        m.gnttab_set_version(d.0, v).map_err(SimError::xen)
    }

    /// Maps device frame `mfn` at `gfn` of translated domain `d` (standing in for
    /// `XEN_DOMCTL_memory_mapping`), replacing nothing: the GFN must be free.
    ///
    /// # Errors
    ///
    /// [`SimError::NoSuchDomain`]; [`SimError::InvalidConfig`] for RAM frames, a PV domain or
    /// an occupied GFN.
    pub fn map_mmio(&self, d: DomId, gfn: Gfn, mfn: Mfn) -> Result<(), SimError> {
        let mut m = self.lock();
        let dom = m.domains.get(&d.0).ok_or(SimError::NoSuchDomain(d))?;
        if m.frames.valid(mfn.0)
            || !dom.translated
            || !dom.p2m.get(gfn.0).is_empty()
            || !m.gfn_range_ok(gfn.0, 1)
        {
            return Err(SimError::InvalidConfig(
                "MMIO needs a device frame and a free GFN of a translated domain",
            ));
        }
        m.p2m_write_run(d.0, gfn.0, 1, Kind::Mmio, mfn.0);
        Ok(())
    }
}
