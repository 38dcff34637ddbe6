//! The pages an ioreq server shares with Xen (`hvm/ioreq.h` of Xen 4.17): the synchronous
//! page, an array of one [`Ioreq`] per vCPU, and the buffered page, a ring of [`BufIoreq`]
//! slots behind a read and a write pointer.
//!
//! C bitfields have no Rust equivalent, so the byte that holds `state`, `data_is_ptr`, `dir`
//! and `df` is a plain `u8` with masks, and a buffered slot's first word is a `u32` with
//! shifts; the header test (`tests/abi_headers.rs`) sets each C bitfield and checks that the
//! masks here find it. `crate::ioreq` reads and writes slots through these.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `dir`: the device model reads (the guest loads).
pub const IOREQ_READ: u8 = 1;
/// `dir`: the device model is written (the guest stores).
pub const IOREQ_WRITE: u8 = 0;

/// `STATE_IOREQ_NONE`: the slot is free.
pub const STATE_IOREQ_NONE: u8 = 0;
/// `STATE_IOREQ_READY`: Xen posted a request.
pub const STATE_IOREQ_READY: u8 = 1;
/// `STATE_IOREQ_INPROCESS`: the device model took it.
pub const STATE_IOREQ_INPROCESS: u8 = 2;
/// `STATE_IORESP_READY`: the device model answered.
pub const STATE_IORESP_READY: u8 = 3;

/// `IOREQ_TYPE_PIO`: port I/O.
pub const IOREQ_TYPE_PIO: u8 = 0;
/// `IOREQ_TYPE_COPY`: MMIO.
pub const IOREQ_TYPE_COPY: u8 = 1;
/// `IOREQ_TYPE_PCI_CONFIG`: a PCI configuration-space access (`addr` = SBDF << 32 | register).
pub const IOREQ_TYPE_PCI_CONFIG: u8 = 2;
/// `IOREQ_TYPE_TIMEOFFSET`: the guest's RTC offset changed (buffered only).
pub const IOREQ_TYPE_TIMEOFFSET: u8 = 7;
/// `IOREQ_TYPE_INVALIDATE`: drop any mapcache (QEMU).
pub const IOREQ_TYPE_INVALIDATE: u8 = 8;

/// Bits 0–3 of [`Ioreq::flags`]: `state`.
pub const IOREQ_STATE_MASK: u8 = 0x0f;
/// Bit 4: `data_is_ptr` (`data` is the guest-physical address of the data).
pub const IOREQ_DATA_IS_PTR: u8 = 0x10;
/// Bit 5: `dir` (set: [`IOREQ_READ`]).
pub const IOREQ_DIR: u8 = 0x20;
/// Bit 6: `df` (a `rep` instruction runs backwards).
pub const IOREQ_DF: u8 = 0x40;

/// `struct ioreq` (`ioreq_t`), 32 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ioreq {
    /// Guest-physical address or port.
    pub addr: u64,
    /// The data (a write's value, a read's answer), or its guest-physical address.
    pub data: u64,
    /// Repetitions of a `rep` instruction (1 otherwise).
    pub count: u32,
    /// Bytes per access.
    pub size: u32,
    /// The event channel (in the emulated domain) Xen notifies on.
    pub vp_eport: u32,
    /// `_pad0`.
    pub _pad0: u16,
    /// `state:4, data_is_ptr:1, dir:1, df:1, _pad1:1`.
    pub flags: u8,
    /// `IOREQ_TYPE_*`.
    pub r#type: u8,
}

impl Ioreq {
    /// `state` (4 bits, so 0 to 15).
    pub const fn state(&self) -> u8 {
        self.flags & IOREQ_STATE_MASK
    }

    /// The same request with `state` replaced (the other bits of its byte kept).
    pub const fn with_state(mut self, state: u8) -> Ioreq {
        self.flags = (self.flags & !IOREQ_STATE_MASK) | (state & IOREQ_STATE_MASK);
        self
    }

    /// `dir` ([`IOREQ_READ`] or [`IOREQ_WRITE`]).
    pub const fn dir(&self) -> u8 {
        (self.flags & IOREQ_DIR != 0) as u8
    }

    /// `data_is_ptr`.
    pub const fn data_is_ptr(&self) -> bool {
        self.flags & IOREQ_DATA_IS_PTR != 0
    }

    /// `df`.
    pub const fn df(&self) -> bool {
        self.flags & IOREQ_DF != 0
    }
}

/// Offset of the byte holding `state` in an [`Ioreq`] (`flags`).
pub const IOREQ_FLAGS_OFFSET: usize = offset_of!(Ioreq, flags);
/// `sizeof(ioreq_t)`.
pub const IOREQ_SIZE: usize = size_of::<Ioreq>();
/// Slots of a synchronous ioreq page: one per vCPU, so a server has one page per 128 vCPUs.
pub const IOREQS_PER_PAGE: u32 = (crate::abi::XEN_PAGE_SIZE / IOREQ_SIZE) as u32;

