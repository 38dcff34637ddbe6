//! The hypercall economy: what the batch size of a foreign mapping is worth, in hypercalls and
//! in time, measured the same way on real Xen (inside the guest kernel) and on the model.
//!
//! One measurement foreign-maps at least [`MIN_FRAMES`] frames of another domain into the
//! caller's own physmap with `XENMEM_add_to_physmap_batch`, `batch` entries a call, then
//! unmaps them again with one `XENMEM_remove_from_physmap` a frame, which is how the peers
//! unmap (Linux's `xen_xlate_unmap_gfn_range` calls `unmap_gfn` for every GFN; zephyr-xenlib's
//! domain builder removes page by page), so the unmap costs the same whatever the batch size
//! and leaves the physmap as it found it for the next way. A small source domain is mapped at
//! several windows to reach the count. The three ways ([`WAYS`]) differ only in the batch size:
//!
//! - [`LINUX`]: privcmd on a translated dom0 maps through `xen_xlate_remap_gfn_array`
//!   (Linux `drivers/xen/xlate_mmu.c`, torvalds/linux 0cfa80d3c398): `apply_to_page_range`
//!   calls `remap_pte_fn` once per page-table entry (lines 152 and 168), which takes
//!   `nr_gfn = min(XEN_PFN_PER_PAGE, left)` frames (line 109), fills that many hypercall
//!   slots through `setup_hparams` (lines 84-94, 113) and issues one
//!   `XENMEM_add_to_physmap_range` (number 23, today's `add_to_physmap_batch`) for them
//!   (line 121). `XEN_PFN_PER_PAGE` is `PAGE_SIZE / XEN_PAGE_SIZE` (`include/xen/page.h`):
//!   **1 frame per hypercall** with 4 KiB pages (every x86_64 kernel, and arm64 with 4 KiB
//!   pages; 16 with arm64's 64 KiB pages).
//! - [`ZEPHYR`]: zephyr-xenlib's domain builder, `CONFIG_PFN_CHUNK_SIZE` = 128 frames a call.
//! - [`XENMEM`]: this library, [`BATCH_MAX_ENTRIES`] (65,535, the batch's 16-bit `size`).
//!
//! no_std and allocation-free, so the guest kernels run the same code: the caller brings the
//! backend wrapped in [`Counting`], a [`Clock`], and the [`Scratch`] arrays a call's entries
//! are built in.

use core::fmt::{self, Write};
use xenmem::hypercall::Counting;
use xenmem::{DomId, EntryStatus, Error, Gfn, Hypercall, Xen, BATCH_MAX_ENTRIES};

/// Frames one measurement maps at least: enough for batches of 65,535 to matter.
pub const MIN_FRAMES: u64 = 65_536;

/// Where the windows start in dom0's physmap, on real Xen and on the model: 4 GiB, above the
/// RAM and firmware ranges of the x86_64 machine (512 MiB) and out of the boot identity map,
/// so no code of the kernel can touch them; the frames are only mapped, never read.
pub const WINDOWS_AT: Gfn = Gfn(0x10_0000);

/// The first GFN of window `i` when each holds `per_window` frames, from [`WINDOWS_AT`].
pub const fn window(i: u64, per_window: u64) -> Gfn {
    Gfn(WINDOWS_AT.0 + i * per_window)
}

/// Windows needed to reach [`MIN_FRAMES`] with `per_window` frames each (0 for none).
pub const fn windows_needed(per_window: u64) -> u64 {
    if per_window == 0 {
        0
    } else {
        MIN_FRAMES.div_ceil(per_window)
    }
}

/// A clock the caller can read under Xen (the TSC scaled by Xen's published frequency in a
/// guest; `Instant` on the host).
pub trait Clock {
    /// Nanoseconds since any fixed point; never decreasing.
    fn now_ns(&self) -> u64;
}

/// A way to foreign-map: a name and a batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Way {
    /// How it prints.
    pub name: &'static str,
    /// Entries per `add_to_physmap_batch` call.
    pub batch: usize,
}

