//! The privileged cases: dom0 (control and hardware domain, translated) calls every operation
//! on itself, on a domU it creates through domctl, and on ids that name nothing.
//!
//! Layout of the scratch hole (`s+N`): 0..=7 shared info, 8..=15 grant frames, 16..=31
//! dom0's own populated and moved pages, 32..=63 foreign mappings of the domU, 64..=127
//! acquired resource frames, 128..=251 the acquires of `acquire_chunks`, 260..=340 the long
//! batch of `batch_chunks`. The domU's gfns: 0x100.. small RAM, 0x400 an order-9 extent,
//! 0x1000.. pages to map, 0x2000 an order-11 extent (Arm), 0x8000.. its own Xen pages.

use crate::report::{Batch, D, N, R, V};
use crate::{Arch, Platform, Run};
use xenmem::abi::domctl::{
    DomctlCreateDomain, DomctlGetDomainInfo, XEN_DOMINF_DYING, XEN_DOMINF_HAP, XEN_DOMINF_HVM_GUEST,
    XEN_DOMINF_PAUSED, XEN_DOMINF_SHUTDOWN,
};
use xenmem::{DomId, EntryStatus, Error, Gfn, GrantFrame, MapSpace, MemFlags, ResourceType};

/// The domU's memory limit: 4 MiB, 1024 pages.
const DOMU_MAX_KIB: u64 = 4096;
/// The domU's P2M pool where the release starts it empty (Arm, Xen 4.18 on): 4 MiB, what
/// libxl would give a 1-vCPU domain of this size and more.
const DOMU_P2M_POOL_BYTES: u64 = 4 << 20;
/// A pattern written through one mapping and read back through others.
const PATTERN: [u8; 8] = [0x5a, 0xa5, 0x3c, 0xc3, 0x0f, 0xf0, 0x11, 0xee];
/// Ids that name no domain.
const NOBODY: DomId = DomId(100);

pub(crate) fn run<P: Platform>(r: &mut Run<'_, P>) {
    queries_self(r);
    let Some(u) = create_domu(r) else { return };
    populate(r, u);
    reservations(r, u);
    add_single(r, u);
    remove(r, u);
    batch(r, u);
    foreign_data(r, u);
    acquire(r, u);
    if r.arch() == Arch::Arm64 {
        arm64(r, u);
    }
    edges(r, u);
    teardown(r, u);
    crate::acquire_chunks::run(r);
}

/// dom0's own counts, and the ids that are no domain.
fn queries_self<P: Platform>(r: &mut Run<'_, P>) {
    // dom0's own count is printed as it is (the model is configured as the real machine), and
    // beside it what the domctl side of Xen reports for the same domain.
    let by_self = r.xen().current_reservation(DomId::SELF);
    r.obs("query.self", format_args!("current_reservation(SELF)"), V(by_self));
    let own = DomId(r.cfg().self_id);
    let i = r.xen().domain_info(own);
    r.obs("query.self", format_args!("getdomaininfo(own id)"), info_line(i, own));
    let by_id = r.xen().current_reservation(DomId(r.cfg().self_id));
    let same = match (by_self, by_id) {
        (Ok(a), Ok(b)) if a == b => "=SELF",
        (Ok(_), Ok(_)) => "differs-from-SELF",
        _ => "error",
    };
    r.obs("query.self", format_args!("current_reservation(own id)"), same);
    let max = r.xen().maximum_reservation(DomId::SELF);
    let rel = match (max, by_self) {
        (Ok(m), _) if m == u32::MAX as u64 => "=unlimited",
        (Ok(m), Ok(t)) if m == t => "=current",
        (Ok(m), Ok(t)) if m > t => ">current",
        (Ok(_), _) => "<current",
        (Err(_), _) => "error",
    };
    r.obs("query.self", format_args!("maximum_reservation(SELF)"), rel);
    let top = r.xen().maximum_gpfn(DomId::SELF);
    let rel = top_rel(r, top);
    r.obs("query.self", format_args!("maximum_gpfn(SELF)"), rel);
    for d in [DomId::IO, DomId::XEN, DomId::COW, DomId::INVALID, DomId::IDLE, DomId(0x7fef), NOBODY] {
        let v = r.xen().current_reservation(d);
        r.obs("query.nobody", format_args!("current_reservation({})", D(d)), V(v));
    }
    let v = r.xen().maximum_reservation(NOBODY);
    r.obs("query.nobody", format_args!("maximum_reservation({})", D(NOBODY)), V(v));
    let v = r.xen().maximum_gpfn(NOBODY).map(|g| g.0);
    r.obs("query.nobody", format_args!("maximum_gpfn({})", D(NOBODY)), V(v));
}

fn info_line(i: Result<DomctlGetDomainInfo, Error>, want: DomId) -> InfoLine {
    InfoLine(i, want)
}

struct InfoLine(Result<DomctlGetDomainInfo, Error>, DomId);

