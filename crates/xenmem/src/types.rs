//! Typed values of the memory_op interface: domain ids, frame numbers, map spaces, resource
//! types, allocation flags and per-entry statuses.

use crate::abi;
use crate::error::XenError;
use core::fmt;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A domain id (`domid_t`). Ids from [`DomId::FIRST_RESERVED`] up name Xen's pseudo-domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct DomId(pub u16);

impl DomId {
    /// The calling domain. The only id an unprivileged domain may name for most operations.
    pub const SELF: DomId = DomId(abi::DOMID_SELF);
    /// First reserved id (equal to `SELF`).
    pub const FIRST_RESERVED: DomId = DomId(abi::DOMID_FIRST_RESERVED);
    /// Owner of I/O memory.
    pub const IO: DomId = DomId(abi::DOMID_IO);
    /// Xen itself.
    pub const XEN: DomId = DomId(abi::DOMID_XEN);
    /// Owner of copy-on-write pages.
    pub const COW: DomId = DomId(abi::DOMID_COW);
    /// No domain.
    pub const INVALID: DomId = DomId(abi::DOMID_INVALID);
    /// The idle domain.
    pub const IDLE: DomId = DomId(abi::DOMID_IDLE);

    /// The raw id.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// Whether this id names an ordinary domain (below `DOMID_FIRST_RESERVED`).
    pub const fn is_ordinary(self) -> bool {
        self.0 < abi::DOMID_FIRST_RESERVED
    }
}

impl fmt::Display for DomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            abi::DOMID_SELF => f.write_str("DOMID_SELF"),
            abi::DOMID_IO => f.write_str("DOMID_IO"),
            abi::DOMID_XEN => f.write_str("DOMID_XEN"),
            abi::DOMID_COW => f.write_str("DOMID_COW"),
            abi::DOMID_INVALID => f.write_str("DOMID_INVALID"),
            abi::DOMID_IDLE => f.write_str("DOMID_IDLE"),
            n => write!(f, "d{n}"),
        }
    }
}

macro_rules! frame_number {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
            FromBytes, IntoBytes, Immutable,
        )]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// `INVALID_GFN` / `INVALID_MFN`.
            pub const INVALID: $name = $name(abi::INVALID_FRAME);

            /// The raw frame number.
            pub const fn raw(self) -> u64 {
                self.0
            }

            /// The frame `n` pages further on, or `None` past the end of the number space.
            pub const fn checked_add(self, n: u64) -> Option<$name> {
                match self.0.checked_add(n) {
                    Some(v) => Some($name(v)),
                    None => None,
                }
            }

            /// The byte address of the frame's first byte, or `None` if it does not fit.
            pub const fn address(self) -> Option<u64> {
                self.0.checked_mul(abi::XEN_PAGE_SIZE as u64)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, " {:#x}"), self.0)
            }
        }
    };
}

frame_number!(
    /// A guest frame number: a 4 KiB page of a domain's guest-physical address space.
    ///
    /// In arrays handed to Xen it is a `xen_pfn_t`; where Xen writes machine frames back into
    /// such an array (x86 PV targets), read them with [`Mfn::from`].
    Gfn,
    "gfn"
);
frame_number!(
    /// A machine frame number: a 4 KiB page of host memory.
    Mfn,
    "mfn"
);

impl From<Gfn> for Mfn {
    /// Reinterprets a `xen_pfn_t` slot into which Xen wrote a machine frame (PV callers).
    fn from(g: Gfn) -> Mfn {
        Mfn(g.0)
    }
}

/// Where the frame given to add_to_physmap comes from (`XENMAPSPACE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapSpace {
    /// The domain's shared-info page; idx must be 0.
    SharedInfo,
    /// A grant-table frame; build idx with [`GrantFrame::idx`].
    GrantTable,
    /// One of the domain's own frames, moved to the new GFN (x86 only); idx is its GFN.
    Gmfn,
    /// A range of the domain's own frames (x86 only, single add only).
    GmfnRange,
    /// A frame of another domain (batch only); idx is the foreign GFN.
    GmfnForeign,
    /// A device MMIO frame (Arm hardware domain only); idx is the MFN.
    DevMmio,
    /// A space this library does not know, sent to Xen as given.
    Other(u32),
}

