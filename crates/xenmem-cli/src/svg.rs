//! `--svg FILE`: each domain's guest-physical map as one bar, one colour per kind of entry,
//! and every foreign mapping linked by an arrow to the frames of its owner.
//!
//! Guest-physical maps are sparse (RAM at 0, a foreign window at 4 GiB), so the GFN axis is
//! compressed: each mapped run gets a width that grows with the logarithm of its length, and
//! the holes between runs shrink to a fixed break mark. The first GFN of every run is printed
//! under it, so the picture still reads as an address map.

use crate::exec::{DomainView, Report};
use crate::table::kind_name;
use std::fmt::Write;
use xenmem_sim::{EntryKind, PhysmapRange};

const WIDTH: f64 = 1100.0;
const LABEL_W: f64 = 210.0;
const BAR_X: f64 = LABEL_W + 20.0;
const BAR_W: f64 = WIDTH - BAR_X - 30.0;
const BAR_H: f64 = 34.0;
const ROW_H: f64 = 150.0;
const TOP: f64 = 70.0;
const GAP_W: f64 = 16.0;

/// The kinds, their colours and legend names.
const KINDS: [(&str, &str); 9] = [
    ("RAM", "#4e79a7"),
    ("foreign", "#f28e2b"),
    ("grant table", "#59a14f"),
    ("grant status", "#a0cbe8"),
    ("shared info", "#b07aa1"),
    ("ioreq page", "#e15759"),
    ("trace buffer", "#9c755f"),
    ("MMIO", "#bab0ac"),
    ("populate on demand", "#edc948"),
];

fn kind_index(k: EntryKind) -> usize {
    match k {
        EntryKind::Ram => 0,
        EntryKind::Foreign { .. } => 1,
        EntryKind::GrantShared { .. } => 2,
        EntryKind::GrantStatus { .. } => 3,
        EntryKind::SharedInfo { .. } => 4,
        EntryKind::IoreqPage { .. } => 5,
        EntryKind::VmtraceBuf { .. } => 6,
        EntryKind::Mmio { .. } => 7,
        EntryKind::PopulateOnDemand => 8,
    }
}

