//! The hypercall economy on real Xen (`xenmem_conformance::economy`, issue 14): after the
//! domU has shut down, and before it is destroyed, dom0 foreign-maps the domU's RAM (16 MiB,
//! GFNs 0..4096) at 16 windows of its own physmap from 4 GiB up (65,536 frames) — an untimed
//! pass first, then with Linux privcmd's batch (1), zephyr-xenlib's (128) and xenmem's
//! (65,535) — unmapping between runs, and prints one line per way:
//!
//! `xenmem-economy: economy <way> batch=<n> frames=<N> hypercalls=<h> ns_per_frame=<t>
//! unmap_hypercalls=<h> unmap_ns_per_frame=<t>` (one line; `cargo xtask conformance` reads
//! them, holds the counts to the batch sizes and sets the model's figures beside them).
//!
//! The windows lie above the boot identity map (which ends at 4 GiB) and above every region
//! of dom0's memory map on the QEMU machine, so nothing else uses them and no code here can
//! touch them: the frames are only mapped and unmapped, never read.
//!
//! The clock is the TSC scaled by the rate Xen gives the domain in its CPUID time leaf
//! (base + 3, subleaf 0, `%ecx` = `d->arch.tsc_khz`: `cpuid_hypervisor_leaves` in
//! `arch/x86/traps.c`, Xen 4.17 and 4.20 alike). Simpler than the shared-info page's
//! `tsc_to_system_mul`/`tsc_shift` (no page to map into dom0's physmap), and the same rate:
//! Xen derives both from the domain's TSC frequency.
//!
//! `hypercalls` counts the calls the kernel issues. Xen may preempt a long batch and re-enter
//! it as a continuation (`xenmem_add_to_physmap_batch` checks `hypercall_preempt_check` after
//! every entry), which re-executes the same call instruction without the kernel issuing a new
//! call: that cost is in the time, not in the count.
//!
//! The domU's suite gives some of its pages back (gfn 0x100 at least), and those cannot be
//! mapped: a first batch over GFNs 0..4096 finds the ones that can, and the source repeats
//! them in order to fill 4096 entries, so every run maps exactly 65,536 frames as the model's
//! does.

use core::cell::UnsafeCell;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use xenmem::hypercall::Counting;
use xenmem::{DomId, EntryStatus, Gfn, Xen, BATCH_MAX_ENTRIES};
use xenmem_conformance::economy::{self, Clock, Scratch, Target};
use xenmem_guest_runtime::console::Tagged;
use xenmem_guest_runtime::Arch;

use crate::arch::{Console, X86};

/// The tag of every line this prints.
const TAG: &str = "xenmem-economy: ";
/// The domU's RAM, in pages (domu.rs builds it so).
const SOURCE_PAGES: usize = 4096;
/// Windows of [`SOURCE_PAGES`] frames: 65,536 frames.
const WINDOWS: usize = economy::windows_needed(SOURCE_PAGES as u64) as usize;

/// One batch's arrays (1.25 MiB, in .bss: too big for the stack) and the source GFNs.
struct Arrays {
    idxs: [Gfn; BATCH_MAX_ENTRIES],
    gfns: [Gfn; BATCH_MAX_ENTRIES],
    errs: [EntryStatus; BATCH_MAX_ENTRIES],
    source: [Gfn; SOURCE_PAGES],
}

struct Once {
    taken: AtomicBool,
    arrays: UnsafeCell<Arrays>,
}

// SAFETY: the arrays are reachable only through `take`, which hands them out at most once.
unsafe impl Sync for Once {}

/// All zero, so the whole of it lands in .bss (EntryStatus 0 is only a starting value: the
/// library marks every entry before each call).
static ARRAYS: Once = Once {
    taken: AtomicBool::new(false),
    arrays: UnsafeCell::new(Arrays {
        idxs: [Gfn(0); BATCH_MAX_ENTRIES],
        gfns: [Gfn(0); BATCH_MAX_ENTRIES],
        errs: [EntryStatus::OK; BATCH_MAX_ENTRIES],
        source: [Gfn(0); SOURCE_PAGES],
    }),
};

fn take_arrays() -> Option<&'static mut Arrays> {
    if ARRAYS.taken.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the swap above lets exactly one caller through, so this is the only reference
    // ever made to the arrays, a static.
    Some(unsafe { &mut *ARRAYS.arrays.get() })
}

