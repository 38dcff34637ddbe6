//! xenmem's ABI against Xen's own public headers: `tests/abi/headers.c` (and
//! `headers-arm.c`, Arm's part of createdomain) print every number and layout from a release's
//! headers (`arm64.c`: the shared-info layout an arm64 guest sees), this test prints the same list from our definitions for that release's domctl
//! interface, and the two must agree line for line.
//!
//! Two sources of headers:
//! - installed ones, compiled here: `XENMEM_XEN_HEADERS` lists `RELEASE=INCLUDE_DIR` pairs
//!   (whitespace-separated; default `4.17=/usr/include`, Debian 12's libxen-dev).
//!   `cargo xtask abi-headers` runs this test against each release's libxen-dev. This
//!   needs a C compiler: without it or the headers the test says so and passes, unless
//!   `XENMEM_REQUIRE_XEN_HEADERS` is set (as CI does).
//! - `tests/abi/releases/X.Y.txt`: the same programs' output recorded from Xen's own release
//!   tags, for every release the library supports (how: `tests/abi/releases/README.md`).

use std::fmt::Write as _;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;
use xenmem::abi::dm_op::*;
use xenmem::abi::domctl::*;
use xenmem::abi::evtchn::*;
use xenmem::abi::ioreq::*;
use xenmem::abi::*;
use xenmem::{DomctlInterface, XenVersion};

/// The shared-info lines of `tests/abi/shared_info.h` for one layout.
fn shared_info(v: &mut impl FnMut(&str, u64), l: &SharedInfoLayout) {
    v("XEN_LEGACY_MAX_VCPUS", l.legacy_vcpus.into());
    v("sizeof vcpu_info", l.vcpu_info_size as u64);
    v("offsetof vcpu_info.evtchn_upcall_pending", VCPU_INFO_UPCALL_PENDING as u64);
    v("offsetof vcpu_info.evtchn_pending_sel", VCPU_INFO_PENDING_SEL as u64);
    v("offsetof shared_info.evtchn_pending", l.evtchn_pending as u64);
    v("offsetof shared_info.evtchn_mask", l.evtchn_mask as u64);
}