/// `IOREQ_BUFFER_SLOT_NUM`: slots of the buffered ring.
pub const IOREQ_BUFFER_SLOT_NUM: u32 = 511;
/// Offset of `read_pointer` in the buffered page.
pub const BUFIOREQ_READ_POINTER: usize = 0;
/// Offset of `write_pointer` in the buffered page.
pub const BUFIOREQ_WRITE_POINTER: usize = 4;
/// Offset of the first slot in the buffered page.
pub const BUFIOREQ_SLOTS: usize = 8;

/// Bits 0–7 of [`BufIoreq::word`]: `type`.
pub const BUFIOREQ_TYPE_MASK: u32 = 0xff;
/// Bit 9: `dir`.
pub const BUFIOREQ_DIR: u32 = 1 << 9;
/// Bits 10–11: `size` (0 → 1 byte, 1 → 2, 2 → 4, 3 → 8 in two slots).
pub const BUFIOREQ_SIZE_SHIFT: u32 = 10;
/// Bits 12–31: `addr` (20 bits: the first MiB).
pub const BUFIOREQ_ADDR_SHIFT: u32 = 12;

/// `struct buf_ioreq`, 8 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct BufIoreq {
    /// `type:8, pad:1, dir:1, size:2, addr:20` (least significant bit first).
    pub word: u32,
    /// The data (the high half of an 8-byte write, in the second slot).
    pub data: u32,
}

impl BufIoreq {
    /// `type`.
    pub const fn io_type(&self) -> u8 {
        (self.word & BUFIOREQ_TYPE_MASK) as u8
    }

    /// `dir`.
    pub const fn dir(&self) -> u8 {
        (self.word & BUFIOREQ_DIR != 0) as u8
    }

    /// The access size in bytes (1, 2, 4 or 8).
    pub const fn size(&self) -> u32 {
        1 << ((self.word >> BUFIOREQ_SIZE_SHIFT) & 3)
    }

    /// `addr` (20 bits).
    pub const fn addr(&self) -> u32 {
        self.word >> BUFIOREQ_ADDR_SHIFT
    }
}

const _: () = {
    assert!(size_of::<Ioreq>() == 32);
    assert!(offset_of!(Ioreq, data) == 8);
    assert!(offset_of!(Ioreq, count) == 16);
    assert!(offset_of!(Ioreq, size) == 20);
    assert!(offset_of!(Ioreq, vp_eport) == 24);
    assert!(offset_of!(Ioreq, flags) == 30);
    assert!(offset_of!(Ioreq, r#type) == 31);
    assert!(IOREQS_PER_PAGE == 128);
    assert!(size_of::<BufIoreq>() == 8);
    assert!(BUFIOREQ_SLOTS + IOREQ_BUFFER_SLOT_NUM as usize * size_of::<BufIoreq>() == 4096);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioreq_bytes_and_bits() {
        let r = Ioreq {
            addr: 0xfe00_0004,
            data: 0x1122_3344,
            count: 1,
            size: 4,
            vp_eport: 5,
            _pad0: 0,
            flags: STATE_IOREQ_READY | IOREQ_DIR,
            r#type: IOREQ_TYPE_COPY,
        };
        let want: [u8; 32] = [
            4, 0, 0, 0xfe, 0, 0, 0, 0, //
            0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0, //
            1, 0, 0, 0, 4, 0, 0, 0, //
            5, 0, 0, 0, 0, 0, 0x21, 1,
        ];
        assert_eq!(r.as_bytes(), &want);
        assert_eq!(Ioreq::read_from_bytes(&want).unwrap(), r);
        assert_eq!((r.state(), r.dir(), r.data_is_ptr(), r.df()), (1, IOREQ_READ, false, false));
        let done = r.with_state(STATE_IORESP_READY);
        assert_eq!(done.flags, 0x23);
        assert_eq!(r.with_state(0xff).state(), 0x0f);
    }

    #[test]
    fn buffered_slot_bits() {
        // type 1, dir read, size 8 (3), addr 0xabcde.
        let b = BufIoreq { word: 1 | BUFIOREQ_DIR | (3 << BUFIOREQ_SIZE_SHIFT) | (0xabcde << 12), data: 7 };
        assert_eq!((b.io_type(), b.dir(), b.size(), b.addr()), (1, 1, 8, 0xabcde));
        assert_eq!(b.as_bytes(), &[1, 0xee, 0xcd, 0xab, 7, 0, 0, 0]);
    }
}
