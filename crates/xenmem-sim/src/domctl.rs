//! `do_domctl` (hypercall 36, `xen/common/domctl.c`) for the commands a toolstack needs to
//! make a second domain: createdomain (1), destroydomain (2), pausedomain (3),
//! unpausedomain (4), getdomaininfo (5), max_mem (11), max_vcpus (15),
//! set_paging_mempool_size (86).
//!
//! Xen's order: copy the 144-byte `struct xen_domctl` → `-EFAULT`; `interface_version` other
//! than the release's (0x15 in 4.17, 0x17 in 4.20: [`crate::Release`]) → `-EACCES`; the domain (`rcu_lock_domain_by_id`, so `DOMID_SELF` is not the
//! caller) → `-ESRCH` except for createdomain and getdomaininfo; getdomaininfo is checked with
//! XSM_XS_PRIV and finds the first domain with an id at or above the one asked (`-EINVAL` for
//! a reserved id, `-ESRCH` past the last); every other command needs the control domain
//! (`xsm_domctl` → XSM_PRIV, `-EPERM`). Results go back by copying the whole struct.
//! Commands the model does not implement answer `-ENOSYS` (the model's answer, not Xen's).

use crate::config::DomainKind;
use crate::domain::Dying;
use crate::error::errno::*;
use crate::frames::PAGE_SIZE;
use crate::guest_memory::{read_obj, GuestMemory};
use crate::lifecycle::NewDomain;
use crate::machine::Machine;
use xenmem::abi::domctl::*;
use xenmem::abi::DOMID_FIRST_RESERVED;
use zerocopy::IntoBytes;

/// createdomain flags Xen knows (`sanitise_domain_config`).
const CDF_S3_INTEGRITY: u32 = 1 << 2;
const CDF_OOS_OFF: u32 = 1 << 3;
const CDF_XS_DOMAIN: u32 = 1 << 4;
const CDF_NESTED_VIRT: u32 = 1 << 6;
const CDF_VPMU: u32 = 1 << 7;
const CDF_ALL: u32 = XEN_DOMCTL_CDF_HVM
    | XEN_DOMCTL_CDF_HAP
    | CDF_S3_INTEGRITY
    | CDF_OOS_OFF
    | CDF_XS_DOMAIN
    | XEN_DOMCTL_CDF_IOMMU
    | CDF_NESTED_VIRT
    | CDF_VPMU;
/// `XEN_DOMCTL_ALTP2M_mode_mask` (Xen 4.19 on).
const ALTP2M_MODE_MASK: u32 = 0x3;
/// `XEN_DOMCTL_IOMMU_no_sharept`.
const IOMMU_NO_SHAREPT: u32 = 1;
/// `XEN_DOMCTL_GRANT_version_mask`.
const GRANT_VERSION_MASK: u32 = 0xf;
/// x86 emulation flags (`XEN_X86_EMU_*`).
const EMU_LAPIC: u32 = 1 << 0;
const EMU_PIT: u32 = 1 << 8;
const EMU_VPCI: u32 = 1 << 10;
const EMU_ALL: u32 = 0x7ff;
/// `XEN_X86_MSR_RELAXED`.
const MSR_RELAXED: u32 = 1;
/// `HVM_MAX_VCPUS` and x86 PV's `MAX_VIRT_CPUS`.
const HVM_MAX_VCPUS: u32 = 128;
const PV_MAX_VCPUS: u32 = 8192;
/// Arm's vGICv3 limit on vCPUs.
const ARM_MAX_VCPUS: u32 = 4096;
/// getdomaininfo flags not in `xenmem::abi::domctl`.
const DOMINF_BLOCKED: u32 = 1 << 4;
const DOMINF_RUNNING: u32 = 1 << 5;
const DOMINF_XS_DOMAIN: u32 = 1 << 7;
const DOMINF_SHUTDOWN_SHIFT: u32 = 16;

/// `do_domctl(u_domctl)` issued by `caller`.
pub(crate) fn do_domctl(m: &mut Machine, caller: u16, mem: &mut dyn GuestMemory, arg: u64) -> i64 {
    let Ok(mut op) = read_obj::<XenDomctl>(mem, arg) else { return -(EFAULT as i64) };
    if op.interface_version != m.cfg.xen.domctl_interface().interface_version() {
        return -(EACCES as i64);
    }
    let (rc, copyback) = domctl(m, caller, &mut op);
    if copyback && mem.write(arg, op.as_bytes()).is_err() {
        return -(EFAULT as i64);
    }
    match rc {
        Ok(()) => 0,
        Err(e) => -(e as i64),
    }
}