/// Linux privcmd on a translated dom0 with 4 KiB pages: one frame per call (see the module
/// documentation for the source lines).
pub const LINUX: Way = Way { name: "linux", batch: 1 };
/// zephyr-xenlib's `CONFIG_PFN_CHUNK_SIZE`.
pub const ZEPHYR: Way = Way { name: "zephyr-xenlib", batch: 128 };
/// This library: as many as one call takes.
pub const XENMEM: Way = Way { name: "xenmem", batch: BATCH_MAX_ENTRIES };
/// The three, in the order they are run and printed.
pub const WAYS: [Way; 3] = [LINUX, ZEPHYR, XENMEM];

/// What is mapped where: every GFN of `source` (pages of domain `foreign`) at each window,
/// the frame `source[i]` at `window + i`.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The domain whose frames are mapped.
    pub foreign: DomId,
    /// Its GFNs, each populated.
    pub source: &'a [Gfn],
    /// First GFN of each window in the caller's physmap, each with room for `source.len()`
    /// frames and nothing mapped there.
    pub windows: &'a [Gfn],
}

impl Target<'_> {
    /// Frames one measurement maps.
    pub fn frames(&self) -> u64 {
        self.source.len() as u64 * self.windows.len() as u64
    }

    /// The measurement's frames in order: where each goes and which foreign GFN it is.
    fn frames_in_order(&self) -> impl Iterator<Item = (Gfn, Gfn)> + '_ {
        self.windows
            .iter()
            .flat_map(move |w| self.source.iter().zip(0..).map(move |(&from, i)| (Gfn(w.0 + i), from)))
    }
}

/// The arrays one call's entries are built in; each at least as long as the batch.
#[derive(Debug)]
pub struct Scratch<'a> {
    /// Foreign GFNs.
    pub idxs: &'a mut [Gfn],
    /// Where they go.
    pub gfns: &'a mut [Gfn],
    /// Their statuses.
    pub errs: &'a mut [EntryStatus],
}

/// One way, measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measure {
    /// The way.
    pub way: Way,
    /// Frames mapped and unmapped.
    pub frames: u64,
    /// Hypercalls the mapping took.
    pub map_hypercalls: u64,
    /// Nanoseconds the mapping took.
    pub map_ns: u64,
    /// Hypercalls the unmapping took.
    pub unmap_hypercalls: u64,
    /// Nanoseconds the unmapping took.
    pub unmap_ns: u64,
}

/// Why a measurement could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EconomyError {
    /// Fewer than [`MIN_FRAMES`] frames: more windows are needed.
    TooFewFrames {
        /// Frames the target has.
        frames: u64,
    },
    /// A batch of 0 or above [`BATCH_MAX_ENTRIES`].
    BadBatch,
    /// A scratch array shorter than the batch.
    ScratchTooSmall {
        /// Entries each needs.
        need: usize,
    },
    /// A whole `add_to_physmap_batch` call failed (what was mapped is unmapped again).
    Map(Error),
    /// Frame `frame` of the measurement was not mapped (what was mapped is unmapped again).
    Entry {
        /// Its number in the measurement.
        frame: u64,
        /// Its status.
        status: EntryStatus,
    },
    /// Unmapping `gfn` failed (the other frames were still unmapped).
    Unmap {
        /// The GFN.
        gfn: Gfn,
        /// Xen's answer.
        error: Error,
    },
}

