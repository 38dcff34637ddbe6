//! The unprivileged cases: a domU (translated, neither control nor hardware domain) calls
//! every operation naming itself as `DOMID_SELF` and by its own id, dom0, a sibling domU when
//! the platform made one, and ids that name nothing.
//!
//! What differs from dom0 (Xen's default XSM policy and `memop-max-order`): another domain
//! is `-EPERM` (or a count of 0 for the reservation ops), the largest extent order is 9,
//! `exact_node` is refused while a plain node hint is ignored, x86 refuses acquire_resource
//! and foreign mappings to a translated domain that is not the hardware domain, and domctl
//! is the control domain's alone.
//!
//! Scratch layout (`s+N`): 0..=7 shared info, 8..=15 grant frames, 16..=63 populated and
//! decreased pages, 64.. batch targets. Pages populated to reach `max_pages` go to
//! `0x80000..`, far above the domU's RAM, and are freed again.

use crate::report::{Batch, ErrName, N, R, V};
use crate::{Platform, Run};
use xenmem::{DomId, EntryStatus, Error, Gfn, GrantFrame, MapSpace, MemFlags, ResourceType};

/// An id that names no domain.
const NOBODY: DomId = DomId(100);
/// Where the pages that fill the domU up to its limit go.
const FILL_BASE: u64 = 0x80000;

pub(crate) fn run<P: Platform>(r: &mut Run<'_, P>) {
    let targets = targets(r);
    queries(r, &targets);
    add_remove(r, &targets);
    grant_and_spaces(r);
    populate_targets(r, &targets);
    orders_and_flags(r);
    fill_to_max(r);
    decrease(r, &targets);
    batch(r, &targets);
    acquire(r, &targets);
    domctl(r);
}

/// SELF, the own id, dom0, the sibling (if any), nobody.
fn targets<P: Platform>(r: &Run<'_, P>) -> ([DomId; 5], usize) {
    let own = DomId(r.cfg().self_id);
    match r.cfg().sibling {
        Some(s) => ([DomId::SELF, own, DomId(0), DomId(s), NOBODY], 5),
        None => ([DomId::SELF, own, DomId(0), NOBODY, NOBODY], 4),
    }
}

fn each(t: &([DomId; 5], usize)) -> impl Iterator<Item = DomId> + '_ {
    t.0.iter().copied().take(t.1)
}

fn queries<P: Platform>(r: &mut Run<'_, P>, t: &([DomId; 5], usize)) {
    let mine = r.xen().current_reservation(DomId::SELF);
    for d in each(t) {
        let v = r.xen().current_reservation(d);
        let shown = Rel(v, mine);
        r.obs("domu.query", format_args!("current_reservation({})", r.d(d)), shown);
        let v = r.xen().maximum_reservation(d);
        r.obs("domu.query", format_args!("maximum_reservation({})", r.d(d)), Rel(v, mine));
        let v = r.xen().maximum_gpfn(d);
        r.obs("domu.query", format_args!("maximum_gpfn({})", r.d(d)), TopRel(v, r.s(0)));
    }
    for d in [DomId::IO, DomId::XEN, DomId::INVALID] {
        let v = r.xen().current_reservation(d);
        r.obs("domu.query", format_args!("current_reservation({})", r.d(d)), V(v));
    }
}

/// A highest mapped GFN relative to the scratch hole (`below-s`), or an error.
struct TopRel(Result<Gfn, Error>, Gfn);

impl core::fmt::Display for TopRel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Err(e) => ErrName(e).fmt(f),
            Ok(g) if g < self.1 => f.write_str("below-s"),
            Ok(_) => f.write_str("at-or-above-s"),
        }
    }
}

/// A value printed relative to the caller's own current reservation (which the platform's
/// domain builder chose): `=current`, `>current`, or an error.
struct Rel(Result<u64, Error>, Result<u64, Error>);

