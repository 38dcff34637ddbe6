//! A small balloon driver, tested against the model: the guest gives pages back to Xen
//! (`decrease_reservation`) and takes them again (`populate_physmap`) to meet a target, in
//! batches of 512 as Linux's balloon does, treating a short count as "try again later".
//!
//! The run injects faults through [`FaultInjector`] (a populate that completes only part of
//! its extents, then a backend error) and checks that the driver still converges, that the
//! domain's reservation matches what the driver believes, that data in pages it kept
//! survived, and that the model's invariants hold.
//!
//! `cargo run -p xenmem-sim --example balloon`

use std::collections::BTreeSet;
use xenmem::abi::XENMEM_POPULATE_PHYSMAP;
use xenmem::{DomId, Gfn, Hypercall, MemFlags, Xen, XenError};
use xenmem_sim::{DomainConfig, DomainKind, FaultInjector, FaultRule, MachineConfig, Outcome, Sim};

/// Pages per hypercall (`PAGE_SIZE / sizeof(xen_pfn_t)` in Linux's balloon).
const BATCH: usize = 512;

struct Balloon<H: Hypercall> {
    xen: Xen<H>,
    /// GFNs backed by RAM.
    present: BTreeSet<u64>,
    /// GFNs handed back to Xen, to be repopulated first.
    ballooned: Vec<u64>,
    hypercalls: u64,
}

impl<H: Hypercall> Balloon<H> {
    fn new(xen: Xen<H>, present: impl IntoIterator<Item = u64>) -> Self {
        Balloon { xen, present: present.into_iter().collect(), ballooned: Vec::new(), hypercalls: 0 }
    }

    /// Gives back up to `n` pages; returns how many went.
    fn inflate(&mut self, n: usize) -> usize {
        let mut done = 0;
        while done < n {
            let want = (n - done).min(BATCH);
            let gfns: Vec<Gfn> = self.present.iter().rev().take(want).map(|&g| Gfn(g)).collect();
            if gfns.is_empty() {
                break;
            }
            self.hypercalls += 1;
            // Xen frees the extents in order and stops at the first it cannot: the first
            // `freed` are gone.
            let freed = match self.xen.decrease_reservation(DomId::SELF, 0, &gfns) {
                Ok(freed) => freed,
                Err(_) => break,
            };
            for g in &gfns[..freed] {
                self.present.remove(&g.0);
                self.ballooned.push(g.0);
            }
            done += freed;
            if freed < gfns.len() {
                break;
            }
        }
        done
    }

    /// Takes back up to `n` pages; returns how many came. A short count means Xen had no
    /// more for now (out of memory, or the domain's limit).
    fn deflate(&mut self, n: usize) -> usize {
        let mut done = 0;
        while done < n && !self.ballooned.is_empty() {
            let want = (n - done).min(BATCH).min(self.ballooned.len());
            let at = self.ballooned.len() - want;
            let mut gfns: Vec<Gfn> = self.ballooned[at..].iter().map(|&g| Gfn(g)).collect();
            self.hypercalls += 1;
            let got = match self.xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns) {
                Ok(got) => got,
                // A backend error (not something Xen itself returns here): retry later.
                Err(_) => break,
            };
            // Xen populated the first `got` extents; the rest stay ballooned.
            self.present.extend(gfns[..got].iter().map(|g| g.0));
            self.ballooned.truncate(at);
            self.ballooned.extend(gfns[got..].iter().map(|g| g.0));
            done += got;
            if got < want {
                break;
            }
        }
        done
    }

    /// Moves towards `target` pages present, with up to `tries` rounds.
    fn set_target(&mut self, target: usize, tries: usize) -> bool {
        for _ in 0..tries {
            let have = self.present.len();
            if have == target {
                return true;
            }
            if have > target {
                self.inflate(have - target);
            } else {
                self.deflate(target - have);
            }
        }
        self.present.len() == target
    }
}

fn main() {
    let sim = Sim::new(MachineConfig::x86_64(1 << 14));
    let guest =
        sim.create_domain(DomainConfig { max_pages: 2048, ..DomainConfig::domu(DomainKind::Pvh) }).unwrap();
    sim.populate_ram(guest, Gfn(0), 2048).unwrap();
    // Data in every page; the driver must never give back a page it still uses.
    for g in 0..2048u64 {
        sim.write_gfn(guest, Gfn(g), 0, &g.to_le_bytes()).unwrap();
    }

    let backend = FaultInjector::new(sim.backend(guest), 42);
    let mut b = Balloon::new(Xen::new(backend), 0..2048);

    // Inflate to 1200 pages.
    assert!(b.set_target(1200, 4), "inflating");
    assert_eq!(b.xen.current_reservation(DomId::SELF), Ok(1200));

    // Faults: the next populate completes only 100 extents; the one after fails outright
    // (rules are tried in order, so the second sees only the calls the first let through).
    b.xen
        .backend()
        .add_rule(FaultRule::memory_op(XENMEM_POPULATE_PHYSMAP, Outcome::PartialCount(100)).times(1));
    b.xen
        .backend()
        .add_rule(FaultRule::memory_op(XENMEM_POPULATE_PHYSMAP, Outcome::Errno(XenError::NoMem)).times(1));
    let first = b.deflate(600);
    assert_eq!(first, 100, "the injected short count");
    assert_eq!(b.xen.current_reservation(DomId::SELF), Ok(1300), "the model did exactly those 100");
    // The driver retries (one attempt meets the injected error) and converges.
    assert!(b.set_target(1800, 8), "deflating after faults");
    assert_eq!(b.xen.backend().injected(), 2);
    assert_eq!(b.xen.current_reservation(DomId::SELF), Ok(1800));

    // Every page the driver kept all along still holds its data; repopulated ones read zero.
    for &g in b.present.iter().filter(|&&g| g < 1200) {
        let mut v = [0u8; 8];
        sim.read_gfn(guest, Gfn(g), 0, &mut v).unwrap();
        assert_eq!(u64::from_le_bytes(v), g, "data of kept page {g:#x}");
    }
    sim.check_invariants().expect("model invariants");
    let info = sim.domain_info(guest).unwrap();
    println!(
        "balloon: {} pages present, {} ballooned, {} hypercalls by the driver ({} faults injected of {} calls), \
         tot_pages {}, invariants hold",
        b.present.len(),
        b.ballooned.len(),
        b.hypercalls,
        b.xen.backend().injected(),
        b.xen.backend().calls(),
        info.tot_pages
    );
}
