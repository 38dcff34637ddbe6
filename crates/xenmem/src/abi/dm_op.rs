//! The device-model interface, `HYPERVISOR_dm_op` (hypercall 41), as Xen 4.17's public
//! `hvm/dm_op.h` lays it out for 64-bit callers: the buffer array, `struct xen_dm_op` and the
//! bodies of the ioreq-server sub-ops (create, get info, map/unmap a range, set state,
//! destroy) and `nr_vcpus`. Offsets are asserted here and against Debian's libxen-dev
//! headers (`tests/abi_headers.rs`).
//!
//! `HYPERVISOR_dm_op(domid, nr_bufs, bufs)`: `bufs` points to `nr_bufs` [`XenDmOpBuf`]s;
//! `bufs[0]` holds a [`XenDmOp`] and Xen writes an operation's results back into it.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `XEN_DMOP_create_ioreq_server`.
pub const XEN_DMOP_CREATE_IOREQ_SERVER: u32 = 1;
/// `XEN_DMOP_get_ioreq_server_info`.
pub const XEN_DMOP_GET_IOREQ_SERVER_INFO: u32 = 2;
/// `XEN_DMOP_map_io_range_to_ioreq_server`.
pub const XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER: u32 = 3;
/// `XEN_DMOP_unmap_io_range_from_ioreq_server`.
pub const XEN_DMOP_UNMAP_IO_RANGE_FROM_IOREQ_SERVER: u32 = 4;
/// `XEN_DMOP_set_ioreq_server_state`.
pub const XEN_DMOP_SET_IOREQ_SERVER_STATE: u32 = 5;
/// `XEN_DMOP_destroy_ioreq_server`.
pub const XEN_DMOP_DESTROY_IOREQ_SERVER: u32 = 6;
/// `XEN_DMOP_set_irq_level` (Arm only).
pub const XEN_DMOP_SET_IRQ_LEVEL: u32 = 19;
/// `XEN_DMOP_nr_vcpus`: the highest sub-op of Xen 4.17.
pub const XEN_DMOP_NR_VCPUS: u32 = 20;

/// `get_ioreq_server_info` flag: do not map the pages into the target's physmap (the caller
/// uses `acquire_resource`); only the buffered-ioreq event channel is returned.
pub const XEN_DMOP_NO_GFNS: u16 = 1;

/// A range of I/O ports.
pub const XEN_DMOP_IO_RANGE_PORT: u32 = 0;
/// A range of guest-physical addresses (MMIO).
pub const XEN_DMOP_IO_RANGE_MEMORY: u32 = 1;
/// A range of PCI segment/bus/device/function numbers ([`xen_dmop_pci_sbdf`]).
pub const XEN_DMOP_IO_RANGE_PCI: u32 = 2;

/// `XEN_DMOP_PCI_SBDF(s, b, d, f)`: a PCI function as a PCI range's start and end.
pub const fn xen_dmop_pci_sbdf(seg: u16, bus: u8, dev: u8, func: u8) -> u64 {
    ((seg as u64) << 16) | ((bus as u64) << 8) | (((dev & 0x1f) as u64) << 3) | ((func & 7) as u64)
}

/// `HVM_IOREQSRV_BUFIOREQ_OFF` (`hvm/hvm_op.h`): no buffered-ioreq page.
pub const HVM_IOREQSRV_BUFIOREQ_OFF: u8 = 0;
/// `HVM_IOREQSRV_BUFIOREQ_LEGACY`: a buffered page whose pointers the emulator advances alone.
pub const HVM_IOREQSRV_BUFIOREQ_LEGACY: u8 = 1;
/// `HVM_IOREQSRV_BUFIOREQ_ATOMIC`: a buffered page whose pointers Xen may rewrite atomically.
pub const HVM_IOREQSRV_BUFIOREQ_ATOMIC: u8 = 2;

/// `struct xen_dm_op_buf`: one buffer of the hypercall's array.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpBuf {
    /// Guest handle of the buffer.
    pub h: u64,
    /// Its length in bytes (`xen_ulong_t`).
    pub size: u64,
}

/// `struct xen_dm_op`: the sub-op and a 24-byte union of bodies, 8-aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOp {
    /// `XEN_DMOP_*`.
    pub op: u32,
    /// Must be zero.
    pub pad: u32,
    /// The body (one of the `XenDmOp*` structs below).
    pub u: [u64; 3],
}

