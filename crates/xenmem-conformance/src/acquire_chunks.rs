//! acquire_resource of more frames than Xen takes in one step. Xen's `acquire_resource`
//! (`xen/common/memory.c`) asks the resource for at most 32 frames at a time (`mfn_list[32]`),
//! maps each such chunk at the caller's GFNs, then moves the frame index and the list on by
//! what was done; an error in a later chunk leaves the earlier chunks mapped. The domU of the
//! other dom0 cases has 32 grant frames, so every map there is one chunk: these cases use a
//! domain of their own with [`GRANT_FRAMES`], whose grant table the acquire grows.
//!
//! Scratch layout (`s+N`): 128..=167 frames 0..40, 168 and 169 frames 33 and 39 alone,
//! 170..=209 frames 8..48, 210..=249 the call that fails in its second chunk, 250 and 251 the
//! calls with a frame that cannot be mapped.

use crate::dom0::Written;
use crate::report::{ErrName, N, R};
use crate::{Arch, Platform, Run};
use xenmem::{DomId, Error, Gfn, ResourceType};

/// The domain's grant-table limit: room for two chunks and a part (Xen's default
/// `gnttab_max_frames` is 64).
const GRANT_FRAMES: u32 = 48;
/// Marks written as grant entries (flags 0: an invalid entry, harmless) through one mapping
/// and looked for through another.
const MARK_0: [u8; 8] = [0, 0, 0, 0, 0x21, 0x43, 0x65, 0x87];
const MARK_33: [u8; 8] = [0, 0, 0, 0, 0x33, 0x33, 0xcc, 0xcc];
const MARK_39: [u8; 8] = [0, 0, 0, 0, 0x39, 0x93, 0x39, 0x93];

pub(crate) fn run<P: Platform>(r: &mut Run<'_, P>) {
    let body = match r.arch() {
        Arch::X86_64 => xenmem::domctl::pvh_domu(1, GRANT_FRAMES as i32),
        Arch::Arm64 => xenmem::domctl::arm_domu(1, GRANT_FRAMES as i32),
    };
    let created = r.xen().create_domain(DomId(0), &body);
    r.obs("acquire.chunks", format_args!("createdomain(grant frames {GRANT_FRAMES})"), R(created.map(drop)));
    let Ok(g) = created else { return };
    let grant = ResourceType::GrantTable;
    let size = r.xen().acquire_resource_size(g, grant, 0);
    r.obs("acquire.chunks", format_args!("size(G, grant_table, id 0)"), N(size));

    // Two chunks: 32 frames, then 8.
    let v = map(r, g, 0, 128, 40);
    r.obs("acquire.chunks", format_args!("map(G, grant_table, frames 0..40 at s+128..)"), R(v));
    for (at, frame, mark) in [(128u64, 0u32, MARK_0), (161, 33, MARK_33), (167, 39, MARK_39)] {
        let ok = r.poke(r.s(at), &mark);
        r.obs("acquire.chunks", format_args!("write entry through s+{at} (frame {frame})"), Written(ok));
    }
    // The same frames mapped alone must show the marks: frame k of the long map is frame k.
    for (frame, at) in [(33u32, 168u64), (39, 169)] {
        let v = map(r, g, frame, at, 1);
        r.obs("acquire.chunks", format_args!("map(G, grant_table, frame {frame} at s+{at})"), R(v));
    }
    for (at, what) in
        [(168u64, "frame 33 alone"), (169, "frame 39 alone"), (129, "frame 1"), (160, "frame 32")]
    {
        let b = r.peek::<8>(r.s(at));
        r.obs("acquire.chunks", format_args!("read s+{at} ({what})"), b);
    }
    // From a frame other than 0, across the chunk boundary: frame 8 + k lands at s+170+k.
    let v = map(r, g, 8, 170, 40);
    r.obs("acquire.chunks", format_args!("map(G, grant_table, frames 8..48 at s+170..)"), R(v));
    for (at, what) in [(195u64, "frame 33"), (201, "frame 39"), (170, "frame 8")] {
        let b = r.peek::<8>(r.s(at));
        r.obs("acquire.chunks", format_args!("read s+{at} ({what})"), b);
    }
    // Frames 10..50: the first chunk (10..42) is mapped, the second (42..50) runs past the
    // table's limit and fails; what the first chunk mapped stays.
    let v = map(r, g, 10, 210, 40);
    r.obs("acquire.chunks", format_args!("map(G, grant_table, frames 10..50 at s+210..)"), R(v));
    for (at, what) in
        [(233u64, "frame 33, first chunk"), (241, "frame 41, first chunk"), (242, "frame 42, second chunk")]
    {
        let b = r.peek::<8>(r.s(at));
        r.obs("acquire.chunks", format_args!("read s+{at} ({what})"), b);
    }
    // A frame that cannot be mapped: Xen's own error for the chunk's first frame, -EIO for a
    // later one (what went before stays mapped). GFN 2^40 lies beyond every P2M here (x86's
    // four levels cover 2^36 GFNs, Arm's 40-bit IPA 2^28).
    let beyond = Gfn(1 << 40);
    for (list, what) in [([r.s(250), beyond], "s+250, 1<<40"), ([beyond, r.s(251)], "1<<40, s+251")] {
        let mut list = list;
        let v = r.xen().acquire_resource(g, grant, 0, 0, &mut list);
        r.obs("acquire.chunks", format_args!("map(G, grant_table, frames 0..2 at {what})"), R(v));
    }
    let b = r.peek::<8>(r.s(250));
    r.obs("acquire.chunks", format_args!("read s+250 (frame 0, before the failed frame)"), b);
    for (first, n) in [(128u64, 42u64), (170, 40), (210, 40), (250, 2)] {
        let outcome = unmap(r, first, n);
        r.obs("acquire.chunks", format_args!("remove_from_physmap(SELF, s+{first}..+{n})"), outcome);
    }
    crate::batch_chunks::run(r, g);
    let v = r.xen().destroy_domain(g);
    r.obs("acquire.chunks", format_args!("destroydomain(G)"), R(v));
}

