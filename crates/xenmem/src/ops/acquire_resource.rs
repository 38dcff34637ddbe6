//! `XENMEM_acquire_resource` (28): map frames of a Xen-managed resource of another domain
//! (its grant table, an ioreq server's pages, a vCPU's trace buffer), or ask its size.
//!
//! Xen 4.17's checks, in order (`acquire_resource` in `xen/common/memory.c`):
//! 1. x86: a translated caller other than the hardware domain → `-EACCES`;
//! 2. `pad != 0` → `-EINVAL` (the library always sends 0);
//! 3. `frame >= 2^32` or `frame + nr_frames` overflowing 32 bits → `-EINVAL`;
//! 4. the target is looked up as a *remote* domain: **`DOMID_SELF` → `-ESRCH` and the caller's
//!    own id → `-EPERM`** (Zephyr's older documentation suggested DOMID_SELF; Xen refuses it);
//! 5. the caller must be the control domain or the target's device model → `-EPERM`;
//! 6. the resource's size must be non-zero → `-EINVAL` (Xen 4.17 reports a huge size for an
//!    unknown type: a bug fixed only in 4.18);
//! 7. size query (null `frame_list`): `nr_frames` must be 0 → `-EINVAL`; Xen writes the size
//!    into `nr_frames` and returns 0;
//! 8. mapping: `nr_frames` 0 or past `UINT_MAX >> 6` → `-EINVAL`; the resource's own checks
//!    (grant status frames need grant v2, an ioreq server must exist → `-ENOENT` and be the
//!    caller's → `-EPERM`, a frame past the end → `-EINVAL`); a translated caller's
//!    `frame_list` holds the GFNs to map at (input), a PV caller gets MFNs back (output);
//!    a failure after some frames of a 32-frame chunk were mapped is `-EIO`.
//!
//! Xen updates `nr_frames` only for the size query. One hypercall per call.

use super::{handle_mut, Xen};
use crate::abi::{self, XenMemAcquireResource};
use crate::error::{Error, Invalid, XenError};
use crate::hypercall::Hypercall;
use crate::types::{DomId, Gfn, ResourceType};

impl<H: Hypercall> Xen<H> {
    /// The size, in frames, of resource `id` of type `ty` of domain `domid`.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, GrantTableId, ResourceType};
    /// let frames = xen.acquire_resource_size(DomId(1), ResourceType::GrantTable, GrantTableId::Shared as u32)?;
    /// assert_eq!(frames, 32); // a domU's default max_grant_frames
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Xen's errno, as listed in this module's documentation.
    pub fn acquire_resource_size(&self, domid: DomId, ty: ResourceType, id: u32) -> Result<u32, Error> {
        self.acquire_resource_raw(domid, ty, id, 0, 0, None)
    }

    /// Maps `frame_list.len()` frames of the resource, from `frame` on. A translated caller
    /// (Arm, x86 PVH/HVM) fills `frame_list` with the GFNs of its own physmap where the frames
    /// go; a PV caller receives their MFNs in it.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, Gfn, GrantTableId, ResourceType};
    /// let mut at = [Gfn(0x40000), Gfn(0x40001)];
    /// xen.acquire_resource(DomId(1), ResourceType::GrantTable, GrantTableId::Shared as u32, 0, &mut at)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::EmptyFrameList`] for an empty list (a size query has its own function),
    /// [`Invalid::TooManyFrames`] for a list longer than `u32::MAX`; otherwise Xen's errno.
    pub fn acquire_resource(
        &self,
        domid: DomId,
        ty: ResourceType,
        id: u32,
        frame: u64,
        frame_list: &mut [Gfn],
    ) -> Result<(), Error> {
        if frame_list.is_empty() {
            return Err(Error::Invalid(Invalid::EmptyFrameList));
        }
        let nr = u32::try_from(frame_list.len()).map_err(|_| Error::Invalid(Invalid::TooManyFrames))?;
        self.acquire_resource_raw(domid, ty, id, frame, nr, Some(frame_list)).map(drop)
    }