impl core::fmt::Display for InfoLine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Err(e) => crate::report::ErrName(*e).fmt(f),
            Ok(i) if i.domain != self.1.raw() => write!(f, "other-domain d{}", i.domain),
            Ok(i) => {
                write!(f, "tot={} max={} flags=", i.tot_pages, i.max_pages)?;
                let names = [
                    (XEN_DOMINF_DYING, "dying"),
                    (XEN_DOMINF_HVM_GUEST, "hvm"),
                    (XEN_DOMINF_SHUTDOWN, "shutdown"),
                    (XEN_DOMINF_PAUSED, "paused"),
                    (XEN_DOMINF_HAP, "hap"),
                ];
                let mut first = true;
                for (bit, name) in names {
                    if i.flags & bit != 0 {
                        if !first {
                            f.write_str(",")?;
                        }
                        f.write_str(name)?;
                        first = false;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The createdomain body of the domU a dom0 builds: 1 vCPU, 32 grant frames, grant v1, in
/// the architecture's only (Arm) or chosen (x86: PVH) kind of translated guest.
pub(crate) fn domu_body(arch: Arch) -> DomctlCreateDomain {
    match arch {
        Arch::X86_64 => xenmem::domctl::pvh_domu(1, 32),
        Arch::Arm64 => xenmem::domctl::arm_domu(1, 32),
    }
}

/// A domU, built as a toolstack does: createdomain, max_vcpus, max_mem.
fn create_domu<P: Platform>(r: &mut Run<'_, P>) -> Option<DomId> {
    let created = r.xen().create_domain(DomId(0), &domu_body(r.arch()));
    let kind = match r.arch() {
        Arch::X86_64 => "pvh",
        Arch::Arm64 => "arm",
    };
    r.obs(
        "domctl.create",
        format_args!("createdomain({kind}, vcpus 1, grant frames 32)"),
        match created {
            Ok(d) => DomResult(Ok(d)),
            Err(e) => DomResult(Err(e)),
        },
    );
    let u = created.ok()?;
    // Arm since Xen 4.18: no P2M pool until the toolstack sizes it (nothing could be mapped
    // into the domU). Done, and reported, only where the running release needs it, so the
    // lines of older releases stay as they are.
    let needs_pool = r.xen().xen_version().is_ok_and(|v| v.arm_p2m_pool_starts_empty());
    if r.arch() == Arch::Arm64 && needs_pool {
        let v = r.xen().set_paging_mempool_size(u, DOMU_P2M_POOL_BYTES);
        r.obs("domctl.create", format_args!("set_paging_mempool_size(U, 4 MiB)"), R(v));
    }
    let v = r.xen().set_max_vcpus(u, 1);
    r.obs("domctl.create", format_args!("max_vcpus(U, 1)"), R(v));
    let v = r.xen().set_max_mem(u, DOMU_MAX_KIB);
    r.obs("domctl.create", format_args!("max_mem(U, {DOMU_MAX_KIB} KiB)"), R(v));
    let i = r.xen().domain_info(u);
    r.obs("domctl.create", format_args!("getdomaininfo(U)"), info_line(i, u));
    let v = r.xen().current_reservation(u);
    r.obs("query.domu", format_args!("current_reservation(U)"), V(v));
    let v = r.xen().maximum_reservation(u);
    r.obs("query.domu", format_args!("maximum_reservation(U)"), V(v));
    let v = r.xen().maximum_gpfn(u).map(|g| g.0);
    r.obs("query.domu", format_args!("maximum_gpfn(U)"), V(v));
    Some(u)
}

struct DomResult(Result<DomId, Error>);

impl core::fmt::Display for DomResult {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Ok(d) => write!(f, "ok U={d}"),
            Err(e) => crate::report::ErrName(e).fmt(f),
        }
    }
}

fn gfns<const K: usize>(first: u64) -> [Gfn; K] {
    core::array::from_fn(|i| Gfn(first + i as u64))
}

/// populate_physmap from dom0: into the domU, into itself, past limits, with flags.
fn populate<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let none = MemFlags::empty();
    let mut four = gfns::<4>(0x100);
    let n = r.xen().populate_physmap(u, 0, none, &mut four);
    r.obs("populate.domu", format_args!("populate(U, order 0, 4 at 0x100)"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("populate.domu", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().populate_physmap(u, 0, none, &mut [Gfn(0x100)]);
    r.obs("populate.occupied", format_args!("populate(U, order 0, 1 at 0x100 again)"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("populate.occupied", format_args!("current_reservation(U)"), V(v));
    let v = r.xen().maximum_gpfn(u).map(|g| g.0);
    r.obs("populate.domu", format_args!("maximum_gpfn(U)"), V(v));
    let n = r.xen().populate_physmap(u, 9, none, &mut [Gfn(0x400)]);
    r.obs("populate.order", format_args!("populate(U, order 9, 1 at 0x400)"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("populate.order", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().populate_physmap(u, 9, none, &mut [Gfn(0x600)]);
    r.obs("populate.max_pages", format_args!("populate(U, order 9, 1 at 0x600) past max"), N(n));
    let n = r.xen().populate_physmap(u, 19, none, &mut [Gfn(0x80000)]);
    r.obs("populate.order", format_args!("populate(U, order 19) above control-domain limit"), N(n));
    let n = r.xen().populate_physmap(u, 18, none, &mut [Gfn(0x40000)]);
    r.obs("populate.order", format_args!("populate(U, order 18) past max"), N(n));
    let flagged = [
        ("address_bits 12", none.with_address_bits(12)),
        ("address_bits 40", none.with_address_bits(40)),
        ("node 0", none.with_node(0)),
        ("node 200", none.with_node(200)),
        ("exact node 0", none.with_node(0).exact_node()),
        ("vnode 0", none.with_node(0).vnode()),
    ];
    for (i, (name, flags)) in flagged.into_iter().enumerate() {
        let n = r.xen().populate_physmap(u, 0, flags, &mut [Gfn(0x180 + i as u64)]);
        r.obs("populate.flags", format_args!("populate(U, order 0, {name})"), N(n));
    }
    let v = r.xen().current_reservation(u);
    r.obs("populate.flags", format_args!("current_reservation(U)"), V(v));
    for d in [NOBODY, DomId::IO, DomId::XEN] {
        let n = r.xen().populate_physmap(d, 0, none, &mut [Gfn(0x100)]);
        r.obs("populate.nobody", format_args!("populate({}, order 0, 1)", D(d)), N(n));
    }
    let before = r.xen().current_reservation(DomId::SELF);
    let at = r.s(16);
    let n = r.xen().populate_physmap(DomId::SELF, 0, none, &mut [at]);
    r.obs("populate.self", format_args!("populate(SELF, order 0, 1 at {})", r.g(at)), N(n));
    let after = r.xen().current_reservation(DomId::SELF);
    let delta = match (before, after) {
        (Ok(b), Ok(a)) => Delta(Some(a as i64 - b as i64)),
        _ => Delta(None),
    };
    r.obs("populate.self", format_args!("current_reservation(SELF) change"), delta);
    let b = r.peek::<8>(at);
    r.obs("populate.self", format_args!("read {}", r.g(at)), b);
    let top = r.xen().maximum_gpfn(DomId::SELF);
    let rel = top_rel(r, top);
    r.obs("populate.self", format_args!("maximum_gpfn(SELF)"), rel);
}

struct Delta(Option<i64>);

impl core::fmt::Display for Delta {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{d:+}"),
            None => f.write_str("error"),
        }
    }
}

/// dom0's highest mapped GFN depends on the machine (its MMIO holes), so it prints only
/// relative to the scratch hole.
fn top_rel<P: Platform>(r: &Run<'_, P>, top: Result<Gfn, Error>) -> &'static str {
    match top {
        Ok(g) if g < r.s(0) => "below-s",
        Ok(g) if g < r.s(r.cfg().scratch_pages) => "inside-s",
        Ok(_) => "above-s",
        Err(_) => "error",
    }
}

/// increase and decrease_reservation of the domU.
fn reservations<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let n = r.xen().increase_reservation(u, 0, MemFlags::empty(), 2);
    r.obs("increase", format_args!("increase_reservation(U, order 0, 2)"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("increase", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x101)]);
    r.obs("decrease", format_args!("decrease_reservation(U, order 0, [0x101])"), N(n));
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x101)]);
    r.obs("decrease", format_args!("decrease_reservation(U, order 0, [0x101]) again"), N(n));
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x102), Gfn(0x5555), Gfn(0x103)]);
    r.obs("decrease", format_args!("decrease_reservation(U, order 0, [0x102, hole, 0x103])"), N(n));
    let n = r.xen().decrease_reservation(u, 9, &[Gfn(0x400)]);
    r.obs("decrease", format_args!("decrease_reservation(U, order 9, [0x400])"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("decrease", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().decrease_reservation(NOBODY, 0, &[Gfn(0x100)]);
    r.obs("decrease", format_args!("decrease_reservation({}, order 0, [0x100])", D(NOBODY)), N(n));
    let n = r.xen().increase_reservation(NOBODY, 0, MemFlags::empty(), 1);
    r.obs("increase", format_args!("increase_reservation({}, order 0, 1)", D(NOBODY)), N(n));
}

/// add_to_physmap, one page at a time.
fn add_single<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let me = DomId::SELF;
    let cases: [(&str, DomId, MapSpace, u64, Gfn); 22] = [
        ("add.shared_info", me, MapSpace::SharedInfo, 0, r.s(0)),
        ("add.shared_info", me, MapSpace::SharedInfo, 1, r.s(1)),
        ("add.shared_info", me, MapSpace::SharedInfo, 0, Gfn::INVALID),
        ("add.shared_info", me, MapSpace::SharedInfo, 0, r.s(0)),
        ("add.shared_info", me, MapSpace::SharedInfo, 0, r.s(3)),
        ("add.foreign_single", me, MapSpace::GmfnForeign, 0x100, r.s(4)),
        ("add.nobody", NOBODY, MapSpace::SharedInfo, 0, r.s(5)),
        ("add.nobody", DomId::XEN, MapSpace::SharedInfo, 0, r.s(5)),
        ("add.domu", u, MapSpace::SharedInfo, 0, Gfn(0x8000)),
        ("add.grant", me, MapSpace::GrantTable, GrantFrame::Shared(0).idx(), r.s(8)),
        ("add.grant", me, MapSpace::GrantTable, GrantFrame::Shared(5).idx(), r.s(9)),
        ("add.grant", me, MapSpace::GrantTable, GrantFrame::Shared(63).idx(), r.s(10)),
        ("add.grant", me, MapSpace::GrantTable, GrantFrame::Shared(64).idx(), r.s(11)),
        ("add.grant", me, MapSpace::GrantTable, GrantFrame::Status(0).idx(), r.s(12)),
        ("add.grant.domu", u, MapSpace::GrantTable, GrantFrame::Shared(0).idx(), Gfn(0x8001)),
        ("add.grant.domu", u, MapSpace::GrantTable, GrantFrame::Shared(31).idx(), Gfn(0x8002)),
        ("add.grant.domu", u, MapSpace::GrantTable, GrantFrame::Shared(32).idx(), Gfn(0x8003)),
        ("add.dev_mmio", me, MapSpace::DevMmio, 0xfee00, r.s(13)),
        ("add.dev_mmio", u, MapSpace::DevMmio, 0xfee00, Gfn(0x8004)),
        ("add.bad_space", me, MapSpace::Other(6), 0, r.s(14)),
        ("add.gmfn", me, MapSpace::Gmfn, r.s(16).0, r.s(17)),
        ("add.gmfn", me, MapSpace::Gmfn, r.s(16).0, r.s(18)),
    ];
    for (case, d, space, idx, gfn) in cases {
        let v = r.xen().add_to_physmap(d, space, idx, gfn);
        let sp = SpaceName(space);
        r.obs(case, format_args!("add_to_physmap({}, {sp}, {idx:#x}, {})", D(d), r.g(gfn)), R(v));
    }
    let b = r.peek::<8>(r.s(17));
    r.obs("add.gmfn", format_args!("read {} (moved page)", r.g(r.s(17))), b);
    let ranges: [(u64, u64, u16); 4] = [
        (r.s(17).0, r.s(20).0, 1),
        (r.s(20).0, r.s(24).0, 0),
        (u64::MAX - 1, r.s(25).0, 4),
        (r.s(20).0, u64::MAX - 1, 4),
    ];
    for (idx, gpfn, size) in ranges {
        let v = r.xen().add_to_physmap_range(DomId::SELF, Gfn(idx), Gfn(gpfn), size);
        r.obs(
            "add.range",
            format_args!("add_to_physmap_range(SELF, {}, {}, size {size})", r.g(Gfn(idx)), r.g(Gfn(gpfn))),
            R(v),
        );
    }
    let v = r.xen().add_to_physmap(DomId::SELF, MapSpace::GmfnRange, 0, r.s(26));
    r.obs("add.range", format_args!("add_to_physmap(SELF, gmfn_range, ...)"), R(v));
    let top = r.xen().maximum_gpfn(DomId::SELF);
    let rel = top_rel(r, top);
    r.obs("add.shared_info", format_args!("maximum_gpfn(SELF)"), rel);
}

struct SpaceName(MapSpace);

impl core::fmt::Display for SpaceName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "space {}", self.0.raw()),
        }
    }
}

