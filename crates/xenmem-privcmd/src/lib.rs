//! xenmem's backend for a Linux dom0: hypercalls and Xen resource mappings through
//! `/dev/xen/privcmd`.
//!
//! [`Privcmd`] implements [`xenmem::Hypercall`], so every typed operation of
//! [`xenmem::Xen`] runs on a real dom0 (or a domain the control domain trusts) unchanged:
//!
//! ```no_run
//! use xenmem::{DomId, Xen};
//! use xenmem_privcmd::Privcmd;
//!
//! let xen = Xen::new(Privcmd::open()?);
//! println!("dom0 owns {} pages", xen.current_reservation(DomId::SELF)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two things differ from issuing the hypercall instruction yourself, and this crate handles
//! both:
//!
//! - **Wide results.** Linux returns the privcmd ioctl's result through an `int`, so a value
//!   past `i32::MAX` (an unlimited domain's `max_pages` is `0xFFFFFFFF`) would reach user space
//!   as `-1`, i.e. a fake `EPERM`. memory_op is therefore issued as a one-entry multicall
//!   (hypercall 13), whose entry holds the full `long`, in the same single ioctl. libxc does the
//!   same on Linux since 2021 ("libxc: use multicall for memory-op on Linux (and Solaris)").
//! - **Foreign mappings.** Frames of another domain's resource (its grant table, an ioreq
//!   server's pages) are mapped into this process with `IOCTL_PRIVCMD_MMAP_RESOURCE`
//!   ([`Privcmd::map_resource`]), not by `XENMEM_acquire_resource` alone: a PV dom0 gets
//!   machine frames back, which only the kernel can put into page tables.
//!
//! A device model's calls (`xenmem::dm_op`) go through the same plain hypercall ioctl, with
//! their buffers in this process (privcmd's `IOCTL_PRIVCMD_DM_OP`, which pins them and works on
//! a restricted fd, is not used); the ioreq server's page comes from [`Privcmd::map_resource`]
//! and is served through [`MappedResource::page`]. Its event channels are the Linux kernel's
//! business: bind and signal them through `/dev/xen/evtchn`, not `xenmem::evtchn`, which would
//! take ports behind the kernel's back.
//!
//! Buffers: privcmd issues the hypercall in the calling process's context, so the addresses
//! Xen reads and writes are this process's own virtual addresses, and the structs and arrays
//! the typed operations pass from ordinary memory work as they are (seen on an x86 PV dom0:
//! the multicall entry, domctl's struct and populate_physmap's GFN array, all on the stack).
//! Xen cannot fault a page in, though: a page that is not present (swapped out) makes it
//! answer `-EFAULT`. libxencall takes its buffers from `/dev/xen/hypercall` to rule that out
//! on hosts that swap; a caller of this crate can `mlock` its buffers for the same effect.
//!
//! All unsafe code lives in one private module; the rest of the crate denies it.

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
compile_error!("xenmem-privcmd drives Linux's 64-bit privcmd ABI: build it for 64-bit Linux");

// The one module that opts back into unsafe: ioctls, mmap and the Hypercall impl.
#[allow(unsafe_code)]
mod sys;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use xenmem::abi::XEN_PAGE_SIZE;
use xenmem::{DomId, ResourceType, XenError, XenVersion};

pub use sys::{MappedResource, ResourcePage};

/// Where Linux puts the privcmd device (`xen-privcmd` module, char 10:122 under devtmpfs).
pub const PRIVCMD_PATH: &str = "/dev/xen/privcmd";

/// What can go wrong talking to privcmd. Operating-system errors keep the raw errno.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The privcmd device does not exist: not a Xen dom0, or `xen-privcmd` is not loaded.
    NotDom0 {
        /// The path that was tried.
        path: PathBuf,
    },
    /// A system call failed. For the ioctls the errno is often Xen's own (privcmd passes
    /// Xen's `-errno` through), otherwise the kernel's; Linux and Xen number them alike.
    Os {
        /// The call that failed (`"open"`, `"mmap"`, `"IOCTL_PRIVCMD_MMAP_RESOURCE"`, ...).
        call: &'static str,
        /// The errno, as a [`XenError`] so the same names apply; [`XenError::errno`] gives the
        /// raw value back.
        errno: XenError,
    },
}

impl Error {
    /// The errno behind this error, if a system call produced one.
    pub fn errno(&self) -> Option<XenError> {
        match self {
            Error::NotDom0 { .. } => None,
            Error::Os { errno, .. } => Some(*errno),
        }
    }

    pub(crate) fn os(call: &'static str, errno: i32) -> Error {
        Error::Os { call, errno: XenError::from_errno(errno) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotDom0 { path } => write!(f, "not a Xen dom0: {} not found", path.display()),
            Error::Os { call, errno } => match errno.name() {
                Some(name) => write!(f, "{call} failed: {name} (errno {})", errno.errno()),
                None => write!(f, "{call} failed: errno {}", errno.errno()),
            },
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::NotDom0 { .. } => io::Error::new(io::ErrorKind::NotFound, e),
            Error::Os { errno, .. } => io::Error::from_raw_os_error(errno.errno()),
        }
    }
}

