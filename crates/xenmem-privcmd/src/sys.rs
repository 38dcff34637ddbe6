//! The crate's only unsafe code: privcmd's ioctl structs, the two ioctls, the mmap that
//! resource mappings live in ([`MappedResource`]), and the [`Hypercall`] implementation.
//!
//! Layouts follow Linux's `include/uapi/xen/privcmd.h` and Xen's `public/xen.h` for 64-bit
//! callers, and are asserted at compile time: a mistake is a build failure, not a call that
//! hands the kernel a misread struct.

use crate::{Error, Privcmd};
use core::marker::PhantomData;
use core::mem::{offset_of, size_of};
use core::ptr::NonNull;
use rustix::ioctl::{self, opcode, Direction, Ioctl, IoctlOutput, Opcode};
use rustix::mm::{self, MapFlags, ProtFlags};
use std::ffi::c_void;
use std::os::fd::AsFd;
use xenmem::abi::{HYPERVISOR_MEMORY_OP, HYPERVISOR_MULTICALL, HYPERVISOR_XEN_VERSION, XEN_PAGE_SIZE};
use xenmem::shared_page::{MappedPage, SharedPage};
use xenmem::{Hypercall, XenError};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `privcmd_hypercall_t`: the hypercall number and its five arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(crate) struct PrivcmdHypercall {
    pub(crate) op: u64,
    pub(crate) arg: [u64; 5],
}

/// `struct privcmd_mmap_resource`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(crate) struct PrivcmdMmapResource {
    pub(crate) dom: u16,
    pub(crate) _pad: u16,
    pub(crate) r#type: u32,
    pub(crate) id: u32,
    pub(crate) idx: u32,
    /// Frames to map; the kernel writes the resource's size here for the size query.
    pub(crate) num: u64,
    /// Start of a privcmd mapping of `num` pages (0 for the size query).
    pub(crate) addr: u64,
}

/// `struct multicall_entry` for 64-bit callers: `result` is a full `xen_long_t`, which is the
/// point of going through it (see [`Privcmd`]'s docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub(crate) struct MulticallEntry {
    pub(crate) op: u64,
    pub(crate) result: u64,
    pub(crate) args: [u64; 6],
}