impl core::fmt::Display for Rel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.0, self.1) {
            (Err(e), _) => ErrName(e).fmt(f),
            (Ok(v), _) if v == u32::MAX as u64 => f.write_str("=unlimited"),
            (Ok(v), Ok(c)) if v == c => f.write_str("=current"),
            (Ok(v), Ok(c)) if v > c => f.write_str(">current"),
            (Ok(_), _) => f.write_str("<current"),
        }
    }
}

fn add_remove<P: Platform>(r: &mut Run<'_, P>, t: &([DomId; 5], usize)) {
    for d in each(t) {
        let v = r.xen().add_to_physmap(d, MapSpace::SharedInfo, 0, r.s(0));
        r.obs("domu.add", format_args!("add_to_physmap({}, shared_info, 0, s+0)", r.d(d)), R(v));
        let v = r.xen().remove_from_physmap(d, r.s(0));
        r.obs("domu.remove", format_args!("remove_from_physmap({}, s+0)", r.d(d)), R(v));
    }
    let v = r.xen().remove_from_physmap(DomId::SELF, r.s(0));
    r.obs("domu.remove", format_args!("remove_from_physmap(SELF, s+0) again"), R(v));
    let v = r.xen().remove_from_physmap(DomId::SELF, r.s(200));
    r.obs("domu.remove", format_args!("remove_from_physmap(SELF, hole s+200)"), R(v));
}

fn grant_and_spaces<P: Platform>(r: &mut Run<'_, P>) {
    let me = DomId::SELF;
    let cases: [(&str, MapSpace, u64, Gfn); 8] = [
        ("domu.grant", MapSpace::GrantTable, GrantFrame::Shared(0).idx(), r.s(8)),
        ("domu.grant", MapSpace::GrantTable, GrantFrame::Shared(31).idx(), r.s(9)),
        ("domu.grant", MapSpace::GrantTable, GrantFrame::Shared(32).idx(), r.s(10)),
        ("domu.grant", MapSpace::GrantTable, GrantFrame::Status(0).idx(), r.s(11)),
        ("domu.dev_mmio", MapSpace::DevMmio, 0xfee00, r.s(12)),
        ("domu.foreign_single", MapSpace::GmfnForeign, 0, r.s(13)),
        ("domu.bad_space", MapSpace::Other(9), 0, r.s(14)),
        ("domu.shared_info", MapSpace::SharedInfo, 0, Gfn::INVALID),
    ];
    for (case, space, idx, gfn) in cases {
        let v = r.xen().add_to_physmap(me, space, idx, gfn);
        r.obs(
            case,
            format_args!("add_to_physmap(SELF, {}, {idx:#x}, {})", space_name(space), r.g(gfn)),
            R(v),
        );
    }
    for g in [r.s(8), r.s(9)] {
        let v = r.xen().remove_from_physmap(me, g);
        r.obs("domu.grant", format_args!("remove_from_physmap(SELF, {})", r.g(g)), R(v));
    }
    // Move one of its own pages (x86 gmfn), then a range of size 0 and one that wraps.
    let n = r.xen().populate_physmap(me, 0, MemFlags::empty(), &mut [r.s(16)]);
    r.obs("domu.gmfn", format_args!("populate(SELF, order 0, 1 at s+16)"), N(n));
    let v = r.xen().add_to_physmap(me, MapSpace::Gmfn, r.s(16).0, r.s(17));
    r.obs("domu.gmfn", format_args!("add_to_physmap(SELF, gmfn, s+16, s+17)"), R(v));
    let v = r.xen().add_to_physmap_range(me, r.s(17), r.s(18), 0);
    r.obs("domu.gmfn", format_args!("add_to_physmap_range(SELF, s+17, s+18, size 0)"), R(v));
    let v = r.xen().add_to_physmap_range(me, Gfn(u64::MAX - 1), r.s(18), 4);
    r.obs("domu.gmfn", format_args!("add_to_physmap_range(SELF, ~1, s+18, size 4)"), R(v));
    let n = r.xen().decrease_reservation(me, 0, &[r.s(17)]);
    r.obs("domu.gmfn", format_args!("decrease_reservation(SELF, order 0, [s+17])"), N(n));
}

