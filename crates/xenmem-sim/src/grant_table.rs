//! The grant-table frames memory_op can reach (`xen/common/grant_table.c`):
//! `gnttab_map_frame_begin` for `XENMAPSPACE_grant_table`, the frame lookups that grow the
//! table on demand, and `gnttab_acquire_resource` / `gnttab_resource_max_frames` for
//! `XENMEM_acquire_resource`.
//!
//! Touches only the domain's grant table and, through `crate::mm`, its frames' references.

use crate::error::errno::*;
use crate::lifecycle::{grant_to_status_frames, status_to_grant_frames};
use crate::machine::Machine;
use xenmem::abi::{
    XENMAPIDX_GRANT_TABLE_STATUS, XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED,
    XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS,
};

impl Machine {
    /// `gnttab_get_shared_frame_mfn`: frame `idx`, growing the table up to its maximum.
    pub(crate) fn gnttab_shared_frame(&mut self, d: u16, idx: u32) -> Result<u64, i32> {
        if idx as usize >= self.dom(d).grant.shared.len() {
            let nr = idx.wrapping_add(1);
            if nr == 0 {
                return Err(EINVAL);
            }
            if nr <= self.dom(d).grant.max_frames {
                // A failed growth shows up as the index still being out of range.
                let _ = self.gnttab_grow_table(d, nr);
            }
        }
        self.dom(d).grant.shared.get(idx as usize).copied().ok_or(EINVAL)
    }

    /// `gnttab_get_status_frame_mfn` (version 2 only): status frame `idx`, growing the table
    /// so that it exists. The frame counts are Xen's 32-bit arithmetic, overflow included.
    pub(crate) fn gnttab_status_frame(&mut self, d: u16, idx: u32) -> Result<u64, i32> {
        if idx as usize >= self.dom(d).grant.status.len() {
            let nr_status = idx.wrapping_add(1);
            if nr_status == 0 {
                return Err(EINVAL);
            }
            let nr_grant = status_to_grant_frames(nr_status);
            if grant_to_status_frames(nr_grant) != nr_status {
                return Err(EINVAL);
            }
            if nr_grant <= self.dom(d).grant.max_frames {
                let _ = self.gnttab_grow_table(d, nr_grant);
            }
        }
        self.dom(d).grant.status.get(idx as usize).copied().ok_or(EINVAL)
    }

    /// `gnttab_map_frame_begin`: the frame `idx` names (a status frame when the table is v2
    /// and `XENMAPIDX_grant_table_status` is set; the index is then truncated to 32 bits as
    /// Xen's `unsigned int` parameter does), with a reference the caller must drop
    /// (`gnttab_map_frame_end`). `-EINVAL` beyond the table's maximum, `-EBUSY` if the page
    /// is no longer the domain's.
    pub(crate) fn gnttab_map_frame_begin(&mut self, d: u16, idx: u64) -> Result<u64, i32> {
        let mfn = if self.dom(d).grant.version == 2 && idx & XENMAPIDX_GRANT_TABLE_STATUS != 0 {
            self.gnttab_status_frame(d, (idx & !XENMAPIDX_GRANT_TABLE_STATUS) as u32)?
        } else {
            self.gnttab_shared_frame(d, idx as u32)?
        };
        if !self.get_page(mfn, d) {
            return Err(EBUSY);
        }
        Ok(mfn)
    }

    /// `gnttab_resource_max_frames`: shared → `max_grant_frames`; status →
    /// `grant_to_status_frames(max_grant_frames)` where v2 exists (`GNTTAB_MAX_VERSION` ≥ 2,
    /// i.e. not on Arm); any other id → 0.
    pub(crate) fn gnttab_resource_max_frames(&self, d: u16, id: u32) -> u32 {
        let max = self.dom(d).grant.max_frames;
        match id {
            XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED => max,
            XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS if self.gnttab_max_version() >= 2 => {
                grant_to_status_frames(max)
            }
            _ => 0,
        }
    }

    /// `gnttab_acquire_resource`: MFNs of frames `frame .. frame + nr` of the shared or
    /// (v2 only) status frames, growing the table to hold the last; `-EINVAL` otherwise.
    pub(crate) fn gnttab_acquire_resource(
        &mut self,
        d: u16,
        id: u32,
        frame: u32,
        nr: u32,
    ) -> Result<Vec<u64>, i32> {
        if nr == 0 {
            return Err(EINVAL);
        }
        let last = frame.wrapping_add(nr - 1);
        let status = match id {
            XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED => {
                self.gnttab_shared_frame(d, last)?;
                false
            }
            XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS if self.dom(d).grant.version == 2 => {
                self.gnttab_status_frame(d, last)?;
                true
            }
            _ => return Err(EINVAL),
        };
        let g = &self.dom(d).grant;
        let frames = if status { &g.status } else { &g.shared };
        frames.get(frame as usize..=last as usize).map(<[u64]>::to_vec).ok_or(EINVAL)
    }
}
