//! `--json`: the same report as the table, for scripts. Numbers stay numbers; errno values
//! come with both their name and their raw code.

use crate::exec::{answer_text, request_text, Answer, DomainView, IoAnswer, Report, StepResult};
use crate::table::kind_text;
use serde_json::{json, Map, Value};
use xenmem::ioreq::{IoDir, Request};
use xenmem::XenError;
use xenmem_sim::{EntryKind, IoOutcome};

/// The whole report as one JSON document.
pub fn render(r: &Report) -> Value {
    json!({
        "scenario": { "name": r.name, "file": r.file, "description": r.description },
        "machine": { "arch": r.arch, "frames": r.frames, "xen": r.xen },
        "steps": r.steps.iter().map(|s| step(r, s)).collect::<Vec<_>>(),
        "domains": r.domains.iter().map(|d| domain(r, d)).collect::<Vec<_>>(),
        "operations": r.steps.len(),
        "hypercalls": r.hypercalls,
        "mismatches": r.mismatches().count(),
    })
}

/// An errno as `{ "errno": 3, "name": "ESRCH" }`.
pub fn errno(e: XenError) -> Value {
    json!({ "errno": e.errno(), "name": e.name() })
}

fn answer(a: &Answer, op: &str) -> Value {
    let text = answer_text(a, op);
    match a {
        Answer::Ok => json!({ "result": "ok", "text": text }),
        Answer::Count(n) => json!({ "result": "count", "value": n, "text": text }),
        Answer::Pages(n) => {
            json!({ "result": "pages", "value": n, "unlimited": *n == u64::from(u32::MAX), "text": text })
        }
        Answer::Gfn(g) => json!({ "result": "gfn", "value": g, "text": text }),
        Answer::Bytes(b) => json!({ "result": "bytes", "value": b, "text": text }),
        Answer::Xen(e) => json!({ "result": "error", "error": errno(*e), "text": text }),
        Answer::Lib(i) => json!({
            "result": "library_refusal",
            "reason": format!("{i:?}"),
            "message": i.message(),
            "text": text,
        }),
        Answer::Unmapped => json!({ "result": "unmapped", "text": text }),
        Answer::Server(id) => json!({ "result": "server", "value": id, "text": text }),
        Answer::Port(p) => json!({ "result": "port", "value": p, "text": text }),
        Answer::Io(io) => io_json(io, text),
        Answer::Refused(why) => json!({ "result": "refused", "message": why, "text": text }),
    }
}

fn request_json(r: &Request) -> Value {
    json!({
        "addr": r.addr,
        "size": r.size,
        "count": r.count,
        "dir": if r.dir == IoDir::Read { "read" } else { "write" },
        "type": r.io_type.raw(),
        "data": r.data,
        "vp_eport": r.vp_eport,
        "text": request_text(r),
    })
}

fn io_json(io: &IoAnswer, text: String) -> Value {
    let (outcome, value, server) = match io.outcome {
        IoOutcome::Done { value, server } => ("done", value, server),
        IoOutcome::Waiting { server } => ("waiting", None, Some(server)),
        IoOutcome::Fault => ("fault", None, None),
        IoOutcome::Crashed => ("crashed", None, None),
    };
    json!({
        "result": "io",
        "outcome": outcome,
        "value": value,
        "server": server,
        "request": io.request.as_ref().map(request_json),
        "note": io.note,
        "text": text,
    })
}

fn step(r: &Report, s: &StepResult) -> Value {
    let mut args = Map::new();
    for a in &s.args {
        args.insert(a.name.to_string(), a.json.clone());
    }
    let errs = s.errs.as_ref().map(|v| {
        v.iter()
            .map(|e| match e.result() {
                None => json!({ "result": "not_reached" }),
                Some(Ok(())) => json!({ "result": "ok" }),
                Some(Err(x)) => json!({ "result": "error", "error": errno(x) }),
            })
            .collect::<Vec<_>>()
    });
    json!({
        "step": s.index,
        "repetition": s.rep,
        "line": s.line,
        "by": { "id": s.by, "name": r.name_of(s.by) },
        "op": s.op,
        "args": args,
        "answer": answer(&s.answer, s.op),
        "errs": errs,
        "mfns": s.mfns.as_ref().map(|m| m.iter().map(|x| x.0).collect::<Vec<_>>()),
        "expected": s.expected,
        "mismatch": s.mismatch,
        "note": s.note,
    })
}

fn kind_json(k: EntryKind) -> Value {
    match k {
        EntryKind::Ram => json!({ "kind": "ram" }),
        EntryKind::Foreign { owner } => json!({ "kind": "foreign", "owner": owner.0 }),
        EntryKind::GrantShared { owner, frame } => {
            json!({ "kind": "grant_shared", "owner": owner.0, "frame": frame })
        }
        EntryKind::GrantStatus { owner, frame } => {
            json!({ "kind": "grant_status", "owner": owner.0, "frame": frame })
        }
        EntryKind::SharedInfo { owner } => json!({ "kind": "shared_info", "owner": owner.0 }),
        EntryKind::IoreqPage { target, server, frame } => {
            json!({ "kind": "ioreq_page", "owner": target.0, "server": server, "frame": frame })
        }
        EntryKind::VmtraceBuf { owner, vcpu, frame } => {
            json!({ "kind": "vmtrace_buf", "owner": owner.0, "vcpu": vcpu, "frame": frame })
        }
        EntryKind::Mmio { mfn } => json!({ "kind": "mmio", "mfn": mfn.0 }),
        EntryKind::PopulateOnDemand => json!({ "kind": "populate_on_demand" }),
    }
}

fn domain(r: &Report, d: &DomainView) -> Value {
    let ranges: Vec<Value> = d
        .ranges
        .iter()
        .map(|x| {
            let mut v = kind_json(x.kind);
            if let Value::Object(m) = &mut v {
                m.insert("first_gfn".into(), x.first_gfn.0.into());
                m.insert("last_gfn".into(), (x.first_gfn.0 + x.count - 1).into());
                m.insert("count".into(), x.count.into());
                m.insert("text".into(), kind_text(r, d.id, x.kind, x.count).into());
            }
            v
        })
        .collect();
    let links: Vec<Value> = d
        .links
        .iter()
        .map(|l| json!({ "gfn": l.gfn, "count": l.count, "owner": l.owner, "owner_gfn": l.owner_gfn }))
        .collect();
    match &d.info {
        None => json!({ "id": d.id, "name": d.name, "gone": true, "physmap": ranges }),
        Some(i) => json!({
            "id": d.id,
            "name": d.name,
            "gone": false,
            "kind": format!("{:?}", i.kind).to_lowercase(),
            "translated": i.translated,
            "control": i.control,
            "hardware": i.hardware,
            "dying": i.dying,
            "tot_pages": i.tot_pages,
            "max_pages": i.max_pages,
            "mapped": i.mapped,
            "physmap": ranges,
            "foreign_links": links,
        }),
    }
}
