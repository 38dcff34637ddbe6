//! Errors: Xen's errno values, one variant each, and the library's own refusals.
//!
//! Xen's `public/errno.h` numbers its errors as Linux does on x86 and Arm; a hypercall
//! returns `-errno`. [`XenError`] maps every errno Xen's memory paths return, in both
//! directions, and keeps any other code as [`XenError::Other`] so the raw value is never lost.

use core::fmt;

macro_rules! xen_errors {
    ($( $(#[$doc:meta])* $variant:ident = $num:literal, $name:literal; )*) => {
        /// An error code returned by Xen (the positive errno; Xen returns its negation).
        ///
        /// Each variant's discriminant is its errno, so converting either way is a
        /// comparison, not a table: the operations stay as small as a C wrapper's.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        #[repr(i32)]
        pub enum XenError {
            $( $(#[$doc])* $variant = $num, )*
            /// Any other code, kept as Xen returned it (positive errno).
            Other(i32) = 0,
        }

        impl XenError {
            /// The error for a positive errno value.
            pub const fn from_errno(errno: i32) -> Self {
                match errno {
                    $( $num => Self::$variant, )*
                    other => Self::Other(other),
                }
            }

            /// The positive errno value (`-rc` of the hypercall).
            pub const fn errno(self) -> i32 {
                match self {
                    $( Self::$variant => $num, )*
                    Self::Other(e) => e,
                }
            }

            /// The C name of the errno (`"EPERM"`), or `None` for [`XenError::Other`].
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($name), )*
                    Self::Other(_) => None,
                }
            }

            /// The error named `name` (`"ESRCH"`), for tools that read errno names.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $name => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

xen_errors! {
    /// Operation not permitted (XSM policy, wrong caller).
    Perm = 1, "EPERM";
    /// No such entry (nothing mapped at a GFN, no such ioreq server).
    NoEnt = 2, "ENOENT";
    /// No such domain.
    Srch = 3, "ESRCH";
    /// Interrupted.
    Intr = 4, "EINTR";
    /// I/O error (acquire_resource: frame list partially mapped).
    Io = 5, "EIO";
    /// No such device or address (decrease_reservation of a page the domain does not own).
    NxIo = 6, "ENXIO";
    /// Argument list too long (over-allocation).
    TooBig = 7, "E2BIG";
    /// Try again.
    Again = 11, "EAGAIN";
    /// Out of memory, or over the domain's limit.
    NoMem = 12, "ENOMEM";
    /// Access denied (physmap operations on a non-translated domain).
    Acces = 13, "EACCES";
    /// Bad guest address.
    Fault = 14, "EFAULT";
    /// Busy (a Xen page already mapped elsewhere, on Arm).
    Busy = 16, "EBUSY";
    /// Already exists.
    Exist = 17, "EEXIST";
    /// Cross-device link (x86 gmfn move whose M2P disagrees).
    XDev = 18, "EXDEV";
    /// Invalid argument.
    Inval = 22, "EINVAL";
    /// No space left.
    NoSpc = 28, "ENOSPC";
    /// Argument out of domain (continuation index out of range).
    Dom = 33, "EDOM";
    /// Result out of range.
    Range = 34, "ERANGE";
    /// Function not implemented.
    NoSys = 38, "ENOSYS";
    /// Not empty (populate-on-demand on a domain with passthrough devices).
    NotEmpty = 39, "ENOTEMPTY";
    /// No data.
    NoData = 61, "ENODATA";
    /// Value too large (a range that wraps).
    Overflow = 75, "EOVERFLOW";
    /// Illegal sequence (batch size below its progress, concurrent change).
    IlSeq = 84, "EILSEQ";
    /// Restart the hypercall (Xen-internal; never seen by a guest normally).
    Restart = 85, "ERESTART";
    /// Operation not supported.
    OpNotSupp = 95, "EOPNOTSUPP";
    /// No buffer space.
    NoBufs = 105, "ENOBUFS";
}

impl XenError {
    /// Decodes a hypercall's return value: negative is an error, the rest is the result.
    #[inline]
    pub const fn check(rc: i64) -> Result<u64, XenError> {
        if rc < 0 {
            // Errno values are small; anything that does not fit an i32 is kept saturated.
            let e = if rc < -(i32::MAX as i64) { i32::MAX } else { (-rc) as i32 };
            Err(XenError::from_errno(e))
        } else {
            Ok(rc as u64)
        }
    }
}

impl fmt::Display for XenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Xen returned -{name} ({})", -self.errno()),
            None => write!(f, "Xen returned error {}", -self.errno()),
        }
    }
}

impl core::error::Error for XenError {}

/// Everything a memory operation can fail with: Xen's refusal, or the library's own before
/// any hypercall. Small and `Copy` (it travels in registers), so checking costs little.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// Xen refused the call.
    Xen(XenError),
    /// The library refused the arguments; nothing reached Xen.
    Invalid(Invalid),
    /// The running hypervisor's release is one whose domctl interface the library does not
    /// know ([`crate::XenVersion::SUPPORTED`]); nothing was sent in a guessed layout.
    Unsupported(crate::XenVersion),
}

