//! Dom0 as a toolstack: the steps that are the same on both architectures. How a domU comes
//! to exist differs (x86_64's dom0 builds a PVH domU from its own image; on arm64 Xen starts
//! a dom0less domU at boot), and stays in each kernel; around it, both kernels
//! - make a sibling: a second unprivileged domain that exists (with a little RAM) but never
//!   runs, for the domU's cases to name ([`make_sibling`]);
//! - foreign-map runs of a domU's pages into a hole of their own physmap ([`Window`]);
//! - wait for the domU to shut down, by getdomaininfo and yielding ([`wait_for_shutdown`]);
//! - print the verdict line the boot tool looks for ([`report`]).

use core::fmt::{self, Write};
use xenmem::abi::domctl::XEN_DOMINF_SHUTDOWN;
use xenmem::{DomId, EntryStatus, Gfn, MemFlags, Xen};

use crate::console::Console;
use crate::log;
use crate::xen::{self, SHUTDOWN_CRASH, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};
use crate::{Arch, PAGE};

/// The sibling's size: 1 MiB limit, four pages at gfn 0x100 (what the model side builds too).
pub const SIBLING_MAX_KIB: u64 = 1024;
const SIBLING_GFNS: [Gfn; 4] = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
/// Longest wait for the domU, in milliseconds: well inside the boot tool's own timeout, so
/// that dom0 still reports a hung domU and resets the machine.
pub const WAIT_MS: u64 = 60_000;
/// Without a clock, a bound on polls instead. Each yield gives a running domU a time slice
/// (about 10 ms here); a whole domU run takes a few dozen polls.
const MAX_POLLS_WITHOUT_CLOCK: u64 = 10_000;
/// `XEN_DOMINF_shutdownshift`: the shutdown reason's place in getdomaininfo's flags.
const SHUTDOWN_SHIFT: u32 = 16;
/// Pages mapped per add_to_physmap_batch call (keeps the arrays small on the stack).
const MAP_CHUNK: usize = 64;

/// Why building, running or waiting for a domU failed: the step, and what went wrong.
#[derive(Debug)]
pub struct Fail {
    what: &'static str,
    detail: Detail,
}

#[derive(Debug)]
enum Detail {
    None,
    Xen(xenmem::Error),
    Value(u64),
    Text(&'static str),
}

impl Fail {
    /// A step that failed without more to say.
    pub fn new(what: &'static str) -> Fail {
        Fail { what, detail: Detail::None }
    }

    /// For `map_err`: a step Xen (or the library) refused.
    pub fn xen(what: &'static str) -> impl FnOnce(xenmem::Error) -> Fail {
        move |e| Fail { what, detail: Detail::Xen(e) }
    }

    /// A step that failed on a value.
    pub fn value(what: &'static str, v: u64) -> Fail {
        Fail { what, detail: Detail::Value(v) }
    }