const _: () = {
    assert!(size_of::<PrivcmdHypercall>() == 48);
    assert!(offset_of!(PrivcmdHypercall, arg) == 8);
    assert!(size_of::<PrivcmdMmapResource>() == 32);
    assert!(offset_of!(PrivcmdMmapResource, r#type) == 4);
    assert!(offset_of!(PrivcmdMmapResource, id) == 8);
    assert!(offset_of!(PrivcmdMmapResource, idx) == 12);
    assert!(offset_of!(PrivcmdMmapResource, num) == 16);
    assert!(offset_of!(PrivcmdMmapResource, addr) == 24);
    assert!(size_of::<MulticallEntry>() == 64);
    assert!(offset_of!(MulticallEntry, result) == 8);
    assert!(offset_of!(MulticallEntry, args) == 16);
};

/// `IOCTL_PRIVCMD_HYPERCALL`: `_IOC(_IOC_NONE, 'P', 0, sizeof(privcmd_hypercall_t))`.
pub(crate) const IOCTL_PRIVCMD_HYPERCALL: Opcode =
    opcode::from_components(Direction::None, b'P', 0, size_of::<PrivcmdHypercall>());
/// `IOCTL_PRIVCMD_MMAP_RESOURCE`: `_IOC(_IOC_NONE, 'P', 7, sizeof(struct privcmd_mmap_resource))`.
pub(crate) const IOCTL_PRIVCMD_MMAP_RESOURCE: Opcode =
    opcode::from_components(Direction::None, b'P', 7, size_of::<PrivcmdMmapResource>());

const _: () = {
    // The numbers as Linux's header expands them, so the composition above cannot drift.
    assert!(IOCTL_PRIVCMD_HYPERCALL as u64 == 0x30_5000);
    assert!(IOCTL_PRIVCMD_MMAP_RESOURCE as u64 == 0x20_5007);
};

/// One privcmd ioctl whose `int` result is the answer (rustix's ready-made patterns drop it).
struct Call<'a, T> {
    opcode: Opcode,
    arg: &'a mut T,
}

// SAFETY: `as_ptr` is the address of a live, exclusively borrowed `T` of the size encoded in
// the opcode; IS_MUTATING is true because both privcmd ioctls may write user memory (the size
// query writes `num`, a hypercall writes wherever its arguments point); the output is the
// ioctl's return value, which needs no pointer.
unsafe impl<T> Ioctl for Call<'_, T> {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.opcode
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (self.arg as *mut T).cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

/// The positive errno of a failed system call.
pub(crate) fn errno(e: rustix::io::Errno) -> i32 {
    e.raw_os_error()
}

impl Privcmd {
    /// `IOCTL_PRIVCMD_HYPERCALL`: the kernel issues the hypercall and returns Xen's result,
    /// truncated to an `int` by the ioctl path; a negative one arrives as errno.
    ///
    /// # Safety
    ///
    /// As [`Hypercall::hypercall`]: every address in `call` must be valid for what hypercall
    /// `call.op` does with it.
    unsafe fn ioctl_hypercall(&self, call: &mut PrivcmdHypercall) -> i64 {
        let request = Call { opcode: IOCTL_PRIVCMD_HYPERCALL, arg: call };
        // SAFETY: `request` names the hypercall ioctl with a 48-byte struct it only reads; the
        // memory Xen touches through the struct's arguments is the caller's promise.
        match unsafe { ioctl::ioctl(self.fd.as_fd(), request) } {
            Ok(rc) => i64::from(rc),
            Err(e) => -i64::from(errno(e)),
        }
    }

    /// The hypercall wrapped in a one-entry multicall, so its `long` result comes back whole.
    ///
    /// # Safety
    ///
    /// As [`Hypercall::hypercall`].
    unsafe fn multicall1(&self, op: u32, args: [u64; 5]) -> i64 {
        let mut entry = MulticallEntry::default();
        let mut call = multicall_request(&mut entry, op, args);
        // SAFETY: multicall reads the one 64-byte entry and writes its `result`; `entry` is a
        // live local, not otherwise accessed until the call returns. The nested call's own
        // accesses are the caller's promise.
        let rc = unsafe { self.ioctl_hypercall(&mut call) };
        if rc < 0 {
            // The multicall itself failed (the entry unreadable, or privcmd refused): the
            // nested call's result is not there to read.
            return rc;
        }
        decode_multicall_result(&entry)
    }
}

/// Fills `entry` with call `op(args)` and returns the privcmd request that runs it as a
/// one-entry multicall. The request holds `entry`'s address, so `entry` must stay put.
pub(crate) fn multicall_request(entry: &mut MulticallEntry, op: u32, args: [u64; 5]) -> PrivcmdHypercall {
    *entry = MulticallEntry {
        op: u64::from(op),
        result: 0,
        args: [args[0], args[1], args[2], args[3], args[4], 0],
    };
    PrivcmdHypercall {
        op: u64::from(HYPERVISOR_MULTICALL),
        arg: [entry as *mut MulticallEntry as u64, 1, 0, 0, 0],
    }
}

/// The nested call's full result: Xen stores a `long` in the entry's `result`, so the bits
/// are reinterpreted, not converted.
pub(crate) fn decode_multicall_result(entry: &MulticallEntry) -> i64 {
    entry.result as i64
}

// SAFETY: privcmd forwards the op and the five arguments unchanged to Xen (a one-entry
// multicall for memory_op carries them unchanged too), so Xen's own behaviour is what touches
// memory, which is what the trait promises. The only extra memory read or written is this
// function's own local multicall entry and ioctl struct.
unsafe impl Hypercall for Privcmd {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        if op == HYPERVISOR_MEMORY_OP {
            // memory_op answers with values past an `int` (an unlimited max_pages is
            // 0xFFFFFFFF), which the ioctl path would turn into -1/EPERM.
            // SAFETY: the caller's promise is passed on unchanged.
            unsafe { self.multicall1(op, args) }
        } else {
            let mut call = PrivcmdHypercall { op: u64::from(op), arg: args };
            // SAFETY: the caller's promise is passed on unchanged.
            unsafe { self.ioctl_hypercall(&mut call) }
        }
    }
}

/// Issues `IOCTL_PRIVCMD_MMAP_RESOURCE` with `arg` (the size query when `num` and `addr` are
/// 0, which writes the size into `num`).
///
/// The ioctl only ever maps into a privcmd VMA that it finds at `addr` (Linux checks its
/// `vm_ops`), and reads and writes only `arg` otherwise, so this is safe to call with any
/// values: a bad address is `-EINVAL`, not a write to arbitrary memory.
pub(crate) fn ioctl_mmap_resource(p: &Privcmd, arg: &mut PrivcmdMmapResource) -> Result<(), i32> {
    let request = Call { opcode: IOCTL_PRIVCMD_MMAP_RESOURCE, arg };
    // SAFETY: the opcode names the 32-byte struct `request` points to, borrowed exclusively.
    // Linux replaces the PTEs only of a VMA created by privcmd's own mmap (anything else gives
    // -EINVAL), so no memory that Rust owns can be remapped under us.
    match unsafe { ioctl::ioctl(p.fd.as_fd(), request) } {
        Ok(_) => Ok(()),
        Err(e) => Err(errno(e)),
    }
}

/// `xen_version(XENVER_version, NULL)`: the version as `major << 16 | minor`, or `-errno`.
pub(crate) fn xen_version(p: &Privcmd) -> i64 {
    let mut call = PrivcmdHypercall { op: u64::from(HYPERVISOR_XEN_VERSION), arg: [0; 5] };
    // SAFETY: XENVER_version (0) takes no buffer (a null argument) and returns a value only.
    unsafe { p.ioctl_hypercall(&mut call) }
}

/// Frames of a Xen resource mapped into this process; unmapped on drop.
///
/// The frames belong to Xen or another domain, which may write them at any moment, so the
/// safe accessors copy with volatile accesses; [`MappedResource::as_slice`] borrows them
/// directly for callers that know nothing writes (the domain is paused or never ran). Not
/// `Sync`: two threads writing the same bytes through one value would race.
#[derive(Debug)]
pub struct MappedResource {
    ptr: NonNull<u8>,
    len: usize,
    frames: u32,
}