/// Whose frames an entry shows, when they are another domain's.
fn owner(k: EntryKind, me: u16) -> Option<u16> {
    let o = match k {
        EntryKind::Foreign { owner }
        | EntryKind::GrantShared { owner, .. }
        | EntryKind::GrantStatus { owner, .. }
        | EntryKind::SharedInfo { owner }
        | EntryKind::VmtraceBuf { owner, .. } => owner.0,
        EntryKind::IoreqPage { target, .. } => target.0,
        EntryKind::Ram | EntryKind::Mmio { .. } | EntryKind::PopulateOnDemand => return None,
    };
    (o != me).then_some(o)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One run placed on the compressed axis.
struct Seg {
    range: PhysmapRange,
    x: f64,
    w: f64,
}

/// Places a domain's runs: width by log2 of length, a break between runs that do not touch.
fn layout(ranges: &[PhysmapRange]) -> Vec<Seg> {
    let gaps = ranges.windows(2).filter(|p| p[0].first_gfn.0 + p[0].count != p[1].first_gfn.0).count();
    let weights: Vec<f64> = ranges.iter().map(|r| 1.0 + (r.count as f64).log2()).collect();
    let total: f64 = weights.iter().sum();
    let room = BAR_W - gaps as f64 * GAP_W;
    let mut x = BAR_X;
    let mut out = Vec::new();
    for (i, r) in ranges.iter().enumerate() {
        if i > 0 {
            let p = &ranges[i - 1];
            if p.first_gfn.0 + p.count != r.first_gfn.0 {
                x += GAP_W;
            }
        }
        let w = room * weights[i] / total;
        out.push(Seg { range: *r, x, w });
        x += w;
    }
    out
}

/// The x of the middle of GFNs `gfn..gfn+count` on a placed row.
fn x_of(segs: &[Seg], gfn: u64, count: u64) -> Option<f64> {
    let s = segs.iter().find(|s| gfn >= s.range.first_gfn.0 && gfn < s.range.first_gfn.0 + s.range.count)?;
    let per = s.w / s.range.count as f64;
    Some(s.x + (gfn - s.range.first_gfn.0) as f64 * per + per * count.min(s.range.count) as f64 / 2.0)
}

fn row_y(i: usize) -> f64 {
    TOP + i as f64 * ROW_H
}

/// The picture of a run's final state.
pub fn render(r: &Report) -> String {
    let rows: Vec<(&DomainView, Vec<Seg>)> = r.domains.iter().map(|d| (d, layout(&d.ranges))).collect();
    let height = TOP + rows.len() as f64 * ROW_H + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Verdana, sans-serif">"##
    );
    let _ = writeln!(
        s,
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(s, r##"<text x="20" y="30" font-size="18" font-weight="bold">{}</text>"##, esc(&r.name));
    let _ = writeln!(
        s,
        r##"<text x="20" y="50" font-size="12" fill="#555">guest-physical maps, GFN axis compressed (run width ~ log2 of its length, holes shown as breaks); machine {} with {} frames</text>"##,
        r.arch, r.frames
    );
    for (i, (d, segs)) in rows.iter().enumerate() {
        row(&mut s, r, i, d, segs);
    }
    // Links last, so they are drawn over the bars.
    for (i, (d, segs)) in rows.iter().enumerate() {
        links(&mut s, &rows, i, d, segs);
    }
    legend(&mut s, height - 55.0);
    s.push_str("</svg>\n");
    s
}

fn row(s: &mut String, r: &Report, i: usize, d: &DomainView, segs: &[Seg]) {
    let y = row_y(i);
    let title =
        if d.name == format!("d{}", d.id) { d.name.clone() } else { format!("{} (d{})", d.name, d.id) };
    let _ = writeln!(
        s,
        r##"<text x="20" y="{}" font-size="15" font-weight="bold">{}</text>"##,
        y + 14.0,
        esc(&title)
    );
    let sub = match &d.info {
        None => "gone".to_string(),
        Some(info) => {
            let mut roles = String::from(kind_name(r, info.kind));
            if info.control {
                roles.push_str(", control");
            }
            if info.hardware {
                roles.push_str(", hardware");
            }
            if info.dying {
                roles.push_str(", dying");
            }
            roles
        }
    };
    let _ = writeln!(s, r##"<text x="20" y="{}" font-size="12" fill="#444">{}</text>"##, y + 30.0, esc(&sub));
    if let Some(info) = &d.info {
        let _ = writeln!(
            s,
            r##"<text x="20" y="{}" font-size="12" fill="#444">owns {} pages, {} mapped</text>"##,
            y + 46.0,
            info.tot_pages,
            info.mapped
        );
    }
    // The axis line, so an empty map still shows where it would be.
    let _ = writeln!(
        s,
        r##"<line x1="{BAR_X}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="1"/>"##,
        y + BAR_H / 2.0,
        BAR_X + BAR_W,
        y + BAR_H / 2.0
    );
    if segs.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" font-size="12" fill="#777">(nothing mapped)</text>"##,
            BAR_X + 8.0,
            y + BAR_H / 2.0 - 6.0
        );
    }
    for (k, g) in segs.iter().enumerate() {
        let (name, colour) = KINDS[kind_index(g.range.kind)];
        let what = crate::table::kind_text(r, d.id, g.range.kind, g.range.count);
        let _ = writeln!(
            s,
            r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="{BAR_H}" fill="{colour}" stroke="white" stroke-width="1"><title>{:#x}-{:#x}: {} ({} pages)</title></rect>"##,
            g.x,
            g.w,
            g.range.first_gfn.0,
            g.range.first_gfn.0 + g.range.count - 1,
            esc(&what),
            g.range.count
        );
        let label =
            if g.range.count == 1 { name.to_string() } else { format!("{} x{}", name, g.range.count) };
        if g.w > label.len() as f64 * 6.5 + 6.0 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{}" font-size="11" fill="white" text-anchor="middle">{}</text>"##,
                g.x + g.w / 2.0,
                y + BAR_H / 2.0 + 4.0,
                esc(&label)
            );
        }
        // A break mark before a run that does not follow the previous one.
        if k > 0 {
            let p = &segs[k - 1];
            if p.range.first_gfn.0 + p.range.count != g.range.first_gfn.0 {
                let bx = g.x - GAP_W / 2.0;
                let _ = writeln!(
                    s,
                    r##"<path d="M{:.1},{} l-3,6 l6,8 l-6,8 l6,8 l-3,4" fill="none" stroke="#777" stroke-width="1.2"/>"##,
                    bx,
                    y + 1.0
                );
            }
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{}" font-size="10" fill="#333" transform="rotate(35 {:.1} {})">{:#x}</text>"##,
            g.x + 1.0,
            y + BAR_H + 12.0,
            g.x + 1.0,
            y + BAR_H + 12.0,
            g.range.first_gfn.0
        );
    }
}