/// Maps every frame of `target`, `way.batch` entries a call, then unmaps them one by one;
/// hypercalls counted by `xen`'s backend, time by `clock`.
///
/// # Errors
///
/// [`EconomyError`]: bad arguments before any hypercall; a failed mapping after unmapping
/// what it had mapped; a failed unmapping after trying every other frame.
pub fn measure<H: Hypercall, C: Clock>(
    xen: &Xen<Counting<H>>,
    clock: &C,
    target: &Target<'_>,
    way: Way,
    scratch: &mut Scratch<'_>,
) -> Result<Measure, EconomyError> {
    let frames = target.frames();
    if frames < MIN_FRAMES {
        return Err(EconomyError::TooFewFrames { frames });
    }
    if way.batch == 0 || way.batch > BATCH_MAX_ENTRIES {
        return Err(EconomyError::BadBatch);
    }
    let need = way.batch;
    if scratch.idxs.len() < need || scratch.gfns.len() < need || scratch.errs.len() < need {
        return Err(EconomyError::ScratchTooSmall { need });
    }
    let calls = xen.backend().count();
    let start = clock.now_ns();
    let mut done = 0u64;
    let mut next = target.frames_in_order();
    while done < frames {
        let n = (frames - done).min(way.batch as u64) as usize;
        for ((at, from), (gfn, idx)) in
            next.by_ref().take(n).zip(scratch.gfns.iter_mut().zip(scratch.idxs.iter_mut()))
        {
            *gfn = at;
            *idx = from;
        }
        let (idxs, gfns, errs) = (&scratch.idxs[..n], &scratch.gfns[..n], &mut scratch.errs[..n]);
        let failed = match xen.map_foreign_batch(DomId::SELF, target.foreign, idxs, gfns, errs) {
            Err(e) => Some(EconomyError::Map(e)),
            Ok(()) => errs
                .iter()
                .position(|s| !s.is_ok())
                .map(|j| EconomyError::Entry { frame: done + j as u64, status: errs[j] }),
        };
        if let Some(e) = failed {
            // Leave the physmap as it was: the frames of this call that did map, and all
            // before it.
            let before = target.frames_in_order().take(done as usize).map(|(at, _)| at);
            let this_call = gfns.iter().zip(errs.iter()).filter(|(_, s)| s.is_ok()).map(|(&at, _)| at);
            for at in before.chain(this_call) {
                let _ = xen.remove_from_physmap(DomId::SELF, at);
            }
            return Err(e);
        }
        done += n as u64;
    }
    let map_ns = clock.now_ns().saturating_sub(start);
    let map_hypercalls = xen.backend().count() - calls;

    let calls = xen.backend().count();
    let start = clock.now_ns();
    let mut first_error = None;
    for (gfn, _) in target.frames_in_order() {
        if let Err(error) = xen.remove_from_physmap(DomId::SELF, gfn) {
            first_error.get_or_insert(EconomyError::Unmap { gfn, error });
        }
    }
    let unmap_ns = clock.now_ns().saturating_sub(start);
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(Measure {
        way,
        frames,
        map_hypercalls,
        map_ns,
        unmap_hypercalls: xen.backend().count() - calls,
        unmap_ns,
    })
}

/// The whole measurement: an untimed pass first with xenmem's batch (the first mapping of a
/// window also builds the caller's P2M tables there, on Xen as on the model, and no way
/// should pay for that), then each of [`WAYS`] in order.
///
/// # Errors
///
/// The way that failed (the warm-up's is [`XENMEM`]) and why; each failure leaves the
/// physmap as [`measure`] describes.
pub fn measure_ways<H: Hypercall, C: Clock>(
    xen: &Xen<Counting<H>>,
    clock: &C,
    target: &Target<'_>,
    scratch: &mut Scratch<'_>,
) -> Result<[Measure; 3], (Way, EconomyError)> {
    measure(xen, clock, target, XENMEM, scratch).map_err(|e| (XENMEM, e))?;
    let mut run = |way| measure(xen, clock, target, way, scratch).map_err(|e| (way, e));
    Ok([run(WAYS[0])?, run(WAYS[1])?, run(WAYS[2])?])
}

/// Reads back a line [`write_measure`] wrote (without its newline, any tag before `economy`
/// already taken off). The times come back from the per-frame figures, so to within
/// 0.01 ns a frame. `None` for anything else, a way not in [`WAYS`] or a batch that is not
/// that way's.
pub fn parse_measure(line: &str) -> Option<Measure> {
    let mut words = line.split(' ');
    if words.next()? != "economy" {
        return None;
    }
    let name = words.next()?;
    let way = WAYS.into_iter().find(|w| w.name == name)?;
    let mut field = |key: &str| words.next()?.strip_prefix(key)?.strip_prefix('=');
    let number = |s: &str| s.parse::<u64>().ok();
    // `a.bc` as hundredths.
    let hundredths = |s: &str| {
        let (whole, frac) = s.split_once('.')?;
        (frac.len() == 2).then_some(())?;
        number(whole)?.checked_mul(100)?.checked_add(number(frac)?)
    };
    let batch = number(field("batch")?)?;
    let frames = number(field("frames")?)?;
    let map_hypercalls = number(field("hypercalls")?)?;
    let map = hundredths(field("ns_per_frame")?)?;
    let unmap_hypercalls = number(field("unmap_hypercalls")?)?;
    let unmap = hundredths(field("unmap_ns_per_frame")?)?;
    if batch != way.batch as u64 || words.next().is_some() {
        return None;
    }
    let total = |per_frame: u64| (per_frame as u128 * frames as u128 / 100).min(u64::MAX as u128) as u64;
    Some(Measure {
        way,
        frames,
        map_hypercalls,
        map_ns: total(map),
        unmap_hypercalls,
        unmap_ns: total(unmap),
    })
}

