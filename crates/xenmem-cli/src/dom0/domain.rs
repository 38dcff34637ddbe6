//! `domain create|info|destroy`: scratch domains, as a toolstack makes them.

use super::*;

/// `domain create|info|destroy`.
pub fn domain(o: &Opts, c: &DomainCommand) -> Result<(), Failure> {
    match c {
        DomainCommand::Create { pages, at, max_kib, grant_frames } => {
            let pages = parse_num("--pages", pages, 1 << 16)?;
            let at = Gfn(parse_num("--at", at, u64::MAX - pages)?);
            let max_kib = parse_num("--max-kib", max_kib, u64::MAX)?;
            let grant_frames = parse_num("--grant-frames", grant_frames, 64)? as i32;
            with_admin!(o, |adm| create_on(&adm, o.json, pages, at, max_kib, grant_frames))
        }
        DomainCommand::Info(a) => {
            let d = domain_arg(o, &a.domain)?;
            with_admin!(o, |adm| info_on(&adm, o.json, d))
        }
        DomainCommand::Destroy(a) => {
            let d = domain_arg(o, &a.domain)?;
            with_admin!(o, |adm| {
                let r = adm.xen().destroy_domain(d);
                match r {
                    Ok(()) if o.json => {
                        out(&format!("{:#}\n", json!({ "domain": d.raw(), "destroyed": true })))
                    }
                    Err(e) if o.json => {
                        out(&format!("{:#}\n", json!({ "domain": d.raw(), "error": err_json(e) })))
                    }
                    Ok(()) => out(&format!("destroy_domain({}) = ok\n", dname(d))),
                    Err(e) => out(&format!("destroy_domain({}) -> {}\n", dname(d), err_text(e))),
                }
                r.map_err(|_| Failure::Failed)
            })
        }
    }
}

fn create_on<A: Admin>(
    adm: &A,
    json: bool,
    pages: u64,
    at: Gfn,
    max_kib: u64,
    grant_frames: i32,
) -> Result<(), Failure> {
    let xen = adm.xen();
    let cfg = xenmem::domctl::pvh_domu(1, grant_frames);
    let d = match xen.create_domain(DomId(0), &cfg) {
        Ok(d) => d,
        Err(e) => {
            out(&format!("create_domain(pvh, 1 vcpu, {grant_frames} grant frames) -> {}\n", err_text(e)));
            return Err(Failure::Failed);
        }
    };
    let mut gfns: Vec<Gfn> = (0..pages).map(|i| Gfn(at.0 + i)).collect();
    let steps = (|| -> Result<(), String> {
        xen.set_max_vcpus(d, 1).map_err(|e| format!("max_vcpus({d}, 1) -> {}", err_text(e)))?;
        xen.set_max_mem(d, max_kib).map_err(|e| format!("max_mem({d}, {max_kib} KiB) -> {}", err_text(e)))?;
        if pages > 0 {
            let n = xen
                .populate_physmap(d, 0, MemFlags::empty(), &mut gfns)
                .map_err(|e| format!("populate_physmap({d}) -> {}", err_text(e)))?;
            if n as u64 != pages {
                return Err(format!("populate_physmap({d}, {pages} pages at {:#x}) = {n} done", at.0));
            }
        }
        Ok(())
    })();
    if let Err(msg) = steps {
        // A half-built domain is no use to anyone: take it down again.
        let _ = xen.destroy_domain(d);
        out(&format!("{msg}; {d} destroyed again\n"));
        return Err(Failure::Failed);
    }
    if json {
        out(&format!(
            "{:#}\n",
            json!({ "domid": d.raw(), "pages": pages, "at": at.0, "max_kib": max_kib, "grant_frames": grant_frames })
        ));
    } else {
        out(&format!(
            "created {d}: PVH, 1 vcpu, {grant_frames} grant frames, max {max_kib} KiB, {pages} pages at {:#x}\n",
            at.0
        ));
    }
    Ok(())
}

fn info_on<A: Admin>(adm: &A, json: bool, d: DomId) -> Result<(), Failure> {
    match adm.xen().domain_info(d) {
        Ok(i) if i.domain != d.raw() => {
            out(&format!("getdomaininfo({}) -> no such domain (the next one is d{})\n", dname(d), i.domain));
            Err(Failure::Failed)
        }
        Ok(i) => {
            let names = [
                (XEN_DOMINF_DYING, "dying"),
                (XEN_DOMINF_HVM_GUEST, "hvm"),
                (XEN_DOMINF_SHUTDOWN, "shutdown"),
                (XEN_DOMINF_PAUSED, "paused"),
                (XEN_DOMINF_HAP, "hap"),
            ];
            let flags: Vec<&str> = names.iter().filter(|(b, _)| i.flags & b != 0).map(|(_, n)| *n).collect();
            let (xen_text, xen_json) = xen_release(adm.xen());
            if json {
                out(&format!(
                    "{:#}\n",
                    json!({
                        "domain": i.domain,
                        "tot_pages": i.tot_pages,
                        "max_pages": i.max_pages,
                        "flags": flags,
                        "xen": xen_json,
                    })
                ));
            } else {
                out(&format!(
                    "getdomaininfo({}) = tot_pages {} max_pages {} flags {}\nxen_version = {xen_text}\n",
                    dname(d),
                    i.tot_pages,
                    i.max_pages,
                    if flags.is_empty() { "-".to_string() } else { flags.join(",") }
                ));
            }
            Ok(())
        }
        Err(e) => {
            out(&format!("getdomaininfo({}) -> {}\n", dname(d), err_text(e)));
            Err(Failure::Failed)
        }
    }
}
