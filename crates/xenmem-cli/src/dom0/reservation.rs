//! `reservation DOMAIN`: current and maximum reservation and the highest GFN.

use super::*;

/// `reservation DOMAIN`.
pub fn reservation(o: &Opts, a: &DomainArgs) -> Result<(), Failure> {
    let d = domain_arg(o, &a.domain)?;
    with_admin!(o, |adm| reservation_on(&adm, o.json, d))
}

fn reservation_on<A: Admin>(adm: &A, json: bool, d: DomId) -> Result<(), Failure> {
    let xen = adm.xen();
    let cur = xen.current_reservation(d);
    let max = xen.maximum_reservation(d);
    let top = xen.maximum_gpfn(d).map(|g| g.0);
    let failed = cur.is_err() || max.is_err() || top.is_err();
    let (xen_text, xen_json) = xen_release(xen);
    if json {
        let v = |r: Result<u64, Error>, unlimited: bool| match r {
            Ok(n) if unlimited && n == u64::from(u32::MAX) => json!({ "value": n, "unlimited": true }),
            Ok(n) => json!({ "value": n }),
            Err(e) => json!({ "error": err_json(e) }),
        };
        out(&format!(
            "{:#}\n",
            json!({
                "domain": d.raw(),
                "current_reservation": v(cur, false),
                "maximum_reservation": v(max, true),
                "maximum_gpfn": v(top, false),
                "xen": xen_json,
            })
        ));
    } else {
        let mut s = String::new();
        let line = |s: &mut String, call: &str, r: Result<String, Error>| {
            let _ = match r {
                Ok(v) => writeln!(s, "{call}({}) = {v}", dname(d)),
                Err(e) => writeln!(s, "{call}({}) -> {}", dname(d), err_text(e)),
            };
        };
        line(&mut s, "current_reservation", cur.map(|n| format!("{n} pages ({} KiB)", n * 4)));
        line(
            &mut s,
            "maximum_reservation",
            max.map(|n| {
                if n == u64::from(u32::MAX) {
                    "unlimited".to_string()
                } else {
                    format!("{n} pages ({} KiB)", n * 4)
                }
            }),
        );
        line(&mut s, "maximum_gpfn", top.map(|g| format!("{g:#x}")));
        let _ = writeln!(s, "xen_version = {xen_text}");
        out(&s);
    }
    if failed {
        Err(Failure::Failed)
    } else {
        Ok(())
    }
}
