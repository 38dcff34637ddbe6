//! A Linux dom0 through `/dev/xen/privcmd`.

use super::{type_name, Admin, FrameError, Frames};
use crate::privcmd_map::ForeignFrame;
use crate::Failure;
use xenmem::{DomId, Gfn, Xen};
use xenmem_privcmd::{Privcmd, PRIVCMD_PATH};

/// A Linux dom0 through `/dev/xen/privcmd`.
pub struct PrivcmdAdmin {
    xen: Xen<Privcmd>,
}

impl PrivcmdAdmin {
    /// Opens the device.
    ///
    /// # Errors
    ///
    /// "not a Xen dom0" when the device does not exist (exit 2), the errno otherwise.
    pub fn open() -> Result<PrivcmdAdmin, Failure> {
        match Privcmd::open() {
            Ok(p) => Ok(PrivcmdAdmin { xen: Xen::new(p) }),
            Err(xenmem_privcmd::Error::NotDom0 { path }) => Err(Failure::Input(format!(
                "not a Xen dom0: {} does not exist (not running on Xen, or the xen-privcmd module is not loaded)",
                path.display()
            ))),
            Err(e) => Err(Failure::Input(format!("{PRIVCMD_PATH}: {e}"))),
        }
    }
}

impl Admin for PrivcmdAdmin {
    type Hv = Privcmd;

    fn xen(&self) -> &Xen<Privcmd> {
        &self.xen
    }

    fn read_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, buf: &mut [u8]) -> Result<(), FrameError> {
        let f = ForeignFrame::map(PRIVCMD_PATH, d, gfn)
            .map_err(|e| FrameError { call: e.call.to_string(), errno: Some(e.errno) })?;
        f.read(offset, buf);
        Ok(())
    }

    fn write_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), FrameError> {
        let mut f = ForeignFrame::map(PRIVCMD_PATH, d, gfn)
            .map_err(|e| FrameError { call: e.call.to_string(), errno: Some(e.errno) })?;
        f.write(offset, data);
        Ok(())
    }

    fn resource_frames(&mut self, d: DomId, r: Frames) -> Result<Vec<u8>, FrameError> {
        let Frames { ty, id, frame, count } = r;
        let m = self.xen.backend().map_resource(d, ty, id, frame, count).map_err(|e| FrameError {
            call: format!(
                "IOCTL_PRIVCMD_MMAP_RESOURCE({d}, {}, id {id}, frame {frame}, {count} frames)",
                type_name(ty)
            ),
            errno: e.errno(),
        })?;
        Ok(m.to_vec())
    }
}