impl XenDmOp {
    /// Sub-op `op` with `body` at the start of the union (the rest zero).
    pub fn new<T: IntoBytes + Immutable>(op: u32, body: &T) -> XenDmOp {
        let mut d = XenDmOp { op, pad: 0, u: [0; 3] };
        let b = body.as_bytes();
        let n = b.len().min(size_of::<[u64; 3]>());
        d.u.as_mut_bytes()[..n].copy_from_slice(&b[..n]);
        d
    }

    /// The union read as `T` (a body Xen filled in); `None` if `T` is larger than the union.
    pub fn body<T: FromBytes>(&self) -> Option<T> {
        T::read_from_prefix(self.u.as_bytes()).ok().map(|(v, _)| v)
    }
}

/// `struct xen_dm_op_create_ioreq_server`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpCreateIoreqServer {
    /// IN: `HVM_IOREQSRV_BUFIOREQ_*`.
    pub handle_bufioreq: u8,
    /// Must be zero.
    pub pad: [u8; 3],
    /// OUT: the new server's id.
    pub id: u16,
}

/// `struct xen_dm_op_get_ioreq_server_info`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpGetIoreqServerInfo {
    /// IN: server id.
    pub id: u16,
    /// IN: [`XEN_DMOP_NO_GFNS`] or 0.
    pub flags: u16,
    /// OUT: the buffered-ioreq event channel (left as sent without a buffered page).
    pub bufioreq_port: u32,
    /// OUT (without `no_gfns`): where the synchronous page is mapped in the target.
    pub ioreq_gfn: u64,
    /// OUT (without `no_gfns`): where the buffered page is mapped in the target.
    pub bufioreq_gfn: u64,
}

/// `struct xen_dm_op_ioreq_server_range` (map and unmap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpIoreqServerRange {
    /// Server id.
    pub id: u16,
    /// Must be zero.
    pub pad: u16,
    /// `XEN_DMOP_IO_RANGE_*`.
    pub r#type: u32,
    /// First port, address or SBDF.
    pub start: u64,
    /// Last one (inclusive).
    pub end: u64,
}

/// `struct xen_dm_op_set_ioreq_server_state`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpSetIoreqServerState {
    /// Server id.
    pub id: u16,
    /// Non-zero to enable.
    pub enabled: u8,
    /// Must be zero.
    pub pad: u8,
}

/// `struct xen_dm_op_destroy_ioreq_server`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpDestroyIoreqServer {
    /// Server id.
    pub id: u16,
    /// Must be zero.
    pub pad: u16,
}

/// `struct xen_dm_op_nr_vcpus`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenDmOpNrVcpus {
    /// OUT: the target's `max_vcpus`.
    pub vcpus: u32,
}

/// `sizeof` of each sub-op's body in `hvm/dm_op.h`, indexed by `XEN_DMOP_*` (0: no such
/// sub-op). Xen copies exactly this many bytes after the 8-byte header, so a shorter buffer
/// is `-EFAULT`.
pub const XEN_DMOP_BODY_SIZE: [usize; XEN_DMOP_NR_VCPUS as usize + 1] = [
    0,  // 0: none
    6,  // create_ioreq_server
    24, // get_ioreq_server_info
    24, // map_io_range_to_ioreq_server
    24, // unmap_io_range_from_ioreq_server
    4,  // set_ioreq_server_state
    4,  // destroy_ioreq_server
    16, // track_dirty_vram
    6,  // set_pci_intx_level
    2,  // set_isa_irq_level
    2,  // set_pci_link_route
    8,  // modified_memory
    16, // set_mem_type
    24, // inject_event
    16, // inject_msi
    16, // map_mem_type_to_ioreq_server
    4,  // remote_shutdown
    24, // relocate_memory
    24, // pin_memory_cacheattr
    8,  // set_irq_level
    4,  // nr_vcpus
];

/// Offset of the union in [`XenDmOp`] (`offsetof(struct xen_dm_op, u)`).
pub const XEN_DMOP_HEADER_SIZE: usize = offset_of!(XenDmOp, u);