fn domctl(m: &mut Machine, caller: u16, op: &mut XenDomctl) -> (Result<(), i32>, bool) {
    let d = match op.cmd {
        XEN_DOMCTL_CREATEDOMAIN => None,
        _ => match m.lookup_by_id(op.domain) {
            Some(d) => Some(d),
            None if op.cmd == XEN_DOMCTL_GETDOMAININFO => None,
            None => return (Err(ESRCH), false),
        },
    };
    if op.cmd == XEN_DOMCTL_GETDOMAININFO {
        return getdomaininfo(m, caller, op, d);
    }
    // xsm_domctl: XSM_PRIV for everything handled below.
    if let Err(e) = crate::xsm::privileged(m, caller) {
        return (Err(e), false);
    }
    match (op.cmd, d) {
        (XEN_DOMCTL_CREATEDOMAIN, _) => match createdomain(m, op) {
            Ok(id) => {
                op.domain = id;
                (Ok(()), true)
            }
            Err(e) => (Err(e), false),
        },
        (XEN_DOMCTL_DESTROYDOMAIN, Some(d)) => {
            // domain_kill: a domain cannot kill itself.
            if d == caller {
                return (Err(EINVAL), false);
            }
            m.domain_kill(d);
            (Ok(()), false)
        }
        (XEN_DOMCTL_PAUSEDOMAIN, Some(d)) => {
            if d == caller {
                return (Err(EINVAL), false);
            }
            // _domain_pause_by_systemcontroller: the count is capped at 255 (-EOVERFLOW).
            let dom = m.dom_mut(d);
            if dom.controller_pause >= 255 {
                return (Err(EOVERFLOW), false);
            }
            dom.controller_pause += 1;
            (Ok(()), false)
        }
        (XEN_DOMCTL_UNPAUSEDOMAIN, Some(d)) => {
            // domain_unpause_by_systemcontroller: the count may not go negative; the first
            // unpause finishes creation.
            let dom = m.dom_mut(d);
            if dom.controller_pause == 0 {
                return (Err(EINVAL), false);
            }
            dom.controller_pause -= 1;
            dom.creation_finished = true;
            (Ok(()), false)
        }
        (XEN_DOMCTL_MAX_MEM, Some(d)) => {
            // max_memkb >> (PAGE_SHIFT - 10), clamped to max_pages' 32 bits.
            let kib = op.u[0];
            m.dom_mut(d).max_pages = (kib >> 2).min(u32::MAX as u64);
            (Ok(()), false)
        }
        (XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE, Some(d)) => {
            // arch_set_paging_mempool_size: a whole number of pages that fits 32 bits. The
            // model does not take the pool from its heap, so growing it cannot fail.
            let size = op.u[0];
            if size % PAGE_SIZE as u64 != 0 || size / PAGE_SIZE as u64 > u32::MAX as u64 {
                return (Err(EINVAL), false);
            }
            m.dom_mut(d).p2m_pool_pages = size / PAGE_SIZE as u64;
            (Ok(()), false)
        }
        (XEN_DOMCTL_MAX_VCPUS, Some(d)) => {
            let max = op.u[0] as u32;
            if d == caller || max != m.dom(d).max_vcpus {
                return (Err(EINVAL), false);
            }
            match m.create_vcpus(d, max) {
                Ok(()) => (Ok(()), false),
                Err(_) => (Err(ENOMEM), false),
            }
        }
        _ => (Err(ENOSYS), false),
    }
}

/// getdomaininfo: the domain asked for, or the first with a higher id.
fn getdomaininfo(m: &Machine, caller: u16, op: &mut XenDomctl, d: Option<u16>) -> (Result<(), i32>, bool) {
    let d = match d {
        Some(d) => d,
        None => {
            if op.domain >= DOMID_FIRST_RESERVED {
                return (Err(EINVAL), false);
            }
            match m.domains.first_from(op.domain) {
                Some(id) => id,
                None => return (Err(ESRCH), false),
            }
        }
    };
    if let Err(e) = crate::xsm::xs_priv(m, caller, d) {
        return (Err(e), false);
    }
    let info = domain_info(m, caller, d);
    op.domain = d;
    op.u = [0; 16];
    op.body_mut()[..size_of::<DomctlGetDomainInfo>()].copy_from_slice(info.as_bytes());
    (Ok(()), true)
}

