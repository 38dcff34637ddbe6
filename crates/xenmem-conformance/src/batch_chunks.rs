//! A foreign batch longer than the model reads in one step. Xen copies a batch's `idxs`,
//! `gpfns` and `errs` element by element (`xenmem_add_to_physmap_batch`); the model reads them
//! 64 entries at a time when it can, which must give the same statuses and mappings. The other
//! dom0 cases' batches are under 8 entries (element by element in the model too), so these run
//! one of 72 with a hole in each chunk, on the grant-table domain of `acquire_chunks` given
//! some RAM.
//!
//! Scratch layout (`s+N`): 260..=331 the batch, 340 one of its frames mapped alone.

use crate::acquire_chunks::Runs;
use crate::report::{Batch, N, R};
use crate::{Arch, Platform, Run};
use xenmem::{DomId, EntryStatus, Gfn, MemFlags};

/// Entries in the batch: a whole chunk and part of the next.
const ENTRIES: usize = 72;
/// The domain's GFNs mapped: `FIRST..FIRST + ENTRIES`, with holes at entries 3 and 66.
const FIRST: u64 = 0x100;
const HOLES: [u64; 2] = [3, 66];
/// A pattern written through the batch's mapping of entry 65 and read through a second one.
const MARK: [u8; 8] = [0x65, 0x65, 0x9a, 0x9a, 0x01, 0x02, 0x03, 0x04];

pub(crate) fn run<P: Platform>(r: &mut Run<'_, P>, g: DomId) {
    // Arm since Xen 4.18: the domain maps nothing until its P2M pool is sized.
    let needs_pool = r.xen().xen_version().is_ok_and(|v| v.arm_p2m_pool_starts_empty());
    if r.arch() == Arch::Arm64 && needs_pool {
        let v = r.xen().set_paging_mempool_size(g, 4 << 20);
        r.obs("batch.chunks", format_args!("set_paging_mempool_size(G, 4 MiB)"), R(v));
    }
    let v = r.xen().set_max_mem(g, 1024);
    r.obs("batch.chunks", format_args!("max_mem(G, 1024 KiB)"), R(v));
    let mut ram: [Gfn; ENTRIES] = core::array::from_fn(|i| Gfn(FIRST + i as u64));
    let n = r.xen().populate_physmap(g, 0, MemFlags::empty(), &mut ram);
    r.obs("batch.chunks", format_args!("populate(G, order 0, {ENTRIES} at {FIRST:#x})"), N(n));
    let holes = HOLES.map(|i| Gfn(FIRST + i));
    let n = r.xen().decrease_reservation(g, 0, &holes);
    r.obs("batch.chunks", format_args!("decrease_reservation(G, entries 3 and 66)"), N(n));

    let idxs: [Gfn; ENTRIES] = core::array::from_fn(|i| Gfn(FIRST + i as u64));
    let at: [Gfn; ENTRIES] = core::array::from_fn(|i| r.s(260 + i as u64));
    let mut errs = [EntryStatus::NOT_DONE; ENTRIES];
    let v = r.xen().map_foreign_batch(DomId::SELF, g, &idxs, &at, &mut errs);
    r.obs(
        "batch.chunks",
        format_args!("batch(SELF, foreign G, {ENTRIES} entries at s+260..)"),
        Batch(v, &errs),
    );
    let ok = r.poke(r.s(260 + 65), &MARK);
    r.obs("batch.chunks", format_args!("write through s+325 (entry 65)"), crate::dom0::Written(ok));
    let mut one = [EntryStatus::NOT_DONE; 1];
    let v = r.xen().map_foreign_batch(DomId::SELF, g, &[Gfn(FIRST + 65)], &[r.s(340)], &mut one);
    r.obs("batch.chunks", format_args!("batch(SELF, foreign G, entry 65 alone at s+340)"), Batch(v, &one));
    for (at, what) in [(340u64, "entry 65 alone"), (324, "entry 64"), (326, "entry 66, a hole")] {
        let b = r.peek::<8>(r.s(at));
        r.obs("batch.chunks", format_args!("read s+{at} ({what})"), b);
    }
    let mut runs = Runs::default();
    for i in (260..260 + ENTRIES as u64).chain([340]) {
        runs.push(r.xen().remove_from_physmap(DomId::SELF, r.s(i)).err());
    }
    r.obs("batch.chunks", format_args!("remove_from_physmap(SELF, s+260..+{ENTRIES} and s+340)"), runs);
}