/// Maps `nr` grant frames of `g` from `frame` at `s+at..`.
fn map<P: Platform>(r: &mut Run<'_, P>, g: DomId, frame: u32, at: u64, nr: usize) -> Result<(), Error> {
    let mut list = [Gfn(0); 40];
    let list = &mut list[..nr];
    for (i, gfn) in list.iter_mut().enumerate() {
        *gfn = r.s(at + i as u64);
    }
    r.xen().acquire_resource(g, ResourceType::GrantTable, 0, u64::from(frame), list)
}

/// Removes `n` GFNs from `s+first` and says how each went, run-length encoded
/// (`ok x32, -ENOENT x8`), so every GFN's answer is on the line.
fn unmap<P: Platform>(r: &mut Run<'_, P>, first: u64, n: u64) -> Runs {
    let mut runs = Runs::default();
    for i in 0..n {
        let v = r.xen().remove_from_physmap(DomId::SELF, r.s(first + i));
        runs.push(v.err());
    }
    runs
}

/// Answers in order as (answer, count) runs; at most [`Runs::MAX`] runs are kept, the rest
/// counted.
#[derive(Default)]
pub(crate) struct Runs {
    runs: [(Option<Error>, u32); Runs::MAX],
    len: usize,
    dropped: u32,
}

impl Runs {
    const MAX: usize = 8;

    pub(crate) fn push(&mut self, answer: Option<Error>) {
        if self.len > 0 && self.runs[self.len - 1].0 == answer {
            self.runs[self.len - 1].1 += 1;
        } else if self.len < Self::MAX {
            self.runs[self.len] = (answer, 1);
            self.len += 1;
        } else {
            self.dropped += 1;
        }
    }
}

impl core::fmt::Display for Runs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, (answer, count)) in self.runs[..self.len].iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match answer {
                None => write!(f, "ok x{count}")?,
                Some(e) => write!(f, "{} x{count}", ErrName(*e))?,
            }
        }
        if self.dropped > 0 {
            write!(f, ", {} more", self.dropped)?;
        }
        Ok(())
    }
}
