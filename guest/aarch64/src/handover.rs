//! The hand-over between dom0 and the dom0less domU, which Xen starts at boot beside dom0.
//!
//! Dom0 runs its suite first; the domU waits. Then dom0, as the domU's toolstack:
//! 1. makes a sibling domain (the runtime's `toolstack::make_sibling`, as on x86_64) for the
//!    domU's cases to name;
//! 2. tells the domU the sibling's id: an unbound event channel in the domU whose remote end
//!    is the sibling (the domU reads its ports' status; nothing else reaches a dom0less domU);
//! 3. raises the domU's memory limit by [`DOMU_ROOM_PAGES`]. Xen builds a dom0less domU with
//!    `max_pages` equal to its RAM, so no allocation of its own could succeed; with the room,
//!    its cases allocate as an x86_64 domU built with `max_mem` above its RAM does. The raise
//!    is also the domU's signal to start;
//! 4. waits for the domU to shut down, then destroys the sibling.
//!
//! Every wait is bounded by the generic timer.

use core::fmt::Write;
use xenmem::{DomId, Xen};
use xenmem_guest_runtime::toolstack::{self, Fail, Waited, WAIT_MS};
use xenmem_guest_runtime::{xen, Arch, Role};

use crate::arch::{Arm64, Console};

/// Pages of room above the domU's RAM (16 MiB, the x86_64 domU's room too).
pub const DOMU_ROOM_PAGES: u64 = 4096;

/// Dom0's side: steps 1 to 4 above, for the dom0less domU `u`. Returns how the wait ended
/// and the sibling's id.
pub fn run_domu(
    con: &mut Console,
    xen: &Xen<<Arm64 as Arch>::Hv>,
    u: DomId,
) -> Result<(Waited, DomId), Fail> {
    let info = xen.domain_info(u).map_err(Fail::xen("getdomaininfo (domU)"))?;
    if info.domain != u.raw() {
        return Err(Fail::value("no dom0less domU (getdomaininfo found another id)", info.domain as u64));
    }
    let sibling = toolstack::make_sibling::<Arm64>(xen)?;
    let port = xen::alloc_unbound::<Arm64>(u, sibling)
        .map_err(|e| Fail::value("alloc_unbound (domU, sibling): errno", e.unsigned_abs()))?;
    let max_kib = (info.tot_pages + DOMU_ROOM_PAGES) * 4;
    xen.set_max_mem(u, max_kib).map_err(Fail::xen("max_mem (domU)"))?;
    let _ = writeln!(
        con,
        "{}: domu d{} go: tot_pages {} max_mem {} KiB, sibling d{} (port {port} in d{})",
        Role::Dom0.tag(),
        u.raw(),
        info.tot_pages,
        max_kib,
        sibling.raw(),
        u.raw()
    );
    con.flush();
    let waited = toolstack::wait_for_shutdown::<Arm64>(xen, u)?;
    xen.destroy_domain(sibling).map_err(Fail::xen("destroydomain (sibling)"))?;
    Ok((waited, sibling))
}

/// How long the domU waited for dom0.
pub struct Wait {
    pub polls: u64,
    pub ms: u64,
}

/// The domU's side of step 3: yield until dom0 has raised the limit above what it has.
pub fn wait_for_dom0(xen: &Xen<<Arm64 as Arch>::Hv>) -> Result<Wait, &'static str> {
    let now = || Arm64::now_ms().unwrap_or(0);
    let start = now();
    let mut polls = 0u64;
    loop {
        let cur = xen.current_reservation(DomId::SELF).map_err(|_| "current_reservation(SELF) failed")?;
        let max = xen.maximum_reservation(DomId::SELF).map_err(|_| "maximum_reservation(SELF) failed")?;
        if max > cur {
            return Ok(Wait { polls, ms: now() - start });
        }
        if now() - start > WAIT_MS {
            return Err("dom0 never raised this domain's memory limit");
        }
        xen::yield_cpu::<Arm64>();
        polls += 1;
    }
}

/// The domU's side of step 2: the remote end of its unbound port that is neither itself nor
/// dom0. Ports are numbered from 1; the scan stops at the first Xen refuses.
pub fn sibling_from_dom0(own: u16) -> Option<u16> {
    (1..64u32)
        .map(xen::unbound_remote::<Arm64>)
        .take_while(|s| s.is_ok())
        .filter_map(|s| s.ok().flatten())
        .find(|&remote| remote != own && remote != 0)
}