/// remove_from_physmap: Xen pages, RAM, holes, twice.
fn remove<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let me = DomId::SELF;
    let cases: [(&str, DomId, Gfn); 10] = [
        ("remove.shared_info", me, r.s(3)),
        ("remove.shared_info", me, r.s(3)),
        ("remove.hole", me, r.s(100)),
        ("remove.nobody", NOBODY, r.s(3)),
        ("remove.domu", u, Gfn(0x100)),
        ("remove.domu", u, Gfn(0x100)),
        ("remove.grant", me, r.s(8)),
        ("remove.grant.domu", u, Gfn(0x8001)),
        ("remove.invalid", me, Gfn::INVALID),
        ("remove.domu.shared_info", u, Gfn(0x8000)),
    ];
    for (case, d, gfn) in cases {
        let v = r.xen().remove_from_physmap(d, gfn);
        r.obs(case, format_args!("remove_from_physmap({}, {})", D(d), r.g(gfn)), R(v));
    }
    let v = r.xen().current_reservation(u);
    r.obs("remove.domu", format_args!("current_reservation(U) (remove keeps the page)"), V(v));
}

/// add_to_physmap_batch: foreign frames with mixed outcomes, aborts, bad spaces and ids.
fn batch<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let mut at = gfns::<4>(0x1000);
    let n = r.xen().populate_physmap(u, 0, MemFlags::empty(), &mut at);
    r.obs("batch.setup", format_args!("populate(U, order 0, 4 at 0x1000)"), N(n));

    let foreign = [Gfn(0x1000), Gfn(0x1001), Gfn(0x2000), Gfn(0x1002)];
    let dst = [r.s(32), r.s(33), r.s(34), r.s(35)];
    let mut errs = [EntryStatus::NOT_DONE; 4];
    let v = r.xen().map_foreign_batch(DomId::SELF, u, &foreign, &dst, &mut errs);
    r.obs(
        "batch.foreign",
        format_args!("batch(SELF, foreign U, [0x1000,0x1001,hole,0x1002] at s+32..)"),
        Batch(v, &errs),
    );
    let b = r.peek::<8>(r.s(32));
    r.obs("batch.foreign", format_args!("read s+32 (fresh page)"), b);

    let mut errs = [EntryStatus::NOT_DONE; 3];
    let v = r.xen().map_foreign_batch(
        DomId::SELF,
        u,
        &foreign[..3],
        &[r.s(36), Gfn::INVALID, r.s(37)],
        &mut errs,
    );
    r.obs(
        "batch.invalid_gfn",
        format_args!("batch(SELF, foreign U, 3 entries, 2nd at INVALID)"),
        Batch(v, &errs),
    );

    let one = [0x1000u64];
    let cases: [(&str, DomId, MapSpace, DomId); 8] = [
        ("batch.range", DomId::SELF, MapSpace::GmfnRange, DomId(0)),
        ("batch.nobody", NOBODY, MapSpace::GmfnForeign, u),
        ("batch.foreign_self", DomId::SELF, MapSpace::GmfnForeign, DomId::SELF),
        ("batch.foreign_own_id", DomId::SELF, MapSpace::GmfnForeign, DomId(r.cfg().self_id)),
        ("batch.foreign_nobody", DomId::SELF, MapSpace::GmfnForeign, NOBODY),
        // DOMID_XEN names Xen's own pages: idx is then a machine frame dom_xen must own.
        ("batch.foreign_xen", DomId::SELF, MapSpace::GmfnForeign, DomId::XEN),
        ("batch.into_domu", u, MapSpace::GmfnForeign, DomId(r.cfg().self_id)),
        ("batch.dev_mmio_res0", DomId::SELF, MapSpace::DevMmio, DomId(1)),
    ];
    for (case, d, space, fd) in cases {
        let mut errs = [EntryStatus::NOT_DONE; 1];
        let v = r.xen().add_to_physmap_batch(d, space, fd, &one, &[r.s(38)], &mut errs);
        let sp = SpaceName(space);
        r.obs(
            case,
            format_args!("batch({}, {sp}, foreign {}, [0x1000] at s+38)", D(d), D(fd)),
            Batch(v, &errs),
        );
    }
    let mut errs2 = [EntryStatus::NOT_DONE; 2];
    let v = r.xen().add_to_physmap_batch(
        DomId::SELF,
        MapSpace::SharedInfo,
        DomId(0),
        &[0, 1],
        &[r.s(6), r.s(7)],
        &mut errs2,
    );
    r.obs("batch.shared_info", format_args!("batch(SELF, shared_info, [0,1] at s+6..)"), Batch(v, &errs2));
    let v = r.xen().add_to_physmap_batch(DomId::SELF, MapSpace::GmfnForeign, u, &[], &[], &mut []);
    r.obs("batch.empty", format_args!("batch(SELF, foreign U, no entries)"), Batch(v, &[]));
    let v = r.xen().add_to_physmap_batch(NOBODY, MapSpace::GmfnForeign, u, &[], &[], &mut []);
    r.obs("batch.empty", format_args!("batch({}, foreign U, no entries)", D(NOBODY)), Batch(v, &[]));
    let mut errs3 = [EntryStatus::NOT_DONE; 2];
    let v =
        r.xen().add_to_physmap_batch(DomId::SELF, MapSpace::GmfnForeign, u, &[1, 2], &[r.s(39)], &mut errs3);
    r.obs("batch.lengths", format_args!("batch(SELF, foreign U, 2 idxs, 1 gfn)"), Batch(v, &errs3));
    // Over an existing foreign mapping: s+33 maps 0x1001; map 0x1002 there instead.
    let mut errs = [EntryStatus::NOT_DONE; 1];
    let v = r.xen().map_foreign_batch(DomId::SELF, u, &[Gfn(0x1002)], &[r.s(33)], &mut errs);
    r.obs(
        "batch.replace",
        format_args!("batch(SELF, foreign U, [0x1002] at s+33 over 0x1001)"),
        Batch(v, &errs),
    );
    let v = r.xen().remove_from_physmap(DomId::SELF, r.s(6));
    r.obs("batch.shared_info", format_args!("remove_from_physmap(SELF, s+6)"), R(v));
}