impl MapSpace {
    /// The `XENMAPSPACE_*` value.
    pub const fn raw(self) -> u32 {
        match self {
            MapSpace::SharedInfo => abi::XENMAPSPACE_SHARED_INFO,
            MapSpace::GrantTable => abi::XENMAPSPACE_GRANT_TABLE,
            MapSpace::Gmfn => abi::XENMAPSPACE_GMFN,
            MapSpace::GmfnRange => abi::XENMAPSPACE_GMFN_RANGE,
            MapSpace::GmfnForeign => abi::XENMAPSPACE_GMFN_FOREIGN,
            MapSpace::DevMmio => abi::XENMAPSPACE_DEV_MMIO,
            MapSpace::Other(v) => v,
        }
    }

    /// The space for a raw value (known values get their own variant).
    pub const fn from_raw(v: u32) -> MapSpace {
        match v {
            abi::XENMAPSPACE_SHARED_INFO => MapSpace::SharedInfo,
            abi::XENMAPSPACE_GRANT_TABLE => MapSpace::GrantTable,
            abi::XENMAPSPACE_GMFN => MapSpace::Gmfn,
            abi::XENMAPSPACE_GMFN_RANGE => MapSpace::GmfnRange,
            abi::XENMAPSPACE_GMFN_FOREIGN => MapSpace::GmfnForeign,
            abi::XENMAPSPACE_DEV_MMIO => MapSpace::DevMmio,
            v => MapSpace::Other(v),
        }
    }

    /// Xen's name for the space (`"gmfn_foreign"`), or `None` for an unknown one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            MapSpace::SharedInfo => "shared_info",
            MapSpace::GrantTable => "grant_table",
            MapSpace::Gmfn => "gmfn",
            MapSpace::GmfnRange => "gmfn_range",
            MapSpace::GmfnForeign => "gmfn_foreign",
            MapSpace::DevMmio => "dev_mmio",
            MapSpace::Other(_) => return None,
        })
    }
}

/// A grant-table frame, as add_to_physmap's idx names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantFrame {
    /// Shared frame `n` (grant entries).
    Shared(u32),
    /// Status frame `n` (grant v2 only).
    Status(u32),
}

impl GrantFrame {
    /// The idx for `XENMAPSPACE_grant_table`.
    pub const fn idx(self) -> u64 {
        match self {
            GrantFrame::Shared(n) => n as u64,
            GrantFrame::Status(n) => n as u64 | abi::XENMAPIDX_GRANT_TABLE_STATUS,
        }
    }
}

/// A kind of Xen-managed resource (`XENMEM_resource_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// An ioreq server's pages; id is the server id.
    IoreqServer,
    /// A grant table; id is [`GrantTableId`] as a number.
    GrantTable,
    /// A vCPU's processor-trace buffer; id is the vCPU.
    VmtraceBuf,
    /// A type this library does not know, sent to Xen as given.
    Other(u16),
}

impl ResourceType {
    /// The `XENMEM_resource_*` value.
    pub const fn raw(self) -> u16 {
        match self {
            ResourceType::IoreqServer => abi::XENMEM_RESOURCE_IOREQ_SERVER,
            ResourceType::GrantTable => abi::XENMEM_RESOURCE_GRANT_TABLE,
            ResourceType::VmtraceBuf => abi::XENMEM_RESOURCE_VMTRACE_BUF,
            ResourceType::Other(v) => v,
        }
    }

    /// The type for a raw value.
    pub const fn from_raw(v: u16) -> ResourceType {
        match v {
            abi::XENMEM_RESOURCE_IOREQ_SERVER => ResourceType::IoreqServer,
            abi::XENMEM_RESOURCE_GRANT_TABLE => ResourceType::GrantTable,
            abi::XENMEM_RESOURCE_VMTRACE_BUF => ResourceType::VmtraceBuf,
            v => ResourceType::Other(v),
        }
    }