/// `getdomaininfo()` + `arch_get_domain_info()`.
pub(crate) fn domain_info(m: &Machine, caller: u16, d: u16) -> DomctlGetDomainInfo {
    let dom = m.dom(d);
    let mut flags = 0;
    if dom.online_vcpus != 0 {
        // The model schedules nothing: the caller's vCPU is running, everyone else's blocked.
        flags |= if d == caller { DOMINF_RUNNING } else { DOMINF_BLOCKED };
    }
    if dom.dying == Dying::Dead {
        flags |= XEN_DOMINF_DYING;
    }
    if let Some(code) = dom.shutdown {
        flags |= XEN_DOMINF_SHUTDOWN | (code as u32) << DOMINF_SHUTDOWN_SHIFT;
    }
    if dom.controller_pause > 0 {
        flags |= XEN_DOMINF_PAUSED;
    }
    if dom.xenstore {
        flags |= DOMINF_XS_DOMAIN;
    }
    if dom.hvm {
        flags |= XEN_DOMINF_HVM_GUEST;
    }
    if dom.hap {
        flags |= XEN_DOMINF_HAP;
    }
    // mfn_to_gfn of the shared-info page: its M2P entry on x86 translated domains (all ones
    // when unmapped), the MFN itself for PV and on Arm.
    let shared_info_frame = if dom.translated && !m.is_arm() {
        m.xenheap.get(&dom.shared_info).and_then(|x| x.gfn).unwrap_or(u64::MAX)
    } else {
        dom.shared_info
    };
    DomctlGetDomainInfo {
        domain: d,
        flags,
        tot_pages: dom.tot_pages(),
        max_pages: dom.max_pages,
        shared_info_frame,
        nr_online_vcpus: dom.online_vcpus,
        max_vcpu_id: dom.vcpus.checked_sub(1).unwrap_or(u32::MAX),
        handle: dom.handle,
        gpaddr_bits: (m.cfg.gfn_bits + 12) as u8,
        arch_config: [dom.emulation_flags, dom.misc_flags],
        ..DomctlGetDomainInfo::default()
    }
}

impl Machine {
    /// createdomain's choice of id: the next free one after the last handed out (the
    /// rover), wrapping below `DOMID_FIRST_RESERVED` to 1; `-ENOMEM` when none is free.
    pub(crate) fn next_free_id(&mut self) -> Result<u16, i32> {
        // Xen's loop, bounded: it never ends when the rover is 0 and every id is taken.
        let mut dom = self.rover.wrapping_add(1);
        let mut tries = 0u32;
        loop {
            if dom == self.rover || tries > DOMID_FIRST_RESERVED as u32 {
                return Err(ENOMEM);
            }
            if dom == DOMID_FIRST_RESERVED {
                dom = 1;
            }
            if !self.domains.contains_key(&dom) {
                break;
            }
            dom += 1;
            tries += 1;
        }
        self.rover = dom;
        Ok(dom)
    }
}

/// createdomain: the id (`-EEXIST` if the one asked for is taken, the rover's next free one
/// for 0 or a reserved id, `-ENOMEM` if none is free), then `domain_create`'s checks.
fn createdomain(m: &mut Machine, op: &XenDomctl) -> Result<u16, i32> {
    let body: [u8; 128] = op.u.as_bytes().try_into().map_err(|_| EFAULT)?;
    let cfg = DomctlCreateDomain::decode(m.cfg.xen.domctl_interface(), &body);
    let asked = op.domain;
    let id = if asked > 0 && asked < DOMID_FIRST_RESERVED {
        if m.domains.contains_key(&asked) {
            return Err(EEXIST);
        }
        asked
    } else {
        m.next_free_id()?
    };
    let n = sanitise(m, id, &cfg)?;
    m.domain_create(n)
}