/// The TSC in nanoseconds at the rate Xen reports.
struct Tsc {
    khz: u64,
}

impl Clock for Tsc {
    fn now_ns(&self) -> u64 {
        // SAFETY: rdtsc reads the time-stamp counter; CR4.TSD is clear, so it runs in any ring.
        let ticks = unsafe { core::arch::x86_64::_rdtsc() };
        (ticks as u128 * 1_000_000 / self.khz.max(1) as u128).min(u64::MAX as u128) as u64
    }
}

/// Measures and prints; a failure is one `xenmem-economy: failed: ...` line (the domU's
/// verdict does not depend on it; xtask fails the run when the figures are missing).
pub fn run(domu: DomId) {
    let mut con = Console::new();
    let mut out = Tagged::new(&mut con, TAG);
    if let Err(why) = measure(&mut out, domu) {
        let _ = writeln!(out, "failed: {why}");
    }
}

fn measure(out: &mut dyn Write, domu: DomId) -> Result<(), &'static str> {
    let khz = crate::arch::tsc_khz();
    if khz == 0 {
        return Err("Xen reports no TSC rate");
    }
    let clock = Tsc { khz };
    let hv = X86::hv().ok_or("no hypercall page")?;
    let xen = Xen::new(Counting::new(hv));
    let a = take_arrays().ok_or("arrays already used")?;
    let usable = mappable_source(&xen, domu, a)?;
    let mut windows = [Gfn(0); WINDOWS];
    for (i, w) in windows.iter_mut().enumerate() {
        *w = economy::window(i as u64, SOURCE_PAGES as u64);
    }
    let _ = writeln!(
        out,
        "clock tsc_khz={khz} source domid={} mappable={usable}/{SOURCE_PAGES} windows={WINDOWS} at={:#x}",
        domu.raw(),
        windows[0].raw()
    );
    let target = Target { foreign: domu, source: &a.source, windows: &windows };
    let mut scratch = Scratch { idxs: &mut a.idxs, gfns: &mut a.gfns, errs: &mut a.errs };
    let start = clock.now_ns();
    match economy::measure_ways(&xen, &clock, &target, &mut scratch) {
        Ok(measured) => {
            for m in &measured {
                let _ = economy::write_measure(out, m);
            }
            let ms = clock.now_ns().saturating_sub(start) / 1_000_000;
            let _ = writeln!(out, "done in {ms} ms");
            Ok(())
        }
        Err((way, e)) => {
            let _ = writeln!(out, "way {} failed: {e:?}", way.name);
            Err("a way failed")
        }
    }
}

/// Fills `a.source` with the domU GFNs below [`SOURCE_PAGES`] that map, repeated in order
/// to fill it, and returns how many distinct ones there are. One batch at the first window,
/// unmapped again at once.
fn mappable_source(
    xen: &Xen<Counting<<X86 as Arch>::Hv>>,
    domu: DomId,
    a: &mut Arrays,
) -> Result<usize, &'static str> {
    let at = economy::window(0, SOURCE_PAGES as u64);
    for i in 0..SOURCE_PAGES {
        a.idxs[i] = Gfn(i as u64);
        a.gfns[i] = Gfn(at.raw() + i as u64);
    }
    let (idxs, gfns, errs) = (&a.idxs[..SOURCE_PAGES], &a.gfns[..SOURCE_PAGES], &mut a.errs[..SOURCE_PAGES]);
    xen.map_foreign_batch(DomId::SELF, domu, idxs, gfns, errs)
        .map_err(|_| "the probing batch failed as a whole")?;
    let mut usable = 0;
    let mut unmapped = true;
    for i in 0..SOURCE_PAGES {
        if errs[i].is_ok() {
            unmapped &= xen.remove_from_physmap(DomId::SELF, gfns[i]).is_ok();
            a.source[usable] = idxs[i];
            usable += 1;
        }
    }
    if !unmapped {
        return Err("unmapping the probing batch failed");
    }
    if usable == 0 {
        return Err("no page of the domU maps");
    }
    for i in usable..SOURCE_PAGES {
        a.source[i] = a.source[i % usable];
    }
    Ok(usable)
}
