//! The few `domctl` commands a toolstack needs to create a second domain
//! (`xen/include/public/domctl.h`). domctl is the control domain's hypercall; the conformance
//! suite uses it to build a target domain on real Xen and on the model alike.
//!
//! domctl is not a stable interface: every call carries `XEN_DOMCTL_INTERFACE_VERSION`, which
//! Xen checks (`-EACCES` on a mismatch), and structs change between releases
//! ([`crate::version::DomctlInterface`]). The structs here whose layout differs per release
//! exist once per layout ([`CreateDomainV15`], [`CreateDomainV17`]); [`DomctlCreateDomain`] is
//! the release-neutral form the library marshals into the right one. Offsets were checked
//! against Debian 12's (Xen 4.17) and Debian 13's (Xen 4.20) libxen-dev headers
//! (`tests/abi_headers.rs`).

use crate::version::DomctlInterface;
use crate::Invalid;
use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XEN_DOMCTL_createdomain`.
pub const XEN_DOMCTL_CREATEDOMAIN: u32 = 1;
/// `XEN_DOMCTL_destroydomain`.
pub const XEN_DOMCTL_DESTROYDOMAIN: u32 = 2;
/// `XEN_DOMCTL_pausedomain`.
pub const XEN_DOMCTL_PAUSEDOMAIN: u32 = 3;
/// `XEN_DOMCTL_unpausedomain`.
pub const XEN_DOMCTL_UNPAUSEDOMAIN: u32 = 4;
/// `XEN_DOMCTL_getdomaininfo`.
pub const XEN_DOMCTL_GETDOMAININFO: u32 = 5;
/// `XEN_DOMCTL_max_mem`.
pub const XEN_DOMCTL_MAX_MEM: u32 = 11;
/// `XEN_DOMCTL_max_vcpus`.
pub const XEN_DOMCTL_MAX_VCPUS: u32 = 15;
/// `XEN_DOMCTL_gethvmcontext`.
pub const XEN_DOMCTL_GETHVMCONTEXT: u32 = 33;
/// `XEN_DOMCTL_sethvmcontext`.
pub const XEN_DOMCTL_SETHVMCONTEXT: u32 = 34;
/// `XEN_DOMCTL_set_paging_mempool_size`: the bytes of the domain's P2M pool (`u64` at the
/// start of the body, a multiple of the page size).
pub const XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE: u32 = 86;

/// createdomain flags (`XEN_DOMCTL_CDF_*`).
pub const XEN_DOMCTL_CDF_HVM: u32 = 1 << 0;
/// Hardware-assisted paging.
pub const XEN_DOMCTL_CDF_HAP: u32 = 1 << 1;
/// The domain has an IOMMU context.
pub const XEN_DOMCTL_CDF_IOMMU: u32 = 1 << 5;
/// x86 emulation flag: the local APIC only (a PVH domain).
pub const XEN_X86_EMU_LAPIC: u32 = 1 << 0;
/// grant_opts: grant-table version 1.
pub const XEN_DOMCTL_GRANT_VERSION_1: u32 = 1;

/// Arm `xen_arch_domainconfig.gic_version`: the host's GIC (Xen writes back which version).
pub const XEN_DOMCTL_CONFIG_GIC_NATIVE: u8 = 0;
/// Arm: an emulated GICv2.
pub const XEN_DOMCTL_CONFIG_GIC_V2: u8 = 1;
/// Arm: an emulated GICv3.
pub const XEN_DOMCTL_CONFIG_GIC_V3: u8 = 2;
/// Arm `xen_arch_domainconfig.tee_type`: no trusted execution environment mediator.
pub const XEN_DOMCTL_CONFIG_TEE_NONE: u16 = 0;

/// getdomaininfo flags (`XEN_DOMINF_*`).
pub const XEN_DOMINF_DYING: u32 = 1 << 0;
/// The domain is HVM (or PVH).
pub const XEN_DOMINF_HVM_GUEST: u32 = 1 << 1;
/// The domain has shut down (the reason is in bits 16..23).
pub const XEN_DOMINF_SHUTDOWN: u32 = 1 << 2;
/// The domain is paused.
pub const XEN_DOMINF_PAUSED: u32 = 1 << 3;
/// The domain uses hardware-assisted paging.
pub const XEN_DOMINF_HAP: u32 = 1 << 8;

/// `struct xen_domctl`: a 16-byte header and a 128-byte union of command bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDomctl {
    /// `XEN_DOMCTL_*`.
    pub cmd: u32,
    /// The running Xen's `XEN_DOMCTL_INTERFACE_VERSION`
    /// ([`crate::version::DomctlInterface::interface_version`]); [`crate::Xen::domctl`]
    /// fills it in.
    pub interface_version: u32,
    /// Target domain (IN); the new domain's id after createdomain (OUT).
    pub domain: u16,
    /// Padding of the C struct.
    pub _pad: [u16; 3],
    /// The command's body (see the `Domctl*` structs), 8-aligned.
    pub u: [u64; 16],
}

impl XenDomctl {
    /// A domctl for `cmd` on `domain` with a zeroed body. Its `interface_version` is 0 until
    /// [`crate::Xen::domctl`] sets the running hypervisor's.
    pub const fn new(cmd: u32, domain: u16) -> Self {
        XenDomctl { cmd, interface_version: 0, domain, _pad: [0; 3], u: [0; 16] }
    }

    /// The body as bytes.
    pub fn body(&self) -> &[u8] {
        self.u.as_bytes()
    }

    /// The body as bytes, to fill.
    pub fn body_mut(&mut self) -> &mut [u8] {
        self.u.as_mut_bytes()
    }
}

/// `struct xen_domctl_createdomain`, release-neutral: every input field any supported
/// release has. [`DomctlCreateDomain::encode`] writes it in the running release's layout;
/// [`DomctlCreateDomain::decode`] reads one (the model's side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomctlCreateDomain {
    /// XSM label (0 without XSM).
    pub ssidref: u32,
    /// The toolstack's handle (a UUID).
    pub handle: [u8; 16],
    /// `XEN_DOMCTL_CDF_*`.
    pub flags: u32,
    /// IOMMU options.
    pub iommu_opts: u32,
    /// vCPUs the domain may have.
    pub max_vcpus: u32,
    /// Highest event channel port.
    pub max_evtchn_port: u32,
    /// Grant-table frames the domain may grow to (-1: Xen's default).
    pub max_grant_frames: i32,
    /// Maptrack frames (-1: Xen's default).
    pub max_maptrack_frames: i32,
    /// Grant options: version in the low 4 bits (0 is refused).
    pub grant_opts: u32,
    /// altp2m mode (`XEN_DOMCTL_ALTP2M_*`, Xen 4.19 on; must be 0 for earlier releases).
    pub altp2m_opts: u32,
    /// Processor-trace buffer size in bytes.
    pub vmtrace_size: u32,
    /// CPU pool.
    pub cpupool_id: u32,
    /// x86: `XEN_X86_EMU_*`; Arm: GIC version and TEE type (same 4 bytes).
    pub arch_emulation_flags: u32,
    /// x86: misc flags; Arm: `nr_spis`.
    pub arch_misc_flags: u32,
}

/// `xen_domctl_createdomain` of interfaces 0x15 and 0x16 (Xen 4.17, 4.18): 64 bytes on x86;
/// Arm's is 68, its output-only `clock_frequency` lying past these 64 in the domctl union.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct CreateDomainV15 {
    /// See [`DomctlCreateDomain`].
    pub ssidref: u32,
    /// See [`DomctlCreateDomain`].
    pub handle: [u8; 16],
    /// See [`DomctlCreateDomain`].
    pub flags: u32,
    /// See [`DomctlCreateDomain`].
    pub iommu_opts: u32,
    /// See [`DomctlCreateDomain`].
    pub max_vcpus: u32,
    /// See [`DomctlCreateDomain`].
    pub max_evtchn_port: u32,
    /// See [`DomctlCreateDomain`].
    pub max_grant_frames: i32,
    /// See [`DomctlCreateDomain`].
    pub max_maptrack_frames: i32,
    /// See [`DomctlCreateDomain`].
    pub grant_opts: u32,
    /// See [`DomctlCreateDomain`].
    pub vmtrace_size: u32,
    /// See [`DomctlCreateDomain`].
    pub cpupool_id: u32,
    /// The arch part's first word (`struct xen_arch_domainconfig` starts here).
    pub arch_emulation_flags: u32,
    /// The arch part's second word.
    pub arch_misc_flags: u32,
}

/// `xen_domctl_createdomain` of interface 0x17 (Xen 4.19, 4.20): `altp2m_opts` after
/// `grant_opts`; 68 bytes on x86, 72 on Arm (output-only `clock_frequency` past these 68).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct CreateDomainV17 {
    /// See [`DomctlCreateDomain`].
    pub ssidref: u32,
    /// See [`DomctlCreateDomain`].
    pub handle: [u8; 16],
    /// See [`DomctlCreateDomain`].
    pub flags: u32,
    /// See [`DomctlCreateDomain`].
    pub iommu_opts: u32,
    /// See [`DomctlCreateDomain`].
    pub max_vcpus: u32,
    /// See [`DomctlCreateDomain`].
    pub max_evtchn_port: u32,
    /// See [`DomctlCreateDomain`].
    pub max_grant_frames: i32,
    /// See [`DomctlCreateDomain`].
    pub max_maptrack_frames: i32,
    /// See [`DomctlCreateDomain`].
    pub grant_opts: u32,
    /// See [`DomctlCreateDomain`].
    pub altp2m_opts: u32,
    /// See [`DomctlCreateDomain`].
    pub vmtrace_size: u32,
    /// See [`DomctlCreateDomain`].
    pub cpupool_id: u32,
    /// The arch part's first word (`struct xen_arch_domainconfig` starts here).
    pub arch_emulation_flags: u32,
    /// The arch part's second word.
    pub arch_misc_flags: u32,
}

impl DomctlCreateDomain {
    /// Writes the input fields into `body` (the domctl union) in `iface`'s layout.
    ///
    /// # Errors
    ///
    /// [`Invalid::CreateDomainField`] for a non-zero `altp2m_opts` on an interface without it.
    pub fn encode(&self, iface: DomctlInterface, body: &mut [u8; 128]) -> Result<(), Invalid> {
        let c = *self;
        if iface.createdomain_has_altp2m_opts() {
            let raw = CreateDomainV17 {
                ssidref: c.ssidref,
                handle: c.handle,
                flags: c.flags,
                iommu_opts: c.iommu_opts,
                max_vcpus: c.max_vcpus,
                max_evtchn_port: c.max_evtchn_port,
                max_grant_frames: c.max_grant_frames,
                max_maptrack_frames: c.max_maptrack_frames,
                grant_opts: c.grant_opts,
                altp2m_opts: c.altp2m_opts,
                vmtrace_size: c.vmtrace_size,
                cpupool_id: c.cpupool_id,
                arch_emulation_flags: c.arch_emulation_flags,
                arch_misc_flags: c.arch_misc_flags,
            };
            body[..size_of::<CreateDomainV17>()].copy_from_slice(raw.as_bytes());
        } else {
            if c.altp2m_opts != 0 {
                return Err(Invalid::CreateDomainField);
            }
            let raw = CreateDomainV15 {
                ssidref: c.ssidref,
                handle: c.handle,
                flags: c.flags,
                iommu_opts: c.iommu_opts,
                max_vcpus: c.max_vcpus,
                max_evtchn_port: c.max_evtchn_port,
                max_grant_frames: c.max_grant_frames,
                max_maptrack_frames: c.max_maptrack_frames,
                grant_opts: c.grant_opts,
                vmtrace_size: c.vmtrace_size,
                cpupool_id: c.cpupool_id,
                arch_emulation_flags: c.arch_emulation_flags,
                arch_misc_flags: c.arch_misc_flags,
            };
            body[..size_of::<CreateDomainV15>()].copy_from_slice(raw.as_bytes());
        }
        Ok(())
    }

    /// Reads the input fields from `body` (the domctl union) in `iface`'s layout, as Xen of
    /// that interface does.
    pub fn decode(iface: DomctlInterface, body: &[u8; 128]) -> DomctlCreateDomain {
        if iface.createdomain_has_altp2m_opts() {
            let r = CreateDomainV17::read_from_prefix(body).map(|(r, _)| r).unwrap_or_default();
            DomctlCreateDomain {
                ssidref: r.ssidref,
                handle: r.handle,
                flags: r.flags,
                iommu_opts: r.iommu_opts,
                max_vcpus: r.max_vcpus,
                max_evtchn_port: r.max_evtchn_port,
                max_grant_frames: r.max_grant_frames,
                max_maptrack_frames: r.max_maptrack_frames,
                grant_opts: r.grant_opts,
                altp2m_opts: r.altp2m_opts,
                vmtrace_size: r.vmtrace_size,
                cpupool_id: r.cpupool_id,
                arch_emulation_flags: r.arch_emulation_flags,
                arch_misc_flags: r.arch_misc_flags,
            }
        } else {
            let r = CreateDomainV15::read_from_prefix(body).map(|(r, _)| r).unwrap_or_default();
            DomctlCreateDomain {
                ssidref: r.ssidref,
                handle: r.handle,
                flags: r.flags,
                iommu_opts: r.iommu_opts,
                max_vcpus: r.max_vcpus,
                max_evtchn_port: r.max_evtchn_port,
                max_grant_frames: r.max_grant_frames,
                max_maptrack_frames: r.max_maptrack_frames,
                grant_opts: r.grant_opts,
                altp2m_opts: 0,
                vmtrace_size: r.vmtrace_size,
                cpupool_id: r.cpupool_id,
                arch_emulation_flags: r.arch_emulation_flags,
                arch_misc_flags: r.arch_misc_flags,
            }
        }
    }
}

/// Arm's `struct xen_arch_domainconfig` (`public/arch-arm.h`), the arch part of createdomain
/// (at offset 56 up to Xen 4.18, 60 from 4.19). Its input fields fill the 8 bytes that x86
/// uses for `emulation_flags` and `misc_flags` ([`ArchDomainConfigArm::in_words`]);
/// `clock_frequency` is output only and lies past them, in the rest of the domctl union
/// (Arm's createdomain is 68 bytes on 4.17, checked with Debian's 4.17 headers and
/// `aarch64-linux-gnu-gcc`; 72 from 4.19).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct ArchDomainConfigArm {
    /// `XEN_DOMCTL_CONFIG_GIC_*` (IN/OUT).
    pub gic_version: u8,
    /// Padding up to Xen 4.17; from 4.18 `sve_vl`, the SVE vector length / 128 (0: none).
    pub _pad: u8,
    /// `XEN_DOMCTL_CONFIG_TEE_*` (IN).
    pub tee_type: u16,
    /// Shared peripheral interrupts of the virtual GIC beyond its default (IN).
    pub nr_spis: u32,
    /// The timer's frequency from the host device tree, 0 when absent (OUT).
    pub clock_frequency: u32,
}

impl ArchDomainConfigArm {
    /// The input fields as [`DomctlCreateDomain`]'s `arch_emulation_flags` and
    /// `arch_misc_flags` (the arch part's two words, little endian).
    pub const fn in_words(&self) -> (u32, u32) {
        (self.gic_version as u32 | (self.tee_type as u32) << 16, self.nr_spis)
    }
}

/// `struct xen_domctl_getdomaininfo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DomctlGetDomainInfo {
    /// The domain found (the first with an id at or above the one asked).
    pub domain: u16,
    /// Padding of the C struct.
    pub _pad0: u16,
    /// `XEN_DOMINF_*`.
    pub flags: u32,
    /// Pages owned.
    pub tot_pages: u64,
    /// Page limit.
    pub max_pages: u64,
    /// Claimed, not yet allocated.
    pub outstanding_pages: u64,
    /// Shared pages.
    pub shr_pages: u64,
    /// Paged-out pages.
    pub paged_pages: u64,
    /// MFN of the shared-info page.
    pub shared_info_frame: u64,
    /// CPU time used (ns).
    pub cpu_time: u64,
    /// vCPUs online.
    pub nr_online_vcpus: u32,
    /// Highest vCPU id.
    pub max_vcpu_id: u32,
    /// XSM label.
    pub ssidref: u32,
    /// The toolstack's handle.
    pub handle: [u8; 16],
    /// CPU pool.
    pub cpupool: u32,
    /// Guest-physical address width.
    pub gpaddr_bits: u8,
    /// Padding of the C struct.
    pub _pad1: [u8; 7],
    /// The arch part of the creation config.
    pub arch_config: [u32; 2],
}

