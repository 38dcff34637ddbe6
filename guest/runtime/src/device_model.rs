//! Dom0 as a device model: the conformance suite's ioreq cases (`xenmem_conformance::run_ioreq`)
//! over this kernel, serving a domU that makes its accesses in its own domain meanwhile, and
//! that domU's side of them.
//!
//! Our kernels take no interrupts: dom0 serves by polling its slot, and between polls gives
//! the CPU away (`SCHEDOP_yield`), which on a one-CPU machine is what lets the domU run until
//! its next access blocks its vCPU. The guest has finished when Xen reports it shut down.

use core::fmt::Write;

use xenmem::abi::domctl::XEN_DOMINF_SHUTDOWN;
use xenmem::{DomId, Gfn, Xen};
use xenmem_conformance::ioreq::{guest_line, Seen, ACCESSES, MMIO_BASE};
use xenmem_conformance::{Config, GuestStep, Platform, Summary};

use crate::console::{Console, Tagged};
use crate::platform::Kernel;
use crate::toolstack::{Waited, WAIT_MS};
use crate::xen::{self, shutdown_reason_name};
use crate::{tags, Arch};

/// Without a clock, a bound on polls instead (a few per access).
const MAX_POLLS_WITHOUT_CLOCK: u64 = 100_000;
/// `XEN_DOMINF_shutdownshift`.
const SHUTDOWN_SHIFT: u32 = 16;

/// The kernel as the suite's platform, with `guest` to serve.
pub struct Served<'k, A: Arch> {
    kernel: &'k mut Kernel<A>,
    guest: DomId,
    /// Whether [`Platform::guest_start`] unpaused it (or it ran already: a dom0less domU).
    started: bool,
    /// Whether the guest makes accesses this platform waits for.
    waits: bool,
    polls: u64,
    start_ms: Option<u64>,
    /// How the wait ended, once it has.
    pub waited: Option<Waited>,
}

impl<'k, A: Arch> Served<'k, A> {
    /// Serves `guest`, a paused domU that makes its accesses once unpaused.
    pub fn paused(kernel: &'k mut Kernel<A>, guest: DomId) -> Self {
        Served { kernel, guest, started: false, waits: true, polls: 0, start_ms: None, waited: None }
    }

    /// Names `guest`, a running domain that makes no accesses (the arm64 dom0less domU):
    /// only the cases that need no guest activity mean something.
    pub fn idle(kernel: &'k mut Kernel<A>, guest: DomId) -> Self {
        Served { kernel, guest, started: true, waits: false, polls: 0, start_ms: None, waited: None }
    }

    fn finish(&mut self, reason: Option<u32>) -> GuestStep {
        let ms = self.start_ms.zip(A::now_ms()).map(|(s, n)| n.saturating_sub(s));
        self.waited = Some(Waited { reason, polls: self.polls, ms });
        GuestStep::Finished(reason.map_or("timeout", shutdown_reason_name))
    }

    /// Unpauses the guest if the suite never did and waits for it to stop (its accesses then
    /// go to no server), so that its log is complete whatever the suite did.
    pub fn wait_out(&mut self) {
        if !self.waits || self.waited.is_some() {
            return;
        }
        self.guest_start();
        while self.guest_step() == GuestStep::Running {}
    }
}

