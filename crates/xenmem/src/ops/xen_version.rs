//! `HYPERVISOR_xen_version` (hypercall 17): which release is running. Every domain may ask
//! (Xen's default XSM policy allows `XENVER_version` and `XENVER_extraversion` to all).
//! One hypercall each; the version is remembered, so the domctl commands that depend on it
//! ask at most once.

use super::Xen;
use crate::abi::{HYPERVISOR_XEN_VERSION, XENVER_EXTRAVERSION, XENVER_VERSION, XEN_EXTRAVERSION_LEN};
use crate::error::{Error, XenError};
use crate::hypercall::Hypercall;
use crate::version::{DomctlInterface, ExtraVersion, XenVersion};
use core::sync::atomic::Ordering;

impl<H: Hypercall> Xen<H> {
    /// The running hypervisor's release (`XENVER_version`). Asked once; later calls answer
    /// from memory (and [`Xen::with_version`] answers without asking).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16).with_xen(xenmem_sim::Release::Xen4_20));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let v = xen.xen_version()?;
    /// assert_eq!(v.to_string(), "4.20");
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno (none is expected: every domain may ask).
    pub fn xen_version(&self) -> Result<XenVersion, Error> {
        if let Some(v) = self.known_version() {
            return Ok(v);
        }
        // SAFETY: XENVER_version takes no buffer: Xen reads and writes no guest memory.
        let rc =
            unsafe { self.backend().hypercall(HYPERVISOR_XEN_VERSION, [XENVER_VERSION as u64, 0, 0, 0, 0]) };
        let raw = XenError::check(rc).map_err(Error::Xen)? as u32;
        // A zero answer would read as "not known yet"; no release is 0.0.
        if raw != 0 {
            self.version.store(raw, Ordering::Relaxed);
        }
        Ok(XenVersion::from_raw(raw))
    }

    /// The rest of the release's name (`XENVER_extraversion`: ".5-pre" for Debian 13's 4.20).
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// let extra = xen.xen_extraversion()?;
    /// println!("Xen {}{}", xen.xen_version()?, extra.as_str().unwrap_or(""));
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno.
    pub fn xen_extraversion(&self) -> Result<ExtraVersion, Error> {
        let mut buf = [0u8; XEN_EXTRAVERSION_LEN];
        let arg = buf.as_mut_ptr() as u64;
        // SAFETY: XENVER_extraversion writes exactly XEN_EXTRAVERSION_LEN bytes to its
        // argument, which is `buf`, live and exclusively borrowed for the call.
        let rc = unsafe {
            self.backend().hypercall(HYPERVISOR_XEN_VERSION, [XENVER_EXTRAVERSION as u64, arg, 0, 0, 0])
        };
        XenError::check(rc).map_err(Error::Xen)?;
        Ok(ExtraVersion(buf))
    }

    /// The domctl interface of the running hypervisor (asks its version on first use).
    ///
    /// # Errors
    ///
    /// Xen's errno from `xen_version`; [`Error::Unsupported`] for a release this library
    /// does not know.
    pub fn domctl_interface(&self) -> Result<DomctlInterface, Error> {
        self.xen_version()?.domctl_interface()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{Error, Xen, XenError, XenVersion};

    #[test]
    fn version_is_asked_once() {
        let xen = Xen::new(Recorder::new(rc(0x4_0014)));
        assert_eq!(xen.xen_version(), Ok(XenVersion::V4_20));
        assert_eq!(xen.xen_version(), Ok(XenVersion::V4_20));
        let calls = xen.backend().calls();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].op, calls[0].args), (17, [0; 5]));
    }

    #[test]
    fn pinned_version_asks_nothing() {
        let xen = Xen::with_version(Recorder::new(rc(0)), XenVersion::V4_17);
        assert_eq!(xen.xen_version(), Ok(XenVersion::V4_17));
        assert!(xen.backend().calls().is_empty());
    }

    #[test]
    fn unknown_release_is_a_typed_error() {
        let xen = Xen::new(Recorder::new(rc(0x4_0016)));
        assert_eq!(xen.domctl_interface(), Err(Error::Unsupported(XenVersion::new(4, 22))));
        let xen = Xen::new(Recorder::new(rc(-38)));
        assert_eq!(xen.xen_version(), Err(Error::Xen(XenError::NoSys)));
        // A failed question is asked again next time.
        assert_eq!(xen.xen_version(), Err(Error::Xen(XenError::NoSys)));
        assert_eq!(xen.backend().calls().len(), 2);
    }

    #[test]
    fn extraversion_reads_xens_bytes() {
        let xen = Xen::new(Recorder::new(|_: &Seen| Reply {
            rc: 0,
            extraversion: Some(*b".5-pre\0\0\0\0\0\0\0\0\0\0"),
            ..Reply::default()
        }));
        assert_eq!(xen.xen_extraversion().unwrap().as_str(), Some(".5-pre"));
        assert_eq!(xen.backend().calls()[0].args[0], 1);
    }
}