/// What is wrong with a measurement's counts, which its batch size fixes exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountError {
    /// Fewer frames than [`MIN_FRAMES`].
    TooFewFrames,
    /// The mapping did not take one call per `batch` frames (the last one shorter).
    MapCalls {
        /// `frames.div_ceil(batch)`.
        expected: u64,
    },
    /// The unmapping did not take one call a frame.
    UnmapCalls {
        /// The frames.
        expected: u64,
    },
}

/// Holds `m` to what its batch size implies: ⌈frames / batch⌉ calls to map, one a frame to
/// unmap, and at least [`MIN_FRAMES`] frames.
///
/// # Errors
///
/// The first count that is not so.
pub fn check_counts(m: &Measure) -> Result<(), CountError> {
    if m.frames < MIN_FRAMES {
        return Err(CountError::TooFewFrames);
    }
    let expected = m.frames.div_ceil(m.way.batch.max(1) as u64);
    if m.map_hypercalls != expected {
        return Err(CountError::MapCalls { expected });
    }
    if m.unmap_hypercalls != m.frames {
        return Err(CountError::UnmapCalls { expected: m.frames });
    }
    Ok(())
}

/// `x / y` with two decimals, in integers (guest kernels may have no floating point).
struct Hundredths(u64);

impl Hundredths {
    fn ratio(x: u64, y: u64) -> Hundredths {
        let x = x as u128 * 100;
        let y = y.max(1) as u128;
        Hundredths(((x + y / 2) / y).min(u64::MAX as u128) as u64)
    }
}

impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The measurement's line:
/// `economy <way> batch=<n> frames=<N> hypercalls=<h> ns_per_frame=<t> unmap_hypercalls=<h>
/// unmap_ns_per_frame=<t>` (one line; the figures without `unmap_` are the mapping's).
///
/// # Errors
///
/// `out`'s.
pub fn write_measure(out: &mut dyn Write, m: &Measure) -> fmt::Result {
    writeln!(
        out,
        "economy {} batch={} frames={} hypercalls={} ns_per_frame={} unmap_hypercalls={} unmap_ns_per_frame={}",
        m.way.name,
        m.way.batch,
        m.frames,
        m.map_hypercalls,
        Hundredths::ratio(m.map_ns, m.frames),
        m.unmap_hypercalls,
        Hundredths::ratio(m.unmap_ns, m.frames),
    )
}

/// How `ours` compares with `peer` in mapping:
/// `economy-ratio <ours>:<peer> <place> fewer_calls=<x> faster=<y>` (spaces in `place`
/// become `-`), `x` the peer's hypercalls over ours and `y` its time over ours; then the
/// sentence CI prints,
/// `hypercall economy: <ours> <x>x fewer calls and <y>x faster than batch <n> on <place>`
/// (`batch 1 (Linux)` for [`LINUX`]).
///
/// # Errors
///
/// `out`'s.
pub fn write_ratio(out: &mut dyn Write, ours: &Measure, peer: &Measure, place: &str) -> fmt::Result {
    let calls = Hundredths::ratio(peer.map_hypercalls, ours.map_hypercalls);
    let time = Hundredths::ratio(peer.map_ns, ours.map_ns);
    write!(out, "economy-ratio {}:{} ", ours.way.name, peer.way.name)?;
    // The place as one word, so the line splits on spaces.
    for c in place.chars() {
        out.write_char(if c == ' ' { '-' } else { c })?;
    }
    writeln!(out, " fewer_calls={calls} faster={time}")?;
    writeln!(
        out,
        "hypercall economy: {} {}x fewer calls and {}x faster than batch {}{} on {}",
        ours.way.name,
        calls,
        time,
        peer.way.batch,
        // Batch 1 is named: it is the peer the sentence is about (Linux).
        if peer.way == LINUX { " (Linux)" } else { "" },
        place
    )
}