fn space_name(s: MapSpace) -> &'static str {
    s.name().unwrap_or("unknown-space")
}

fn populate_targets<P: Platform>(r: &mut Run<'_, P>, t: &([DomId; 5], usize)) {
    for (i, d) in each(t).enumerate() {
        let g = r.s(20 + i as u64);
        let n = r.xen().populate_physmap(d, 0, MemFlags::empty(), &mut [g]);
        r.obs("domu.populate", format_args!("populate({}, order 0, 1 at {})", r.d(d), r.g(g)), N(n));
        let n = r.xen().increase_reservation(d, 0, MemFlags::empty(), 1);
        r.obs("domu.increase", format_args!("increase_reservation({}, order 0, 1)", r.d(d)), N(n));
    }
    let n = r.xen().populate_physmap(DomId::IO, 0, MemFlags::empty(), &mut [r.s(30)]);
    r.obs("domu.populate", format_args!("populate(DOMID_IO, order 0, 1)"), N(n));
    let b = r.peek::<8>(r.s(20));
    r.obs("domu.populate", format_args!("read s+20"), b);
    // Give the pages back so the fill below starts from the builder's count.
    let n = r.xen().decrease_reservation(DomId::SELF, 0, &[r.s(20), r.s(21)]);
    r.obs("domu.populate", format_args!("decrease_reservation(SELF, order 0, [s+20, s+21])"), N(n));
}

fn orders_and_flags<P: Platform>(r: &mut Run<'_, P>) {
    let none = MemFlags::empty();
    for (order, at) in [(9u32, FILL_BASE), (10, FILL_BASE + 0x400), (12, FILL_BASE + 0x1000)] {
        let n = r.xen().populate_physmap(DomId::SELF, order, none, &mut [Gfn(at)]);
        r.obs("domu.order", format_args!("populate(SELF, order {order}, 1)"), N(n));
        if n == Ok(1) {
            let n = r.xen().decrease_reservation(DomId::SELF, order, &[Gfn(at)]);
            r.obs("domu.order", format_args!("decrease_reservation(SELF, order {order})"), N(n));
        }
    }
    let n = r.xen().increase_reservation(DomId::SELF, 10, none, 1);
    r.obs("domu.order", format_args!("increase_reservation(SELF, order 10, 1)"), N(n));
    let n = r.xen().decrease_reservation(DomId::SELF, 10, &[Gfn(FILL_BASE)]);
    r.obs("domu.order", format_args!("decrease_reservation(SELF, order 10, [hole])"), N(n));
    let flagged = [
        ("address_bits 12", none.with_address_bits(12)),
        ("address_bits 40", none.with_address_bits(40)),
        ("node 0", none.with_node(0)),
        ("node 200", none.with_node(200)),
        ("exact node 0", none.with_node(0).exact_node()),
        ("vnode 0", none.with_node(0).vnode()),
        ("populate_on_demand", none.populate_on_demand()),
    ];
    let mut got = [Gfn(0); 7];
    for (i, (name, flags)) in flagged.into_iter().enumerate() {
        let g = r.s(32 + i as u64);
        let n = r.xen().populate_physmap(DomId::SELF, 0, flags, &mut [g]);
        r.obs("domu.flags", format_args!("populate(SELF, order 0, {name})"), N(n));
        got[i] = g;
    }
    let n = r.xen().decrease_reservation(DomId::SELF, 0, &got);
    r.obs("domu.flags", format_args!("decrease_reservation(SELF, order 0, the 7)"), N(n));
}

