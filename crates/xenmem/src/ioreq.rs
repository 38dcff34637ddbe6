//! Serving I/O requests: the ioreq server's pages as a device model sees them, with the
//! state machine Xen expects (`xen/common/ioreq.c`, `wait_for_io` and `ioreq_send`).
//!
//! A server's synchronous page (resource frame 1 of `acquire_resource`; frame `1 + n` for
//! vCPUs `128 n ..`) holds one [`Ioreq`] per vCPU. For each access of the emulated domain
//! that falls in one of the server's ranges, Xen fills the vCPU's slot, sets its state to
//! `STATE_IOREQ_READY`, notifies the slot's `vp_eport` and blocks the vCPU. The device model
//! then:
//!
//! 1. [`IoreqPage::take`]s the request (state `READY` → `INPROCESS`);
//! 2. performs the access;
//! 3. [`IoreqPage::complete`]s it: for a read it stores the value in `data`, then (after a
//!    release barrier, so Xen sees the data first) sets `STATE_IORESP_READY`;
//! 4. sends an event on its end of `vp_eport` (`crate::evtchn`). Xen then resets the state
//!    to `NONE` and resumes the vCPU with the data.
//!
//! Writes must be completed too: the vCPU waits until they are. What Xen does with a state a
//! device model should never write: `NONE` completes the access with all-ones data; 4 to 15
//! crash the emulated domain; a slot that is not `NONE` (or whose `vp_eport` was changed) when
//! Xen posts the next request makes that access fail (x86: #GP for MMIO, a crash for ports).
//!
//! The buffered page ([`BufIoreqPage`], resource frame 0) is a ring of writes Xen posts
//! without waiting; the device model consumes it and advances `read_pointer`.
//!
//! Pages are reached through [`SharedPage`]: [`crate::shared_page::SlicePage`] for bytes in
//! ordinary memory, [`crate::shared_page::MappedPage`] for the real mapping. No function
//! here allocates or panics; a slot number past the page is [`Invalid::NoSuchSlot`].

use crate::abi::ioreq::*;
use crate::error::Invalid;
use crate::shared_page::SharedPage;
use core::sync::atomic::{fence, Ordering};

/// A slot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoreqState {
    /// `STATE_IOREQ_NONE`: free.
    None,
    /// `STATE_IOREQ_READY`: a request waits.
    Ready,
    /// `STATE_IOREQ_INPROCESS`: the device model took it.
    InProcess,
    /// `STATE_IORESP_READY`: answered, Xen has not collected it yet.
    RespReady,
    /// Any other 4-bit value (Xen crashes the domain on it).
    Other(u8),
}

impl IoreqState {
    /// The state for the 4-bit field's value.
    pub const fn from_raw(v: u8) -> IoreqState {
        match v & IOREQ_STATE_MASK {
            STATE_IOREQ_NONE => IoreqState::None,
            STATE_IOREQ_READY => IoreqState::Ready,
            STATE_IOREQ_INPROCESS => IoreqState::InProcess,
            STATE_IORESP_READY => IoreqState::RespReady,
            v => IoreqState::Other(v),
        }
    }

    /// The field's value.
    pub const fn raw(self) -> u8 {
        match self {
            IoreqState::None => STATE_IOREQ_NONE,
            IoreqState::Ready => STATE_IOREQ_READY,
            IoreqState::InProcess => STATE_IOREQ_INPROCESS,
            IoreqState::RespReady => STATE_IORESP_READY,
            IoreqState::Other(v) => v & IOREQ_STATE_MASK,
        }
    }
}

/// Which way the data goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoDir {
    /// The guest stores: `data` holds the value.
    Write,
    /// The guest loads: the device model supplies `data`.
    Read,
}