impl<A: Arch> Platform for Served<'_, A> {
    type Hv = A::Hv;

    fn arch(&self) -> xenmem_conformance::Arch {
        self.kernel.arch()
    }

    fn xen(&self) -> &Xen<A::Hv> {
        self.kernel.xen()
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        self.kernel.read_phys(gfn, offset, buf)
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        self.kernel.write_phys(gfn, offset, data)
    }

    fn ioreq_guest(&self) -> Option<DomId> {
        Some(self.guest)
    }

    fn guest_start(&mut self) {
        if !self.started {
            self.started = true;
            self.start_ms = A::now_ms();
            // An unpause Xen refuses leaves the guest paused: the wait then ends in a timeout,
            // which the suite prints.
            let _ = self.kernel.xen().unpause_domain(self.guest);
        }
    }

    fn guest_step(&mut self) -> GuestStep {
        if !self.waits {
            return GuestStep::Finished("none");
        }
        if let Some(w) = self.waited {
            return GuestStep::Finished(w.reason.map_or("timeout", shutdown_reason_name));
        }
        xen::yield_cpu::<A>();
        self.polls += 1;
        match self.kernel.xen().domain_info(self.guest) {
            Ok(info) if info.domain == self.guest.raw() => {
                if info.flags & XEN_DOMINF_SHUTDOWN != 0 {
                    return self.finish(Some((info.flags >> SHUTDOWN_SHIFT) & 0xff));
                }
            }
            // Gone, or getdomaininfo refused: it will not come back.
            _ => return self.finish(None),
        }
        let out_of_time = match self.start_ms.zip(A::now_ms()) {
            Some((s, now)) => now.saturating_sub(s) > WAIT_MS,
            None => self.polls >= MAX_POLLS_WITHOUT_CLOCK,
        };
        if out_of_time {
            return self.finish(None);
        }
        GuestStep::Running
    }
}

/// Runs the ioreq cases on `p`, every line tagged [`tags::IOREQ_SUITE`], then
/// `ioreq-done observations=N`.
pub fn run<A: Arch, P: Platform>(con: &mut Console<A>, p: &mut P, cfg: &Config) -> Summary {
    let summary = {
        let mut out = Tagged::new(con, tags::IOREQ_SUITE);
        let summary = xenmem_conformance::run_ioreq(p, cfg, &mut out);
        out.end_line();
        summary
    };
    let _ = writeln!(con, "{}: ioreq-done observations={}", tags::DOM0, summary.observations);
    con.flush();
    summary
}

/// The guest's side: makes every access of the suite's list on the device's range, one
/// line each, tagged [`tags::IOREQ_GUEST`]. Returns how many lines.
pub fn guest<A: Arch>(con: &mut Console<A>) -> u32 {
    let mut out = Tagged::new(con, tags::IOREQ_GUEST);
    let mut n = 0;
    for a in &ACCESSES {
        let addr = MMIO_BASE + a.offset;
        let size = u64::from(a.size);
        if addr + size > A::PHYS_END || !matches!(size, 1 | 2 | 4 | 8) || addr % size != 0 {
            break;
        }
        // SAFETY: the address is below PHYS_END, where the kernel reaches guest-physical
        // memory at the same address, and aligned to the access (both checked above); the
        // device's range is a hole of this domain's physmap (no RAM, no Rust object), so the
        // access goes to Xen's emulation.
        let seen = unsafe { mmio(addr, a.size, a.write) };
        guest_line(&mut out, a, seen);
        n += 1;
    }
    out.end_line();
    n
}

/// One access of `size` bytes at `addr`: a single load or store of that width, which Xen's
/// emulator decodes as one request.
///
/// # Safety
///
/// `addr` must be reachable at that address, aligned to `size`, and hold no Rust object.
unsafe fn mmio(addr: u64, size: u8, write: Option<u64>) -> Seen {
    use core::ptr::{read_volatile, write_volatile};
    // SAFETY: the caller's contract, for every arm (the pointer aligned to the access).
    unsafe {
        match (size, write) {
            (1, None) => Seen::Read(u64::from(read_volatile(addr as *const u8))),
            (2, None) => Seen::Read(u64::from(read_volatile(addr as *const u16))),
            (4, None) => Seen::Read(u64::from(read_volatile(addr as *const u32))),
            (_, None) => Seen::Read(read_volatile(addr as *const u64)),
            (1, Some(v)) => {
                write_volatile(addr as *mut u8, v as u8);
                Seen::Written
            }
            (2, Some(v)) => {
                write_volatile(addr as *mut u16, v as u16);
                Seen::Written
            }
            (4, Some(v)) => {
                write_volatile(addr as *mut u32, v as u32);
                Seen::Written
            }
            (_, Some(v)) => {
                write_volatile(addr as *mut u64, v);
                Seen::Written
            }
        }
    }
}
