//! Which Xen release is running, and what that means for the parts of Xen's interface that
//! change between releases.
//!
//! memory_op's structs and numbers are the same from Xen 4.17 to 4.22, so the memory
//! operations work on any of them unchanged. The toolstack's `domctl` is not stable: Xen
//! refuses a call whose `interface_version` is not its own (`-EACCES`), and
//! `xen_domctl_createdomain` grew a field in 4.19. [`XenVersion::domctl_interface`] maps a
//! release to the interface it speaks; [`crate::Xen`] asks the running hypervisor once
//! (`xen_version`, hypercall 17) and marshals every domctl for it.
//!
//! | Xen | `XEN_DOMCTL_INTERFACE_VERSION` | `xen_domctl_createdomain` | checked against |
//! |---|---|---|---|
//! | 4.17 | 0x15 | 64 bytes (x86), 68 (Arm) | Debian 12's libxen-dev (CI), tag RELEASE-4.17.7 |
//! | 4.18 | 0x16 | as 4.17 | tag RELEASE-4.18.6 |
//! | 4.19, 4.20 | 0x17 | `altp2m_opts` after `grant_opts`: 68 bytes (x86), 72 (Arm) | Debian 13's libxen-dev (CI), tags RELEASE-4.19.6, RELEASE-4.20.4 |
//!
//! Not supported: Xen 4.21 keeps interface 0x17 but turns `altp2m_opts` into a struct of two
//! 16-bit fields (Xen commit 5956e5b2d6), so the interface number alone does not name its
//! layout; Xen 4.22 (0x18) also changed how createdomain picks an id (`DOMID_ANY`) and
//! exempts some commands from the version check. Any release outside the table is
//! [`crate::Error::Unsupported`], never a guessed layout.

use core::fmt;
use core::str::FromStr;

/// A Xen release as `XENVER_version` names it: `major << 16 | minor`.
///
/// ```
/// use xenmem::XenVersion;
/// let v: XenVersion = "4.20".parse().unwrap();
/// assert_eq!(v, XenVersion::new(4, 20));
/// assert_eq!(v.raw(), 0x4_0014);
/// assert_eq!(v.to_string(), "4.20");
/// assert!(XenVersion::V4_17 < v);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XenVersion {
    /// The major number (4).
    pub major: u16,
    /// The minor number (17, 20, ...).
    pub minor: u16,
}

impl XenVersion {
    /// Xen 4.17 (Debian 12).
    pub const V4_17: XenVersion = XenVersion::new(4, 17);
    /// Xen 4.18.
    pub const V4_18: XenVersion = XenVersion::new(4, 18);
    /// Xen 4.19.
    pub const V4_19: XenVersion = XenVersion::new(4, 19);
    /// Xen 4.20 (Debian 13).
    pub const V4_20: XenVersion = XenVersion::new(4, 20);

    /// The releases whose domctl interface this library knows, oldest first.
    pub const SUPPORTED: [XenVersion; 4] = [Self::V4_17, Self::V4_18, Self::V4_19, Self::V4_20];

    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> XenVersion {
        XenVersion { major, minor }
    }

    /// Decodes `XENVER_version`'s answer (`major << 16 | minor`).
    pub const fn from_raw(raw: u32) -> XenVersion {
        XenVersion { major: (raw >> 16) as u16, minor: raw as u16 }
    }

    /// `major << 16 | minor`, as `XENVER_version` returns it.
    pub const fn raw(self) -> u32 {
        (self.major as u32) << 16 | self.minor as u32
    }

    /// The domctl interface this release speaks.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] for a release outside [`XenVersion::SUPPORTED`].
    pub const fn domctl_interface(self) -> Result<DomctlInterface, crate::Error> {
        match (self.major, self.minor) {
            (4, 17) => Ok(DomctlInterface::V15),
            (4, 18) => Ok(DomctlInterface::V16),
            (4, 19..=20) => Ok(DomctlInterface::V17),
            _ => Err(crate::Error::Unsupported(self)),
        }
    }

    /// Whether an Arm domain made by `XEN_DOMCTL_createdomain` starts with an empty P2M
    /// pool, so that the toolstack must size it (`XEN_DOMCTL_set_paging_mempool_size`)
    /// before anything is mapped into the domain: since 4.18 (Xen commit 9c962e07fb, "Clean-up
    /// in p2m_init()", dropped the 16 pages `p2m_init` used to set aside). Until then every
    /// populate into it maps nothing. x86 domains get their pool from createdomain itself.
    pub const fn arm_p2m_pool_starts_empty(self) -> bool {
        self.major > 4 || (self.major == 4 && self.minor >= 18)
    }
}