/// What kind of access (`IOREQ_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoType {
    /// Port I/O.
    Pio,
    /// MMIO.
    Copy,
    /// PCI configuration space (`addr` = SBDF << 32 | register).
    PciConfig,
    /// The RTC offset changed (buffered only).
    TimeOffset,
    /// Invalidate the mapcache.
    Invalidate,
    /// A type this library does not know.
    Other(u8),
}

impl IoType {
    /// The type for a raw value.
    pub const fn from_raw(v: u8) -> IoType {
        match v {
            IOREQ_TYPE_PIO => IoType::Pio,
            IOREQ_TYPE_COPY => IoType::Copy,
            IOREQ_TYPE_PCI_CONFIG => IoType::PciConfig,
            IOREQ_TYPE_TIMEOFFSET => IoType::TimeOffset,
            IOREQ_TYPE_INVALIDATE => IoType::Invalidate,
            v => IoType::Other(v),
        }
    }

    /// The raw value.
    pub const fn raw(self) -> u8 {
        match self {
            IoType::Pio => IOREQ_TYPE_PIO,
            IoType::Copy => IOREQ_TYPE_COPY,
            IoType::PciConfig => IOREQ_TYPE_PCI_CONFIG,
            IoType::TimeOffset => IOREQ_TYPE_TIMEOFFSET,
            IoType::Invalidate => IOREQ_TYPE_INVALIDATE,
            IoType::Other(v) => v,
        }
    }
}

/// A request as a device model acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// Port, guest-physical address, or PCI SBDF << 32 | register.
    pub addr: u64,
    /// Bytes per access (1, 2, 4 or 8 from Xen's emulator).
    pub size: u32,
    /// Repetitions (`rep` instructions); 1 otherwise.
    pub count: u32,
    /// Which way.
    pub dir: IoDir,
    /// What kind.
    pub io_type: IoType,
    /// A write's value; or, with `data_is_ptr`, the guest-physical address of the data.
    pub data: u64,
    /// `data` is a guest-physical address (a `rep movs`/`ins`/`outs`).
    pub data_is_ptr: bool,
    /// A `rep` goes downwards.
    pub df: bool,
    /// The event channel, in the emulated domain, this slot is notified on.
    pub vp_eport: u32,
}

impl Request {
    /// The request a raw slot describes (whatever its state).
    pub const fn from_raw(r: &Ioreq) -> Request {
        Request {
            addr: r.addr,
            size: r.size,
            count: r.count,
            dir: if r.dir() == IOREQ_READ { IoDir::Read } else { IoDir::Write },
            io_type: IoType::from_raw(r.r#type),
            data: r.data,
            data_is_ptr: r.data_is_ptr(),
            df: r.df(),
            vp_eport: r.vp_eport,
        }
    }

    /// A write's value cut to `size` bytes (Xen zero-extends it; this drops anything else).
    pub const fn value(&self) -> u64 {
        match self.size {
            1 => self.data & 0xff,
            2 => self.data & 0xffff,
            4 => self.data & 0xffff_ffff,
            _ => self.data,
        }
    }
}

/// The resource frame and slot of vCPU `vcpu`'s request: frame `1 + vcpu / 128`, slot
/// `vcpu % 128`.
pub const fn slot_of(vcpu: u32) -> (u64, u32) {
    (1 + (vcpu / IOREQS_PER_PAGE) as u64, vcpu % IOREQS_PER_PAGE)
}

/// A synchronous ioreq page: 128 slots.
#[derive(Debug)]
pub struct IoreqPage<P> {
    page: P,
}

impl<P: SharedPage> IoreqPage<P> {
    /// Slots in a page.
    pub const SLOTS: u32 = IOREQS_PER_PAGE;

    /// The page.
    pub const fn new(page: P) -> Self {
        IoreqPage { page }
    }

    /// Gives the page back.
    pub fn into_inner(self) -> P {
        self.page
    }

    fn base(slot: u32) -> Result<usize, Invalid> {
        if slot < Self::SLOTS {
            Ok(slot as usize * IOREQ_SIZE)
        } else {
            Err(Invalid::NoSuchSlot)
        }
    }