fn ours(iface: DomctlInterface) -> String {
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
    v("XENVER_version", XENVER_VERSION.into());
    v("XENVER_extraversion", XENVER_EXTRAVERSION.into());
    v("sizeof xen_extraversion_t", XEN_EXTRAVERSION_LEN as u64);
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
    v("XEN_DOMCTL_INTERFACE_VERSION", iface.interface_version().into());
    v("XEN_DOMCTL_createdomain", XEN_DOMCTL_CREATEDOMAIN.into());
    v("XEN_DOMCTL_destroydomain", XEN_DOMCTL_DESTROYDOMAIN.into());
    v("XEN_DOMCTL_pausedomain", XEN_DOMCTL_PAUSEDOMAIN.into());
    v("XEN_DOMCTL_unpausedomain", XEN_DOMCTL_UNPAUSEDOMAIN.into());
    v("XEN_DOMCTL_getdomaininfo", XEN_DOMCTL_GETDOMAININFO.into());
    v("XEN_DOMCTL_max_mem", XEN_DOMCTL_MAX_MEM.into());
    v("XEN_DOMCTL_max_vcpus", XEN_DOMCTL_MAX_VCPUS.into());
    v("XEN_DOMCTL_gethvmcontext", XEN_DOMCTL_GETHVMCONTEXT.into());
    v("XEN_DOMCTL_sethvmcontext", XEN_DOMCTL_SETHVMCONTEXT.into());
    v("XEN_DOMCTL_set_paging_mempool_size", XEN_DOMCTL_SET_PAGING_MEMPOOL_SIZE.into());
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
    if iface.createdomain_has_altp2m_opts() {
        layout!("xen_domctl_createdomain", CreateDomainV17,
            "handle" => handle, "flags" => flags, "max_vcpus" => max_vcpus,
            "max_grant_frames" => max_grant_frames, "grant_opts" => grant_opts,
            "altp2m_opts" => altp2m_opts, "vmtrace_size" => vmtrace_size,
            "cpupool_id" => cpupool_id, "arch" => arch_emulation_flags);
    } else {
        layout!("xen_domctl_createdomain", CreateDomainV15,
            "handle" => handle, "flags" => flags, "max_vcpus" => max_vcpus,
            "max_grant_frames" => max_grant_frames, "grant_opts" => grant_opts,
            "vmtrace_size" => vmtrace_size, "cpupool_id" => cpupool_id,
            "arch" => arch_emulation_flags);
    }
    layout!("xen_domctl_getdomaininfo", DomctlGetDomainInfo,
        "flags" => flags, "tot_pages" => tot_pages, "max_pages" => max_pages,
        "shared_info_frame" => shared_info_frame, "nr_online_vcpus" => nr_online_vcpus,
        "handle" => handle, "cpupool" => cpupool, "gpaddr_bits" => gpaddr_bits,
        "arch_config" => arch_config);
    // set_paging_mempool_size's body: one u64 at the union's start.
    v("sizeof xen_domctl_paging_mempool", 8);
    v("offsetof xen_domctl.u.paging_mempool.size", offset_of!(XenDomctl, u) as u64);

    v("XEN_DMOP_create_ioreq_server", XEN_DMOP_CREATE_IOREQ_SERVER.into());
    v("XEN_DMOP_get_ioreq_server_info", XEN_DMOP_GET_IOREQ_SERVER_INFO.into());
    v("XEN_DMOP_map_io_range_to_ioreq_server", XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER.into());
    v("XEN_DMOP_unmap_io_range_from_ioreq_server", XEN_DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER.into());
    v("XEN_DMOP_set_ioreq_server_state", XEN_DMOP_SET_IOREQ_SERVER_STATE.into());
    v("XEN_DMOP_destroy_ioreq_server", XEN_DMOP_DESTROY_IOREQ_SERVER.into());
    v("XEN_DMOP_set_irq_level", XEN_DMOP_SET_IRQ_LEVEL.into());
    v("XEN_DMOP_nr_vcpus", XEN_DMOP_NR_VCPUS.into());
    v("XEN_DMOP_no_gfns", XEN_DMOP_NO_GFNS.into());
    v("XEN_DMOP_IO_RANGE_PORT", XEN_DMOP_IO_RANGE_PORT.into());
    v("XEN_DMOP_IO_RANGE_MEMORY", XEN_DMOP_IO_RANGE_MEMORY.into());
    v("XEN_DMOP_IO_RANGE_PCI", XEN_DMOP_IO_RANGE_PCI.into());
    v("XEN_DMOP_PCI_SBDF(1,2,3,4)", xen_dmop_pci_sbdf(1, 2, 3, 4));
    v("HVM_IOREQSRV_BUFIOREQ_OFF", HVM_IOREQSRV_BUFIOREQ_OFF.into());
    v("HVM_IOREQSRV_BUFIOREQ_LEGACY", HVM_IOREQSRV_BUFIOREQ_LEGACY.into());
    v("HVM_IOREQSRV_BUFIOREQ_ATOMIC", HVM_IOREQSRV_BUFIOREQ_ATOMIC.into());
    layout!("xen_dm_op_buf", XenDmOpBuf, "h" => h, "size" => size);
    layout!("xen_dm_op", XenDmOp, "pad" => pad, "u" => u);
    layout!("xen_dm_op_create_ioreq_server", XenDmOpCreateIoreqServer, "pad" => pad, "id" => id);
    layout!("xen_dm_op_get_ioreq_server_info", XenDmOpGetIoreqServerInfo,
        "flags" => flags, "bufioreq_port" => bufioreq_port, "ioreq_gfn" => ioreq_gfn,
        "bufioreq_gfn" => bufioreq_gfn);
    layout!("xen_dm_op_ioreq_server_range", XenDmOpIoreqServerRange,
        "pad" => pad, "type" => r#type, "start" => start, "end" => end);
    layout!("xen_dm_op_set_ioreq_server_state", XenDmOpSetIoreqServerState,
        "enabled" => enabled, "pad" => pad);
    layout!("xen_dm_op_destroy_ioreq_server", XenDmOpDestroyIoreqServer, "pad" => pad);
    layout!("xen_dm_op_nr_vcpus", XenDmOpNrVcpus,);
    for (i, n) in XEN_DMOP_BODY_SIZE.iter().enumerate() {
        v(&format!("dm_op body {i}"), *n as u64);
    }

    v("IOREQ_READ", IOREQ_READ.into());
    v("IOREQ_WRITE", IOREQ_WRITE.into());
    v("STATE_IOREQ_NONE", STATE_IOREQ_NONE.into());
    v("STATE_IOREQ_READY", STATE_IOREQ_READY.into());
    v("STATE_IOREQ_INPROCESS", STATE_IOREQ_INPROCESS.into());
    v("STATE_IORESP_READY", STATE_IORESP_READY.into());
    v("IOREQ_TYPE_PIO", IOREQ_TYPE_PIO.into());
    v("IOREQ_TYPE_COPY", IOREQ_TYPE_COPY.into());
    v("IOREQ_TYPE_PCI_CONFIG", IOREQ_TYPE_PCI_CONFIG.into());
    v("IOREQ_TYPE_TIMEOFFSET", IOREQ_TYPE_TIMEOFFSET.into());
    v("IOREQ_TYPE_INVALIDATE", IOREQ_TYPE_INVALIDATE.into());
    v("IOREQ_BUFFER_SLOT_NUM", IOREQ_BUFFER_SLOT_NUM.into());
    layout!("ioreq", Ioreq,
        "data" => data, "count" => count, "size" => size, "vp_eport" => vp_eport, "type" => r#type);
    v("ioreq.state bits", IOREQ_STATE_MASK.into());
    v("ioreq.data_is_ptr bits", IOREQ_DATA_IS_PTR.into());
    v("ioreq.dir bits", IOREQ_DIR.into());
    v("ioreq.df bits", IOREQ_DF.into());
    // struct shared_iopage declares one slot: Xen indexes past it, one per vCPU.
    v("sizeof shared_iopage", IOREQ_SIZE as u64);
    layout!("buf_ioreq", BufIoreq, "data" => data);
    v("buf_ioreq.type bits", BUFIOREQ_TYPE_MASK.into());
    v("buf_ioreq.dir bits", BUFIOREQ_DIR.into());
    v("buf_ioreq.size bits", u64::from(3_u32 << BUFIOREQ_SIZE_SHIFT));
    v("buf_ioreq.addr bits", u64::from(0xfffff_u32 << BUFIOREQ_ADDR_SHIFT));
    v("sizeof buffered_iopage", (BUFIOREQ_SLOTS + IOREQ_BUFFER_SLOT_NUM as usize * 8) as u64);
    v("offsetof buffered_iopage.read_pointer", BUFIOREQ_READ_POINTER as u64);
    v("offsetof buffered_iopage.write_pointer", BUFIOREQ_WRITE_POINTER as u64);
    v("offsetof buffered_iopage.buf_ioreq", BUFIOREQ_SLOTS as u64);

    v("EVTCHNOP_bind_interdomain", EVTCHNOP_BIND_INTERDOMAIN.into());
    v("EVTCHNOP_close", EVTCHNOP_CLOSE.into());
    v("EVTCHNOP_send", EVTCHNOP_SEND.into());
    v("EVTCHNOP_status", EVTCHNOP_STATUS.into());
    v("EVTCHNOP_alloc_unbound", EVTCHNOP_ALLOC_UNBOUND.into());
    v("EVTCHNOP_unmask", EVTCHNOP_UNMASK.into());
    v("EVTCHNSTAT_closed", EVTCHNSTAT_CLOSED.into());
    v("EVTCHNSTAT_unbound", EVTCHNSTAT_UNBOUND.into());
    v("EVTCHNSTAT_interdomain", EVTCHNSTAT_INTERDOMAIN.into());
    v("EVTCHNSTAT_pirq", EVTCHNSTAT_PIRQ.into());
    v("EVTCHNSTAT_virq", EVTCHNSTAT_VIRQ.into());
    v("EVTCHNSTAT_ipi", EVTCHNSTAT_IPI.into());
    layout!("evtchn_alloc_unbound", EvtchnAllocUnbound, "remote_dom" => remote_dom, "port" => port);
    layout!("evtchn_bind_interdomain", EvtchnBindInterdomain,
        "remote_port" => remote_port, "local_port" => local_port);
    layout!("evtchn_send", EvtchnPortArg,);
    layout!("evtchn_close", EvtchnPortArg,);
    layout!("evtchn_status", EvtchnStatus,
        "port" => port, "status" => status, "vcpu" => vcpu, "u" => u);
    v("offsetof evtchn_status.u.interdomain.port", (offset_of!(EvtchnStatus, u) + 4) as u64);
    shared_info(&mut v, &SharedInfoLayout::X86_64);
    s
}

fn ours_arm64() -> String {
    let mut s = String::new();
    shared_info(&mut |name: &str, val: u64| writeln!(s, "{name} {val}").unwrap(), &SharedInfoLayout::ARM64);
    s
}

/// Arm's arch part of createdomain (`headers-arm.c`).
fn ours_arm() -> String {
    let mut s = String::new();
    let mut v = |name: &str, val: usize| writeln!(s, "{name} {val}").unwrap();
    v("sizeof arm xen_arch_domainconfig", size_of::<ArchDomainConfigArm>());
    v("offsetof arm xen_arch_domainconfig.tee_type", offset_of!(ArchDomainConfigArm, tee_type));
    v("offsetof arm xen_arch_domainconfig.nr_spis", offset_of!(ArchDomainConfigArm, nr_spis));
    v("offsetof arm xen_arch_domainconfig.clock_frequency", offset_of!(ArchDomainConfigArm, clock_frequency));
    s
}

/// Everything we define for release `v`, as both C programs print it.
fn ours_for(v: XenVersion) -> String {
    let iface = v.domctl_interface().unwrap_or_else(|e| panic!("{e}"));
    ours(iface) + &ours_arm() + &ours_arm64()
}

fn assert_same(theirs: &str, ours: &str, what: &str) {
    for (a, b) in theirs.lines().zip(ours.lines()) {
        assert_eq!(a, b, "{what} (left) and xenmem (right) disagree");
    }
    assert_eq!(theirs.lines().count(), ours.lines().count(), "{what}: line counts differ");
}

/// Compiles and runs `src` against the headers under `include` (its `xen/` directory).
fn dump(include: &Path, src: &str, tag: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/abi");
    let exe = std::env::temp_dir().join(format!("xenmem-abi-{tag}-{}", std::process::id()));
    let cc = Command::new("cc")
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(&exe)
        .arg(dir.join(src))
        .status()
        .expect("run cc");
    assert!(cc.success(), "compiling {src} against {} failed", include.display());
    let out = Command::new(&exe).output().expect("run the header dump");
    let _ = std::fs::remove_file(&exe);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// `XENMEM_XEN_HEADERS`, or Debian 12's libxen-dev where it is installed.
fn header_sets() -> Vec<(XenVersion, PathBuf)> {
    let spec = std::env::var("XENMEM_XEN_HEADERS").unwrap_or_else(|_| "4.17=/usr/include".into());
    spec.split_whitespace()
        .map(|pair| {
            let (v, dir) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("XENMEM_XEN_HEADERS: {pair:?} is not RELEASE=DIR"));
            (v.parse().unwrap_or_else(|e| panic!("XENMEM_XEN_HEADERS: {v:?}: {e}")), PathBuf::from(dir))
        })
        .collect()
}

#[test]
fn abi_matches_xens_public_headers() {
    let required = std::env::var_os("XENMEM_REQUIRE_XEN_HEADERS").is_some();
    for (v, include) in header_sets() {
        if !include.join("xen/memory.h").exists() {
            assert!(
                !required,
                "XENMEM_REQUIRE_XEN_HEADERS is set but {}/xen is missing (Xen {v}'s libxen-dev)",
                include.display()
            );
            eprintln!("skipped Xen {v}: its public headers are not in {}", include.display());
            continue;
        }
        let theirs = dump(&include, "headers.c", "x86")
            + &dump(&include, "headers-arm.c", "arm")
            + &dump(&include, "arm64.c", "arm64");
        assert_same(&theirs, &ours_for(v), &format!("Xen {v}'s headers in {}", include.display()));
        eprintln!("Xen {v}: {} lines agree with {}", theirs.lines().count(), include.display());
    }
}

#[test]
fn abi_matches_every_supported_release_tag() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/abi/releases");
    for v in XenVersion::SUPPORTED {
        let file = dir.join(format!("{v}.txt"));
        let theirs = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_same(&theirs, &ours_for(v), &file.display().to_string());
    }
}
