//! The model's invariants, checked on demand ([`crate::Sim::check_invariants`]): what must
//! hold between the frame table, the heap, the domains' accounting and every P2M after any
//! sequence of operations.
//!
//! 1. Every frame of RAM is in exactly one state: in a free heap block (owner free), a
//!    domain's (that domain is listed), or Xen's (a Xen heap page on record); free blocks do
//!    not overlap and add up to the free count.
//! 2. A frame's references beyond the allocation one equal the foreign P2M entries that point
//!    at it plus the type references Xen holds (ioreq and trace pages).
//! 3. A domain page in use has a count; `tot_pages` and the uncounted pages match the frames
//!    the domain owns.
//! 4. Every P2M entry is consistent: RAM entries map the domain's own pages, each at most
//!    once; Xen heap entries map pages shared with it and recorded at that GFN; foreign entries
//!    map pages in use owned by another domain; MMIO entries map no RAM. A dead domain has an
//!    empty P2M.
//! 5. Contents are never lost while a page is held: only free frames lose their backing, so no
//!    free frame is backed.
//! 6. Event channels and ioreq servers agree (`crate::evtchn::inconsistency`,
//!    `crate::ioreq::inconsistency`).
//!
//! Reads the whole machine; changes nothing.

use crate::domain::Dying;
use crate::frames::Owner;
use crate::machine::{ExtraPage, Machine};
use crate::p2m::Kind;
use std::collections::HashMap;
use std::fmt;

/// A broken invariant, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Violation {}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(Violation { message: format!($($fmt)*) });
        }
    };
}