    /// The slot's state. A device model that finds [`IoreqState::Ready`] should read the
    /// request only after this (which [`IoreqPage::take`] does with the barrier it needs).
    ///
    /// # Errors
    ///
    /// [`Invalid::NoSuchSlot`] for a slot past 127.
    pub fn state(&self, slot: u32) -> Result<IoreqState, Invalid> {
        let b = Self::base(slot)?;
        Ok(IoreqState::from_raw(self.page.load_u8(b + IOREQ_FLAGS_OFFSET)))
    }

    /// The slot's `vp_eport`: the port, in the emulated domain, to bind to (Xen writes it when
    /// the server is enabled).
    ///
    /// # Errors
    ///
    /// [`Invalid::NoSuchSlot`].
    pub fn vp_eport(&self, slot: u32) -> Result<u32, Invalid> {
        let b = Self::base(slot)?;
        Ok(self.page.load_u32(b + 24))
    }

    /// The whole slot as Xen's struct, the state first, then (after an acquire barrier) the
    /// rest.
    ///
    /// # Errors
    ///
    /// [`Invalid::NoSuchSlot`].
    pub fn load(&self, slot: u32) -> Result<Ioreq, Invalid> {
        let b = Self::base(slot)?;
        let flags = self.page.load_u8(b + IOREQ_FLAGS_OFFSET);
        fence(Ordering::Acquire);
        Ok(Ioreq {
            addr: self.page.load_u64(b),
            data: self.page.load_u64(b + 8),
            count: self.page.load_u32(b + 16),
            size: self.page.load_u32(b + 20),
            vp_eport: self.page.load_u32(b + 24),
            _pad0: 0,
            flags,
            r#type: self.page.load_u8(b + 31),
        })
    }

    /// If the slot holds a new request (`READY`), marks it `INPROCESS` and returns it;
    /// otherwise `None`.
    ///
    /// # Errors
    ///
    /// [`Invalid::NoSuchSlot`].
    pub fn take(&mut self, slot: u32) -> Result<Option<Request>, Invalid> {
        let r = self.load(slot)?;
        if r.state() != STATE_IOREQ_READY {
            return Ok(None);
        }
        self.set_state(slot, IoreqState::InProcess)?;
        Ok(Some(Request::from_raw(&r)))
    }

    /// Answers the slot's request: stores `read_value` in `data` for a read (`None` leaves
    /// `data` as it is, as for a write), then sets `STATE_IORESP_READY` after a release
    /// barrier. Notify the slot's port afterwards.
    ///
    /// # Errors
    ///
    /// [`Invalid::NoSuchSlot`].
    pub fn complete(&mut self, slot: u32, read_value: Option<u64>) -> Result<(), Invalid> {
        let b = Self::base(slot)?;
        if let Some(v) = read_value {
            self.page.store_u64(b + 8, v);
        }
        fence(Ordering::Release);
        self.set_state(slot, IoreqState::RespReady)
    }

    /// Writes the 4-bit state (the other bits of its byte kept), with no barrier: for
    /// device models that drive the protocol themselves, and tests of what Xen does with
    /// a state it does not expect.
    ///
    /// # Errors
    ///
    /// [`Invalid::NoSuchSlot`].
    pub fn set_state(&mut self, slot: u32, state: IoreqState) -> Result<(), Invalid> {
        let at = Self::base(slot)? + IOREQ_FLAGS_OFFSET;
        let old = self.page.load_u8(at);
        self.page.store_u8(at, (old & !IOREQ_STATE_MASK) | state.raw());
        Ok(())
    }
}

/// One write taken from the buffered ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufRequest {
    /// What kind.
    pub io_type: IoType,
    /// Which way (Xen buffers writes).
    pub dir: IoDir,
    /// Bytes (1, 2, 4 or 8).
    pub size: u32,
    /// Port or address (the first MiB only: 20 bits).
    pub addr: u32,
    /// The value (an 8-byte one spans two slots).
    pub data: u64,
}