    /// The call as Xen's struct has it (Zephyr's `xendom_acquire_resource`): `frame_list`
    /// `None` is a null handle (the size query wants `nr_frames` 0), `Some` must hold at least
    /// `nr_frames` entries. Returns `nr_frames` as Xen left it: the size after a size query,
    /// the value sent otherwise.
    ///
    /// ```
    /// # let sim = xenmem_sim::Sim::new(xenmem_sim::MachineConfig::x86_64(1 << 16));
    /// # let d0 = sim.create_domain(xenmem_sim::DomainConfig::dom0(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # let d1 = sim.create_domain(xenmem_sim::DomainConfig::domu(xenmem_sim::DomainKind::Pvh)).unwrap();
    /// # sim.populate_ram(d1, xenmem::Gfn(0x100), 4).unwrap();
    /// # let xen = xenmem::Xen::new(sim.backend(d0));
    /// use xenmem::{DomId, ResourceType};
    /// let size = xen.acquire_resource_raw(DomId(1), ResourceType::GrantTable, 0, 0, 0, None)?;
    /// # Ok::<(), xenmem::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid::FrameListTooShort`] before any hypercall; otherwise Xen's errno.
    pub fn acquire_resource_raw(
        &self,
        domid: DomId,
        ty: ResourceType,
        id: u32,
        frame: u64,
        nr_frames: u32,
        frame_list: Option<&mut [Gfn]>,
    ) -> Result<u32, Error> {
        let list = match frame_list {
            Some(l) if l.len() < nr_frames as usize => {
                return Err(Error::Invalid(Invalid::FrameListTooShort))
            }
            Some(l) => handle_mut(l),
            None => 0,
        };
        let mut arg = XenMemAcquireResource {
            domid: domid.raw(),
            r#type: ty.raw(),
            id,
            nr_frames,
            pad: 0,
            frame,
            frame_list: list,
        };
        // SAFETY: `arg` is live; frame_list is null or points to at least `nr_frames` slots
        // borrowed mutably for the whole call (checked above).
        let rc = unsafe { self.memory_op(abi::XENMEM_ACQUIRE_RESOURCE, &mut arg) };
        XenError::check(rc).map_err(Error::Xen)?;
        Ok(arg.nr_frames)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::{DomId, Error, Gfn, Invalid, ResourceType, Xen, XenError};

    #[test]
    fn size_query_sends_zero_frames_and_null_list() {
        let xen =
            Xen::new(Recorder::new(|_: &Seen| Reply { rc: 0, nr_frames: Some(32), ..Reply::default() }));
        assert_eq!(xen.acquire_resource_size(DomId(1), ResourceType::GrantTable, 1), Ok(32));
        let c = &xen.backend().calls()[0];
        assert_eq!(c.args[0], 28);
        assert_eq!(c.arg, cat(&[&[1, 0, 1, 0], &[1, 0, 0, 0], &[0; 8], &h(0), &h(0)]));
    }

    #[test]
    fn mapping_sends_list_and_frame() {
        let xen = Xen::new(Recorder::new(rc(0)));
        let mut at = [Gfn(0x4_0000), Gfn(0x4_0001)];
        xen.acquire_resource(DomId(1), ResourceType::IoreqServer, 3, 1, &mut at).unwrap();
        let c = &xen.backend().calls()[0];
        let want =
            cat(&[&[1, 0, 0, 0], &[3, 0, 0, 0], &[2, 0, 0, 0], &[0, 0, 0, 0], &h(1), &h(at.as_ptr() as u64)]);
        assert_eq!(c.arg, want);
        assert_eq!(c.arrays[0], cat(&[&h(0x4_0000), &h(0x4_0001)]));
    }

    #[test]
    fn errors_decode_and_lengths_are_checked() {
        let xen = Xen::new(Recorder::new(rc(-3)));
        assert_eq!(
            xen.acquire_resource_size(DomId::SELF, ResourceType::GrantTable, 0),
            Err(Error::Xen(XenError::Srch))
        );
        assert_eq!(
            xen.acquire_resource(DomId(1), ResourceType::GrantTable, 0, 0, &mut []),
            Err(Error::Invalid(Invalid::EmptyFrameList))
        );
        let mut two = [Gfn(0); 2];
        assert_eq!(
            xen.acquire_resource_raw(DomId(1), ResourceType::GrantTable, 0, 0, 3, Some(&mut two)),
            Err(Error::Invalid(Invalid::FrameListTooShort))
        );
        assert_eq!(xen.backend().calls().len(), 1);
        // An unknown type and a non-zero nr_frames with a null list go to Xen as given.
        let xen = Xen::new(Recorder::new(rc(-22)));
        assert_eq!(
            xen.acquire_resource_raw(DomId(1), ResourceType::Other(7), 0, 0, 5, None),
            Err(Error::Xen(XenError::Inval))
        );
        assert_eq!(&xen.backend().calls()[0].arg[0..12], &[1, 0, 7, 0, 0, 0, 0, 0, 5, 0, 0, 0]);
    }
}
