//! The hand-over between dom0 and the dom0less domU, which Xen starts at boot beside dom0.
//!
//! Dom0 runs its suite first; the domU waits. Then dom0, as the domU's toolstack:
//! 1. makes a sibling domain (1 MiB limit, four pages at gfn 0x100, never run), as the x86_64
//!    toolstack does, for the domU's cases to name;
//! 2. tells the domU the sibling's id: an unbound event channel in the domU whose remote end
//!    is the sibling (the domU reads its ports' status; nothing else reaches a dom0less domU);
//! 3. raises the domU's memory limit by [`DOMU_ROOM_PAGES`]. Xen builds a dom0less domU with
//!    `max_pages` equal to its RAM, so no allocation of its own could succeed; with the room,
//!    its cases allocate as an x86_64 domU built with `max_mem` above its RAM does. The raise
//!    is also the domU's signal to start;
//! 4. polls getdomaininfo until the domU has shut down, then destroys the sibling.
//!
//! Every wait is bounded by the generic timer.

use core::fmt::Write;
use xenmem::abi::domctl::XEN_DOMINF_SHUTDOWN;
use xenmem::hypercall::aarch64::Hvc;
use xenmem::{DomId, Gfn, MemFlags, Xen};

use crate::console::Console;
use crate::hv;

/// Pages of room above the domU's RAM (16 MiB, the x86_64 domU's room too).
pub const DOMU_ROOM_PAGES: u64 = 4096;
/// Longest wait for the other domain, in milliseconds of the virtual counter: well inside the
/// boot script's own timeout, so that dom0 still reports a hung domU and resets the machine.
const WAIT_MS: u64 = 60_000;
/// `XEN_DOMINF_shutdownshift`: the shutdown reason's place in getdomaininfo's flags.
const SHUTDOWN_SHIFT: u32 = 16;

/// How the domU ended.
pub struct Report {
    pub reason: u32,
    pub polls: u64,
    pub ms: u64,
    pub sibling: DomId,
}

/// A failed step and Xen's answer.
pub struct Fail(&'static str, i64);

impl core::fmt::Display for Fail {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.0, self.1)
    }
}

fn xen_err(what: &'static str) -> impl Fn(xenmem::Error) -> Fail {
    move |e| Fail(what, -(e.errno() as i64))
}

/// Dom0's side: steps 1 to 4 above, for the dom0less domU `u`.
pub fn run_domu(con: &mut Console, u: DomId) -> Result<Report, Fail> {
    let xen = Xen::new(Hvc);
    let info = xen.domain_info(u).map_err(xen_err("getdomaininfo (domU)"))?;
    if info.domain != u.raw() {
        return Err(Fail("no dom0less domU (getdomaininfo found another id)", info.domain as i64));
    }
    let sibling = make_sibling(&xen)?;
    let port = hv::alloc_unbound(u, sibling).map_err(|e| Fail("alloc_unbound (domU, sibling)", e))?;
    let max_kib = (info.tot_pages + DOMU_ROOM_PAGES) * 4;
    xen.set_max_mem(u, max_kib).map_err(xen_err("max_mem (domU)"))?;
    let _ = writeln!(
        con,
        "xenmem-guest: domu d{} go: tot_pages {} max_mem {} KiB, sibling d{} (port {port} in d{})",
        u.raw(),
        info.tot_pages,
        max_kib,
        sibling.raw(),
        u.raw()
    );
    con.flush();

    let start = hv::now_ms();
    let mut polls = 0u64;
    let reason = loop {
        hv::yield_cpu();
        polls += 1;
        let i = xen.domain_info(u).map_err(xen_err("getdomaininfo (domU)"))?;
        if i.domain != u.raw() {
            return Err(Fail("the domU disappeared; getdomaininfo found", i.domain as i64));
        }
        if i.flags & XEN_DOMINF_SHUTDOWN != 0 {
            break (i.flags >> SHUTDOWN_SHIFT) & 0xff;
        }
        if hv::now_ms() - start > WAIT_MS {
            return Err(Fail("the domU did not shut down in time; polls", polls as i64));
        }
    };
    let ms = hv::now_ms() - start;
    xen.destroy_domain(sibling).map_err(xen_err("destroydomain (sibling)"))?;
    Ok(Report { reason, polls, ms, sibling })
}

/// The sibling: 1 MiB limit, four pages at gfn 0x100 (what the model side builds too).
fn make_sibling(xen: &Xen<Hvc>) -> Result<DomId, Fail> {
    let sib = xen
        .create_domain(DomId(0), &xenmem::domctl::arm_domu(1, 32))
        .map_err(xen_err("createdomain (sibling)"))?;
    // Since Xen 4.18 a created domain has no P2M pool: nothing could be populated into it.
    if xen.xen_version().map_err(xen_err("xen_version"))?.arm_p2m_pool_starts_empty() {
        xen.set_paging_mempool_size(sib, 4 << 20).map_err(xen_err("set_paging_mempool_size (sibling)"))?;
    }
    xen.set_max_vcpus(sib, 1).map_err(xen_err("max_vcpus (sibling)"))?;
    xen.set_max_mem(sib, 1024).map_err(xen_err("max_mem (sibling)"))?;
    let mut gfns = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
    let done = xen
        .populate_physmap(sib, 0, MemFlags::empty(), &mut gfns)
        .map_err(xen_err("populate_physmap (sibling)"))?;
    if done != gfns.len() {
        return Err(Fail("populate_physmap (sibling): extents done", done as i64));
    }
    Ok(sib)
}

/// How long the domU waited.
pub struct Waited {
    pub polls: u64,
    pub ms: u64,
}

/// The domU's side of step 3: yield until dom0 has raised the limit above what it has.
pub fn wait_for_dom0() -> Result<Waited, &'static str> {
    let xen = Xen::new(Hvc);
    let start = hv::now_ms();
    let mut polls = 0u64;
    loop {
        let cur = xen.current_reservation(DomId::SELF).map_err(|_| "current_reservation(SELF) failed")?;
        let max = xen.maximum_reservation(DomId::SELF).map_err(|_| "maximum_reservation(SELF) failed")?;
        if max > cur {
            return Ok(Waited { polls, ms: hv::now_ms() - start });
        }
        if hv::now_ms() - start > WAIT_MS {
            return Err("dom0 never raised this domain's memory limit");
        }
        hv::yield_cpu();
        polls += 1;
    }
}

/// The domU's side of step 2: the remote end of its unbound port that is neither itself nor
/// dom0. Ports are numbered from 1; the scan stops at the first Xen refuses.
pub fn sibling_from_dom0(own: u16) -> Option<u16> {
    (1..64u32)
        .map(hv::unbound_remote)
        .take_while(|s| s.is_ok())
        .filter_map(|s| s.ok().flatten())
        .find(|&remote| remote != own && remote != 0)
}