impl fmt::Display for XenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A string that is not `MAJOR.MINOR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseVersionError;

impl fmt::Display for ParseVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Xen version is MAJOR.MINOR, e.g. 4.20")
    }
}

impl core::error::Error for ParseVersionError {}

impl FromStr for XenVersion {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> Result<XenVersion, ParseVersionError> {
        let (major, minor) = s.split_once('.').ok_or(ParseVersionError)?;
        let num = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseVersionError);
            }
            t.parse::<u16>().map_err(|_| ParseVersionError)
        };
        Ok(XenVersion::new(num(major)?, num(minor)?))
    }
}

/// `XENVER_extraversion`: what follows `major.minor` in the release's name (".5-pre",
/// ".0"), up to 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtraVersion(pub [u8; 16]);

impl ExtraVersion {
    /// The text up to the first NUL, or `None` if it is not UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        core::str::from_utf8(&self.0[..end]).ok()
    }
}

impl fmt::Debug for ExtraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => write!(f, "ExtraVersion({s:?})"),
            None => write!(f, "ExtraVersion({:?})", self.0),
        }
    }
}

/// The domctl interface of a set of releases: the `interface_version` Xen checks on every
/// domctl, and the layout of the structs that changed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomctlInterface {
    /// 0x15, Xen 4.17: `xen_domctl_createdomain` without `altp2m_opts`.
    V15,
    /// 0x16, Xen 4.18: the 4.17 layouts under a new number.
    V16,
    /// 0x17, Xen 4.19 and 4.20: `xen_domctl_createdomain` has `altp2m_opts` after
    /// `grant_opts`, which moves the fields after it by 4 bytes.
    V17,
}

impl DomctlInterface {
    /// `XEN_DOMCTL_INTERFACE_VERSION`.
    pub const fn interface_version(self) -> u32 {
        match self {
            DomctlInterface::V15 => 0x15,
            DomctlInterface::V16 => 0x16,
            DomctlInterface::V17 => 0x17,
        }
    }

    /// The interface whose `XEN_DOMCTL_INTERFACE_VERSION` is `v`, if this library knows it.
    pub const fn from_interface_version(v: u32) -> Option<DomctlInterface> {
        match v {
            0x15 => Some(DomctlInterface::V15),
            0x16 => Some(DomctlInterface::V16),
            0x17 => Some(DomctlInterface::V17),
            _ => None,
        }
    }

    /// Whether `xen_domctl_createdomain` has `altp2m_opts` (Xen commit 0291089f6e, 4.19).
    pub const fn createdomain_has_altp2m_opts(self) -> bool {
        matches!(self, DomctlInterface::V17)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn raw_round_trip_and_order() {
        assert_eq!(XenVersion::from_raw(0x4_0011), XenVersion::V4_17);
        assert_eq!(XenVersion::V4_20.raw(), 0x4_0014);
        assert!(XenVersion::V4_17 < XenVersion::V4_20);
        assert!(XenVersion::new(4, 9) < XenVersion::new(4, 10));
    }

    #[test]
    fn parse() {
        assert_eq!("4.17".parse(), Ok(XenVersion::V4_17));
        for bad in ["4", "4.", ".17", "4.17.1", "4.x", "+4.17", "4.70000", ""] {
            assert_eq!(bad.parse::<XenVersion>(), Err(ParseVersionError), "{bad:?}");
        }
    }

    #[test]
    fn interface_per_release() {
        let iv = |v: XenVersion| v.domctl_interface().map(DomctlInterface::interface_version);
        assert_eq!(iv(XenVersion::V4_17), Ok(0x15));
        assert_eq!(iv(XenVersion::V4_18), Ok(0x16));
        assert_eq!(iv(XenVersion::V4_19), Ok(0x17));
        assert_eq!(iv(XenVersion::V4_20), Ok(0x17));
        for v in
            [XenVersion::new(4, 16), XenVersion::new(4, 21), XenVersion::new(4, 22), XenVersion::new(5, 0)]
        {
            assert_eq!(iv(v), Err(Error::Unsupported(v)));
        }
        for v in XenVersion::SUPPORTED {
            let i = v.domctl_interface().unwrap();
            assert_eq!(DomctlInterface::from_interface_version(i.interface_version()), Some(i));
        }
        assert!(!XenVersion::V4_17.arm_p2m_pool_starts_empty());
        assert!(XenVersion::V4_18.arm_p2m_pool_starts_empty());
        assert!(XenVersion::V4_20.arm_p2m_pool_starts_empty());
    }

    #[test]
    fn extraversion_text() {
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(b".5-pre");
        assert_eq!(ExtraVersion(b).as_str(), Some(".5-pre"));
        assert_eq!(ExtraVersion([b'x'; 16]).as_str(), Some("xxxxxxxxxxxxxxxx"));
        assert_eq!(ExtraVersion([0xff; 16]).as_str(), None);
    }
}
