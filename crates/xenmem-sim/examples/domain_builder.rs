//! A dom0 domain builder on xenmem, run on the model of Xen 4.17 on arm64: the memory work
//! zephyr-xenlib's builder does for a Zephyr dom0 (`xen-dom-mgmt/src/mem-mgmt.c`) — the
//! magic pages, the guest's RAM, then the device tree and the kernel copied in through
//! foreign mappings — done with the fewest hypercalls Xen's interface allows.
//!
//! Where the hypercalls go, and why no fewer will do:
//! - populate: one call for the four magic pages (order 0) and one for all of RAM (order 9).
//!   Xen takes up to 67,108,863 extents per call and preempts itself inside it, so chunks of
//!   128 only add calls.
//! - map: dom0 maps the guest's pages at frames of its own physmap that hold nothing (a
//!   window above its RAM), so none of its pages is taken out first and given back after
//!   (`XENMEM_remove_from_physmap` leaves a RAM page allocated but mapped nowhere until a
//!   populate maps it again). Every region goes in one batch (65,535 entries per call), and
//!   each entry's status is read.
//! - unmap: one `XENMEM_remove_from_physmap` per page. Xen has no batch removal, and
//!   `XENMEM_decrease_reservation` refuses a foreign entry (real Xen on arm64: "foreign.ref
//!   decrease_reservation(SELF, order 0, [s+40]) foreign entry -> n=0").
//!
//! So `3 + pages mapped` hypercalls, where the 128-chunk pattern makes
//! `1 + ceil(extents / 128)` plus `2n + 2 ceil(n / 128)` for each region of `n` pages
//! (crates/xenmem-capi/tests/c/test_consumer_xenlib.c replays that pattern on the model).
//!
//! `cargo run -p xenmem-sim --example domain_builder` prints both counts; `cargo test -p
//! xenmem-sim --example domain_builder` runs the checks below.

use xenmem::{DomId, EntryStatus, Error, Gfn, Hypercall, MemFlags, Xen, XenError};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim};

/// Xen's public/arch-arm.h guest layout, as frame numbers.
const GUEST_MAGIC_BASE: Gfn = Gfn(0x39000);
const GUEST_RAM0_BASE: Gfn = Gfn(0x40000);
/// Console, xenstore, memaccess, vuart.
const NR_MAGIC_PAGES: u64 = 4;
const PAGE: usize = 4096;
/// 2 MiB extents.
const RAM_ORDER: u32 = 9;
/// zephyr-xenlib's `CONFIG_PFN_CHUNK_SIZE` default, for the comparison.
const XENLIB_CHUNK: u64 = 128;

/// What goes into the guest.
struct Layout<'a> {
    /// RAM from `GUEST_RAM0_BASE`, in 2 MiB extents.
    ram_extents: u64,
    /// Guest frames and bytes of each image (the device tree, the kernel).
    images: Vec<(Gfn, &'a [u8])>,
}