/// Bytes written through a foreign mapping survive unmap and remap.
fn foreign_data<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let ok = r.poke(r.s(32), &PATTERN);
    r.obs("foreign.data", format_args!("write pattern at s+32"), Written(ok));
    let b = r.peek::<8>(r.s(32));
    r.obs("foreign.data", format_args!("read s+32"), b);
    let v = r.xen().remove_from_physmap(DomId::SELF, r.s(32));
    r.obs("foreign.data", format_args!("remove_from_physmap(SELF, s+32)"), R(v));
    let v = r.xen().remove_from_physmap(DomId::SELF, r.s(32));
    r.obs("foreign.data", format_args!("remove_from_physmap(SELF, s+32) again"), R(v));
    let mut errs = [EntryStatus::NOT_DONE; 1];
    let v = r.xen().map_foreign_batch(DomId::SELF, u, &[Gfn(0x1000)], &[r.s(40)], &mut errs);
    r.obs("foreign.data", format_args!("batch(SELF, foreign U, [0x1000] at s+40)"), Batch(v, &errs));
    let b = r.peek::<8>(r.s(40));
    r.obs("foreign.data", format_args!("read s+40"), b);
    let v = r.xen().current_reservation(u);
    r.obs("foreign.data", format_args!("current_reservation(U)"), V(v));
    // The owner frees the page while dom0 still maps it: the mapping's reference keeps the
    // page, and its bytes, alive.
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x1000)]);
    r.obs("foreign.ref", format_args!("decrease_reservation(U, order 0, [0x1000]) while mapped"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("foreign.ref", format_args!("current_reservation(U)"), V(v));
    let b = r.peek::<8>(r.s(40));
    r.obs("foreign.ref", format_args!("read s+40"), b);
    let v = r.xen().remove_from_physmap(u, Gfn(0x1000));
    r.obs("foreign.ref", format_args!("remove_from_physmap(U, 0x1000) after decrease"), R(v));
    // dom0 cannot free a page it only maps.
    let n = r.xen().decrease_reservation(DomId::SELF, 0, &[r.s(40)]);
    r.obs("foreign.ref", format_args!("decrease_reservation(SELF, order 0, [s+40]) foreign entry"), N(n));
    let b = r.peek::<8>(r.s(40));
    r.obs("foreign.ref", format_args!("read s+40"), b);
}

/// acquire_resource: sizes, mappings, and every refusal.
fn acquire<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let grant = ResourceType::GrantTable;
    let sizes: [(DomId, ResourceType, u32); 10] = [
        (u, grant, 0),
        (u, grant, 1),
        (u, grant, 2),
        (u, ResourceType::IoreqServer, 0),
        (u, ResourceType::VmtraceBuf, 0),
        (u, ResourceType::Other(7), 0),
        (DomId::SELF, grant, 0),
        (DomId(r.cfg().self_id), grant, 0),
        (NOBODY, grant, 0),
        (DomId::XEN, grant, 0),
    ];
    for (d, ty, id) in sizes {
        let v = r.xen().acquire_resource_size(d, ty, id);
        r.obs("acquire.size", format_args!("size({}, {}, id {id})", D(d), TypeName(ty)), N(v));
    }
    let v = r.xen().acquire_resource_raw(u, grant, 0, 0, 1, None);
    r.obs("acquire.size", format_args!("size(U, grant_table, id 0) with nr_frames 1"), N(v));

    let mut one = [r.s(64)];
    let v = r.xen().acquire_resource(u, grant, 0, 0, &mut one);
    r.obs("acquire.map", format_args!("map(U, grant_table, shared, frame 0 at s+64)"), R(v));
    let b = r.peek::<8>(r.s(64));
    r.obs("acquire.map", format_args!("read s+64"), b);
    let mut three = [r.s(65), r.s(66), r.s(67)];
    let v = r.xen().acquire_resource(u, grant, 0, 1, &mut three);
    r.obs("acquire.map", format_args!("map(U, grant_table, shared, frames 1..3 at s+65..)"), R(v));
    acquire_identity(r, u);
    let maps: [(&str, ResourceType, u32, u64, u64, u64); 9] = [
        ("acquire.map", grant, 0, 31, 1, 68),
        ("acquire.range", grant, 0, 32, 1, 69),
        ("acquire.range", grant, 0, 30, 3, 70),
        ("acquire.range", grant, 0, 1 << 32, 1, 73),
        ("acquire.range", grant, 0, (1 << 32) - 1, 2, 74),
        ("acquire.status_v1", grant, 1, 0, 1, 76),
        ("acquire.ioreq", ResourceType::IoreqServer, 0, 0, 1, 77),
        ("acquire.vmtrace", ResourceType::VmtraceBuf, 0, 0, 1, 78),
        ("acquire.bad_type", ResourceType::Other(7), 0, 0, 1, 79),
    ];
    for (case, ty, id, frame, nr, at) in maps {
        let mut list = [Gfn(0); 3];
        for (i, g) in list.iter_mut().enumerate() {
            *g = r.s(at + i as u64);
        }
        let v = r.xen().acquire_resource(u, ty, id, frame, &mut list[..nr as usize]);
        r.obs(
            case,
            format_args!("map(U, {}, id {id}, frame {frame:#x}, nr {nr} at s+{at})", TypeName(ty)),
            R(v),
        );
    }
    let mut one = [r.s(80)];
    for d in [DomId::SELF, DomId(r.cfg().self_id), NOBODY] {
        let v = r.xen().acquire_resource(d, grant, 0, 0, &mut one);
        r.obs("acquire.who", format_args!("map({}, grant_table, id 0, frame 0)", D(d)), R(v));
    }
    let mut two = [r.s(81), r.s(82)];
    let v = r.xen().acquire_resource_raw(u, grant, 0, 0, 3, Some(&mut two));
    r.obs("acquire.lib", format_args!("map(U, grant_table, nr 3, list of 2)"), N(v));
    let v = r.xen().acquire_resource(u, grant, 0, 0, &mut []);
    r.obs("acquire.lib", format_args!("map(U, grant_table, empty list)"), R(v));
    let size = r.xen().acquire_resource_size(u, grant, 0);
    r.obs("acquire.size", format_args!("size(U, grant_table, id 0) after mapping"), N(size));
}