impl MappedResource {
    /// Maps `frames` pages of the privcmd device, shared and read-write. Until the
    /// MMAP_RESOURCE ioctl fills them the pages are empty placeholders (touching one faults),
    /// so nothing hands the value out before that.
    pub(crate) fn reserve(p: &Privcmd, frames: u32) -> Result<MappedResource, Error> {
        // u32 frames of 4 KiB fit a 64-bit usize.
        let len = frames as usize * XEN_PAGE_SIZE;
        // SAFETY: a fresh mapping at an address the kernel picks (null hint, no MAP_FIXED)
        // cannot overlap memory Rust already uses.
        let ptr = unsafe {
            mm::mmap(
                core::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                p.fd.as_fd(),
                0,
            )
        }
        .map_err(|e| Error::os("mmap", errno(e)))?;
        let ptr = NonNull::new(ptr.cast()).ok_or(Error::os("mmap", XenError::Fault.errno()))?;
        Ok(MappedResource { ptr, len, frames })
    }

    /// The start address, for the ioctl.
    pub(crate) fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// Frames mapped.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Bytes mapped (`frames * 4096`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a mapping holds at least one frame.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies bytes from `offset` into `buf`; returns how many (fewer near the end, 0 past it).
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.len.saturating_sub(offset));
        for (i, b) in buf[..n].iter_mut().enumerate() {
            // SAFETY: offset + i < len: inside the mapping, which lives as long as `self`
            // and is backed by the resource's frames (the ioctl succeeded before `self` was
            // handed out). Volatile because another domain may write the frame.
            *b = unsafe { self.ptr.as_ptr().add(offset + i).read_volatile() };
        }
        n
    }

    /// Copies `buf` into the frames at `offset`; returns how many bytes (fewer near the end).
    pub fn write(&mut self, offset: usize, buf: &[u8]) -> usize {
        let n = buf.len().min(self.len.saturating_sub(offset));
        for (i, b) in buf[..n].iter().enumerate() {
            // SAFETY: as in `read`; the mapping is writable (PROT_WRITE) and `&mut self`
            // rules out a live `as_slice` borrow.
            unsafe { self.ptr.as_ptr().add(offset + i).write_volatile(*b) };
        }
        n
    }

    /// The frames' bytes, copied out.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.len];
        self.read(0, &mut v);
        v
    }

    /// Frame `index` as a [`SharedPage`]: how a device model serves an ioreq server's page
    /// (`xenmem::ioreq::IoreqPage::new(mapping.page(0)?)`) with atomic accesses while Xen and
    /// the guest's vCPUs write it. `None` past the last frame.
    pub fn page(&mut self, index: u32) -> Option<ResourcePage<'_>> {
        if index >= self.frames {
            return None;
        }
        // index < frames: the page lies inside the mapping.
        let base = self.ptr.as_ptr().wrapping_add(index as usize * XEN_PAGE_SIZE);
        // SAFETY: the page is inside this live, read-write mapping (index < frames), which
        // mmap aligned to a page; the returned value borrows `self` mutably, so the mapping
        // outlives it and no other accessor of `self` (read, write, as_slice) runs meanwhile.
        let page = unsafe { MappedPage::new(base) }.ok()?;
        Some(ResourcePage { page, _map: PhantomData })
    }

    /// The frames' bytes, borrowed in place.
    ///
    /// # Safety
    ///
    /// Nothing may write these frames while the slice lives: not the domain owning them, not
    /// Xen, not another mapping of them. Rust assumes a shared slice does not change.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the pointer and length describe one live, readable mapping; the caller
        // promises no writes during the borrow.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for MappedResource {
    fn drop(&mut self) {
        // SAFETY: exactly the region `reserve` mapped; no slice can outlive `self`. An error
        // would mean the region was not mapped, which `reserve` rules out, so it is ignored.
        let _ = unsafe { mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// One frame of a [`MappedResource`], borrowed as a [`SharedPage`].
#[derive(Debug)]
pub struct ResourcePage<'a> {
    page: MappedPage,
    _map: PhantomData<&'a mut MappedResource>,
}

impl SharedPage for ResourcePage<'_> {
    fn load_u8(&self, off: usize) -> u8 {
        self.page.load_u8(off)
    }
    fn load_u32(&self, off: usize) -> u32 {
        self.page.load_u32(off)
    }
    fn load_u64(&self, off: usize) -> u64 {
        self.page.load_u64(off)
    }
    fn store_u8(&mut self, off: usize, v: u8) {
        self.page.store_u8(off, v)
    }
    fn store_u32(&mut self, off: usize, v: u32) {
        self.page.store_u32(off, v)
    }
    fn store_u64(&mut self, off: usize, v: u64) {
        self.page.store_u64(off, v)
    }
    fn fetch_and_u64(&mut self, off: usize, mask: u64) -> u64 {
        self.page.fetch_and_u64(off, mask)
    }
}