/// Populate up to the domain's limit and one page past it, then free it all again.
fn fill_to_max<P: Platform>(r: &mut Run<'_, P>) {
    let (Ok(cur), Ok(max)) =
        (r.xen().current_reservation(DomId::SELF), r.xen().maximum_reservation(DomId::SELF))
    else {
        return r.obs("domu.max_pages", format_args!("reservation queries"), "error");
    };
    let room = max.saturating_sub(cur);
    if room == 0 || room > 0x1_0000 {
        return r.obs("domu.max_pages", format_args!("room below max_pages"), "out-of-range");
    }
    // One order-0 extent per page of room, plus two past the limit; in chunks of 512 so the
    // array stays on the stack.
    let mut done = 0u64;
    let mut chunk = [Gfn(0); 512];
    let want = room + 2;
    let mut stopped = false;
    while done < want && !stopped {
        let k = (want - done).min(512) as usize;
        for (i, g) in chunk[..k].iter_mut().enumerate() {
            *g = Gfn(FILL_BASE + done + i as u64);
        }
        match r.xen().populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut chunk[..k]) {
            Ok(n) => {
                done += n as u64;
                stopped = n < k;
            }
            Err(_) => stopped = true,
        }
    }
    let shown = match done.cmp(&room) {
        core::cmp::Ordering::Equal => "n=room",
        core::cmp::Ordering::Less => "n<room",
        core::cmp::Ordering::Greater => "n>room",
    };
    r.obs("domu.max_pages", format_args!("populate(SELF, order 0, room+2 pages)"), shown);
    let v = r.xen().current_reservation(DomId::SELF);
    let shown = if v == Ok(max) { "=max" } else { "!=max" };
    r.obs("domu.max_pages", format_args!("current_reservation(SELF)"), shown);
    let n = r.xen().increase_reservation(DomId::SELF, 0, MemFlags::empty(), 1);
    r.obs("domu.max_pages", format_args!("increase_reservation(SELF, order 0, 1) at max"), N(n));
    let mut freed = 0u64;
    let mut at = 0u64;
    while at < done {
        let k = (done - at).min(512) as usize;
        for (i, g) in chunk[..k].iter_mut().enumerate() {
            *g = Gfn(FILL_BASE + at + i as u64);
        }
        freed += r.xen().decrease_reservation(DomId::SELF, 0, &chunk[..k]).unwrap_or(0) as u64;
        at += k as u64;
    }
    let shown = if freed == done { "n=all" } else { "n<all" };
    r.obs("domu.max_pages", format_args!("decrease_reservation(SELF, all filled)"), shown);
    let v = r.xen().current_reservation(DomId::SELF);
    let shown = if v == Ok(cur) { "=before" } else { "!=before" };
    r.obs("domu.max_pages", format_args!("current_reservation(SELF)"), shown);
}

/// decrease_reservation of present, absent and partly absent extents, and of others.
fn decrease<P: Platform>(r: &mut Run<'_, P>, t: &([DomId; 5], usize)) {
    let me = DomId::SELF;
    let mut three = [r.s(40), r.s(41), r.s(42)];
    let n = r.xen().populate_physmap(me, 0, MemFlags::empty(), &mut three);
    r.obs("domu.decrease", format_args!("populate(SELF, order 0, 3 at s+40)"), N(n));
    let cases: [(&str, [Gfn; 3], usize); 4] = [
        ("present", [r.s(40), r.s(41), r.s(0)], 2),
        ("absent", [r.s(40), r.s(0), r.s(0)], 1),
        ("partly absent", [r.s(42), r.s(43), r.s(0)], 2),
        ("absent again", [r.s(42), r.s(0), r.s(0)], 1),
    ];
    for (name, g, k) in cases {
        let n = r.xen().decrease_reservation(me, 0, &g[..k]);
        r.obs("domu.decrease", format_args!("decrease_reservation(SELF, order 0, {name})"), N(n));
    }
    // Its own page, named by its own id; the others' gfn 0x100 (the sibling has RAM there).
    let n = r.xen().populate_physmap(me, 0, MemFlags::empty(), &mut [r.s(44)]);
    r.obs("domu.decrease", format_args!("populate(SELF, order 0, 1 at s+44)"), N(n));
    for d in each(t).skip(1) {
        let g = if d.raw() == r.cfg().self_id { r.s(44) } else { Gfn(0x100) };
        let n = r.xen().decrease_reservation(d, 0, &[g]);
        r.obs("domu.decrease", format_args!("decrease_reservation({}, order 0, [{}])", r.d(d), r.g(g)), N(n));
    }
}

