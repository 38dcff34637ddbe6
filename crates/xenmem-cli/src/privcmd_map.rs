//! The command's one unsafe module: another domain's guest frames mapped into this process
//! through Linux's `IOCTL_PRIVCMD_MMAPBATCH_V2`.
//!
//! Why not the library's `add_to_physmap_batch`: an x86 PV dom0 has no physmap Xen
//! translates (`-EACCES`), so its kernel maps foreign frames straight into page tables
//! (`mmu_update` with a foreign domain), which only the kernel may do; privcmd's batch ioctl
//! is that path. Layout from Linux's `include/uapi/xen/privcmd.h`, asserted below.

use core::mem::{offset_of, size_of};
use core::ptr::NonNull;
use rustix::ioctl::{self, opcode, Direction, Ioctl, IoctlOutput, Opcode};
use rustix::mm::{self, MapFlags, ProtFlags};
use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use xenmem::{DomId, Gfn, XenError};

/// `struct privcmd_mmapbatch_v2`.
#[repr(C)]
#[derive(Debug, Default)]
struct MmapBatchV2 {
    num: u32,
    dom: u16,
    _pad: u16,
    addr: u64,
    arr: u64,
    err: u64,
}

const _: () = {
    assert!(size_of::<MmapBatchV2>() == 32);
    assert!(offset_of!(MmapBatchV2, dom) == 4);
    assert!(offset_of!(MmapBatchV2, addr) == 8);
    assert!(offset_of!(MmapBatchV2, arr) == 16);
    assert!(offset_of!(MmapBatchV2, err) == 24);
};

/// `_IOC(_IOC_NONE, 'P', 4, sizeof(struct privcmd_mmapbatch_v2))`.
const IOCTL_PRIVCMD_MMAPBATCH_V2: Opcode = opcode::from_components(Direction::None, b'P', 4, 32);
const _: () = assert!(IOCTL_PRIVCMD_MMAPBATCH_V2 as u64 == 0x20_5004);

const PAGE: usize = 4096;

/// Why a frame could not be mapped: the ioctl's errno (often Xen's own), or the frame's
/// entry in the batch's error array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapError {
    /// The system call or step that failed.
    pub call: &'static str,
    /// The errno, raw value kept.
    pub errno: XenError,
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name =
            self.errno.name().map_or_else(|| format!("errno {}", self.errno.errno()), |n| format!("-{n}"));
        write!(f, "{}: {name} (errno {})", self.call, self.errno.errno())
    }
}

fn os(call: &'static str, e: rustix::io::Errno) -> MapError {
    MapError { call, errno: XenError::from_errno(e.raw_os_error()) }
}

/// One guest frame of another domain, mapped shared and read-write; unmapped on drop.
#[derive(Debug)]
pub struct ForeignFrame {
    ptr: NonNull<u8>,
    // Holds the privcmd file the mapping belongs to for as long as the mapping lives.
    _file: File,
}

struct Call<'a> {
    arg: &'a mut MmapBatchV2,
}

// SAFETY: `as_ptr` is the address of a live, exclusively borrowed 32-byte struct, the size the
// opcode encodes; the ioctl writes user memory (the error array, the page-table entries of a
// privcmd VMA), hence IS_MUTATING; the output is the ioctl's return value alone.
unsafe impl Ioctl for Call<'_> {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        IOCTL_PRIVCMD_MMAPBATCH_V2
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (self.arg as *mut MmapBatchV2).cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

impl ForeignFrame {
    /// Maps guest frame `gfn` of domain `dom` from the privcmd device at `path`.
    ///
    /// # Errors
    ///
    /// `open`, `mmap` or the ioctl's errno, or the frame's own error (`-EINVAL` for a GFN
    /// the domain has nothing at, `-ESRCH` for no such domain, `-EPERM` ...).
    pub fn map(path: &str, dom: DomId, gfn: Gfn) -> Result<ForeignFrame, MapError> {
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| MapError {
            call: "open",
            errno: XenError::from_errno(e.raw_os_error().unwrap_or(XenError::Io.errno())),
        })?;
        // SAFETY: a fresh mapping at an address the kernel picks (null hint, no MAP_FIXED)
        // cannot overlap memory Rust already uses. privcmd's mmap only sets up an empty VMA.
        let addr = unsafe {
            mm::mmap(
                core::ptr::null_mut(),
                PAGE,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                file.as_fd(),
                0,
            )
        }
        .map_err(|e| os("mmap", e))?;
        let ptr = NonNull::new(addr.cast::<u8>()).ok_or(MapError { call: "mmap", errno: XenError::Fault })?;
        // From here on the mapping is released on every path by the value's drop.
        let frame = ForeignFrame { ptr, _file: file };
        let arr: [u64; 1] = [gfn.0];
        let mut err: [i32; 1] = [0];
        let mut arg = MmapBatchV2 {
            num: 1,
            dom: dom.raw(),
            addr: frame.ptr.as_ptr() as u64,
            arr: arr.as_ptr() as u64,
            err: err.as_mut_ptr() as u64,
            ..MmapBatchV2::default()
        };
        let fd = frame._file.as_fd();
        // SAFETY: the struct names one frame, a live one-entry GFN array the kernel only
        // reads, a live one-entry error array it writes, and the start of a one-page privcmd
        // VMA created above; Linux refuses (-EINVAL) any address that is not such a VMA, so
        // no memory Rust owns is remapped.
        let rc = unsafe { ioctl::ioctl(fd, Call { arg: &mut arg }) };
        match rc {
            Ok(_) if err[0] == 0 => Ok(frame),
            Ok(_) => Err(MapError { call: "mapping the frame", errno: XenError::from_errno(-err[0]) }),
            // -ENOENT means some frame is paged out; the per-frame code says more.
            Err(_) if err[0] < 0 => {
                Err(MapError { call: "mapping the frame", errno: XenError::from_errno(-err[0]) })
            }
            Err(e) => Err(os("IOCTL_PRIVCMD_MMAPBATCH_V2", e)),
        }
    }

    /// Copies `buf.len()` bytes from `offset` (clamped to the page).
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> usize {
        let n = buf.len().min(PAGE.saturating_sub(offset));
        for (i, b) in buf[..n].iter_mut().enumerate() {
            // SAFETY: offset + i < PAGE: inside the one-page mapping, which `map` returned only
            // after the kernel filled it with the foreign frame and which lives as long as
            // `self`. Volatile: the owner may write the frame at any moment.
            *b = unsafe { self.ptr.as_ptr().add(offset + i).read_volatile() };
        }
        n
    }

    /// Copies `data` into the frame at `offset` (clamped to the page).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> usize {
        let n = data.len().min(PAGE.saturating_sub(offset));
        for (i, b) in data[..n].iter().enumerate() {
            // SAFETY: as in `read`; the mapping is writable (PROT_WRITE, MAP_SHARED).
            unsafe { self.ptr.as_ptr().add(offset + i).write_volatile(*b) };
        }
        n
    }
}

impl Drop for ForeignFrame {
    fn drop(&mut self) {
        // SAFETY: exactly the one page `map` mapped; nothing borrows it past `self`. An error
        // would mean it was never mapped, which `map` rules out, so it is ignored.
        let _ = unsafe { mm::munmap(self.ptr.as_ptr().cast(), PAGE) };
    }
}