/// `sanitise_domain_config`, `arch_sanitise_domain_config`, the emulation-flag checks of x86
/// `arch_domain_create`, and `grant_table_init`'s, in that order.
fn sanitise(m: &Machine, id: u16, c: &DomctlCreateDomain) -> Result<NewDomain, i32> {
    let hvm = c.flags & XEN_DOMCTL_CDF_HVM != 0;
    let hap = c.flags & XEN_DOMCTL_CDF_HAP != 0;
    let iommu = c.flags & XEN_DOMCTL_CDF_IOMMU != 0;
    if c.flags & !CDF_ALL != 0 || c.grant_opts & !GRANT_VERSION_MASK != 0 || c.max_vcpus < 1 || (hap && !hvm)
    {
        return Err(EINVAL);
    }
    if iommu {
        if c.iommu_opts & !IOMMU_NO_SHAREPT != 0 || !m.cfg.iommu {
            return Err(EINVAL);
        }
    } else if c.iommu_opts != 0 {
        return Err(EINVAL);
    }
    if (c.vmtrace_size != 0 && !m.cfg.vmtrace_available) || c.flags & CDF_VPMU != 0 {
        return Err(EINVAL);
    }
    let kind = if m.is_arm() {
        if c.flags & !(XEN_DOMCTL_CDF_IOMMU | CDF_VPMU) != XEN_DOMCTL_CDF_HVM | XEN_DOMCTL_CDF_HAP
            || (c.iommu_opts & IOMMU_NO_SHAREPT != 0)
            || c.max_vcpus > ARM_MAX_VCPUS
            || c.altp2m_opts != 0
        {
            return Err(EINVAL);
        }
        DomainKind::Pvh
    } else {
        let max = if hvm { HVM_MAX_VCPUS } else { PV_MAX_VCPUS };
        if c.max_vcpus > max || c.flags & CDF_S3_INTEGRITY != 0 || (hap && !m.cfg.hap) {
            return Err(EINVAL);
        }
        if c.flags & CDF_NESTED_VIRT != 0 && !hap {
            return Err(EINVAL);
        }
        if c.vmtrace_size != 0 {
            let s = c.vmtrace_size;
            if !hvm || !(4096..=64 << 20).contains(&s) || !s.is_power_of_two() {
                return Err(EINVAL);
            }
        }
        if c.arch_misc_flags & !MSR_RELAXED != 0 {
            return Err(EINVAL);
        }
        // altp2m_opts (a release whose createdomain has none decodes it as 0): unknown bits,
        // altp2m with nested virtualisation, or without HAP.
        let altp2m = c.altp2m_opts & ALTP2M_MODE_MASK != 0;
        if c.altp2m_opts & !ALTP2M_MODE_MASK != 0
            || (altp2m && c.flags & CDF_NESTED_VIRT != 0)
            || (altp2m && !hap)
        {
            return Err(EINVAL);
        }
        // arch_domain_create: emulation flags, then paging (no shadow paging in the build).
        let em = c.arch_emulation_flags;
        if em & !EMU_ALL != 0 {
            return Err(EINVAL);
        }
        let ok = if hvm { em == EMU_ALL & !EMU_VPCI || em == EMU_LAPIC } else { em == 0 || em == EMU_PIT };
        if !ok {
            return Err(EOPNOTSUPP);
        }
        if hvm && !hap {
            return Err(EOPNOTSUPP);
        }
        match (hvm, em) {
            (false, _) => DomainKind::Pv,
            (true, EMU_LAPIC) => DomainKind::Pvh,
            (true, _) => DomainKind::Hvm,
        }
    };
    // grant_table_init.
    let version = (c.grant_opts & GRANT_VERSION_MASK) as u8;
    if version == 0 || version > m.gnttab_max_version() {
        return Err(EINVAL);
    }
    let frames = if c.max_grant_frames < 0 {
        m.cfg.max_grant_frames_default as i64
    } else {
        c.max_grant_frames as i64
    };
    let maptrack = if c.max_maptrack_frames < 0 {
        m.cfg.max_maptrack_frames_default as i64
    } else {
        c.max_maptrack_frames as i64
    };
    if frames < 1
        || frames > m.cfg.max_grant_frames_default as i64
        || maptrack > m.cfg.max_maptrack_frames_default as i64
    {
        return Err(EINVAL);
    }
    Ok(NewDomain {
        id,
        kind,
        hap: hap || m.is_arm(),
        control: false,
        hardware: false,
        xenstore: c.flags & CDF_XS_DOMAIN != 0,
        passthrough: false,
        // createdomain never asks for a direct map (Xen's `domain_create(.., false)`).
        directmap: false,
        target: None,
        max_pages: 0,
        max_vcpus: c.max_vcpus,
        vcpus: 0,
        running: false,
        max_grant_frames: frames as u32,
        grant_version: version,
        vmtrace_size: c.vmtrace_size,
        max_evtchn_port: c.max_evtchn_port,
        handle: c.handle,
        emulation_flags: c.arch_emulation_flags,
        misc_flags: c.arch_misc_flags,
        p2m_pool_pages: crate::lifecycle::createdomain_pool_pages(m),
        nested_virt: c.flags & CDF_NESTED_VIRT != 0,
        altp2m: c.altp2m_opts & ALTP2M_MODE_MASK != 0,
    })
}
