//! The memory_op argument structs, as a 64-bit guest lays them out.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct xen_memory_reservation`: the argument of increase/decrease_reservation and
/// populate_physmap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenMemoryReservation {
    /// Handle to an array of `xen_pfn_t`: GFNs in (populate, decrease), MFNs out (PV targets).
    pub extent_start: u64,
    /// Number of extents.
    pub nr_extents: u64,
    /// Each extent is `2^extent_order` pages.
    pub extent_order: u32,
    /// `XENMEMF_*` bits.
    pub mem_flags: u32,
    /// Target domain (`DOMID_SELF` allowed).
    pub domid: u16,
    /// Tail padding of the C struct; Xen ignores it, we send zeros.
    pub _pad: [u8; 6],
}

/// `struct xen_add_to_physmap`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenAddToPhysmap {
    /// Domain whose physmap changes.
    pub domid: u16,
    /// Number of pages, for `XENMAPSPACE_gmfn_range` only.
    pub size: u16,
    /// `XENMAPSPACE_*` (32 bits here, 16 in the batch form).
    pub space: u32,
    /// Index into the space.
    pub idx: u64,
    /// Where to map it.
    pub gpfn: u64,
}

/// `struct xen_add_to_physmap_batch` (interface version >= 0x00040700: `u` is a union of
/// `foreign_domid` and `res0`, the same two bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenAddToPhysmapBatch {
    /// Domain whose physmap changes.
    pub domid: u16,
    /// `XENMAPSPACE_*`, 16 bits in this form.
    pub space: u16,
    /// Entries in this call; Xen writes its progress back here on a continuation.
    pub size: u16,
    /// `foreign_domid` for `XENMAPSPACE_gmfn_foreign`, else `res0` (must be 0 for dev_mmio).
    pub foreign_domid: u16,
    /// Handle to `xen_ulong_t idxs[size]`.
    pub idxs: u64,
    /// Handle to `xen_pfn_t gpfns[size]`.
    pub gpfns: u64,
    /// Handle to `int errs[size]`: Xen writes each entry's status.
    pub errs: u64,
}

/// `struct xen_remove_from_physmap`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenRemoveFromPhysmap {
    /// Domain whose physmap changes.
    pub domid: u16,
    /// Padding of the C struct (`gpfn` is 8-aligned).
    pub _pad: [u8; 6],
    /// GFN to unmap.
    pub gpfn: u64,
}

/// `struct xen_mem_acquire_resource`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenMemAcquireResource {
    /// The domain that owns the resource (never `DOMID_SELF`, never the caller).
    pub domid: u16,
    /// `XENMEM_resource_*`.
    pub r#type: u16,
    /// Resource id (ioreq server id, grant-table shared/status, vCPU).
    pub id: u32,
    /// IN: frames to map; OUT (size query only): the resource's size in frames.
    pub nr_frames: u32,
    /// Must be zero (formerly an OUT `flags` field).
    pub pad: u32,
    /// First frame of the resource to map (must fit 32 bits in Xen 4.17).
    pub frame: u64,
    /// Handle to `xen_pfn_t frame_list[nr_frames]`: GFNs in for translated callers, MFNs out
    /// for PV callers; null for a size query.
    pub frame_list: u64,
}

/// `struct xen_memory_map`: the argument of XENMEM_memory_map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct XenMemoryMap {
    /// IN: room in `buffer` (entries); OUT: entries written.
    pub nr_entries: u32,
    /// Padding of the C struct.
    pub _pad: u32,
    /// Handle to an array of e820 entries (20 bytes each on x86).
    pub buffer: u64,
}

