//! What the model is built from: the machine's shape and the Xen release it runs
//! ([`MachineConfig`]) and each domain's ([`DomainConfig`]), with Xen's defaults.
//!
//! Plain data; nothing here touches the machine. The numbers come from Xen's sources, named at
//! each field.

use crate::releases::Release;
use xenmem::DomId;

/// The architecture Xen runs on. Where x86 and Arm differ (foreign mappings, xenheap pages
/// already mapped, gmfn spaces, max orders), the model follows the one named here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86_64: PV, PVH and HVM domains.
    X86_64,
    /// arm64: every domain is translated.
    Arm64,
}

/// `memop-max-order` (`xen/common/memory.c`, `max_order()`): the largest extent order a
/// caller may ask for, by what the *caller* is. The largest that applies wins, capped at
/// `MAX_ORDER` (18 on both architectures, `CONFIG_PAGEALLOC_MAX_ORDER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MaxOrders {
    /// Any domain (`CONFIG_DOMU_MAX_ORDER`: 9 on x86 and Arm).
    pub domu: u32,
    /// The control domain (`CONFIG_CTLDOM_MAX_ORDER` = `CONFIG_PAGEALLOC_MAX_ORDER`: 18).
    pub ctldom: u32,
    /// The hardware domain (`CONFIG_HWDOM_MAX_ORDER`: 12 on x86, 10 on Arm).
    pub hwdom: u32,
    /// Domains allowed to flush caches, i.e. with passthrough devices (default: the hwdom value).
    pub ptdom: u32,
}

/// A range of device (MMIO) machine frames, outside RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MmioRange {
    /// First machine frame.
    pub first_mfn: u64,
    /// Number of frames.
    pub count: u64,
}

/// The machine the model runs: its RAM, its limits, and the Xen build options that matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    /// The architecture.
    pub arch: Arch,
    /// The Xen release the model answers as ([`Release::NEWEST`] unless chosen:
    /// [`MachineConfig::with_xen`]).
    pub xen: Release,
    /// Machine RAM in 4 KiB frames, at MFNs `0..frames`.
    pub frames: u64,
    /// `memop-max-order`.
    pub max_order: MaxOrders,
    /// NUMA nodes; RAM is split evenly between them (Arm 4.17 has no NUMA: `MAX_NUMNODES` 1).
    pub numa_nodes: u8,
    /// `gnttab_max_frames` (`opt_max_grant_frames`, 64): the default and the ceiling of a
    /// domain's grant-table size.
    pub max_grant_frames_default: u32,
    /// `gnttab_max_maptrack_frames` (`opt_max_maptrack_frames`, 1024).
    pub max_maptrack_frames_default: u32,
    /// Width of a guest's physical address space in frame-number bits: a GFN at or above
    /// `2^gfn_bits` cannot be mapped (x86 4-level P2M: 36; Arm 40-bit IPA: 28).
    pub gfn_bits: u32,
    /// `CONFIG_IOREQ_SERVER` (on in Debian's x86 build; an EXPERT option, off, on Arm).
    pub ioreq_server: bool,
    /// An IOMMU is present and enabled (domains may ask for `XEN_DOMCTL_CDF_iommu`).
    pub iommu: bool,
    /// Hardware-assisted paging is available (x86; always on Arm).
    pub hap: bool,
    /// Processor trace is available (`vmtrace_available`; false under QEMU).
    pub vmtrace_available: bool,
    /// Device frames the hardware domain may map with `XENMAPSPACE_dev_mmio` (Arm).
    pub mmio: Vec<MmioRange>,
}

impl MachineConfig {
    /// An x86_64 machine with `frames` frames of RAM running the newest release the model
    /// knows, with Xen's defaults (`memop-max-order`
    /// 9,18,12,12; one NUMA node; 64 grant frames; IOREQ servers on; IOMMU and HAP present).
    pub fn x86_64(frames: u64) -> MachineConfig {
        MachineConfig {
            arch: Arch::X86_64,
            xen: Release::NEWEST,
            frames,
            max_order: MaxOrders { domu: 9, ctldom: 18, hwdom: 12, ptdom: 12 },
            numa_nodes: 1,
            max_grant_frames_default: 64,
            max_maptrack_frames_default: 1024,
            gfn_bits: 36,
            ioreq_server: true,
            iommu: true,
            hap: true,
            vmtrace_available: false,
            mmio: Vec::new(),
        }
    }