/// Why a build stopped. Whatever it mapped in dom0 is unmapped again first.
#[derive(Debug, PartialEq)]
enum BuildError {
    /// A call failed as a whole.
    Call(Error),
    /// Xen populated `done` of `of` extents (out of memory, or the guest's `max_pages`).
    Short { what: &'static str, done: usize, of: usize },
    /// Mapping guest page `page` of the plan (magic pages first, then each image) failed.
    Map { page: usize, err: XenError },
    /// dom0 could not write into the mapped page at its frame `at`.
    Copy { at: Gfn },
    /// Unmapping dom0's frame `at` failed (every other frame was still tried).
    Unmap { at: Gfn, err: Error },
}

impl From<Error> for BuildError {
    fn from(e: Error) -> Self {
        BuildError::Call(e)
    }
}

/// The builder: hypercalls through `xen` (as dom0), copies through `write`, which stores
/// bytes in the page dom0 has at one of its frames (on hardware: memory at that frame's
/// address; here: the model's `write_gfn`).
struct Builder<H: Hypercall, W: FnMut(Gfn, &[u8]) -> bool> {
    xen: Xen<H>,
    /// First frame of dom0's empty window for foreign mappings.
    window: Gfn,
    write: W,
}

impl<H: Hypercall, W: FnMut(Gfn, &[u8]) -> bool> Builder<H, W> {
    fn build(&mut self, domu: DomId, layout: &Layout<'_>) -> Result<(), BuildError> {
        self.populate("magic pages", domu, 0, GUEST_MAGIC_BASE, NR_MAGIC_PAGES)?;
        self.populate("RAM", domu, RAM_ORDER, GUEST_RAM0_BASE, layout.ram_extents)?;

        // The guest pages to write, in plan order, each with its bytes (none: zeroed).
        let mut plan: Vec<(Gfn, &[u8])> =
            (0..NR_MAGIC_PAGES).map(|i| (Gfn(GUEST_MAGIC_BASE.0 + i), &[][..])).collect();
        for &(gfn, bytes) in &layout.images {
            plan.extend(bytes.chunks(PAGE).enumerate().map(|(i, c)| (Gfn(gfn.0 + i as u64), c)));
        }
        let idxs: Vec<Gfn> = plan.iter().map(|p| p.0).collect();
        let at: Vec<Gfn> = (0..plan.len() as u64).map(|i| Gfn(self.window.0 + i)).collect();
        let mut errs = vec![EntryStatus::NOT_DONE; plan.len()];

        let mapped = self.xen.map_foreign_batch(DomId::SELF, domu, &idxs, &at, &mut errs);
        let failed = errs.iter().position(|e| !e.is_ok());
        let result = match (mapped, failed) {
            (Err(e), _) => Err(BuildError::Call(e)),
            (Ok(()), Some(page)) => {
                let err = errs[page].result().and_then(Result::err).unwrap_or(XenError::Inval);
                Err(BuildError::Map { page, err })
            }
            (Ok(()), None) => self.copy(&plan, &at),
        };
        // Unmap exactly the entries Xen mapped, whatever happened.
        let unmapped = self.unmap(&at, &errs);
        result.and(unmapped)
    }

    /// `n` extents of `2^order` pages from `base`, in one call (the library splits past
    /// Xen's per-call limit).
    fn populate(
        &self,
        what: &'static str,
        d: DomId,
        order: u32,
        base: Gfn,
        n: u64,
    ) -> Result<(), BuildError> {
        let mut gfns: Vec<Gfn> = (0..n).map(|i| Gfn(base.0 + (i << order))).collect();
        let done = self.xen.populate_physmap(d, order, MemFlags::empty(), &mut gfns)?;
        if done < gfns.len() {
            return Err(BuildError::Short { what, done, of: gfns.len() });
        }
        Ok(())
    }

    fn copy(&mut self, plan: &[(Gfn, &[u8])], at: &[Gfn]) -> Result<(), BuildError> {
        let zero = [0u8; PAGE];
        for (&(_, bytes), &frame) in plan.iter().zip(at) {
            let data = if bytes.is_empty() { &zero[..] } else { bytes };
            if !(self.write)(frame, data) {
                return Err(BuildError::Copy { at: frame });
            }
        }
        Ok(())
    }