// Layouts pinned to Xen's headers (sizes and offsets for 64-bit guests).
const _: () = {
    assert!(size_of::<XenMemoryReservation>() == 32);
    assert!(offset_of!(XenMemoryReservation, extent_start) == 0);
    assert!(offset_of!(XenMemoryReservation, nr_extents) == 8);
    assert!(offset_of!(XenMemoryReservation, extent_order) == 16);
    assert!(offset_of!(XenMemoryReservation, mem_flags) == 20);
    assert!(offset_of!(XenMemoryReservation, domid) == 24);

    assert!(size_of::<XenAddToPhysmap>() == 24);
    assert!(offset_of!(XenAddToPhysmap, domid) == 0);
    assert!(offset_of!(XenAddToPhysmap, size) == 2);
    assert!(offset_of!(XenAddToPhysmap, space) == 4);
    assert!(offset_of!(XenAddToPhysmap, idx) == 8);
    assert!(offset_of!(XenAddToPhysmap, gpfn) == 16);

    assert!(size_of::<XenAddToPhysmapBatch>() == 32);
    assert!(offset_of!(XenAddToPhysmapBatch, domid) == 0);
    assert!(offset_of!(XenAddToPhysmapBatch, space) == 2);
    assert!(offset_of!(XenAddToPhysmapBatch, size) == 4);
    assert!(offset_of!(XenAddToPhysmapBatch, foreign_domid) == 6);
    assert!(offset_of!(XenAddToPhysmapBatch, idxs) == 8);
    assert!(offset_of!(XenAddToPhysmapBatch, gpfns) == 16);
    assert!(offset_of!(XenAddToPhysmapBatch, errs) == 24);

    assert!(size_of::<XenRemoveFromPhysmap>() == 16);
    assert!(offset_of!(XenRemoveFromPhysmap, domid) == 0);
    assert!(offset_of!(XenRemoveFromPhysmap, gpfn) == 8);

    assert!(size_of::<XenMemAcquireResource>() == 32);
    assert!(offset_of!(XenMemAcquireResource, domid) == 0);
    assert!(offset_of!(XenMemAcquireResource, r#type) == 2);
    assert!(offset_of!(XenMemAcquireResource, id) == 4);
    assert!(offset_of!(XenMemAcquireResource, nr_frames) == 8);
    assert!(offset_of!(XenMemAcquireResource, pad) == 12);
    assert!(offset_of!(XenMemAcquireResource, frame) == 16);
    assert!(offset_of!(XenMemAcquireResource, frame_list) == 24);

    assert!(size_of::<XenMemoryMap>() == 16);
    assert!(offset_of!(XenMemoryMap, nr_entries) == 0);
    assert!(offset_of!(XenMemoryMap, buffer) == 8);
};

#[cfg(test)]
mod tests {
    use super::*;

    // Golden bytes, written by hand from the C layout (little endian), both directions.
    #[test]
    fn reservation_bytes() {
        let r = XenMemoryReservation {
            extent_start: 0x1122_3344_5566_7788,
            nr_extents: 3,
            extent_order: 9,
            mem_flags: 0x0002_0220,
            domid: 0x7ff0,
            _pad: [0; 6],
        };
        let want: [u8; 32] = [
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // extent_start
            3, 0, 0, 0, 0, 0, 0, 0, // nr_extents
            9, 0, 0, 0, // extent_order
            0x20, 0x02, 0x02, 0x00, // mem_flags
            0xf0, 0x7f, 0, 0, 0, 0, 0, 0, // domid + tail padding
        ];
        assert_eq!(r.as_bytes(), &want);
        assert_eq!(XenMemoryReservation::read_from_bytes(&want).unwrap(), r);
    }

    #[test]
    fn add_to_physmap_bytes() {
        let a = XenAddToPhysmap { domid: 1, size: 0x0203, space: 3, idx: 0x40, gpfn: 0x3000 };
        let want: [u8; 24] = [
            1, 0, 3, 2, 3, 0, 0, 0, //
            0x40, 0, 0, 0, 0, 0, 0, 0, //
            0, 0x30, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(a.as_bytes(), &want);
        assert_eq!(XenAddToPhysmap::read_from_bytes(&want).unwrap(), a);
    }

    #[test]
    fn batch_bytes() {
        let b = XenAddToPhysmapBatch {
            domid: 0x7ff0,
            space: 4,
            size: 0xffff,
            foreign_domid: 1,
            idxs: 0x10,
            gpfns: 0x20,
            errs: 0x30,
        };
        let want: [u8; 32] = [
            0xf0, 0x7f, 4, 0, 0xff, 0xff, 1, 0, //
            0x10, 0, 0, 0, 0, 0, 0, 0, //
            0x20, 0, 0, 0, 0, 0, 0, 0, //
            0x30, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(b.as_bytes(), &want);
        assert_eq!(XenAddToPhysmapBatch::read_from_bytes(&want).unwrap(), b);
    }

    #[test]
    fn remove_bytes() {
        let r = XenRemoveFromPhysmap { domid: 2, _pad: [0; 6], gpfn: 0x1_0000_0001 };
        let want: [u8; 16] = [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(r.as_bytes(), &want);
        assert_eq!(XenRemoveFromPhysmap::read_from_bytes(&want).unwrap(), r);
    }

    #[test]
    fn acquire_bytes() {
        let a = XenMemAcquireResource {
            domid: 1,
            r#type: 1,
            id: 1,
            nr_frames: 4,
            pad: 0,
            frame: 0x1_0000_0002,
            frame_list: 0xdead_b000,
        };
        let want: [u8; 32] = [
            1, 0, 1, 0, 1, 0, 0, 0, //
            4, 0, 0, 0, 0, 0, 0, 0, //
            2, 0, 0, 0, 1, 0, 0, 0, //
            0, 0xb0, 0xad, 0xde, 0, 0, 0, 0,
        ];
        assert_eq!(a.as_bytes(), &want);
        assert_eq!(XenMemAcquireResource::read_from_bytes(&want).unwrap(), a);
    }
}