/// An open privcmd device: the hypercall backend of a Linux dom0.
///
/// Every memory_op goes through a one-entry multicall so wide results survive (module docs);
/// other hypercalls go straight through `IOCTL_PRIVCMD_HYPERCALL`, one ioctl each.
#[derive(Debug)]
pub struct Privcmd {
    fd: OwnedFd,
}

impl Privcmd {
    /// Opens [`PRIVCMD_PATH`].
    ///
    /// # Errors
    ///
    /// [`Error::NotDom0`] when the device does not exist; [`Error::Os`] for any other failure
    /// to open it (e.g. `EACCES` without root).
    pub fn open() -> Result<Privcmd, Error> {
        Privcmd::open_path(PRIVCMD_PATH)
    }

    /// Opens a privcmd device at another path (a chroot, a container's bind mount).
    ///
    /// # Errors
    ///
    /// As [`Privcmd::open`].
    pub fn open_path(path: impl AsRef<Path>) -> Result<Privcmd, Error> {
        let path = path.as_ref();
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => Ok(Privcmd::from_file(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NotDom0 { path: path.to_path_buf() }),
            Err(e) => Err(Error::os("open", e.raw_os_error().unwrap_or(XenError::Io.errno()))),
        }
    }

    /// Wraps a file already open on a privcmd device (e.g. one restricted to a domain with
    /// `IOCTL_PRIVCMD_RESTRICT` by a more privileged process). Any other file makes every
    /// call fail with the errno its driver gives (`ENOTTY`, `ENODEV`).
    pub fn from_file(file: File) -> Privcmd {
        Privcmd { fd: file.into() }
    }

    /// The running Xen's release, from `xen_version(XENVER_version)` (what
    /// [`xenmem::Xen::xen_version`] asks too, before its first domctl).
    ///
    /// # Errors
    ///
    /// The errno of the ioctl.
    pub fn xen_version(&self) -> Result<XenVersion, Error> {
        let rc = sys::xen_version(self);
        let v = XenError::check(rc).map_err(|e| Error::os("IOCTL_PRIVCMD_HYPERCALL", e.errno()))?;
        Ok(XenVersion::from_raw(v as u32))
    }

    /// The size, in frames, of resource `id` of type `ty` of domain `dom`
    /// (`IOCTL_PRIVCMD_MMAP_RESOURCE` with no address: the kernel issues Xen's size query).
    ///
    /// ```no_run
    /// use xenmem::{DomId, GrantTableId, ResourceType};
    /// let privcmd = xenmem_privcmd::Privcmd::open()?;
    /// let frames = privcmd.resource_size(DomId(1), ResourceType::GrantTable, GrantTableId::Shared as u32)?;
    /// # Ok::<(), xenmem_privcmd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno as for `XENMEM_acquire_resource` (`ESRCH` for `DOMID_SELF` or an unknown
    /// domain, `EPERM` for the caller's own id).
    pub fn resource_size(&self, dom: DomId, ty: ResourceType, id: u32) -> Result<u64, Error> {
        let mut arg = sys::PrivcmdMmapResource {
            dom: dom.raw(),
            r#type: u32::from(ty.raw()),
            id,
            ..Default::default()
        };
        sys::ioctl_mmap_resource(self, &mut arg).map_err(|e| Error::os("IOCTL_PRIVCMD_MMAP_RESOURCE", e))?;
        Ok(arg.num)
    }

    /// Maps `nr` frames of resource `id` of type `ty` of domain `dom`, from frame `frame` on,
    /// shared and read-write into this process. The mapping goes away when the value drops;
    /// while it exists Xen keeps a reference on the frames (a destroyed domain stays dying).
    ///
    /// ```no_run
    /// use xenmem::{DomId, GrantTableId, ResourceType};
    /// let privcmd = xenmem_privcmd::Privcmd::open()?;
    /// let grant = privcmd.map_resource(DomId(1), ResourceType::GrantTable, GrantTableId::Shared as u32, 0, 1)?;
    /// let mut first = [0u8; 8];
    /// grant.read(0, &mut first);
    /// # Ok::<(), xenmem_privcmd::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `mmap`'s errno, or the ioctl's: Xen's for the acquire (as for
    /// [`Privcmd::resource_size`], plus `EINVAL` for frames past the resource's end), the
    /// kernel's for the remap. `nr` 0 is `EINVAL` from `mmap`.
    pub fn map_resource(
        &self,
        dom: DomId,
        ty: ResourceType,
        id: u32,
        frame: u32,
        nr: u32,
    ) -> Result<MappedResource, Error> {
        // privcmd maps only into a VMA of its own, so the address range comes first.
        let map = MappedResource::reserve(self, nr)?;
        let mut arg = sys::PrivcmdMmapResource {
            dom: dom.raw(),
            r#type: u32::from(ty.raw()),
            id,
            idx: frame,
            num: u64::from(nr),
            addr: map.addr(),
            ..Default::default()
        };
        sys::ioctl_mmap_resource(self, &mut arg).map_err(|e| Error::os("IOCTL_PRIVCMD_MMAP_RESOURCE", e))?;
        Ok(map)
    }
}

/// The size of the pages this crate maps (Xen's page; Linux x86_64 uses the same).
pub const PAGE_SIZE: usize = XEN_PAGE_SIZE;

#[cfg(test)]
mod tests;

/// The README (the package's front page) compiles as a doctest, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
