//! Numbers from Xen's public headers (the same in 4.17 and 4.20; `tests/abi_headers.rs`).

/// `__HYPERVISOR_memory_op` (`public/xen.h`).
pub const HYPERVISOR_MEMORY_OP: u32 = 12;
/// `__HYPERVISOR_multicall`: lets a Linux dom0 recover a full `long` result.
pub const HYPERVISOR_MULTICALL: u32 = 13;
/// `__HYPERVISOR_xen_version`.
pub const HYPERVISOR_XEN_VERSION: u32 = 17;
/// `__HYPERVISOR_console_io`.
pub const HYPERVISOR_CONSOLE_IO: u32 = 18;
/// `__HYPERVISOR_grant_table_op`.
pub const HYPERVISOR_GRANT_TABLE_OP: u32 = 20;
/// `__HYPERVISOR_sched_op`.
pub const HYPERVISOR_SCHED_OP: u32 = 29;
/// `__HYPERVISOR_event_channel_op`.
pub const HYPERVISOR_EVENT_CHANNEL_OP: u32 = 32;
/// `__HYPERVISOR_hvm_op`.
pub const HYPERVISOR_HVM_OP: u32 = 34;
/// `__HYPERVISOR_domctl`.
pub const HYPERVISOR_DOMCTL: u32 = 36;
/// `__HYPERVISOR_dm_op`.
pub const HYPERVISOR_DM_OP: u32 = 41;

// xen_version sub-operations (`public/version.h`).
/// `XENVER_version`: returns `major << 16 | minor`; takes no buffer.
pub const XENVER_VERSION: u32 = 0;
/// `XENVER_extraversion`: fills a 16-byte `xen_extraversion_t` (".5-pre").
pub const XENVER_EXTRAVERSION: u32 = 1;
/// Size of `xen_extraversion_t`.
pub const XEN_EXTRAVERSION_LEN: usize = 16;

// memory_op sub-operations (`public/memory.h`).
/// Allocate extents to a domain without mapping them.
pub const XENMEM_INCREASE_RESERVATION: u32 = 0;
/// Free the extents at the given GFNs.
pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
/// Highest machine frame number Xen knows about.
pub const XENMEM_MAXIMUM_RAM_PAGE: u32 = 2;
/// Pages currently owned by a domain (`tot_pages`).
pub const XENMEM_CURRENT_RESERVATION: u32 = 3;
/// A domain's page limit (`max_pages`).
pub const XENMEM_MAXIMUM_RESERVATION: u32 = 4;
/// Allocate extents and map them at the given GFNs.
pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;
/// Map one Xen page, or a range of the domain's own frames, at a GFN.
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
/// The guest's (pseudo-)physical memory map, as Xen was told it.
pub const XENMEM_MEMORY_MAP: u32 = 9;
/// The host's memory map (privileged).
pub const XENMEM_MACHINE_MEMORY_MAP: u32 = 10;
/// Exchange extents for others of a different order or address width.
pub const XENMEM_EXCHANGE: u32 = 11;
/// Highest GFN mapped in a domain.
pub const XENMEM_MAXIMUM_GPFN: u32 = 14;
/// Unmap whatever is at a GFN.
pub const XENMEM_REMOVE_FROM_PHYSMAP: u32 = 15;
/// Map a batch of frames, each with its own status.
pub const XENMEM_ADD_TO_PHYSMAP_BATCH: u32 = 23;
/// Map (or size) a Xen-owned resource of another domain.
pub const XENMEM_ACQUIRE_RESOURCE: u32 = 28;

/// Bits of memory_op's `cmd` below this carry the sub-op; the bits above, the extent at which
/// Xen resumes a preempted operation (its continuation index).
pub const MEMOP_EXTENT_SHIFT: u32 = 6;
/// Mask of the sub-op bits of `cmd`.
pub const MEMOP_CMD_MASK: u64 = (1 << MEMOP_EXTENT_SHIFT) - 1;
/// Largest `nr_extents` (and acquire `nr_frames`) Xen accepts: `UINT_MAX >> MEMOP_EXTENT_SHIFT`,
/// so that a continuation index always fits in `cmd`.
pub const MEMOP_MAX_EXTENTS: u64 = (u32::MAX >> MEMOP_EXTENT_SHIFT) as u64;