/// Arrows from a domain's foreign runs to its owners' frames (or, for Xen pages of another
/// domain that the owner does not map, a dashed arrow to the owner's name).
fn links(s: &mut String, rows: &[(&DomainView, Vec<Seg>)], i: usize, d: &DomainView, segs: &[Seg]) {
    let y = row_y(i);
    let find = |id: u16| rows.iter().position(|(v, _)| v.id == id);
    for l in &d.links {
        let (Some(x0), Some(j)) = (x_of(segs, l.gfn, l.count), find(l.owner)) else { continue };
        let Some(x1) = x_of(&rows[j].1, l.owner_gfn, l.count) else { continue };
        let oy = row_y(j);
        let (y0, y1) = if j > i { (y + BAR_H, oy) } else { (y, oy + BAR_H) };
        let bend = (y1 - y0) * 0.5;
        let _ = writeln!(
            s,
            r##"<path d="M{x0:.1},{y0} C{x0:.1},{:.1} {x1:.1},{:.1} {x1:.1},{y1}" fill="none" stroke="#c0392b" stroke-width="1.6" marker-end="url(#arrow)"><title>{:#x}+{} maps d{} gfn {:#x}</title></path>"##,
            y0 + bend,
            y1 - bend,
            l.gfn,
            l.count,
            l.owner,
            l.owner_gfn
        );
    }
    for g in segs {
        let Some(o) = owner(g.range.kind, d.id) else { continue };
        if matches!(g.range.kind, EntryKind::Foreign { .. })
            && d.links.iter().any(|l| l.gfn == g.range.first_gfn.0)
        {
            continue;
        }
        let Some(j) = find(o) else { continue };
        let x0 = g.x + g.w / 2.0;
        let oy = row_y(j);
        let (y0, y1) = if j > i { (y + BAR_H, oy + 20.0) } else { (y, oy + 20.0) };
        let x1 = LABEL_W - 10.0;
        let _ = writeln!(
            s,
            r##"<path d="M{x0:.1},{y0} C{x0:.1},{:.1} {:.1},{y1} {x1:.1},{y1}" fill="none" stroke="#555" stroke-width="1.2" stroke-dasharray="5,4" marker-end="url(#arrow)"/>"##,
            (y0 + y1) / 2.0,
            x1 + 80.0
        );
    }
}

fn legend(s: &mut String, y: f64) {
    let mut x = 20.0;
    for (name, colour) in KINDS {
        let _ = writeln!(s, r##"<rect x="{x}" y="{y}" width="14" height="14" fill="{colour}"/>"##);
        let _ = writeln!(s, r##"<text x="{}" y="{}" font-size="12">{name}</text>"##, x + 19.0, y + 12.0);
        x += 30.0 + name.len() as f64 * 7.5;
    }
    // Second line: the two kinds of arrow.
    let (x, y) = (20.0, y + 24.0);
    let _ = writeln!(
        s,
        r##"<path d="M{x},{} l40,0" stroke="#c0392b" stroke-width="1.6" marker-end="url(#arrow)"/><text x="{}" y="{}" font-size="12">foreign mapping of the owner's frames</text>"##,
        y + 7.0,
        x + 46.0,
        y + 12.0
    );
    let x = x + 320.0;
    let _ = writeln!(
        s,
        r##"<path d="M{x},{} l40,0" stroke="#555" stroke-width="1.2" stroke-dasharray="5,4" marker-end="url(#arrow)"/><text x="{}" y="{}" font-size="12">a Xen page of another domain (grant, ioreq, shared info)</text>"##,
        y + 7.0,
        x + 46.0,
        y + 12.0
    );
}
