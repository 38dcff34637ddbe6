//! xenmem's ABI against Xen's own public headers: `tests/abi/headers.c` prints every number
//! and layout from Debian's libxen-dev (Xen 4.17), this test prints the same list from our
//! definitions, and the two must agree line for line.
//!
//! Needs a C compiler and `/usr/include/xen`. Without them the test says so and passes,
//! unless `XENMEM_REQUIRE_XEN_HEADERS` is set (as `.ci/run` does after installing them).

use std::fmt::Write as _;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;
use xenmem::abi::domctl::*;
use xenmem::abi::*;

fn ours() -> String {
    let mut s = String::new();
    let mut v = |name: &str, val: u64| writeln!(s, "{name} {val}").unwrap();
    v("HYPERVISOR_memory_op", HYPERVISOR_MEMORY_OP.into());
    v("HYPERVISOR_multicall", HYPERVISOR_MULTICALL.into());
    v("HYPERVISOR_xen_version", HYPERVISOR_XEN_VERSION.into());
    v("HYPERVISOR_console_io", HYPERVISOR_CONSOLE_IO.into());
    v("HYPERVISOR_grant_table_op", HYPERVISOR_GRANT_TABLE_OP.into());
    v("HYPERVISOR_sched_op", HYPERVISOR_SCHED_OP.into());
    v("HYPERVISOR_event_channel_op", HYPERVISOR_EVENT_CHANNEL_OP.into());
    v("HYPERVISOR_hvm_op", HYPERVISOR_HVM_OP.into());
    v("HYPERVISOR_domctl", HYPERVISOR_DOMCTL.into());
    v("HYPERVISOR_dm_op", HYPERVISOR_DM_OP.into());
    v("XENMEM_increase_reservation", XENMEM_INCREASE_RESERVATION.into());
    v("XENMEM_decrease_reservation", XENMEM_DECREASE_RESERVATION.into());
    v("XENMEM_maximum_ram_page", XENMEM_MAXIMUM_RAM_PAGE.into());
    v("XENMEM_current_reservation", XENMEM_CURRENT_RESERVATION.into());
    v("XENMEM_maximum_reservation", XENMEM_MAXIMUM_RESERVATION.into());
    v("XENMEM_populate_physmap", XENMEM_POPULATE_PHYSMAP.into());
    v("XENMEM_add_to_physmap", XENMEM_ADD_TO_PHYSMAP.into());
    v("XENMEM_memory_map", XENMEM_MEMORY_MAP.into());
    v("XENMEM_machine_memory_map", XENMEM_MACHINE_MEMORY_MAP.into());
    v("XENMEM_exchange", XENMEM_EXCHANGE.into());
    v("XENMEM_maximum_gpfn", XENMEM_MAXIMUM_GPFN.into());
    v("XENMEM_remove_from_physmap", XENMEM_REMOVE_FROM_PHYSMAP.into());
    v("XENMEM_add_to_physmap_batch", XENMEM_ADD_TO_PHYSMAP_BATCH.into());
    v("XENMEM_acquire_resource", XENMEM_ACQUIRE_RESOURCE.into());
    v("XENMAPSPACE_shared_info", XENMAPSPACE_SHARED_INFO.into());
    v("XENMAPSPACE_grant_table", XENMAPSPACE_GRANT_TABLE.into());
    v("XENMAPSPACE_gmfn", XENMAPSPACE_GMFN.into());
    v("XENMAPSPACE_gmfn_range", XENMAPSPACE_GMFN_RANGE.into());
    v("XENMAPSPACE_gmfn_foreign", XENMAPSPACE_GMFN_FOREIGN.into());
    v("XENMAPSPACE_dev_mmio", XENMAPSPACE_DEV_MMIO.into());
    v("XENMAPIDX_grant_table_status", XENMAPIDX_GRANT_TABLE_STATUS);
    v("XENMEM_resource_ioreq_server", XENMEM_RESOURCE_IOREQ_SERVER.into());
    v("XENMEM_resource_grant_table", XENMEM_RESOURCE_GRANT_TABLE.into());
    v("XENMEM_resource_vmtrace_buf", XENMEM_RESOURCE_VMTRACE_BUF.into());
    v("XENMEM_resource_grant_table_id_shared", XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED.into());
    v("XENMEM_resource_grant_table_id_status", XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS.into());
    v("XENMEM_resource_ioreq_server_frame_bufioreq", XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ);
    v("XENMEM_resource_ioreq_server_frame_ioreq(3)", xenmem_resource_ioreq_server_frame_ioreq(3));
    v("XENMEMF_address_bits(37)", xenmem::MemFlags::empty().with_address_bits(37).raw().into());
    v("XENMEMF_node(5)", xenmem::MemFlags::empty().with_node(5).raw().into());
    v("XENMEMF_populate_on_demand", XENMEMF_POPULATE_ON_DEMAND.into());
    v("XENMEMF_exact_node_request", XENMEMF_EXACT_NODE_REQUEST.into());
    v("XENMEMF_vnode", XENMEMF_VNODE.into());
    v("DOMID_SELF", DOMID_SELF.into());
    v("DOMID_FIRST_RESERVED", DOMID_FIRST_RESERVED.into());
    v("DOMID_IO", DOMID_IO.into());
    v("DOMID_XEN", DOMID_XEN.into());
    v("DOMID_COW", DOMID_COW.into());
    v("DOMID_INVALID", DOMID_INVALID.into());
    v("DOMID_IDLE", DOMID_IDLE.into());
    macro_rules! layout {
        ($c:literal, $t:ty, $($cf:literal => $f:ident),*) => {
            v(concat!("sizeof ", $c), size_of::<$t>() as u64);
            $( v(concat!("offsetof ", $c, ".", $cf), offset_of!($t, $f) as u64); )*
        };
    }
    layout!("xen_memory_reservation", XenMemoryReservation,
        "extent_start" => extent_start, "nr_extents" => nr_extents, "extent_order" => extent_order,
        "mem_flags" => mem_flags, "domid" => domid);
    layout!("xen_add_to_physmap", XenAddToPhysmap,
        "domid" => domid, "size" => size, "space" => space, "idx" => idx, "gpfn" => gpfn);
    layout!("xen_add_to_physmap_batch", XenAddToPhysmapBatch,
        "domid" => domid, "space" => space, "size" => size, "u.foreign_domid" => foreign_domid,
        "idxs" => idxs, "gpfns" => gpfns, "errs" => errs);
    layout!("xen_remove_from_physmap", XenRemoveFromPhysmap, "domid" => domid, "gpfn" => gpfn);
    layout!("xen_mem_acquire_resource", XenMemAcquireResource,
        "domid" => domid, "type" => r#type, "id" => id, "nr_frames" => nr_frames, "pad" => pad,
        "frame" => frame, "frame_list" => frame_list);
    layout!("xen_memory_map", XenMemoryMap, "nr_entries" => nr_entries, "buffer" => buffer);
    v("XEN_DOMCTL_INTERFACE_VERSION", XEN_DOMCTL_INTERFACE_VERSION.into());
    v("XEN_DOMCTL_createdomain", XEN_DOMCTL_CREATEDOMAIN.into());
    v("XEN_DOMCTL_destroydomain", XEN_DOMCTL_DESTROYDOMAIN.into());
    v("XEN_DOMCTL_pausedomain", XEN_DOMCTL_PAUSEDOMAIN.into());
    v("XEN_DOMCTL_unpausedomain", XEN_DOMCTL_UNPAUSEDOMAIN.into());
    v("XEN_DOMCTL_getdomaininfo", XEN_DOMCTL_GETDOMAININFO.into());
    v("XEN_DOMCTL_max_mem", XEN_DOMCTL_MAX_MEM.into());
    v("XEN_DOMCTL_max_vcpus", XEN_DOMCTL_MAX_VCPUS.into());
    v("XEN_DOMCTL_gethvmcontext", XEN_DOMCTL_GETHVMCONTEXT.into());
    v("XEN_DOMCTL_sethvmcontext", XEN_DOMCTL_SETHVMCONTEXT.into());
    v("XEN_DOMCTL_CDF_hvm", XEN_DOMCTL_CDF_HVM.into());
    v("XEN_DOMCTL_CDF_hap", XEN_DOMCTL_CDF_HAP.into());
    v("XEN_DOMCTL_CDF_iommu", XEN_DOMCTL_CDF_IOMMU.into());
    v("XEN_X86_EMU_LAPIC", XEN_X86_EMU_LAPIC.into());
    v("XEN_DOMINF_dying", XEN_DOMINF_DYING.into());
    v("XEN_DOMINF_hvm_guest", XEN_DOMINF_HVM_GUEST.into());
    v("XEN_DOMINF_shutdown", XEN_DOMINF_SHUTDOWN.into());
    v("XEN_DOMINF_paused", XEN_DOMINF_PAUSED.into());
    v("XEN_DOMINF_hap", XEN_DOMINF_HAP.into());
    layout!("xen_domctl", XenDomctl, "interface_version" => interface_version, "domain" => domain, "u" => u);
    layout!("xen_domctl_createdomain", DomctlCreateDomain,
        "handle" => handle, "flags" => flags, "max_vcpus" => max_vcpus,
        "max_grant_frames" => max_grant_frames, "grant_opts" => grant_opts,
        "cpupool_id" => cpupool_id, "arch" => arch_emulation_flags);
    layout!("xen_domctl_getdomaininfo", DomctlGetDomainInfo,
        "flags" => flags, "tot_pages" => tot_pages, "max_pages" => max_pages,
        "shared_info_frame" => shared_info_frame, "nr_online_vcpus" => nr_online_vcpus,
        "handle" => handle, "cpupool" => cpupool, "gpaddr_bits" => gpaddr_bits,
        "arch_config" => arch_config);
    s
}

#[test]
fn abi_matches_xens_public_headers() {
    let required = std::env::var_os("XENMEM_REQUIRE_XEN_HEADERS").is_some();
    if !std::path::Path::new("/usr/include/xen/memory.h").exists() {
        assert!(
            !required,
            "XENMEM_REQUIRE_XEN_HEADERS is set but /usr/include/xen is missing (apt-get install libxen-dev)"
        );
        eprintln!("skipped: Xen's public headers are not installed (apt-get install libxen-dev)");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/abi");
    let exe = std::env::temp_dir().join(format!("xenmem-abi-headers-{}", std::process::id()));
    let cc = Command::new("cc").arg("-o").arg(&exe).arg(dir.join("headers.c")).status().expect("run cc");
    assert!(cc.success(), "compiling headers.c against /usr/include/xen failed");
    let out = Command::new(&exe).output().expect("run the header dump");
    let _ = std::fs::remove_file(&exe);
    let theirs = String::from_utf8(out.stdout).unwrap();
    let ours = ours();
    for (a, b) in theirs.lines().zip(ours.lines()) {
        assert_eq!(a, b, "Xen's header (left) and xenmem (right) disagree");
    }
    assert_eq!(theirs.lines().count(), ours.lines().count());
}