/// Grant entries (v1: flags, domid, frame) with flags 0, `GTF_invalid`: harmless to the
/// domU, and different from each other and from a fresh frame's zeros.
const GRANT_MARK_0: [u8; 8] = [0, 0, 0, 0, 0x5a, 0xa5, 0x3c, 0xc3];
const GRANT_MARK_2: [u8; 8] = [0, 0, 0, 0, 0x11, 0xee, 0x0f, 0xf0];

/// Which frame landed at which GFN: an entry written through one mapping of a grant frame
/// must show through a second mapping of the same frame, and through no other frame's.
fn acquire_identity<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let grant = ResourceType::GrantTable;
    let ok = r.poke(r.s(64), &GRANT_MARK_0);
    r.obs("acquire.ident", format_args!("write entry through s+64 (frame 0)"), Written(ok));
    let ok = r.poke(r.s(66), &GRANT_MARK_2);
    r.obs("acquire.ident", format_args!("write entry through s+66 (frame 2)"), Written(ok));
    for (frame, at) in [(0u64, 90u64), (2, 91)] {
        let mut one = [r.s(at)];
        let v = r.xen().acquire_resource(u, grant, 0, frame, &mut one);
        r.obs(
            "acquire.ident",
            format_args!("map(U, grant_table, shared, frame {frame} again at s+{at})"),
            R(v),
        );
    }
    for (at, what) in [(90u64, "frame 0 again"), (91, "frame 2 again"), (65, "frame 1"), (67, "frame 3")] {
        let b = r.peek::<8>(r.s(at));
        r.obs("acquire.ident", format_args!("read s+{at} ({what})"), b);
    }
    for at in [90u64, 91] {
        let v = r.xen().remove_from_physmap(DomId::SELF, r.s(at));
        r.obs("acquire.ident", format_args!("remove_from_physmap(SELF, s+{at})"), R(v));
    }
}

/// A write through a mapping: `ok`, or `unwritable` if the platform could not.
pub(crate) struct Written(pub(crate) bool);

impl core::fmt::Display for Written {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0 { "ok" } else { "unwritable" })
    }
}