    fn unmap(&self, at: &[Gfn], errs: &[EntryStatus]) -> Result<(), BuildError> {
        let mut first = Ok(());
        for (&frame, e) in at.iter().zip(errs) {
            if e.is_ok() {
                if let Err(err) = self.xen.remove_from_physmap(DomId::SELF, frame) {
                    first = first.and(Err(BuildError::Unmap { at: frame, err }));
                }
            }
        }
        first
    }
}

/// Hypercalls of this builder for `layout`: two populates, one batch per 65,535 pages, one
/// removal per page.
fn fewest(layout: &Layout<'_>) -> u64 {
    let n = NR_MAGIC_PAGES + layout.images.iter().map(|(_, b)| b.len().div_ceil(PAGE) as u64).sum::<u64>();
    2 + n.div_ceil(xenmem::BATCH_MAX_ENTRIES as u64) + n
}

/// Hypercalls of zephyr-xenlib's pattern for `layout`: populates of at most 128 extents, and
/// for each region of `n` pages (magic pages, then each image) `n` removals of dom0 RAM,
/// `ceil(n / 128)` batches, `n` removals, `ceil(n / 128)` populates of dom0 RAM.
fn chunked_128(layout: &Layout<'_>) -> u64 {
    let region = |n: u64| 2 * n + 2 * n.div_ceil(XENLIB_CHUNK);
    1 + layout.ram_extents.div_ceil(XENLIB_CHUNK)
        + region(NR_MAGIC_PAGES)
        + layout.images.iter().map(|(_, b)| region(b.len().div_ceil(PAGE) as u64)).sum::<u64>()
}

/// The machine of the C replay: 512 MiB arm64, dom0 (control and hardware domain) with 4 MiB
/// of RAM at 0x10000, a domU allowed its RAM and the magic pages.
fn machine(ram_extents: u64) -> (Sim, DomId, DomId) {
    let sim = Sim::new(MachineConfig::arm64(1 << 17));
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).expect("dom0");
    sim.populate_ram(dom0, Gfn(0x10000), 1024).expect("dom0's RAM");
    let max_pages = (ram_extents << RAM_ORDER) + NR_MAGIC_PAGES;
    let domu =
        sim.create_domain(DomainConfig { max_pages, ..DomainConfig::domu(DomainKind::Pvh) }).expect("domU");
    (sim, dom0, domu)
}

/// dom0's window for foreign mappings: frames above its RAM that hold nothing.
const WINDOW: Gfn = Gfn(0x80000);

/// The guest of the C replay: 384 MiB of RAM, a 2-page device tree 128 MiB into RAM, a
/// 300-page kernel at text offset 0x80000.
fn images() -> (Vec<u8>, Vec<u8>) {
    let mut dtb = vec![0u8; 2 * PAGE];
    dtb[..4].copy_from_slice(&[0xd0, 0x0d, 0xfe, 0xed]);
    let kernel: Vec<u8> = (0..300 * PAGE).map(|i| (i / PAGE) as u8 ^ (i as u8)).collect();
    (dtb, kernel)
}

fn layout<'a>(dtb: &'a [u8], kernel: &'a [u8]) -> Layout<'a> {
    Layout {
        ram_extents: 192,
        images: vec![(Gfn(GUEST_RAM0_BASE.0 + 0x8000), dtb), (Gfn(GUEST_RAM0_BASE.0 + 0x80), kernel)],
    }
}

fn builder(sim: &Sim, dom0: DomId) -> Builder<xenmem_sim::SimBackend, impl FnMut(Gfn, &[u8]) -> bool + '_> {
    Builder {
        xen: Xen::new(sim.backend(dom0)),
        window: WINDOW,
        write: move |g: Gfn, b: &[u8]| sim.write_gfn(dom0, g, 0, b).is_ok(),
    }
}

