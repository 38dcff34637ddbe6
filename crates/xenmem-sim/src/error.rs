//! The model's own errors (host-side calls such as `create_domain` or `read_gfn`) and Xen's
//! errno numbers as the model returns them.
//!
//! Hypercalls never produce a [`SimError`]: they return `-errno` exactly as Xen would.

use core::fmt;
use xenmem::{DomId, Gfn, XenError};

/// Xen's errno values (`xen/include/public/errno.h`), positive.
pub(crate) mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const EIO: i32 = 5;
    pub const ENXIO: i32 = 6;
    pub const E2BIG: i32 = 7;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EFAULT: i32 = 14;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const EXDEV: i32 = 18;
    pub const EINVAL: i32 = 22;
    pub const ENOSPC: i32 = 28;
    pub const EDOM: i32 = 33;
    pub const ENOSYS: i32 = 38;
    pub const ENOTEMPTY: i32 = 39;
    pub const ENODATA: i32 = 61;
    pub const EOVERFLOW: i32 = 75;
    pub const EILSEQ: i32 = 84;
    pub const EOPNOTSUPP: i32 = 95;
}

/// A failed host-side request to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// No domain has this id (or it is gone).
    NoSuchDomain(DomId),
    /// The id is taken, or not an ordinary domain id.
    BadDomainId(DomId),
    /// The configuration cannot be built (the reason in words).
    InvalidConfig(&'static str),
    /// Xen would refuse this with the given errno (the check named by the Xen function the
    /// model follows).
    Xen(XenError),
    /// No machine frame is free for the request.
    OutOfMemory,
    /// Nothing readable is mapped at this GFN (a hole, or MMIO).
    NotMapped(DomId, Gfn),
    /// A guest access to this address would not reach an ioreq server: it maps memory, or
    /// one of Xen's own devices that the model does not emulate.
    NotEmulated(DomId, u64),
    /// An access beyond the end of a 4 KiB page.
    OutOfPage {
        /// Byte offset asked for.
        offset: usize,
        /// Length asked for.
        len: usize,
    },
}

impl SimError {
    pub(crate) fn xen(errno: i32) -> SimError {
        SimError::Xen(XenError::from_errno(errno))
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::NoSuchDomain(d) => write!(f, "no domain {d}"),
            SimError::BadDomainId(d) => write!(f, "domain id {d} is taken or reserved"),
            SimError::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            SimError::Xen(e) => write!(f, "{e}"),
            SimError::OutOfMemory => f.write_str("no free machine frame"),
            SimError::NotMapped(d, g) => write!(f, "nothing readable at {g} of {d}"),
            SimError::NotEmulated(d, a) => write!(f, "{d}'s access at {a:#x} is not one the model emulates"),
            SimError::OutOfPage { offset, len } => {
                write!(f, "{len} bytes at offset {offset} do not fit a 4 KiB page")
            }
        }
    }
}

impl std::error::Error for SimError {}