struct TypeName(ResourceType);

impl core::fmt::Display for TypeName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {}", self.0.raw()),
        }
    }
}

/// Corners where Xen's answer depends on its internals: Xen pages mapped a second time,
/// ranges that fail half-way, extents partly gone, odd alignments, invalid GFNs, and moving
/// another domain's pages. Scratch `s+200..`; the domU's gfns `0x1200..`.
fn edges<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let me = DomId::SELF;
    let none = MemFlags::empty();
    // A grant frame mapped at a second GFN: x86 moves it, Arm refuses while it is mapped.
    let g1 = GrantFrame::Shared(1).idx();
    for at in [200, 201] {
        let v = r.xen().add_to_physmap(me, MapSpace::GrantTable, g1, r.s(at));
        r.obs("edge.grant_twice", format_args!("add_to_physmap(SELF, grant_table, 1, s+{at})"), R(v));
    }
    for at in [200, 201] {
        let v = r.xen().remove_from_physmap(me, r.s(at));
        r.obs("edge.grant_twice", format_args!("remove_from_physmap(SELF, s+{at})"), R(v));
    }
    // A range move that meets a hole half-way: the pages before it stay moved.
    let mut two = [r.s(210), r.s(211)];
    let n = r.xen().populate_physmap(me, 0, none, &mut two);
    r.obs("edge.range_partial", format_args!("populate(SELF, order 0, 2 at s+210)"), N(n));
    let v = r.xen().add_to_physmap_range(me, r.s(210), r.s(220), 4);
    r.obs("edge.range_partial", format_args!("add_to_physmap_range(SELF, s+210, s+220, size 4)"), R(v));
    for at in [210, 220, 221, 222] {
        let v = r.xen().remove_from_physmap(me, r.s(at));
        r.obs("edge.range_partial", format_args!("remove_from_physmap(SELF, s+{at})"), R(v));
    }
    // The batch form with the domain's own frames (gmfn): a move per entry.
    let mut one = [r.s(230)];
    let n = r.xen().populate_physmap(me, 0, none, &mut one);
    r.obs("edge.batch_gmfn", format_args!("populate(SELF, order 0, 1 at s+230)"), N(n));
    let mut errs = [EntryStatus::NOT_DONE; 2];
    let v = r.xen().add_to_physmap_batch(
        me,
        MapSpace::Gmfn,
        DomId(0),
        &[r.s(230).0, r.s(231).0],
        &[r.s(232), r.s(233)],
        &mut errs,
    );
    r.obs("edge.batch_gmfn", format_args!("batch(SELF, gmfn, [s+230, s+231] at s+232..)"), Batch(v, &errs));
    let v = r.xen().remove_from_physmap(me, r.s(232));
    r.obs("edge.batch_gmfn", format_args!("remove_from_physmap(SELF, s+232)"), R(v));
    // An order-9 extent of the domU with one page already unmapped: decrease stops there,
    // after freeing the page before it, and counts nothing.
    let before = r.xen().current_reservation(u);
    let n = r.xen().populate_physmap(u, 9, none, &mut [Gfn(0x1400)]);
    r.obs("edge.decrease_partial", format_args!("populate(U, order 9, 1 at 0x1400)"), N(n));
    let v = r.xen().remove_from_physmap(u, Gfn(0x1401));
    r.obs("edge.decrease_partial", format_args!("remove_from_physmap(U, 0x1401)"), R(v));
    let n = r.xen().decrease_reservation(u, 9, &[Gfn(0x1400)]);
    r.obs("edge.decrease_partial", format_args!("decrease_reservation(U, order 9, [0x1400])"), N(n));
    let after = r.xen().current_reservation(u);
    let delta = match (before, after) {
        (Ok(b), Ok(a)) => Delta(Some(a as i64 - b as i64)),
        _ => Delta(None),
    };
    r.obs("edge.decrease_partial", format_args!("current_reservation(U) change"), delta);
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x1402)]);
    r.obs("edge.decrease_partial", format_args!("decrease_reservation(U, order 0, [0x1402])"), N(n));
    // Odd alignments and GFNs past any P2M.
    let n = r.xen().populate_physmap(u, 1, none, &mut [Gfn(0x1601)]);
    r.obs("edge.align", format_args!("populate(U, order 1, 1 at 0x1601)"), N(n));
    let n = r.xen().populate_physmap(u, 0, none, &mut [Gfn::INVALID]);
    r.obs("edge.invalid_gfn", format_args!("populate(U, order 0, 1 at INVALID)"), N(n));
    let n = r.xen().populate_physmap(u, 0, none, &mut [Gfn(1 << 40)]);
    r.obs("edge.invalid_gfn", format_args!("populate(U, order 0, 1 at 2^40)"), N(n));
    let v = r.xen().add_to_physmap(u, MapSpace::SharedInfo, 0, Gfn(1 << 40));
    r.obs("edge.invalid_gfn", format_args!("add_to_physmap(U, shared_info, 0, 2^40)"), R(v));
    let v = r.xen().current_reservation(u);
    r.obs("edge.align", format_args!("current_reservation(U)"), V(v));
    // dom0 moves one of the domU's own pages within the domU (gmfn on another domain).
    let v = r.xen().add_to_physmap(u, MapSpace::Gmfn, 0x1003, Gfn(0x1700));
    r.obs("edge.gmfn_other", format_args!("add_to_physmap(U, gmfn, 0x1003, 0x1700)"), R(v));
    let v = r.xen().remove_from_physmap(u, Gfn(0x1003));
    r.obs("edge.gmfn_other", format_args!("remove_from_physmap(U, 0x1003)"), R(v));
    let v = r.xen().maximum_gpfn(u).map(|g| g.0);
    r.obs("edge.gmfn_other", format_args!("maximum_gpfn(U)"), V(v));
}