    /// For `map_err`: a step that failed with a reason.
    pub fn text(what: &'static str) -> impl FnOnce(&'static str) -> Fail {
        move |t| Fail { what, detail: Detail::Text(t) }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        match &self.detail {
            Detail::None => Ok(()),
            Detail::Xen(e) => write!(f, ": {e}"),
            Detail::Value(v) => write!(f, ": {v:#x}"),
            Detail::Text(t) => write!(f, ": {t}"),
        }
    }
}

/// Creates the sibling: an unprivileged domain of this architecture's kind with one vCPU, a
/// [`SIBLING_MAX_KIB`] limit and four pages at gfn 0x100. It never runs.
pub fn make_sibling<A: Arch>(xen: &Xen<A::Hv>) -> Result<DomId, Fail> {
    let sib =
        xen.create_domain(DomId(0), &(A::DOMU_CONFIG)(1, 32)).map_err(Fail::xen("createdomain (sibling)"))?;
    // Since Xen 4.18 an Arm domain starts with no P2M pool: nothing could be populated into it.
    if A::SUITE_ARCH == xenmem_conformance::Arch::Arm64
        && xen.xen_version().map_err(Fail::xen("xen_version"))?.arm_p2m_pool_starts_empty()
    {
        xen.set_paging_mempool_size(sib, 4 << 20).map_err(Fail::xen("set_paging_mempool_size (sibling)"))?;
    }
    xen.set_max_vcpus(sib, 1).map_err(Fail::xen("max_vcpus (sibling)"))?;
    xen.set_max_mem(sib, SIBLING_MAX_KIB).map_err(Fail::xen("max_mem (sibling)"))?;
    let mut gfns = SIBLING_GFNS;
    let done = xen
        .populate_physmap(sib, 0, MemFlags::empty(), &mut gfns)
        .map_err(Fail::xen("populate_physmap (sibling)"))?;
    if done != gfns.len() {
        return Err(Fail::value("populate_physmap (sibling): extents done", done as u64));
    }
    Ok(sib)
}

/// How a wait for a domU ended.
#[derive(Clone, Copy, Debug)]
pub struct Waited {
    /// The shutdown reason (`SHUTDOWN_*`), or `None` if it had not shut down in time.
    pub reason: Option<u32>,
    /// getdomaininfo polls made.
    pub polls: u64,
    /// How long the wait took, if the architecture has a clock.
    pub ms: Option<u64>,
}

/// Yields to domain `id` until it has shut down or [`WAIT_MS`] have passed.
pub fn wait_for_shutdown<A: Arch>(xen: &Xen<A::Hv>, id: DomId) -> Result<Waited, Fail> {
    let start = A::now_ms();
    let mut polls = 0u64;
    loop {
        let info = xen.domain_info(id).map_err(Fail::xen("getdomaininfo"))?;
        // getdomaininfo answers with the next domain at or above the id asked.
        if info.domain != id.raw() {
            return Err(Fail::value("the domU disappeared; getdomaininfo found", info.domain as u64));
        }
        let elapsed = start.zip(A::now_ms()).map(|(s, now)| now.saturating_sub(s));
        if info.flags & XEN_DOMINF_SHUTDOWN != 0 {
            let reason = (info.flags >> SHUTDOWN_SHIFT) & 0xff;
            return Ok(Waited { reason: Some(reason), polls, ms: elapsed });
        }
        let out_of_time = match elapsed {
            Some(ms) => ms > WAIT_MS,
            None => polls >= MAX_POLLS_WITHOUT_CLOCK,
        };
        if out_of_time {
            return Ok(Waited { reason: None, polls, ms: elapsed });
        }
        xen::yield_cpu::<A>();
        polls += 1;
    }
}

/// Whether the domU's run counts as done: it shut down by powering off, after saying it
/// finished (in its log's header, where it has a log). `Err` says why not.
pub fn verdict(reason: Option<u32>, log: Option<&log::Header>) -> Result<(), &'static str> {
    let Some(reason) = reason else { return Err("the domU did not shut down in time") };
    if let Some(h) = log {
        if h.state == log::FAILED {
            return Err("the domU reported a failure");
        }
    }
    if reason == SHUTDOWN_CRASH {
        return Err("the domU crashed");
    }
    if let Some(h) = log {
        if h.state != log::DONE {
            return Err(if reason == SHUTDOWN_REBOOT {
                "the domU stopped before finishing: reboot, which is how Xen ends a triple fault"
            } else {
                "the domU stopped before finishing"
            });
        }
        if h.magic != log::MAGIC {
            return Err("the domU finished but its log header is damaged");
        }
        if h.dropped != 0 {
            return Err("the domU's log overflowed");
        }
    }
    if reason != SHUTDOWN_POWEROFF {
        return Err("the domU did not power off");
    }
    Ok(())
}

/// Prints how the domU's run ended and the verdict line: `domu-done` (with the domU's own
/// count of observations where its log says it) or `domu-failed: <why>`.
pub fn report<A: Arch>(con: &mut Console<A>, id: DomId, waited: &Waited, log: Option<&log::Header>) {
    let tag = crate::Role::Dom0.tag();
    let reason = waited.reason.map_or("none (still running)", xen::shutdown_reason_name);
    let _ = write!(con, "{tag}: domu d{} stopped: shutdown {reason} after {} polls", id.raw(), waited.polls);
    if let Some(ms) = waited.ms {
        let _ = write!(con, ", {ms} ms");
    }
    if let Some(h) = log {
        let _ = write!(con, "; log state {}, {} bytes, {} dropped", h.state, h.len, h.dropped);
    }
    let _ = writeln!(con);
    match (verdict(waited.reason, log), log) {
        (Ok(()), Some(h)) => {
            let _ = writeln!(con, "{tag}: domu-done observations={}", h.observations);
        }
        (Ok(()), None) => {
            let _ = writeln!(con, "{tag}: domu-done");
        }
        (Err(why), _) => {
            let _ = writeln!(con, "{tag}: domu-failed: {why}");
        }
    }
    con.flush();
}

/// A run of a domU's pages foreign-mapped into a hole of the caller's physmap, read and
/// written at the hole's own addresses.
pub struct Window {
    /// The domU's first page.
    first: Gfn,
    /// Where it appears in the caller.
    at: Gfn,
    pages: u64,
    /// How many pages from the start are mapped.
    mapped: u64,
}

impl Window {
    /// A window of `pages` pages of a domU from `first` on, to appear at `at`.
    ///
    /// # Safety
    ///
    /// `at..at + pages` must be a hole of the caller's physmap that the caller reaches at the
    /// same addresses and where no Rust object lives, for as long as the window is mapped.
    pub unsafe fn new(first: Gfn, at: Gfn, pages: u64) -> Window {
        Window { first, at, pages, mapped: 0 }
    }

