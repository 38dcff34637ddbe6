//! Ready-made domctl bodies for the domains a toolstack commonly creates.

use crate::abi::domctl::*;

/// A PVH domU as Xen 4.17 accepted it here (XEN-FACTS): HVM + HAP, LAPIC-only emulation,
/// grant v1, `max_grant_frames` as given, 1024 maptrack frames, event ports up to 1023.
pub const fn pvh_domu(max_vcpus: u32, max_grant_frames: i32) -> DomctlCreateDomain {
    DomctlCreateDomain {
        ssidref: 0,
        handle: [0; 16],
        flags: XEN_DOMCTL_CDF_HVM | XEN_DOMCTL_CDF_HAP,
        iommu_opts: 0,
        max_vcpus,
        max_evtchn_port: 1023,
        max_grant_frames,
        max_maptrack_frames: 1024,
        grant_opts: XEN_DOMCTL_GRANT_VERSION_1,
        vmtrace_size: 0,
        cpupool_id: 0,
        arch_emulation_flags: XEN_X86_EMU_LAPIC,
        arch_misc_flags: 0,
    }
}
