//! `read-frame` and `write-frame`: bytes of a domain's guest frame.

use super::*;

/// `read-frame DOMAIN GFN`.
pub fn read_frame(o: &Opts, a: &FrameArgs) -> Result<(), Failure> {
    let d = domain_arg(o, &a.domain)?;
    let gfn = Gfn(parse_num("GFN", &a.gfn, u64::MAX)?);
    let offset = parse_num("--offset", &a.offset, 4095)? as usize;
    let len = parse_num("--len", &a.len, 4096)? as usize;
    if offset + len > 4096 {
        return Err(arg_error("--len", format!("{len} bytes at offset {offset} run past the 4 KiB frame")));
    }
    with_admin!(o, |adm| {
        let mut buf = vec![0; len];
        let call = format!("read {} gfn {:#x}", dname(d), gfn.0);
        match adm.read_frame(d, gfn, offset, &mut buf) {
            Ok(()) => {
                if o.json {
                    out(&format!(
                        "{:#}\n",
                        json!({ "domain": d.raw(), "gfn": gfn.0, "offset": offset, "bytes": hex(&buf) })
                    ));
                } else {
                    out(&format!("{call}:\n{}", hexdump(offset as u64, &buf)));
                }
                Ok(())
            }
            Err(e) => {
                out(&format!("{call} -> {e}\n"));
                Err(Failure::Failed)
            }
        }
    })
}

/// `write-frame DOMAIN GFN`.
pub fn write_frame(o: &Opts, a: &WriteArgs) -> Result<(), Failure> {
    let d = domain_arg(o, &a.domain)?;
    let gfn = Gfn(parse_num("GFN", &a.gfn, u64::MAX)?);
    let offset = parse_num("--offset", &a.offset, 4095)? as usize;
    let data = match (&a.hex, &a.text) {
        (Some(h), _) => crate::scenario::value_hex(h).map_err(|m| arg_error("--hex", m))?,
        (None, Some(t)) => t.as_bytes().to_vec(),
        (None, None) => return Err(arg_error("--hex", "give the bytes (--hex or --text)")),
    };
    if offset + data.len() > 4096 {
        return Err(arg_error(
            "--hex",
            format!("{} bytes at offset {offset} run past the 4 KiB frame", data.len()),
        ));
    }
    with_admin!(o, |adm| {
        let call = format!("write {} bytes to {} gfn {:#x} offset {offset}", data.len(), dname(d), gfn.0);
        match adm.write_frame(d, gfn, offset, &data) {
            Ok(()) if o.json => {
                out(&format!(
                    "{:#}\n",
                    json!({ "domain": d.raw(), "gfn": gfn.0, "offset": offset, "written": data.len() })
                ));
                Ok(())
            }
            Ok(()) => {
                out(&format!("{call} = ok\n"));
                Ok(())
            }
            Err(e) => {
                out(&format!("{call} -> {e}\n"));
                Err(Failure::Failed)
            }
        }
    })
}