/// A buffered ioreq page: `read_pointer`, `write_pointer` and 511 slots.
#[derive(Debug)]
pub struct BufIoreqPage<P> {
    page: P,
}

impl<P: SharedPage> BufIoreqPage<P> {
    /// The page.
    pub const fn new(page: P) -> Self {
        BufIoreqPage { page }
    }

    /// Gives the page back.
    pub fn into_inner(self) -> P {
        self.page
    }

    /// Slots posted and not yet consumed (`write_pointer - read_pointer`, wrapping).
    pub fn pending(&self) -> u32 {
        let w = self.page.load_u32(BUFIOREQ_WRITE_POINTER);
        let r = self.page.load_u32(BUFIOREQ_READ_POINTER);
        w.wrapping_sub(r)
    }

    fn slot(&self, i: u32) -> BufIoreq {
        let at = BUFIOREQ_SLOTS + (i % IOREQ_BUFFER_SLOT_NUM) as usize * 8;
        BufIoreq { word: self.page.load_u32(at), data: self.page.load_u32(at + 4) }
    }

    /// Takes the oldest posted write, advancing `read_pointer` past its slot (two for an
    /// 8-byte write), or `None` when the ring is empty.
    pub fn pop(&mut self) -> Option<BufRequest> {
        let r = self.page.load_u32(BUFIOREQ_READ_POINTER);
        let w = self.page.load_u32(BUFIOREQ_WRITE_POINTER);
        if r == w {
            return None;
        }
        fence(Ordering::Acquire);
        let s = self.slot(r);
        let mut data = u64::from(s.data);
        let mut used = 1;
        if s.size() == 8 {
            data |= u64::from(self.slot(r.wrapping_add(1)).data) << 32;
            used = 2;
        }
        fence(Ordering::Release);
        self.page.store_u32(BUFIOREQ_READ_POINTER, r.wrapping_add(used));
        Some(BufRequest {
            io_type: IoType::from_raw(s.io_type()),
            dir: if s.dir() == IOREQ_READ { IoDir::Read } else { IoDir::Write },
            size: s.size(),
            addr: s.addr(),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared_page::SlicePage;
    use zerocopy::IntoBytes;

    fn post(bytes: &mut [u8], slot: usize, r: Ioreq) {
        bytes[slot * 32..slot * 32 + 32].copy_from_slice(r.as_bytes());
    }

    #[test]
    fn a_read_served() {
        let mut bytes = [0u8; 4096];
        let req = Ioreq {
            addr: 0xfeed_0000,
            data: 0,
            count: 1,
            size: 4,
            vp_eport: 3,
            _pad0: 0,
            flags: STATE_IOREQ_READY | IOREQ_DIR,
            r#type: IOREQ_TYPE_COPY,
        };
        post(&mut bytes, 5, req);
        let mut page = IoreqPage::new(SlicePage::new(&mut bytes).unwrap());
        assert_eq!(page.state(4), Ok(IoreqState::None));
        assert_eq!(page.take(4), Ok(None));
        assert_eq!(page.vp_eport(5), Ok(3));
        let r = page.take(5).unwrap().unwrap();
        assert_eq!(
            (r.addr, r.size, r.dir, r.io_type, r.vp_eport),
            (0xfeed_0000, 4, IoDir::Read, IoType::Copy, 3)
        );
        assert_eq!(page.state(5), Ok(IoreqState::InProcess));
        assert_eq!(page.take(5), Ok(None));
        page.complete(5, Some(0x1234)).unwrap();
        assert_eq!(page.state(5), Ok(IoreqState::RespReady));
        assert_eq!(page.state(128), Err(Invalid::NoSuchSlot));
        assert_eq!(page.complete(200, None), Err(Invalid::NoSuchSlot));
        let _ = page.into_inner();
        // data, and the state byte with dir kept.
        assert_eq!(&bytes[5 * 32 + 8..5 * 32 + 16], &0x1234u64.to_le_bytes());
        assert_eq!(bytes[5 * 32 + 30], STATE_IORESP_READY | IOREQ_DIR);
    }

    #[test]
    fn a_write_keeps_its_data_and_any_state_decodes() {
        let mut bytes = [0u8; 4096];
        let req = Ioreq { addr: 0x3f8, data: 0xffff_ff41, count: 1, size: 1, flags: 1, ..Ioreq::default() };
        post(&mut bytes, 0, req);
        let mut page = IoreqPage::new(SlicePage::new(&mut bytes).unwrap());
        let r = page.take(0).unwrap().unwrap();
        assert_eq!((r.dir, r.io_type, r.value()), (IoDir::Write, IoType::Pio, 0x41));
        page.complete(0, None).unwrap();
        assert_eq!(page.load(0).unwrap().data, 0xffff_ff41);
        for v in 0..=255u8 {
            let s = IoreqState::from_raw(v);
            assert_eq!(s.raw(), v & 0xf);
            page.set_state(0, s).unwrap();
            assert_eq!(page.state(0), Ok(s));
        }
        assert_eq!(slot_of(0), (1, 0));
        assert_eq!(slot_of(130), (2, 2));
    }

    #[test]
    fn buffered_ring() {
        let mut bytes = [0u8; 4096];
        let slot = |i: usize| 8 + i * 8;
        // A 2-byte write of 0xbeef to port 0x80 at slot 510, then an 8-byte one wrapping.
        let w1 = (1u32 << BUFIOREQ_SIZE_SHIFT) | (0x80 << BUFIOREQ_ADDR_SHIFT);
        bytes[slot(510)..slot(510) + 8].copy_from_slice(BufIoreq { word: w1, data: 0xbeef }.as_bytes());
        let w2 = 1 | (3u32 << BUFIOREQ_SIZE_SHIFT) | (0xa0000 << BUFIOREQ_ADDR_SHIFT);
        bytes[slot(0)..slot(0) + 8].copy_from_slice(BufIoreq { word: w2, data: 0x5566_7788 }.as_bytes());
        bytes[slot(1)..slot(1) + 8].copy_from_slice(BufIoreq { word: w2, data: 0x1122_3344 }.as_bytes());
        bytes[0..4].copy_from_slice(&510u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&513u32.to_le_bytes());
        let mut ring = BufIoreqPage::new(SlicePage::new(&mut bytes).unwrap());
        assert_eq!(ring.pending(), 3);
        let a = ring.pop().unwrap();
        assert_eq!((a.io_type, a.size, a.addr, a.data), (IoType::Pio, 2, 0x80, 0xbeef));
        let b = ring.pop().unwrap();
        assert_eq!((b.io_type, b.size, b.addr, b.data), (IoType::Copy, 8, 0xa0000, 0x1122_3344_5566_7788));
        assert_eq!(ring.pop(), None);
        assert_eq!(ring.pending(), 0);
    }

    #[test]
    fn garbage_never_panics() {
        let mut bytes = [0xa5u8; 4096];
        let mut page = IoreqPage::new(SlicePage::new(&mut bytes).unwrap());
        for s in 0..128 {
            let _ = page.take(s).unwrap();
            page.complete(s, Some(1)).unwrap();
        }
        let mut bytes = [0xffu8; 4096];
        let mut ring = BufIoreqPage::new(SlicePage::new(&mut bytes).unwrap());
        assert!(ring.pop().is_none()); // read == write
        bytes[0] = 0;
        let mut ring = BufIoreqPage::new(SlicePage::new(&mut bytes).unwrap());
        for _ in 0..600 {
            let _ = ring.pop();
        }
    }
}