const _: () = {
    assert!(size_of::<XenDomctl>() == 144);
    assert!(offset_of!(XenDomctl, interface_version) == 4);
    assert!(offset_of!(XenDomctl, domain) == 8);
    assert!(offset_of!(XenDomctl, u) == 16);
    assert!(size_of::<CreateDomainV15>() == 64);
    assert!(offset_of!(CreateDomainV15, handle) == 4);
    assert!(offset_of!(CreateDomainV15, flags) == 20);
    assert!(offset_of!(CreateDomainV15, max_vcpus) == 28);
    assert!(offset_of!(CreateDomainV15, max_grant_frames) == 36);
    assert!(offset_of!(CreateDomainV15, grant_opts) == 44);
    assert!(offset_of!(CreateDomainV15, cpupool_id) == 52);
    assert!(offset_of!(CreateDomainV15, arch_emulation_flags) == 56);
    assert!(offset_of!(CreateDomainV15, arch_misc_flags) == 60);
    assert!(size_of::<CreateDomainV17>() == 68);
    assert!(offset_of!(CreateDomainV17, grant_opts) == 44);
    assert!(offset_of!(CreateDomainV17, altp2m_opts) == 48);
    assert!(offset_of!(CreateDomainV17, vmtrace_size) == 52);
    assert!(offset_of!(CreateDomainV17, cpupool_id) == 56);
    assert!(offset_of!(CreateDomainV17, arch_emulation_flags) == 60);
    assert!(offset_of!(CreateDomainV17, arch_misc_flags) == 64);
    assert!(size_of::<ArchDomainConfigArm>() == 12);
    assert!(offset_of!(ArchDomainConfigArm, tee_type) == 2);
    assert!(offset_of!(ArchDomainConfigArm, nr_spis) == 4);
    assert!(offset_of!(ArchDomainConfigArm, clock_frequency) == 8);
    // Arm's arch part (12 bytes) starts where x86's emulation_flags does: 56 + 12 = 68 and
    // 60 + 12 = 72 bytes on Arm.
    assert!(size_of::<DomctlGetDomainInfo>() == 112);
    assert!(offset_of!(DomctlGetDomainInfo, flags) == 4);
    assert!(offset_of!(DomctlGetDomainInfo, tot_pages) == 8);
    assert!(offset_of!(DomctlGetDomainInfo, max_pages) == 16);
    assert!(offset_of!(DomctlGetDomainInfo, shared_info_frame) == 48);
    assert!(offset_of!(DomctlGetDomainInfo, nr_online_vcpus) == 64);
    assert!(offset_of!(DomctlGetDomainInfo, handle) == 76);
    assert!(offset_of!(DomctlGetDomainInfo, cpupool) == 92);
    assert!(offset_of!(DomctlGetDomainInfo, gpaddr_bits) == 96);
    assert!(offset_of!(DomctlGetDomainInfo, arch_config) == 104);
};