    /// Maps the pages, 64 per batch. On a failed entry, the entries after it are
    /// undone and the prefix stays counted, for [`Window::unmap`].
    pub fn map<H: xenmem::Hypercall>(&mut self, xen: &Xen<H>, domu: DomId) -> Result<(), Fail> {
        let mut foreign = [Gfn(0); MAP_CHUNK];
        let mut local = [Gfn(0); MAP_CHUNK];
        let mut errs = [EntryStatus::NOT_DONE; MAP_CHUNK];
        while self.mapped < self.pages {
            let n = ((self.pages - self.mapped) as usize).min(MAP_CHUNK);
            for i in 0..n {
                foreign[i] = Gfn(self.first.raw() + self.mapped + i as u64);
                local[i] = Gfn(self.at.raw() + self.mapped + i as u64);
            }
            xen.map_foreign_batch(DomId::SELF, domu, &foreign[..n], &local[..n], &mut errs[..n])
                .map_err(Fail::xen("add_to_physmap_batch(gmfn_foreign)"))?;
            if let Some(bad) = errs[..n].iter().position(|e| !e.is_ok()) {
                for (g, _) in local[bad..n].iter().zip(&errs[bad..n]).filter(|(_, e)| e.is_ok()) {
                    let _ = xen.remove_from_physmap(DomId::SELF, *g);
                }
                self.mapped += bad as u64;
                return Err(Fail::value("mapping a domU page failed; errno", (-errs[bad].raw()) as u64));
            }
            self.mapped += n as u64;
        }
        Ok(())
    }

    /// Unmaps what is mapped, last page first.
    pub fn unmap<H: xenmem::Hypercall>(&mut self, xen: &Xen<H>) -> Result<(), Fail> {
        while self.mapped > 0 {
            let g = Gfn(self.at.raw() + self.mapped - 1);
            xen.remove_from_physmap(DomId::SELF, g).map_err(Fail::xen("remove_from_physmap"))?;
            self.mapped -= 1;
        }
        Ok(())
    }

    /// The caller's address for the domU's bytes `paddr..paddr + len`, if all are mapped.
    fn local(&self, paddr: u64, len: usize) -> Result<usize, Fail> {
        let start = self.first.raw() * PAGE;
        let end = start + self.mapped * PAGE;
        match paddr.checked_add(len as u64) {
            Some(e) if paddr >= start && e <= end => Ok((self.at.raw() * PAGE + (paddr - start)) as usize),
            _ => Err(Fail::value("outside the mapped window", paddr)),
        }
    }

    /// Zeroes every mapped page (pages fresh from Xen are not guaranteed to be zero: a page a
    /// live domain gave back is reused unscrubbed).
    pub fn zero_all(&mut self) {
        let at = (self.at.raw() * PAGE) as *mut u8;
        // SAFETY: the `mapped` pages from `at` are the domU's frames mapped into the hole that
        // `new`'s caller vouched for; nothing else references them.
        unsafe { core::ptr::write_bytes(at, 0, (self.mapped * PAGE) as usize) };
    }

    /// Writes `data` at the domU's physical address `paddr`.
    pub fn write(&mut self, paddr: u64, data: &[u8]) -> Result<(), Fail> {
        let at = self.local(paddr, data.len())?;
        // SAFETY: `local` checked the range is inside the mapped pages (see `zero_all`); `data`
        // is the caller's memory, which cannot overlap a foreign mapping.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), at as *mut u8, data.len()) };
        Ok(())
    }

    /// Reads the domU's bytes at physical address `paddr`.
    pub fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), Fail> {
        let at = self.local(paddr, buf.len())?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: inside the mapped pages (`local`); volatile because the domU wrote them
            // behind the compiler's back.
            *b = unsafe { core::ptr::read_volatile((at + i) as *const u8) };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(state: u32, dropped: u32) -> log::Header {
        log::Header { magic: log::MAGIC, state, len: 10, observations: 3, dropped }
    }

    #[test]
    fn only_a_poweroff_after_a_finished_run_is_done() {
        assert_eq!(verdict(Some(SHUTDOWN_POWEROFF), None), Ok(()));
        assert_eq!(verdict(Some(SHUTDOWN_POWEROFF), Some(&header(log::DONE, 0))), Ok(()));
        assert!(verdict(None, None).is_err());
        assert!(verdict(Some(SHUTDOWN_CRASH), None).is_err());
        assert!(verdict(Some(SHUTDOWN_REBOOT), None).is_err());
        assert!(verdict(Some(SHUTDOWN_POWEROFF), Some(&header(0, 0))).is_err());
        assert!(verdict(Some(SHUTDOWN_POWEROFF), Some(&header(log::FAILED, 0))).is_err());
        assert!(verdict(Some(SHUTDOWN_POWEROFF), Some(&header(log::DONE, 1))).is_err());
        let damaged = log::Header { magic: 0, ..header(log::DONE, 0) };
        assert!(verdict(Some(SHUTDOWN_POWEROFF), Some(&damaged)).is_err());
    }
}