    /// Xen's name for the type, or `None` for an unknown one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            ResourceType::IoreqServer => "ioreq_server",
            ResourceType::GrantTable => "grant_table",
            ResourceType::VmtraceBuf => "vmtrace_buf",
            ResourceType::Other(_) => return None,
        })
    }
}

/// The two grant-table resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GrantTableId {
    /// The shared frames (grant entries).
    Shared = abi::XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED,
    /// The status frames (grant v2).
    Status = abi::XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS,
}

/// `mem_flags` of a reservation: an address-width limit, a NUMA node hint and three flags.
///
/// Address bits and node are small fields, not flags, so this is a value type with builder
/// methods rather than a bit set. Unprivileged callers: Xen ignores a plain node hint from
/// them but refuses `exact_node` (the call then does nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct MemFlags(u32);

impl MemFlags {
    /// No constraint: any node, any address.
    pub const fn empty() -> MemFlags {
        MemFlags(0)
    }

    /// Flags from their raw encoding, unchecked (Xen validates them).
    pub const fn from_raw(v: u32) -> MemFlags {
        MemFlags(v)
    }

    /// The raw `mem_flags` value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Frames must lie below `2^bits` bytes (0: no limit).
    pub const fn with_address_bits(self, bits: u8) -> MemFlags {
        MemFlags((self.0 & !abi::XENMEMF_ADDRESS_BITS_MASK) | bits as u32)
    }

    /// Prefer NUMA node `node` (encoded as `node + 1`, so node 255 cannot be expressed).
    pub const fn with_node(self, node: u8) -> MemFlags {
        let field = (node as u32 + 1) & abi::XENMEMF_NODE_MASK;
        MemFlags(
            (self.0 & !(abi::XENMEMF_NODE_MASK << abi::XENMEMF_NODE_SHIFT))
                | (field << abi::XENMEMF_NODE_SHIFT),
        )
    }

    /// Insist on the node given (privileged callers only).
    pub const fn exact_node(self) -> MemFlags {
        MemFlags(self.0 | abi::XENMEMF_EXACT_NODE_REQUEST)
    }

    /// The node is a virtual node of the target domain.
    pub const fn vnode(self) -> MemFlags {
        MemFlags(self.0 | abi::XENMEMF_VNODE)
    }

    /// Populate on demand (x86 HVM; populate_physmap only).
    pub const fn populate_on_demand(self) -> MemFlags {
        MemFlags(self.0 | abi::XENMEMF_POPULATE_ON_DEMAND)
    }

    /// The address-width limit (0: none).
    pub const fn address_bits(self) -> u8 {
        (self.0 & abi::XENMEMF_ADDRESS_BITS_MASK) as u8
    }

    /// The node hint, if any.
    pub const fn node(self) -> Option<u8> {
        let f = (self.0 >> abi::XENMEMF_NODE_SHIFT) & abi::XENMEMF_NODE_MASK;
        if f == 0 {
            None
        } else {
            Some((f - 1) as u8)
        }
    }

    /// Whether the exact-node flag is set.
    pub const fn is_exact_node(self) -> bool {
        self.0 & abi::XENMEMF_EXACT_NODE_REQUEST != 0
    }

    /// Whether the vnode flag is set.
    pub const fn is_vnode(self) -> bool {
        self.0 & abi::XENMEMF_VNODE != 0
    }

    /// Whether the populate-on-demand flag is set.
    pub const fn is_populate_on_demand(self) -> bool {
        self.0 & abi::XENMEMF_POPULATE_ON_DEMAND != 0
    }
}

/// One entry's result in add_to_physmap_batch: exactly Xen's `int` slot in `errs[]`.
///
/// Before each call the library marks every entry [`EntryStatus::NOT_DONE`]; Xen overwrites
/// the entries it processes with 0 or `-errno`. So after a call that Xen aborted mid-way
/// (a fault, an invalid GFN), the entries it never reached are told apart from failures.
#[derive(Clone, Copy, PartialEq, Eq, Hash, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(transparent)]
pub struct EntryStatus(pub i32);

