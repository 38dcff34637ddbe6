//! The readable report: one row per issued operation with its arguments and Xen's answer
//! (errno names, a batch's per-entry statuses), then each domain's physmap as compressed
//! ranges.

use crate::exec::{answer_text, entry_text, DomainView, Report, StepResult};
use std::fmt::Write;
use xenmem_sim::{DomainKind, EntryKind};

/// The whole report as text.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {} ({})", r.name, r.file);
    if let Some(d) = &r.description {
        for line in d.trim().lines() {
            let _ = writeln!(out, "  {}", line.trim());
        }
    }
    let _ = writeln!(
        out,
        "machine: {}, {} frames of RAM, Xen {}; {} domains",
        r.arch,
        r.frames,
        r.xen,
        r.domains.len()
    );
    let _ = writeln!(out);
    steps(&mut out, r);
    let _ = writeln!(out);
    for d in &r.domains {
        physmap(&mut out, r, d);
    }
    let bad = r.mismatches().count();
    let _ = writeln!(
        out,
        "{} operations, {} hypercalls, {}",
        r.steps.len(),
        r.hypercalls,
        if bad == 0 { "every expectation met".to_string() } else { format!("{bad} MISMATCHED") }
    );
    out
}

fn step_no(s: &StepResult) -> String {
    match s.rep {
        Some(k) => format!("{}.{}", s.index, k + 1),
        None => s.index.to_string(),
    }
}

fn call_text(s: &StepResult) -> String {
    let args: Vec<String> = s.args.iter().map(|a| format!("{}={}", a.name, a.text)).collect();
    format!("{}({})", s.op, args.join(" "))
}

fn answer_cell(s: &StepResult) -> String {
    let mut a = answer_text(&s.answer, s.op);
    if let Some(errs) = &s.errs {
        let e: Vec<String> = errs.iter().map(|&x| entry_text(x)).collect();
        let _ = write!(a, "; errs [{}]", e.join(", "));
    }
    if let Some(m) = &s.mfns {
        let v: Vec<u64> = m.iter().map(|x| x.0).collect();
        let _ = write!(a, "; mfns {}", crate::exec::frames_text(&v));
    }
    a
}

fn steps(out: &mut String, r: &Report) {
    let rows: Vec<[String; 5]> = r
        .steps
        .iter()
        .map(|s| {
            let check = match (&s.expected, &s.mismatch) {
                (_, Some(_)) => "MISMATCH".to_string(),
                (Some(e), None) => format!("as expected ({e})"),
                (None, None) => String::new(),
            };
            [step_no(s), r.name_of(s.by), call_text(s), answer_cell(s), check]
        })
        .collect();
    let head = ["step", "by", "operation", "answer", "check"];
    let mut w = head.map(str::len);
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |out: &mut String, c: &[String; 5]| {
        let _ = writeln!(
            out,
            "{:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
    };
    line(out, &head.map(str::to_string));
    for (s, row) in r.steps.iter().zip(&rows) {
        line(out, row);
        let pad = " ".repeat(w[0] + 2);
        if let Some(m) = &s.mismatch {
            let _ = writeln!(out, "{pad}^ step {} (line {}): {m}", step_no(s), s.line);
        }
        if let Some(n) = &s.note {
            if s.rep.is_none_or(|k| k == 0) {
                let _ = writeln!(out, "{pad}  note: {n}");
            }
        }
    }
}

/// `d1 (guest)` style name of a domain.
fn who(r: &Report, id: u16) -> String {
    let name = r.name_of(id);
    if name == format!("d{id}") {
        name
    } else {
        format!("{name} (d{id})")
    }
}

/// What a run of the physmap holds, in words.
pub fn kind_text(r: &Report, d: u16, kind: EntryKind, count: u64) -> String {
    let of = |o: xenmem::DomId| if o.0 == d { "own".to_string() } else { format!("of {}", who(r, o.0)) };
    let frames = |f: u32| {
        if count > 1 {
            format!("frames {}-{}", f, u64::from(f) + count - 1)
        } else {
            format!("frame {f}")
        }
    };
    match kind {
        EntryKind::Ram => "RAM".to_string(),
        EntryKind::Foreign { owner } => format!("foreign from {}", who(r, owner.0)),
        EntryKind::GrantShared { owner, frame } => format!("grant table {} ({})", frames(frame), of(owner)),
        EntryKind::GrantStatus { owner, frame } => format!("grant status {} ({})", frames(frame), of(owner)),
        EntryKind::SharedInfo { owner } => format!("shared info ({})", of(owner)),
        EntryKind::IoreqPage { target, server, frame } => {
            format!("ioreq server {server} {} ({})", frames(frame), of(target))
        }
        EntryKind::VmtraceBuf { owner, vcpu, frame } => {
            format!("trace buffer vcpu {vcpu} {} ({})", frames(frame), of(owner))
        }
        EntryKind::Mmio { mfn } => format!("MMIO from mfn {:#x}", mfn.0),
        EntryKind::PopulateOnDemand => "populate on demand".to_string(),
    }
}

/// A domain kind's name; on arm64 every domain is simply translated.
pub fn kind_name(r: &Report, k: DomainKind) -> &'static str {
    if r.arch == "arm64" {
        return "Arm guest (translated)";
    }
    match k {
        DomainKind::Pv => "PV",
        DomainKind::Pvh => "PVH",
        DomainKind::Hvm => "HVM",
    }
}

fn physmap(out: &mut String, r: &Report, d: &DomainView) {
    let Some(info) = &d.info else {
        let _ = writeln!(out, "physmap of {}: the domain is gone\n", who(r, d.id));
        return;
    };
    let mut roles = Vec::new();
    if info.control {
        roles.push("control");
    }
    if info.hardware {
        roles.push("hardware");
    }
    if info.dying {
        roles.push("dying");
    }
    let max = if info.max_pages >= u64::from(u32::MAX) {
        "unlimited".to_string()
    } else {
        info.max_pages.to_string()
    };
    let _ = writeln!(
        out,
        "physmap of {}: {}{}{}, owns {} pages (max {max}), {} mapped in {} ranges",
        who(r, d.id),
        kind_name(r, info.kind),
        if roles.is_empty() { "" } else { ", " },
        roles.join("+"),
        info.tot_pages,
        info.mapped,
        d.ranges.len(),
    );
    if d.ranges.is_empty() {
        let _ = writeln!(out, "  (empty)");
    }
    let w = d.ranges.iter().map(|x| format!("{:#x}", x.first_gfn.0 + x.count - 1).len()).max().unwrap_or(3);
    for x in &d.ranges {
        let first = x.first_gfn.0;
        let last = first + x.count - 1;
        let range = if x.count == 1 { format!("{first:#x}") } else { format!("{first:#x}-{last:#x}") };
        let mut what = kind_text(r, d.id, x.kind, x.count);
        let links: Vec<String> = d
            .links
            .iter()
            .filter(|l| l.gfn >= first && l.gfn <= last)
            .map(|l| {
                if l.count == 1 {
                    format!("{:#x}", l.owner_gfn)
                } else {
                    format!("{:#x}-{:#x}", l.owner_gfn, l.owner_gfn + l.count - 1)
                }
            })
            .collect();
        if !links.is_empty() {
            let _ = write!(what, " gfn {}", links.join(", "));
        }
        let _ = writeln!(out, "  {range:<width$}  {:>8}  {what}", x.count, width = 2 * w + 1);
    }
    let _ = writeln!(out);
}
