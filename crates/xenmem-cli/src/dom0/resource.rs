//! `resource DOMAIN`: a resource's size, and a hex dump of its frames.

use super::*;

/// `resource DOMAIN`.
pub fn resource(o: &Opts, a: &ResourceArgs) -> Result<(), Failure> {
    let d = domain_arg(o, &a.domain)?;
    let ty = parse_type(&a.ty)?;
    let id = parse_id(&a.id)?;
    let frame = parse_num("--frame", &a.frame, u32::MAX as u64)? as u32;
    let count = parse_num("--count", &a.count, 1024)? as u32;
    if count == 0 && !a.size_only {
        return Err(arg_error("--count", "dump at least one frame (or ask --size-only)"));
    }
    with_admin!(o, |adm| resource_on(&mut adm, o.json, d, ty, id, frame, count, a.size_only))
}

#[allow(clippy::too_many_arguments)]
fn resource_on<A: Admin>(
    adm: &mut A,
    json: bool,
    d: DomId,
    ty: ResourceType,
    id: u32,
    frame: u32,
    count: u32,
    size_only: bool,
) -> Result<(), Failure> {
    let call = format!("acquire_resource_size({}, {}, id {id})", dname(d), type_name(ty));
    let size = adm.xen().acquire_resource_size(d, ty, id);
    let mut s = String::new();
    let mut j = json!({ "domain": d.raw(), "type": type_name(ty), "id": id });
    match size {
        Ok(n) => {
            let _ = writeln!(s, "{call} = {n} frames");
            j["size"] = json!({ "value": n });
        }
        Err(e) => {
            let _ = writeln!(s, "{call} -> {}", err_text(e));
            j["size"] = json!({ "error": err_json(e) });
        }
    }
    let mut failed = size.is_err();
    if !size_only && !failed {
        match adm.resource_frames(d, Frames { ty, id, frame, count }) {
            Ok(bytes) => {
                let mut frames = Vec::new();
                for (k, page) in bytes.chunks(4096).enumerate() {
                    let n = frame as u64 + k as u64;
                    let _ = writeln!(s, "frame {n} of {} {} id {id}:", dname(d), type_name(ty));
                    s.push_str(&hexdump(0, page));
                    frames.push(json!({ "frame": n, "bytes": hex(page) }));
                }
                j["frames"] = frames.into();
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(
                    s,
                    "map frames {frame}..{} of {} {} id {id} -> {e}",
                    frame as u64 + count as u64,
                    dname(d),
                    type_name(ty)
                );
                j["map_error"] = json!({ "call": e.call, "errno": e.errno.map(|x| x.errno()), "name": e.errno.and_then(|x| x.name()) });
            }
        }
    }
    out(&if json { format!("{j:#}\n") } else { s });
    if failed {
        Err(Failure::Failed)
    } else {
        Ok(())
    }
}