/// Destroy the domU while dom0 still maps its pages, then let go of everything.
fn teardown<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    // Populate over the domU's own grant frame 31 (mapped at 0x8002 by add.grant.domu).
    let n = r.xen().populate_physmap(u, 0, MemFlags::empty(), &mut [Gfn(0x8002)]);
    r.obs(
        "populate.over_grant",
        format_args!("populate(U, order 0, 1 at 0x8002 over its grant frame)"),
        N(n),
    );
    let i = r.xen().domain_info(u);
    r.obs("populate.over_grant", format_args!("getdomaininfo(U)"), info_line(i, u));
    let v = r.xen().remove_from_physmap(u, Gfn(0x8002));
    r.obs("populate.over_grant", format_args!("remove_from_physmap(U, 0x8002)"), R(v));
    // Populate-on-demand (x86 HVM): an entry with no page behind it yet. While such entries
    // outnumber the domain's PoD cache, Xen keeps pages the domain frees for that cache
    // instead of freeing them.
    let n = r.xen().populate_physmap(u, 0, MemFlags::empty().populate_on_demand(), &mut [Gfn(0x1800)]);
    r.obs("populate.pod", format_args!("populate(U, order 0, populate_on_demand at 0x1800)"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("populate.pod", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x1001)]);
    r.obs("populate.pod", format_args!("decrease_reservation(U, order 0, [0x1001])"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("populate.pod", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x1800)]);
    r.obs("populate.pod", format_args!("decrease_reservation(U, order 0, [0x1800]) the PoD entry"), N(n));
    let v = r.xen().current_reservation(u);
    r.obs("populate.pod", format_args!("current_reservation(U)"), V(v));
    let n = r.xen().populate_physmap(DomId::SELF, 0, MemFlags::empty().populate_on_demand(), &mut [r.s(30)]);
    r.obs("populate.pod", format_args!("populate(SELF, order 0, populate_on_demand at s+30)"), N(n));
    pod_corners(r, u);
    let v = r.xen().destroy_domain(u);
    r.obs("teardown", format_args!("destroydomain(U) while mapped"), R(v));
    let i = r.xen().domain_info(u);
    r.obs("teardown", format_args!("getdomaininfo(U)"), InfoFlags(i, u));
    let b = r.peek::<8>(r.s(40));
    r.obs("teardown", format_args!("read s+40 after destroy"), b);
    let n = r.xen().populate_physmap(u, 0, MemFlags::empty(), &mut [Gfn(0x3000)]);
    r.obs("teardown", format_args!("populate(U) while dying"), N(n));
    let mut errs = [EntryStatus::NOT_DONE; 1];
    let v = r.xen().map_foreign_batch(DomId::SELF, u, &[Gfn(0x1003)], &[r.s(41)], &mut errs);
    r.obs("teardown", format_args!("batch(SELF, foreign U, [0x1003]) while dying"), Batch(v, &errs));
    let own = [r.s(33), r.s(35), r.s(40), r.s(41), r.s(64), r.s(65), r.s(66), r.s(67), r.s(68)];
    for g in own {
        let v = r.xen().remove_from_physmap(DomId::SELF, g);
        r.obs("teardown", format_args!("remove_from_physmap(SELF, {})", r.g(g)), R(v));
    }
    for g in [r.s(9), r.s(10), r.s(17), r.s(20)] {
        let v = r.xen().remove_from_physmap(DomId::SELF, g);
        r.obs("teardown.self", format_args!("remove_from_physmap(SELF, {})", r.g(g)), R(v));
    }
    let n = r.xen().decrease_reservation(DomId::SELF, 0, &[r.s(20)]);
    r.obs("teardown.self", format_args!("decrease_reservation(SELF, [s+20])"), N(n));
}

/// Populate-on-demand where Xen does more than mark and drop entries (x86 HVM; Arm answers a
/// PoD populate with 0, and its lines record what follows from that):
/// - freeing one page of an all-zero 2 MiB extent while PoD entries outnumber the cache takes
///   the whole superpage into the cache (`p2m_pod_zero_check_superpage`), so a later decrease
///   of the extent frees it;
/// - a lookup that allocates (`P2M_ALLOC`: add_to_physmap's source and target GFNs) fills a
///   PoD entry from the cache; with the cache empty and nothing to reclaim, the domain is
///   crashed ("out of PoD memory") and the lookup finds nothing.
///
/// The domU's gfns `0x1900..0x1f00`; it is crashed (shut down) afterwards.
fn pod_corners<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let none = MemFlags::empty();
    let pod = none.populate_on_demand();
    let v = r.xen().set_max_mem(u, 2 * DOMU_MAX_KIB);
    r.obs("pod.super", format_args!("max_mem(U, {} KiB)", 2 * DOMU_MAX_KIB), R(v));
    let base = r.xen().current_reservation(u);
    let n = r.xen().populate_physmap(u, 9, none, &mut [Gfn(0x1a00)]);
    r.obs("pod.super", format_args!("populate(U, order 9, 1 at 0x1a00)"), N(n));
    let n = r.xen().populate_physmap(u, 0, pod, &mut [Gfn(0x1c00)]);
    r.obs("pod.super", format_args!("populate(U, order 0, populate_on_demand at 0x1c00)"), N(n));
    let steps: [(&str, u32, u64); 3] = [("", 0, 0x1a00), ("", 9, 0x1a00), (" the PoD entry", 0, 0x1c00)];
    for (what, order, gfn) in steps {
        let n = r.xen().decrease_reservation(u, order, &[Gfn(gfn)]);
        r.obs("pod.super", format_args!("decrease_reservation(U, order {order}, [{gfn:#x}]){what}"), N(n));
        let now = r.xen().current_reservation(u);
        r.obs("pod.super", format_args!("current_reservation(U) change"), change(base, now));
    }
    // The cache is empty now, and no guest fault has populated anything.
    let n = r.xen().populate_physmap(u, 0, pod, &mut [Gfn(0x1900)]);
    r.obs("pod.empty", format_args!("populate(U, order 0, populate_on_demand at 0x1900)"), N(n));
    let v = r.xen().add_to_physmap(u, MapSpace::Gmfn, 0x1900, Gfn(0x1901));
    r.obs("pod.empty", format_args!("add_to_physmap(U, gmfn, 0x1900 a PoD entry, 0x1901)"), R(v));
    let v = r.xen().add_to_physmap(u, MapSpace::SharedInfo, 0, Gfn(0x1900));
    r.obs("pod.empty", format_args!("add_to_physmap(U, shared_info, 0, 0x1900 a PoD entry)"), R(v));
    let i = r.xen().domain_info(u);
    r.obs("pod.empty", format_args!("getdomaininfo(U)"), info_line(i, u));
    // A page freed while an entry is outstanding is kept for the cache; the lookup takes it.
    let n = r.xen().populate_physmap(u, 0, pod, &mut [Gfn(0x1d00)]);
    r.obs("pod.fill", format_args!("populate(U, order 0, populate_on_demand at 0x1d00)"), N(n));
    let n = r.xen().populate_physmap(u, 0, none, &mut [Gfn(0x1e00)]);
    r.obs("pod.fill", format_args!("populate(U, order 0, 1 at 0x1e00)"), N(n));
    let base = r.xen().current_reservation(u);
    let n = r.xen().decrease_reservation(u, 0, &[Gfn(0x1e00)]);
    r.obs("pod.fill", format_args!("decrease_reservation(U, order 0, [0x1e00])"), N(n));
    let v = r.xen().add_to_physmap(u, MapSpace::Gmfn, 0x1d00, Gfn(0x1d01));
    r.obs("pod.fill", format_args!("add_to_physmap(U, gmfn, 0x1d00 a PoD entry, 0x1d01)"), R(v));
    let now = r.xen().current_reservation(u);
    r.obs("pod.fill", format_args!("current_reservation(U) change"), change(base, now));
    let v = r.xen().remove_from_physmap(u, Gfn(0x1d01));
    r.obs("pod.fill", format_args!("remove_from_physmap(U, 0x1d01)"), R(v));
}