/// Why the library refused a call before issuing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invalid {
    /// A batch's `idxs` and `gfns` differ in length.
    GfnsLength,
    /// A batch's `errs` differs in length from its `idxs`.
    ErrsLength,
    /// A frame list holds fewer entries than `nr_frames`.
    FrameListTooShort,
    /// A mapping request with no frames (the size query has its own function).
    EmptyFrameList,
    /// More frames than the 32-bit `nr_frames` field holds.
    TooManyFrames,
    /// More extents than Xen takes in one call (`UINT_MAX >> 6`).
    TooManyExtents,
    /// An extent order no allocator could honour (`PAGE_SHIFT + order` must stay below 64).
    ExtentOrder,
    /// A map space that does not fit the batch's 16-bit field.
    BatchSpace,
    /// `gmfn_range` through the single-page call (use `add_to_physmap_range`).
    RangeSpace,
    /// A createdomain field the running Xen's interface has no room for (`altp2m_opts`
    /// before Xen 4.19).
    CreateDomainField,
    /// An I/O range whose end lies before its start.
    RangeEnd,
    /// More dm_op buffers than the 32-bit `nr_bufs` counts.
    TooManyBuffers,
    /// A shared page given as a slice shorter than 4096 bytes.
    PageTooShort,
    /// A shared page whose address is not 8-byte aligned.
    PageAlignment,
    /// A slot past the end of a shared page (an ioreq page holds 128).
    NoSuchSlot,
}

impl Invalid {
    /// What was wrong, in words.
    pub const fn message(self) -> &'static str {
        match self {
            Invalid::GfnsLength => "idxs and gfns must have one length",
            Invalid::ErrsLength => "errs must be as long as idxs",
            Invalid::FrameListTooShort => "the frame list is shorter than nr_frames",
            Invalid::EmptyFrameList => "no frames asked for (use the size query)",
            Invalid::TooManyFrames => "more frames than nr_frames can count",
            Invalid::TooManyExtents => "more extents than Xen takes in one call",
            Invalid::ExtentOrder => "extent order out of range",
            Invalid::BatchSpace => "map space does not fit the batch's 16-bit field",
            Invalid::RangeSpace => "gmfn_range needs add_to_physmap_range",
            Invalid::CreateDomainField => "altp2m_opts needs Xen 4.19 or later",
            Invalid::RangeEnd => "the range ends before it starts",
            Invalid::TooManyBuffers => "more buffers than nr_bufs can count",
            Invalid::PageTooShort => "a shared page needs 4096 bytes",
            Invalid::PageAlignment => "a shared page must be 8-byte aligned",
            Invalid::NoSuchSlot => "no such slot in the page",
        }
    }
}

impl From<XenError> for Error {
    fn from(e: XenError) -> Self {
        Error::Xen(e)
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Invalid(e)
    }
}

impl Error {
    /// The Xen errno behind this error, if Xen produced it.
    pub const fn xen(self) -> Option<XenError> {
        match self {
            Error::Xen(e) => Some(e),
            Error::Invalid(_) | Error::Unsupported(_) => None,
        }
    }

    /// The errno a C caller would see: Xen's own, `EINVAL` for the library's refusals,
    /// `EOPNOTSUPP` for an unsupported Xen release.
    pub const fn errno(self) -> i32 {
        match self {
            Error::Xen(e) => e.errno(),
            Error::Invalid(_) => XenError::Inval.errno(),
            Error::Unsupported(_) => XenError::OpNotSupp.errno(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Xen(e) => e.fmt(f),
            Error::Invalid(i) => f.write_str(i.message()),
            Error::Unsupported(v) => {
                write!(f, "Xen {v} is not supported (supported: ")?;
                for (i, s) in crate::XenVersion::SUPPORTED.iter().enumerate() {
                    write!(f, "{}{s}", if i == 0 { "" } else { ", " })?;
                }
                f.write_str(")")
            }
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_round_trip() {
        // Numbers from Xen's public/errno.h.
        let table = [
            (1, "EPERM"),
            (2, "ENOENT"),
            (3, "ESRCH"),
            (4, "EINTR"),
            (5, "EIO"),
            (6, "ENXIO"),
            (7, "E2BIG"),
            (11, "EAGAIN"),
            (12, "ENOMEM"),
            (13, "EACCES"),
            (14, "EFAULT"),
            (16, "EBUSY"),
            (17, "EEXIST"),
            (18, "EXDEV"),
            (22, "EINVAL"),
            (28, "ENOSPC"),
            (33, "EDOM"),
            (34, "ERANGE"),
            (38, "ENOSYS"),
            (39, "ENOTEMPTY"),
            (61, "ENODATA"),
            (75, "EOVERFLOW"),
            (84, "EILSEQ"),
            (85, "ERESTART"),
            (95, "EOPNOTSUPP"),
            (105, "ENOBUFS"),
        ];
        for (n, name) in table {
            let e = XenError::from_errno(n);
            assert!(!matches!(e, XenError::Other(_)), "{name}");
            assert_eq!(e.errno(), n);
            assert_eq!(e.name(), Some(name));
            assert_eq!(XenError::from_name(name), Some(e));
        }
        assert_eq!(XenError::from_errno(200), XenError::Other(200));
        assert_eq!(XenError::Other(200).errno(), 200);
    }

    #[test]
    fn check_decodes_sign() {
        assert_eq!(XenError::check(0), Ok(0));
        assert_eq!(XenError::check(0xffff_ffff), Ok(0xffff_ffff));
        assert_eq!(XenError::check(-3), Err(XenError::Srch));
        assert_eq!(XenError::check(-1000), Err(XenError::Other(1000)));
        assert_eq!(XenError::check(i64::MIN), Err(XenError::Other(i32::MAX)));
    }
}