fn main() {
    let (dtb, kernel) = images();
    let layout = layout(&dtb, &kernel);
    let (sim, dom0, domu) = machine(layout.ram_extents);
    let before = sim.hypercalls();
    let built = builder(&sim, dom0).build(domu, &layout);
    match built {
        Ok(()) => {
            let calls = sim.hypercalls() - before;
            println!(
                "domain_builder: domU {} built in {calls} hypercalls (its plan: {})",
                domu.raw(),
                fewest(&layout)
            );
            println!("  zephyr-xenlib's 128-chunk pattern, same build: {} hypercalls", chunked_128(&layout));
        }
        Err(e) => {
            eprintln!("domain_builder: {e:?}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(sim: &Sim, d: DomId) -> u64 {
        sim.domain_info(d).expect("domain").tot_pages
    }

    fn mapped_in_window(sim: &Sim, dom0: DomId, n: u64) -> usize {
        let mut b = [0u8; 1];
        (0..n).filter(|&i| sim.read_gfn(dom0, Gfn(WINDOW.0 + i), 0, &mut b).is_ok()).count()
    }

    #[test]
    fn builds_the_guest_in_3_plus_n_hypercalls() {
        let (dtb, kernel) = images();
        let layout = layout(&dtb, &kernel);
        let (sim, dom0, domu) = machine(layout.ram_extents);
        let dom0_pages = pages(&sim, dom0);
        let before = sim.hypercalls();
        builder(&sim, dom0).build(domu, &layout).expect("build");

        // 2 populates + 1 batch + 306 removals, against the pattern's 625 (the C replay
        // counts those on the model).
        assert_eq!(sim.hypercalls() - before, 309);
        assert_eq!(fewest(&layout), 309);
        assert_eq!(chunked_128(&layout), 625);

        assert_eq!(pages(&sim, domu), 192 * 512 + 4);
        // The guest holds the images, dom0 holds nothing of the guest and no extra page.
        let mut page = vec![0u8; PAGE];
        for (gfn, bytes) in &layout.images {
            for (i, chunk) in bytes.chunks(PAGE).enumerate() {
                sim.read_gfn(domu, Gfn(gfn.0 + i as u64), 0, &mut page).expect("guest page");
                assert_eq!(&page[..], chunk, "guest page {:#x}", gfn.0 + i as u64);
            }
        }
        sim.read_gfn(domu, Gfn(GUEST_MAGIC_BASE.0 + 1), 0, &mut page).expect("magic page");
        assert!(page.iter().all(|&b| b == 0));
        assert_eq!(mapped_in_window(&sim, dom0, 306), 0);
        assert_eq!(pages(&sim, dom0), dom0_pages);
        sim.check_invariants().expect("invariants");
    }

    #[test]
    fn a_failed_entry_stops_the_build_with_nothing_left_mapped() {
        let (dtb, kernel) = images();
        // 8 MiB of RAM: the kernel at +0x80 runs past its end (0x800 pages), so its entries
        // from guest frame 0x40800 on find holes (-EINVAL, as real Xen answers a foreign
        // hole) while the ones before them map.
        let mut layout = layout(&dtb, &kernel[..]);
        layout.ram_extents = 4;
        layout.images.retain(|(g, _)| g.0 == GUEST_RAM0_BASE.0 + 0x80);
        let big: Vec<u8> = vec![1; 0x800 * PAGE];
        layout.images[0].1 = &big;
        let (sim, dom0, domu) = machine(layout.ram_extents);
        let dom0_pages = pages(&sim, dom0);
        let err = builder(&sim, dom0).build(domu, &layout).unwrap_err();
        // Magic pages 0..3, then the kernel: its page 0x800 - 0x80 is the first hole.
        assert_eq!(err, BuildError::Map { page: 4 + 0x780, err: XenError::Inval });
        assert_eq!(mapped_in_window(&sim, dom0, 4 + 0x800), 0);
        assert_eq!(pages(&sim, dom0), dom0_pages);
        sim.check_invariants().expect("invariants");
    }

    #[test]
    fn a_short_populate_is_reported_as_such() {
        let (dtb, kernel) = images();
        let layout = layout(&dtb, &kernel);
        // Room for the magic pages and 100 extents only.
        let (sim, dom0, _) = machine(100);
        let small = sim
            .create_domain(DomainConfig { max_pages: 100 * 512 + 4, ..DomainConfig::domu(DomainKind::Pvh) })
            .expect("domU");
        let err = builder(&sim, dom0).build(small, &layout).unwrap_err();
        assert_eq!(err, BuildError::Short { what: "RAM", done: 100, of: 192 });
    }
}