// Map spaces (`XENMAPSPACE_*`).
/// The domain's shared-info page (idx 0).
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// A grant-table frame (idx = frame, with [`XENMAPIDX_GRANT_TABLE_STATUS`] for status frames).
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// One of the domain's own frames, moved (x86 only).
pub const XENMAPSPACE_GMFN: u32 = 2;
/// A range of the domain's own frames, moved (x86 only; single add only).
pub const XENMAPSPACE_GMFN_RANGE: u32 = 3;
/// Another domain's frame (batch only).
pub const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
/// A device's MMIO frame (Arm only).
pub const XENMAPSPACE_DEV_MMIO: u32 = 5;
/// Set in a grant-table idx to name a status frame (grant v2) instead of a shared frame.
pub const XENMAPIDX_GRANT_TABLE_STATUS: u64 = 0x8000_0000;

// acquire_resource types and ids.
/// An ioreq server's pages (id = server id).
pub const XENMEM_RESOURCE_IOREQ_SERVER: u16 = 0;
/// A domain's grant table (id = shared or status).
pub const XENMEM_RESOURCE_GRANT_TABLE: u16 = 1;
/// A vCPU's processor-trace buffer (id = vCPU).
pub const XENMEM_RESOURCE_VMTRACE_BUF: u16 = 2;
/// Grant-table resource id of the shared frames.
pub const XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED: u32 = 0;
/// Grant-table resource id of the status frames (grant v2).
pub const XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS: u32 = 1;
/// ioreq-server frame index of the buffered-ioreq page.
pub const XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ: u64 = 0;
/// ioreq-server frame index of the `n`th synchronous ioreq page.
pub const fn xenmem_resource_ioreq_server_frame_ioreq(n: u64) -> u64 {
    1 + n
}

// mem_flags of a reservation (`XENMEMF_*`, interface version >= 0x00030209).
/// Low byte: the highest address bit an allocated frame may use (0: no limit).
pub const XENMEMF_ADDRESS_BITS_MASK: u32 = 0xff;
/// Shift of the NUMA-node field; the field holds `node + 1` so that 0 means "any node".
pub const XENMEMF_NODE_SHIFT: u32 = 8;
/// Mask of the NUMA-node field (after shifting).
pub const XENMEMF_NODE_MASK: u32 = 0xff;
/// Mark the extents populate-on-demand instead of allocating them.
pub const XENMEMF_POPULATE_ON_DEMAND: u32 = 1 << 16;
/// Fail rather than fall back to another node.
pub const XENMEMF_EXACT_NODE_REQUEST: u32 = 1 << 17;
/// The node is a virtual NUMA node of the target domain.
pub const XENMEMF_VNODE: u32 = 1 << 18;

// Special domain ids (`public/xen.h`).
/// The calling domain.
pub const DOMID_SELF: u16 = 0x7FF0;
/// First id that is not an ordinary domain.
pub const DOMID_FIRST_RESERVED: u16 = 0x7FF0;
/// Owner of I/O memory.
pub const DOMID_IO: u16 = 0x7FF1;
/// Xen itself (owner of Xen heap pages shared with guests).
pub const DOMID_XEN: u16 = 0x7FF2;
/// Owner of copy-on-write shared pages.
pub const DOMID_COW: u16 = 0x7FF3;
/// No domain.
pub const DOMID_INVALID: u16 = 0x7FF4;
/// The idle domain.
pub const DOMID_IDLE: u16 = 0x7FFF;

/// `INVALID_GFN` / `INVALID_MFN`: all ones.
pub const INVALID_FRAME: u64 = !0;
/// Xen's page size on both architectures.
pub const XEN_PAGE_SIZE: usize = 4096;
/// log2 of [`XEN_PAGE_SIZE`].
pub const XEN_PAGE_SHIFT: u32 = 12;