fn batch<P: Platform>(r: &mut Run<'_, P>, t: &([DomId; 5], usize)) {
    let one = [0u64];
    for d in each(t) {
        let mut errs = [EntryStatus::NOT_DONE; 1];
        let v = r.xen().add_to_physmap_batch(d, MapSpace::SharedInfo, DomId(0), &one, &[r.s(64)], &mut errs);
        r.obs("domu.batch", format_args!("batch({}, shared_info, [0] at s+64)", r.d(d)), Batch(v, &errs));
        let _ = r.xen().remove_from_physmap(DomId::SELF, r.s(64));
    }
    for d in each(t) {
        let mut errs = [EntryStatus::NOT_DONE; 1];
        let v = r.xen().map_foreign_batch(DomId::SELF, d, &[Gfn(0x100)], &[r.s(65)], &mut errs);
        r.obs(
            "domu.foreign",
            format_args!("batch(SELF, foreign {}, [0x100] at s+65)", r.d(d)),
            Batch(v, &errs),
        );
    }
    let mut errs = [EntryStatus::NOT_DONE; 1];
    let v =
        r.xen().add_to_physmap_batch(DomId::SELF, MapSpace::GmfnRange, DomId(0), &one, &[r.s(66)], &mut errs);
    r.obs("domu.batch", format_args!("batch(SELF, gmfn_range)"), Batch(v, &errs));
    let mut errs = [EntryStatus::NOT_DONE; 3];
    let v = r.xen().add_to_physmap_batch(
        DomId::SELF,
        MapSpace::GrantTable,
        DomId(0),
        &[0, 40, 1],
        &[r.s(67), r.s(68), r.s(69)],
        &mut errs,
    );
    r.obs("domu.batch", format_args!("batch(SELF, grant_table, [0,40,1] at s+67..)"), Batch(v, &errs));
    for g in [r.s(67), r.s(69)] {
        let v = r.xen().remove_from_physmap(DomId::SELF, g);
        r.obs("domu.batch", format_args!("remove_from_physmap(SELF, {})", r.g(g)), R(v));
    }
}

fn acquire<P: Platform>(r: &mut Run<'_, P>, t: &([DomId; 5], usize)) {
    for d in each(t) {
        let v = r.xen().acquire_resource_size(d, ResourceType::GrantTable, 0);
        r.obs("domu.acquire", format_args!("size({}, grant_table, id 0)", r.d(d)), N(v));
        let mut list = [r.s(80)];
        let v = r.xen().acquire_resource(d, ResourceType::GrantTable, 0, 0, &mut list);
        r.obs("domu.acquire", format_args!("map({}, grant_table, id 0, frame 0)", r.d(d)), R(v));
    }
}

fn domctl<P: Platform>(r: &mut Run<'_, P>) {
    let v = r.xen().create_domain(DomId(0), &crate::dom0::domu_body(r.arch())).map(drop);
    r.obs("domu.domctl", format_args!("createdomain"), R(v));
    let v = r.xen().domain_info(DomId(0)).map(drop);
    r.obs("domu.domctl", format_args!("getdomaininfo(d0)"), R(v));
    let v = r.xen().set_max_mem(DomId(r.cfg().self_id), 1 << 30);
    r.obs("domu.domctl", format_args!("max_mem(OWN, 1 GiB)"), R(v));
}
