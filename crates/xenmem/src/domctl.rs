//! Ready-made domctl bodies for the domains a toolstack commonly creates.

use crate::abi::domctl::*;

/// A PVH domU as Xen 4.17 and 4.20 accepted it here (XEN-FACTS): HVM + HAP, LAPIC-only
/// emulation, grant v1, no altp2m, `max_grant_frames` as given, 1024 maptrack frames, event
/// ports up to 1023.
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
        altp2m_opts: 0,
        vmtrace_size: 0,
        cpupool_id: 0,
        arch_emulation_flags: XEN_X86_EMU_LAPIC,
        arch_misc_flags: 0,
    }
}

/// An Arm domU as Xen 4.17 and 4.20 accept it (`arch_sanitise_domain_config`): every Arm guest is
/// `hvm|hap`, the virtual GIC is the host's version (`XEN_DOMCTL_CONFIG_GIC_NATIVE`), no TEE,
/// no extra SPIs; grant v1 (Arm has no v2), `max_grant_frames` as given, 1024 maptrack
/// frames, event ports up to 1023.
pub const fn arm_domu(max_vcpus: u32, max_grant_frames: i32) -> DomctlCreateDomain {
    let arch = ArchDomainConfigArm {
        gic_version: XEN_DOMCTL_CONFIG_GIC_NATIVE,
        _pad: 0,
        tee_type: XEN_DOMCTL_CONFIG_TEE_NONE,
        nr_spis: 0,
        clock_frequency: 0,
    };
    let (arch_emulation_flags, arch_misc_flags) = arch.in_words();
    DomctlCreateDomain { arch_emulation_flags, arch_misc_flags, ..pvh_domu(max_vcpus, max_grant_frames) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomctlInterface;
    use zerocopy::IntoBytes;

    #[test]
    fn arm_arch_config_lands_where_xen_reads_it() {
        // gic_version, tee_type and nr_spis at 56, 58, 60 of xen_domctl_createdomain (Arm)
        // up to 4.18; at 60, 62, 64 from 4.19.
        let arch =
            ArchDomainConfigArm { gic_version: 2, _pad: 0, tee_type: 1, nr_spis: 0x20, clock_frequency: 0 };
        let (emulation, misc) = arch.in_words();
        let cfg =
            DomctlCreateDomain { arch_emulation_flags: emulation, arch_misc_flags: misc, ..arm_domu(1, 32) };
        for (iface, at) in [(DomctlInterface::V15, 56), (DomctlInterface::V17, 60)] {
            let mut body = [0u8; 128];
            cfg.encode(iface, &mut body).unwrap();
            assert_eq!(&body[at..at + 8], &[2, 0, 1, 0, 0x20, 0, 0, 0]);
            assert_eq!(&arch.as_bytes()[..8], &body[at..at + 8]);
            assert_eq!(DomctlCreateDomain::decode(iface, &body), cfg);
        }
        let domu = arm_domu(1, 32);
        assert_eq!(domu.flags, XEN_DOMCTL_CDF_HVM | XEN_DOMCTL_CDF_HAP);
        assert_eq!((domu.arch_emulation_flags, domu.arch_misc_flags), (0, 0));
    }
}