pub(crate) fn check(m: &Machine) -> Result<(), Violation> {
    let n = m.frames.len();
    // 1. Free blocks.
    let mut free = vec![false; n as usize];
    let mut free_count = 0u64;
    for (start, order) in m.heap.blocks() {
        let size = 1u64 << order;
        ensure!(
            start % size == 0 && start + size <= n,
            "free block {start:#x}/{order} is misaligned or past RAM"
        );
        for f in start..start + size {
            ensure!(!free[f as usize], "frame {f:#x} is in two free blocks");
            free[f as usize] = true;
        }
        free_count += size;
    }
    ensure!(
        free_count == m.heap.free_frames(),
        "free blocks hold {free_count} frames, the heap counts {}",
        m.heap.free_frames()
    );

    // 2. Expected references: foreign entries and Xen's type references.
    let mut expected: Vec<u32> = vec![0; n as usize];
    let mut expect = |mfn: u64| {
        if let Some(e) = expected.get_mut(mfn as usize) {
            *e += 1;
        }
    };
    for dom in m.domains.values() {
        for (gfn, e) in dom.p2m.iter() {
            if e.kind() == Some(Kind::Foreign) {
                ensure!(
                    m.frames.valid(e.mfn()),
                    "gfn {gfn:#x}: a foreign entry maps {:#x}, not RAM",
                    e.mfn()
                );
                expect(e.mfn());
            }
        }
        for s in dom.ioreq_servers.values() {
            for p in [s.ioreq, s.bufioreq_page].into_iter().flatten() {
                expect(p);
            }
        }
        let frames = (dom.vmtrace_size as u64 >> 12).max(1);
        for &b in &dom.vmtrace_bufs {
            for p in b..b + frames {
                expect(p);
            }
        }
    }

    let mut owned: HashMap<u16, (u64, u64)> = HashMap::new();
    for (mfn, owner) in m.frames.owners() {
        let refs = m.frames.refs(mfn);
        let want = expected[mfn as usize];
        match owner {
            Owner::Free => {
                ensure!(free[mfn as usize], "frame {mfn:#x} has no owner but is not in the heap");
                ensure!(refs == 0 && !m.frames.allocated(mfn), "free frame {mfn:#x} holds references");
                // 5.
                ensure!(!m.frames.backed(mfn), "free frame {mfn:#x} still has contents");
            }
            Owner::Domain(d) => {
                ensure!(!free[mfn as usize], "frame {mfn:#x} of d{d} is also in the heap");
                ensure!(m.domains.contains_key(&d), "frame {mfn:#x} belongs to d{d}, which is gone");
                ensure!(m.frames.count(mfn) > 0, "frame {mfn:#x} of d{d} has no reference but was not freed");
                let e = owned.entry(d).or_default();
                if m.extra.contains_key(&mfn) {
                    e.1 += 1;
                } else {
                    e.0 += 1;
                }
            }
            Owner::Xen => {
                ensure!(!free[mfn as usize], "Xen frame {mfn:#x} is also in the heap");
                ensure!(m.xenheap.contains_key(&mfn), "Xen frame {mfn:#x} is not on record");
            }
        }
        ensure!(refs == want, "frame {mfn:#x} holds {refs} references, its holders account for {want}");
    }
    for (mfn, x) in &m.xenheap {
        ensure!(
            m.frames.owner(*mfn) == Owner::Xen,
            "Xen heap record {mfn:#x} names a frame Xen does not own"
        );
        ensure!(
            m.domains.contains_key(&x.shared_with),
            "Xen frame {mfn:#x} is shared with d{}, which is gone",
            x.shared_with
        );
    }
    for (mfn, e) in &m.extra {
        ensure!(
            matches!(m.frames.owner(*mfn), Owner::Domain(_)),
            "uncounted page {mfn:#x} ({e:?}) has no domain owner"
        );
    }

    // 3 and 4, domain by domain.
    for (d, dom) in m.domains.iter() {
        ensure!(d < xenmem::abi::DOMID_FIRST_RESERVED && dom.id == d, "d{d} has a reserved or wrong id");
        let (counted, extra) = owned.get(&d).copied().unwrap_or_default();
        ensure!(
            dom.tot_pages == counted,
            "d{d}: tot_pages {} but it owns {counted} counted frames",
            dom.tot_pages
        );
        ensure!(
            dom.extra_pages == extra,
            "d{d}: {} uncounted pages on record, {extra} owned",
            dom.extra_pages
        );
        if dom.dying == Dying::Dead {
            ensure!(dom.p2m.len() == 0, "d{d} is dead but its P2M still maps {} GFNs", dom.p2m.len());
        }
        let mut seen_ram: HashMap<u64, u64> = HashMap::new();
        let mut pod_entries = 0u64;
        for (gfn, e) in dom.p2m.iter() {
            let mfn = e.mfn();
            match e.kind() {
                Some(Kind::Ram) => {
                    ensure!(
                        m.frames.owner(mfn) == Owner::Domain(d),
                        "d{d} gfn {gfn:#x}: RAM entry maps {mfn:#x}, not its own"
                    );
                    ensure!(
                        !m.extra.contains_key(&mfn),
                        "d{d} gfn {gfn:#x}: maps uncounted page {mfn:#x} as RAM"
                    );
                    if let Some(other) = seen_ram.insert(mfn, gfn) {
                        ensure!(!dom.translated, "d{d}: frame {mfn:#x} mapped at {other:#x} and {gfn:#x}");
                    }
                }
                Some(Kind::XenHeap) => {
                    let x = m.xenheap.get(&mfn);
                    ensure!(
                        x.is_some_and(|x| x.shared_with == d),
                        "d{d} gfn {gfn:#x}: Xen page {mfn:#x} is not shared with it"
                    );
                    ensure!(
                        x.is_some_and(|x| x.gfn == Some(gfn)),
                        "d{d} gfn {gfn:#x}: Xen page {mfn:#x} records another GFN"
                    );
                }
                Some(Kind::Foreign) => {
                    let owner = m.page_owner(mfn);
                    ensure!(
                        owner.is_some() && owner != Some(d),
                        "d{d} gfn {gfn:#x}: foreign entry maps {mfn:#x}, owned by {owner:?}"
                    );
                    ensure!(m.frames.count(mfn) > 0, "d{d} gfn {gfn:#x}: foreign page {mfn:#x} has no count");
                }
                Some(Kind::Mmio) => {
                    ensure!(!m.frames.valid(mfn), "d{d} gfn {gfn:#x}: MMIO entry maps RAM {mfn:#x}")
                }
                Some(Kind::Pod) => pod_entries += 1,
                None => ensure!(false, "d{d} gfn {gfn:#x}: entry of no kind"),
            }
        }
        ensure!(
            dom.pod_entries == pod_entries,
            "d{d}: {} PoD entries counted, {pod_entries} in the P2M",
            dom.pod_entries
        );
        for &c in &dom.pod_cache {
            ensure!(
                m.frames.owner(c) == Owner::Domain(d) && m.frames.allocated(c),
                "d{d}: PoD cache page {c:#x} is not its own allocated page"
            );
            ensure!(!seen_ram.contains_key(&c), "d{d}: PoD cache page {c:#x} is also mapped as RAM");
        }
        // Xen heap pages record where they are mapped; the record must be true.
        let mut xen: Vec<u64> = vec![dom.shared_info];
        xen.extend(dom.grant.shared.iter().chain(dom.grant.status.iter()));
        for m2 in xen {
            let x = m.xenheap.get(&m2);
            ensure!(x.is_some_and(|x| x.shared_with == d), "d{d}: its Xen page {m2:#x} is not on record");
            if let Some(g) = x.and_then(|x| x.gfn) {
                let e = dom.p2m.get(g);
                ensure!(
                    e.kind() == Some(Kind::XenHeap) && e.mfn() == m2,
                    "d{d}: Xen page {m2:#x} records gfn {g:#x}, which maps something else"
                );
            }
        }
        if dom.grant.version == 1 {
            ensure!(dom.grant.status.is_empty(), "d{d}: grant v1 with status frames");
        }
        for (sid, s) in &dom.ioreq_servers {
            for (p, frame) in [(s.bufioreq_page, 0), (s.ioreq, 1)] {
                if let Some(p) = p {
                    ensure!(
                        m.extra.get(&p) == Some(&ExtraPage::Ioreq { server: *sid, frame }),
                        "d{d}: ioreq server {sid} page {p:#x} is not on record"
                    );
                }
            }
        }
    }
    if let Some(message) = crate::evtchn::inconsistency(m).or_else(|| crate::ioreq::inconsistency(m)) {
        return Err(Violation { message });
    }
    Ok(())
}