impl EntryStatus {
    /// Mapped.
    pub const OK: EntryStatus = EntryStatus(0);
    /// Not processed by Xen (never a value Xen writes: it writes 0 or a small `-errno`).
    pub const NOT_DONE: EntryStatus = EntryStatus(i32::MIN);

    /// The entry's outcome; `None` if Xen did not reach it.
    pub const fn result(self) -> Option<Result<(), XenError>> {
        match self.0 {
            0 => Some(Ok(())),
            i32::MIN => None,
            e if e < 0 => Some(Err(XenError::from_errno(-e))),
            e => Some(Err(XenError::Other(-e))),
        }
    }

    /// Whether Xen mapped this entry.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The raw value Xen wrote.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl Default for EntryStatus {
    fn default() -> Self {
        EntryStatus::NOT_DONE
    }
}

impl fmt::Debug for EntryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.result() {
            None => f.write_str("NotDone"),
            Some(Ok(())) => f.write_str("Ok"),
            Some(Err(e)) => write!(f, "{e:?}"),
        }
    }
}

/// An extent order Xen accepts as a number: `PAGE_SHIFT + order < 64`. Whether the caller may
/// use it is Xen's decision (`memop-max-order`), reported as a short count.
pub const MAX_ABI_EXTENT_ORDER: u32 = 63 - abi::XEN_PAGE_SHIFT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memflags_encoding_matches_xen_macros() {
        // XENMEMF_address_bits(32) | XENMEMF_node(1) | exact | vnode | pod
        let f =
            MemFlags::empty().with_address_bits(32).with_node(1).exact_node().vnode().populate_on_demand();
        assert_eq!(f.raw(), 32 | (2 << 8) | (1 << 17) | (1 << 18) | (1 << 16));
        assert_eq!(f.address_bits(), 32);
        assert_eq!(f.node(), Some(1));
        assert!(f.is_exact_node() && f.is_vnode() && f.is_populate_on_demand());
        assert_eq!(MemFlags::empty().node(), None);
        assert_eq!(MemFlags::empty().with_node(0).raw(), 1 << 8);
        // Replacing a field leaves the others.
        assert_eq!(f.with_address_bits(40).with_node(3).raw(), 40 | (4 << 8) | (7 << 16));
    }

    #[test]
    fn grant_frame_idx() {
        assert_eq!(GrantFrame::Shared(3).idx(), 3);
        assert_eq!(GrantFrame::Status(3).idx(), 0x8000_0003);
    }

    #[test]
    fn spaces_and_types_round_trip() {
        for v in 0..8u32 {
            assert_eq!(MapSpace::from_raw(v).raw(), v);
        }
        assert_eq!(MapSpace::GmfnForeign.raw(), 4);
        assert_eq!(MapSpace::DevMmio.raw(), 5);
        assert_eq!(MapSpace::from_raw(9), MapSpace::Other(9));
        for v in 0..5u16 {
            assert_eq!(ResourceType::from_raw(v).raw(), v);
        }
        assert_eq!(ResourceType::GrantTable.raw(), 1);
        assert_eq!(GrantTableId::Status as u32, 1);
    }

    #[test]
    fn domid_specials() {
        assert_eq!(DomId::SELF.raw(), 0x7ff0);
        assert_eq!(DomId::IO.raw(), 0x7ff1);
        assert_eq!(DomId::XEN.raw(), 0x7ff2);
        assert_eq!(DomId::COW.raw(), 0x7ff3);
        assert_eq!(DomId::INVALID.raw(), 0x7ff4);
        assert_eq!(DomId::IDLE.raw(), 0x7fff);
        assert!(DomId(0x7fef).is_ordinary() && !DomId::SELF.is_ordinary());
    }

    #[test]
    fn entry_status_decoding() {
        assert_eq!(EntryStatus(0).result(), Some(Ok(())));
        assert_eq!(EntryStatus(-22).result(), Some(Err(XenError::Inval)));
        assert_eq!(EntryStatus(-9999).result(), Some(Err(XenError::Other(9999))));
        assert_eq!(EntryStatus::NOT_DONE.result(), None);
        assert_eq!(EntryStatus::default(), EntryStatus::NOT_DONE);
    }
}