    /// An arm64 machine with `frames` frames of RAM running the newest release the model
    /// knows, with Xen's defaults (`memop-max-order`
    /// 9,18,10,10; no NUMA; 64 grant frames; no IOREQ servers; one device region of 256 frames
    /// above RAM that the hardware domain may map).
    pub fn arm64(frames: u64) -> MachineConfig {
        let first_mfn = frames.max(0x10_0000).next_power_of_two();
        MachineConfig {
            arch: Arch::Arm64,
            xen: Release::NEWEST,
            frames,
            max_order: MaxOrders { domu: 9, ctldom: 18, hwdom: 10, ptdom: 10 },
            numa_nodes: 1,
            max_grant_frames_default: 64,
            max_maptrack_frames_default: 1024,
            gfn_bits: 28,
            ioreq_server: false,
            iommu: false,
            hap: true,
            vmtrace_available: false,
            mmio: vec![MmioRange { first_mfn, count: 256 }],
        }
    }

    /// The same machine running Xen release `xen`.
    pub fn with_xen(self, xen: Release) -> MachineConfig {
        MachineConfig { xen, ..self }
    }

    /// The machine of the given architecture with Xen's defaults.
    pub fn new(arch: Arch, frames: u64) -> MachineConfig {
        match arch {
            Arch::X86_64 => MachineConfig::x86_64(frames),
            Arch::Arm64 => MachineConfig::arm64(frames),
        }
    }
}

/// How a domain runs. On Arm every domain is translated: `Pvh` and `Hvm` both mean that, and
/// `Pv` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainKind {
    /// x86 paravirtual: not translated; Xen's view of its physmap is the machine's.
    Pv,
    /// HVM container without emulated devices: translated.
    Pvh,
    /// Fully virtualised: translated.
    Hvm,
}

impl DomainKind {
    /// Whether Xen translates the domain's physical addresses (`paging_mode_translate`).
    pub const fn is_translated(self) -> bool {
        !matches!(self, DomainKind::Pv)
    }
}

/// A domain as a domain builder (or Xen's own dom0 construction) would make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    /// The id; `None` picks the next free one as `XEN_DOMCTL_createdomain` does.
    pub id: Option<u16>,
    /// PV, PVH or HVM.
    pub kind: DomainKind,
    /// The control domain (`is_privileged`): XSM's `XSM_PRIV`.
    pub control: bool,
    /// The hardware domain: may map MMIO, gets the hwdom max order, and on x86 is the only
    /// translated domain allowed foreign mappings and acquire_resource.
    pub hardware: bool,
    /// The xenstore domain (`XEN_DOMCTL_CDF_xs_domain`).
    pub xenstore: bool,
    /// Has passthrough devices (`cache_flush_permitted`): gets the ptdom max order.
    pub passthrough: bool,
    /// `max_pages` (Xen keeps it as a 32-bit count; larger values are clamped).
    pub max_pages: u64,
    /// The domain this one is the device model of (`d->target`): XSM's `XSM_DM_PRIV`.
    pub target: Option<DomId>,
    /// Grant-table frames the table may grow to (`max_grant_frames`).
    pub max_grant_frames: u32,
    /// Maptrack frames (`max_maptrack_frames`).
    pub max_maptrack_frames: u32,
    /// The highest grant-table version the domain may use (`grant_opts`). The table starts
    /// in version 1, as in Xen; [`crate::Sim::set_grant_version`] stands in for
    /// `GNTTABOP_set_version`.
    pub grant_version: u8,
    /// vCPUs (all created and online).
    pub max_vcpus: u32,
    /// Per-vCPU processor-trace buffer in bytes (0: none).
    pub vmtrace_size: u32,
}

impl DomainConfig {
    /// Domain 0 as Xen builds it: control and hardware domain, no page limit (`max_pages`
    /// `u32::MAX`, as with `dom0_mem=` without `max:`), 64 grant frames, grant v2 allowed
    /// (v1 on Arm), one vCPU.
    pub fn dom0(kind: DomainKind) -> DomainConfig {
        DomainConfig {
            id: Some(0),
            kind,
            control: true,
            hardware: true,
            xenstore: false,
            passthrough: false,
            max_pages: u32::MAX as u64,
            target: None,
            max_grant_frames: 64,
            max_maptrack_frames: 1024,
            grant_version: 2,
            max_vcpus: 1,
            vmtrace_size: 0,
        }
    }

    /// An unprivileged guest: next free id, 65,536 pages (256 MiB) allowed, 32 grant frames
    /// (libxl's default), grant v2 allowed (v1 on Arm), one vCPU.
    pub fn domu(kind: DomainKind) -> DomainConfig {
        DomainConfig {
            id: None,
            kind,
            control: false,
            hardware: false,
            xenstore: false,
            passthrough: false,
            max_pages: 65_536,
            target: None,
            max_grant_frames: 32,
            max_maptrack_frames: 1024,
            grant_version: 2,
            max_vcpus: 1,
            vmtrace_size: 0,
        }
    }
}