struct InfoFlags(Result<DomctlGetDomainInfo, Error>, DomId);

impl core::fmt::Display for InfoFlags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Err(e) => crate::report::ErrName(*e).fmt(f),
            Ok(i) if i.domain != self.1.raw() => f.write_str("gone"),
            Ok(i) => write!(f, "found dying={}", i.flags & XEN_DOMINF_DYING != 0),
        }
    }
}

/// What only Arm does differently among things a dom0 does every day, in cases that run on
/// Arm alone (so the other architectures' lines stay as recorded):
/// - Xen 4.17 on Arm refuses to map a grant frame that is already mapped (`-EBUSY`; x86
///   moves it): it must be unmapped first, then it maps anywhere;
/// - the extent-order limit is the caller's: Arm's hardware domain alone would be held to
///   order 10, but dom0 is also the control domain, whose limit (18) applies.
fn arm64<P: Platform>(r: &mut Run<'_, P>, u: DomId) {
    let frame5 = GrantFrame::Shared(5).idx();
    let (at, other) = (r.s(9), r.s(15));
    let v = r.xen().add_to_physmap(DomId::SELF, MapSpace::GrantTable, frame5, other);
    r.obs(
        "arm.grant_twice",
        format_args!("add_to_physmap(SELF, grant_table, {frame5:#x}, {}) mapped at {}", r.g(other), r.g(at)),
        R(v),
    );
    let v = r.xen().remove_from_physmap(DomId::SELF, at);
    r.obs("arm.grant_twice", format_args!("remove_from_physmap(SELF, {})", r.g(at)), R(v));
    let v = r.xen().add_to_physmap(DomId::SELF, MapSpace::GrantTable, frame5, other);
    r.obs(
        "arm.grant_twice",
        format_args!("add_to_physmap(SELF, grant_table, {frame5:#x}, {}) after unmap", r.g(other)),
        R(v),
    );
    let v = r.xen().remove_from_physmap(DomId::SELF, other);
    r.obs("arm.grant_twice", format_args!("remove_from_physmap(SELF, {})", r.g(other)), R(v));
    let v = r.xen().add_to_physmap(DomId::SELF, MapSpace::GrantTable, frame5, at);
    r.obs(
        "arm.grant_twice",
        format_args!("add_to_physmap(SELF, grant_table, {frame5:#x}, {}) back", r.g(at)),
        R(v),
    );

    // Room for one order-11 extent (2048 pages) in the domU, then the limit as before.
    let v = r.xen().set_max_mem(u, 4 * DOMU_MAX_KIB);
    r.obs("arm.order", format_args!("max_mem(U, {} KiB)", 4 * DOMU_MAX_KIB), R(v));
    let before = r.xen().current_reservation(u);
    let n = r.xen().populate_physmap(u, 11, MemFlags::empty(), &mut [Gfn(0x2000)]);
    r.obs(
        "arm.order",
        format_args!("populate(U, order 11, 1 at 0x2000) above the hardware-domain limit"),
        N(n),
    );
    let after = r.xen().current_reservation(u);
    let delta = match (before, after) {
        (Ok(b), Ok(a)) => Delta(Some(a as i64 - b as i64)),
        _ => Delta(None),
    };
    r.obs("arm.order", format_args!("current_reservation(U) change"), delta);
    let n = r.xen().decrease_reservation(u, 11, &[Gfn(0x2000)]);
    r.obs("arm.order", format_args!("decrease_reservation(U, order 11, [0x2000])"), N(n));
    let v = r.xen().set_max_mem(u, DOMU_MAX_KIB);
    r.obs("arm.order", format_args!("max_mem(U, {DOMU_MAX_KIB} KiB)"), R(v));
    if let Some(ram) = r.spare_ram() {
        direct_map(r, ram);
    }
}

/// Xen maps Arm's dom0 1:1 (`CDF_directmap`): a page it gives back stays its own and counted
/// (guest_remove_page keeps the allocation reference), and populate_physmap maps back only
/// frames MFN == GPFN that are still its own — the same page, bytes and all — never new ones.
fn direct_map<P: Platform>(r: &mut Run<'_, P>, ram: Gfn) {
    let me = DomId::SELF;
    let ok = r.poke(ram, &PATTERN);
    r.obs("arm.directmap", format_args!("write pattern at spare RAM"), Written(ok));
    let before = r.xen().current_reservation(me);
    let n = r.xen().decrease_reservation(me, 0, &[ram]);
    r.obs("arm.directmap", format_args!("decrease_reservation(SELF, order 0, [spare RAM])"), N(n));
    let after = r.xen().current_reservation(me);
    r.obs("arm.directmap", format_args!("current_reservation(SELF) change"), change(before, after));
    let b = r.peek::<8>(ram);
    r.obs("arm.directmap", format_args!("read spare RAM after decrease"), b);
    let hole = r.s(300);
    let n = r.xen().populate_physmap(me, 0, MemFlags::empty(), &mut [hole]);
    r.obs("arm.directmap", format_args!("populate(SELF, order 0, 1 at s+300) a hole"), N(n));
    let n = r.xen().populate_physmap(me, 0, MemFlags::empty(), &mut [ram]);
    r.obs("arm.directmap", format_args!("populate(SELF, order 0, 1 at spare RAM) again"), N(n));
    let after = r.xen().current_reservation(me);
    r.obs("arm.directmap", format_args!("current_reservation(SELF) change"), change(before, after));
    let b = r.peek::<8>(ram);
    r.obs("arm.directmap", format_args!("read spare RAM after populate"), b);
}

/// The difference of two page counts, or `error`.
fn change(before: Result<u64, Error>, after: Result<u64, Error>) -> Delta {
    match (before, after) {
        (Ok(b), Ok(a)) => Delta(Some(a as i64 - b as i64)),
        _ => Delta(None),
    }
}