const _: () = {
    assert!(size_of::<XenDmOpBuf>() == 16);
    assert!(offset_of!(XenDmOpBuf, size) == 8);
    assert!(size_of::<XenDmOp>() == 32);
    assert!(offset_of!(XenDmOp, pad) == 4);
    assert!(offset_of!(XenDmOp, u) == 8);
    assert!(size_of::<XenDmOpCreateIoreqServer>() == 6);
    assert!(offset_of!(XenDmOpCreateIoreqServer, pad) == 1);
    assert!(offset_of!(XenDmOpCreateIoreqServer, id) == 4);
    assert!(size_of::<XenDmOpGetIoreqServerInfo>() == 24);
    assert!(offset_of!(XenDmOpGetIoreqServerInfo, flags) == 2);
    assert!(offset_of!(XenDmOpGetIoreqServerInfo, bufioreq_port) == 4);
    assert!(offset_of!(XenDmOpGetIoreqServerInfo, ioreq_gfn) == 8);
    assert!(offset_of!(XenDmOpGetIoreqServerInfo, bufioreq_gfn) == 16);
    assert!(size_of::<XenDmOpIoreqServerRange>() == 24);
    assert!(offset_of!(XenDmOpIoreqServerRange, pad) == 2);
    assert!(offset_of!(XenDmOpIoreqServerRange, r#type) == 4);
    assert!(offset_of!(XenDmOpIoreqServerRange, start) == 8);
    assert!(offset_of!(XenDmOpIoreqServerRange, end) == 16);
    assert!(size_of::<XenDmOpSetIoreqServerState>() == 4);
    assert!(offset_of!(XenDmOpSetIoreqServerState, enabled) == 2);
    assert!(offset_of!(XenDmOpSetIoreqServerState, pad) == 3);
    assert!(size_of::<XenDmOpDestroyIoreqServer>() == 4);
    assert!(offset_of!(XenDmOpDestroyIoreqServer, pad) == 2);
    assert!(size_of::<XenDmOpNrVcpus>() == 4);
    // The bodies this module defines are the sizes the table gives.
    assert!(
        XEN_DMOP_BODY_SIZE[XEN_DMOP_CREATE_IOREQ_SERVER as usize] == size_of::<XenDmOpCreateIoreqServer>()
    );
    assert!(
        XEN_DMOP_BODY_SIZE[XEN_DMOP_GET_IOREQ_SERVER_INFO as usize] == size_of::<XenDmOpGetIoreqServerInfo>()
    );
    assert!(
        XEN_DMOP_BODY_SIZE[XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER as usize]
            == size_of::<XenDmOpIoreqServerRange>()
    );
    assert!(
        XEN_DMOP_BODY_SIZE[XEN_DMOP_SET_IOREQ_SERVER_STATE as usize]
            == size_of::<XenDmOpSetIoreqServerState>()
    );
    assert!(
        XEN_DMOP_BODY_SIZE[XEN_DMOP_DESTROY_IOREQ_SERVER as usize] == size_of::<XenDmOpDestroyIoreqServer>()
    );
    assert!(XEN_DMOP_BODY_SIZE[XEN_DMOP_NR_VCPUS as usize] == size_of::<XenDmOpNrVcpus>());
};

#[cfg(test)]
mod tests {
    use super::*;

    // Golden bytes, written by hand from the C layout (little endian), both directions.
    #[test]
    fn range_in_a_dm_op() {
        let r = XenDmOpIoreqServerRange { id: 3, pad: 0, r#type: 1, start: 0xfe00_0000, end: 0xfe00_0fff };
        let op = XenDmOp::new(XEN_DMOP_MAP_IO_RANGE_TO_IOREQ_SERVER, &r);
        let want: [u8; 32] = [
            3, 0, 0, 0, 0, 0, 0, 0, // op, pad
            3, 0, 0, 0, 1, 0, 0, 0, // id, pad, type
            0, 0, 0, 0xfe, 0, 0, 0, 0, // start
            0xff, 0x0f, 0, 0xfe, 0, 0, 0, 0, // end
        ];
        assert_eq!(op.as_bytes(), &want);
        assert_eq!(XenDmOp::read_from_bytes(&want).unwrap(), op);
        assert_eq!(op.body::<XenDmOpIoreqServerRange>(), Some(r));
    }

    #[test]
    fn create_and_info_bodies() {
        let c = XenDmOpCreateIoreqServer { handle_bufioreq: 2, pad: [0; 3], id: 0x0102 };
        assert_eq!(c.as_bytes(), &[2, 0, 0, 0, 2, 1]);
        let i =
            XenDmOpGetIoreqServerInfo { id: 1, flags: 1, bufioreq_port: 5, ioreq_gfn: 0, bufioreq_gfn: 0 };
        assert_eq!(&i.as_bytes()[..8], &[1, 0, 1, 0, 5, 0, 0, 0]);
        let s = XenDmOpSetIoreqServerState { id: 7, enabled: 1, pad: 0 };
        assert_eq!(s.as_bytes(), &[7, 0, 1, 0]);
        assert_eq!(xen_dmop_pci_sbdf(1, 2, 3, 4), 0x1_021c);
        // A body larger than the union does not fit.
        assert_eq!(XenDmOp::default().body::<[u64; 4]>(), None);
    }
}
