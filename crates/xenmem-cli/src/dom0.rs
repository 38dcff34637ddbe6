//! The administrator subcommands: a domain's reservation, its resources (size and hex dump),
//! its guest frames (read, write), and scratch domains (create, inspect, destroy).
//!
//! Each is written once over [`Admin`], which `--backend privcmd` implements with Linux's
//! privcmd device (hypercalls through `xenmem::Xen<Privcmd>`, frames through privcmd's
//! mappings) and the default backend with the embedded model, acting as its dom0 (hypercalls
//! through `xenmem::Xen<SimBackend>`, frames mapped into dom0's physmap with the library's
//! own foreign batch and acquire_resource).

use crate::exec::errno_text;
use crate::input::InputError;
use crate::scenario::value_uint;
use crate::{out, Failure};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use xenmem::abi::domctl::{
    XEN_DOMINF_DYING, XEN_DOMINF_HAP, XEN_DOMINF_HVM_GUEST, XEN_DOMINF_PAUSED, XEN_DOMINF_SHUTDOWN,
};
use xenmem::{
    DomId, EntryStatus, Error, Gfn, GrantTableId, Hypercall, MemFlags, ResourceType, Xen, XenError,
};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Release, Sim, SimBackend};

/// The global options every subcommand here shares.
#[derive(Clone, Debug)]
pub struct Opts {
    /// `--backend privcmd`.
    pub privcmd: bool,
    /// `--json`.
    pub json: bool,
    /// `--scenario FILE`: the model's machine (default backend only).
    pub scenario: Option<PathBuf>,
    /// `--xen`: the model's release (default backend only; else the scenario's or the newest).
    pub xen: Option<Release>,
}

/// `reservation DOMAIN`.
#[derive(clap::Args, Debug)]
pub struct DomainArgs {
    /// A domain: its id (`1`, `d1`, `0x7ff2`), `self`, or a `DOMID_*` name.
    pub domain: String,
}

/// `resource DOMAIN`.
#[derive(clap::Args, Debug)]
pub struct ResourceArgs {
    /// The domain owning the resource.
    pub domain: String,
    /// grant_table, ioreq_server, vmtrace_buf, or a number.
    #[arg(long = "type", default_value = "grant_table")]
    pub ty: String,
    /// Which one: shared or status for a grant table; the server id or vCPU otherwise.
    #[arg(long, default_value = "0")]
    pub id: String,
    /// First frame to dump.
    #[arg(long, default_value = "0")]
    pub frame: String,
    /// Frames to dump.
    #[arg(long, default_value = "1")]
    pub count: String,
    /// Only ask Xen for the size.
    #[arg(long)]
    pub size_only: bool,
}

/// `read-frame DOMAIN GFN`.
#[derive(clap::Args, Debug)]
pub struct FrameArgs {
    /// The domain.
    pub domain: String,
    /// Its guest frame.
    pub gfn: String,
    /// First byte.
    #[arg(long, default_value = "0")]
    pub offset: String,
    /// Bytes to show.
    #[arg(long, default_value = "4096")]
    pub len: String,
}

/// `write-frame DOMAIN GFN (--hex BYTES | --text TEXT)`.
#[derive(clap::Args, Debug)]
pub struct WriteArgs {
    /// The domain.
    pub domain: String,
    /// Its guest frame.
    pub gfn: String,
    /// Bytes in hex (`"5a a5 3c"`).
    #[arg(long, conflicts_with = "text", required_unless_present = "text")]
    pub hex: Option<String>,
    /// Bytes as text.
    #[arg(long)]
    pub text: Option<String>,
    /// First byte.
    #[arg(long, default_value = "0")]
    pub offset: String,
}

/// `domain ...`.
#[derive(clap::Subcommand, Debug)]
pub enum DomainCommand {
    /// Create a PVH scratch domain that never runs (createdomain, max_vcpus, max_mem,
    /// populate_physmap), as a toolstack would; prints its id.
    Create {
        /// Pages of RAM to give it.
        #[arg(long, default_value = "4")]
        pages: String,
        /// GFN of its first page.
        #[arg(long, default_value = "0x100")]
        at: String,
        /// Its memory limit in KiB.
        #[arg(long, default_value = "1024")]
        max_kib: String,
        /// Its grant-table size in frames.
        #[arg(long, default_value = "32")]
        grant_frames: String,
    },
    /// getdomaininfo: pages and state of a domain.
    Info(DomainArgs),
    /// Destroy a domain (it stays dying while anything maps its pages).
    Destroy(DomainArgs),
}

/// Why a frame could not be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// The step that failed.
    pub call: String,
    /// Its errno, when there is one.
    pub errno: Option<XenError>,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.errno {
            Some(e) => write!(f, "{}: {} (errno {})", self.call, errno_text(e), e.errno()),
            None => f.write_str(&self.call),
        }
    }
}

/// What the subcommands need from a dom0.
pub trait Admin {
    /// The hypercall backend.
    type Hv: Hypercall;
    /// The typed operations.
    fn xen(&self) -> &Xen<Self::Hv>;
    /// Reads bytes of `d`'s guest frame `gfn`.
    fn read_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, buf: &mut [u8]) -> Result<(), FrameError>;
    /// Writes bytes into `d`'s guest frame `gfn`.
    fn write_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), FrameError>;
    /// The bytes of `count` frames of a resource of `d`, from `frame` on.
    fn resource_frames(
        &mut self,
        d: DomId,
        ty: ResourceType,
        id: u32,
        frame: u32,
        count: u32,
    ) -> Result<Vec<u8>, FrameError>;
}

fn arg_error(what: &str, msg: impl Into<String>) -> Failure {
    Failure::Input(
        InputError {
            file: "<arguments>".into(),
            line: None,
            context: None,
            field: Some(what.into()),
            message: msg.into(),
        }
        .to_string(),
    )
}

/// A domain named on the command line; with `--scenario`, its domains' names work too.
fn domain_arg(o: &Opts, s: &str) -> Result<DomId, Failure> {
    match parse_domid("DOMAIN", s) {
        Ok(d) => Ok(d),
        Err(e) => {
            let Some(p) = o.scenario.as_deref().filter(|_| !o.privcmd) else { return Err(e) };
            let name = p.display().to_string();
            let Ok(text) = std::fs::read_to_string(p) else { return Err(e) };
            let Ok(sc) = crate::scenario::parse(&name, &text) else { return Err(e) };
            sc.domains.iter().find(|d| d.name == s).map(|d| DomId(d.id)).ok_or(e)
        }
    }
}

/// A domain named on the command line.
pub fn parse_domid(what: &str, s: &str) -> Result<DomId, Failure> {
    let t = s.trim();
    let special = match t {
        "self" | "SELF" | "DOMID_SELF" => Some(DomId::SELF),
        "DOMID_IO" => Some(DomId::IO),
        "DOMID_XEN" => Some(DomId::XEN),
        "DOMID_COW" => Some(DomId::COW),
        "DOMID_INVALID" => Some(DomId::INVALID),
        "DOMID_IDLE" => Some(DomId::IDLE),
        _ => None,
    };
    if let Some(d) = special {
        return Ok(d);
    }
    let n = value_uint(t.strip_prefix('d').unwrap_or(t)).ok_or_else(|| {
        arg_error(what, format!("\"{s}\" is not a domain (an id such as 1 or d1, self, DOMID_XEN)"))
    })?;
    u16::try_from(n)
        .map(DomId)
        .map_err(|_| arg_error(what, format!("{n} is out of range: domain ids are 16 bits")))
}

fn parse_num(what: &str, s: &str, max: u64) -> Result<u64, Failure> {
    let n = value_uint(s).ok_or_else(|| arg_error(what, format!("\"{s}\" is not a number")))?;
    if n > max {
        return Err(arg_error(what, format!("{n:#x} is out of range: at most {max:#x}")));
    }
    Ok(n)
}

fn parse_type(s: &str) -> Result<ResourceType, Failure> {
    Ok(match s {
        "grant_table" => ResourceType::GrantTable,
        "ioreq_server" => ResourceType::IoreqServer,
        "vmtrace_buf" => ResourceType::VmtraceBuf,
        n => ResourceType::from_raw(parse_num("--type", n, u16::MAX as u64).map_err(|_| {
            arg_error("--type", format!("\"{n}\" is not grant_table, ioreq_server, vmtrace_buf or a number"))
        })? as u16),
    })
}

fn parse_id(s: &str) -> Result<u32, Failure> {
    Ok(match s {
        "shared" => GrantTableId::Shared as u32,
        "status" => GrantTableId::Status as u32,
        n => parse_num("--id", n, u32::MAX as u64)? as u32,
    })
}

fn type_name(t: ResourceType) -> String {
    t.name().map_or_else(|| format!("type {}", t.raw()), str::to_string)
}

/// A domain as the output names it: `d1`, `DOMID_SELF`.
fn dname(d: DomId) -> String {
    d.to_string()
}

fn err_json(e: Error) -> Value {
    match e {
        Error::Xen(x) => json!({ "errno": x.errno(), "name": x.name() }),
        other => json!({ "errno": other.errno(), "library": other.to_string() }),
    }
}

/// The running hypervisor's release (`XENVER_version` and `XENVER_extraversion`), for the
/// text output (`4.20.5-pre`) and for JSON.
fn xen_release<H: Hypercall>(xen: &Xen<H>) -> (String, Value) {
    match xen.xen_version() {
        Ok(v) => {
            let extra = xen.xen_extraversion().ok().and_then(|e| e.as_str().map(str::to_string));
            let text = format!("{v}{}", extra.as_deref().unwrap_or(""));
            (text, json!({ "version": v.to_string(), "extraversion": extra }))
        }
        Err(e) => (format!("unknown: xen_version -> {}", err_text(e)), json!({ "error": err_json(e) })),
    }
}

/// `-ESRCH (errno 3)`, or the library's refusal.
fn err_text(e: Error) -> String {
    match e {
        Error::Xen(x) => format!("{} (errno {})", errno_text(x), x.errno()),
        other => format!("refused by the library: {other}"),
    }
}

/// `hexdump -C`'s layout: offset, 16 bytes in two groups, the printable ones; runs of
/// identical lines squeezed into `*`.
pub fn hexdump(base: u64, bytes: &[u8]) -> String {
    let mut s = String::new();
    let mut prev: Option<&[u8]> = None;
    let mut squeezed = false;
    for (i, chunk) in bytes.chunks(16).enumerate() {
        if prev == Some(chunk) && chunk.len() == 16 {
            if !squeezed {
                s.push_str("*\n");
                squeezed = true;
            }
            continue;
        }
        squeezed = false;
        prev = Some(chunk);
        let _ = write!(s, "{:08x} ", base + (i * 16) as u64);
        for j in 0..16 {
            if j == 8 {
                s.push(' ');
            }
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(s, " {b:02x}");
                }
                None => s.push_str("   "),
            }
        }
        s.push_str("  |");
        s.extend(chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }));
        s.push_str("|\n");
    }
    let _ = writeln!(s, "{:08x}", base + bytes.len() as u64);
    s
}

/// Runs `$body` with `$a` bound to the chosen backend's [`Admin`].
macro_rules! with_admin {
    ($opts:expr, |$a:ident| $body:expr) => {{
        if $opts.privcmd {
            #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
            {
                // Not every subcommand needs the backend mutable.
                #[allow(unused_mut)]
                let mut $a = privcmd::PrivcmdAdmin::open()?;
                $body
            }
            #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
            {
                Err(Failure::Input("--backend privcmd needs 64-bit Linux (a Xen dom0)".to_string()))
            }
        } else {
            #[allow(unused_mut)]
            let mut $a = ModelAdmin::new($opts.scenario.as_deref(), $opts.xen)?;
            $body
        }
    }};
}

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
        match adm.resource_frames(d, ty, id, frame, count) {
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

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

/// The embedded model acting as a dom0: a PVH dom0 with 16 MiB on a 512 MiB machine, or the
/// machine a scenario file builds (its steps run first, quietly).
pub struct ModelAdmin {
    sim: Sim,
    xen: Xen<SimBackend>,
    /// A free stretch of dom0's physmap for mapping frames to look at.
    scratch: Gfn,
}

impl ModelAdmin {
    /// The default machine, or the one `scenario` builds, running release `xen` (default:
    /// the scenario's, else the newest the model knows).
    ///
    /// # Errors
    ///
    /// The scenario's own input errors; a scenario without a domain 0.
    pub fn new(scenario: Option<&Path>, xen: Option<Release>) -> Result<ModelAdmin, Failure> {
        let sim = match scenario {
            None => {
                let sim = Sim::new(MachineConfig::x86_64(0x2_0000).with_xen(xen.unwrap_or(Release::NEWEST)));
                let dom0 = sim
                    .create_domain(DomainConfig::dom0(DomainKind::Pvh))
                    .map_err(|e| Failure::Input(e.to_string()))?;
                sim.populate_ram(dom0, Gfn(0), 4096).map_err(|e| Failure::Input(e.to_string()))?;
                sim
            }
            Some(p) => {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| InputError::file(&name, e.to_string()))?;
                let mut s = crate::scenario::parse(&name, &text)?;
                if xen.is_some() {
                    s.machine.xen = xen;
                }
                if !s.domains.iter().any(|d| d.id == 0) {
                    return Err(
                        InputError::file(&name, "the dom0 subcommands act as domain 0: declare one").into()
                    );
                }
                let sim = crate::exec::build(&s)?;
                crate::exec::run(&s, &sim, false);
                sim
            }
        };
        let top = sim.physmap(DomId(0)).iter().map(|r| r.first_gfn.0 + r.count).max().unwrap_or(0);
        let scratch = Gfn((top + 0x1000) & !0xfff);
        Ok(ModelAdmin { xen: Xen::new(sim.backend(DomId(0))), sim, scratch })
    }

    fn translated(&self) -> bool {
        self.sim.domain_info(DomId(0)).is_some_and(|i| i.translated)
    }

    /// Maps `d`'s frame at the scratch GFN through the library's foreign batch.
    fn map_foreign(&self, d: DomId, gfn: Gfn) -> Result<(), FrameError> {
        let mut errs = [EntryStatus::NOT_DONE];
        let call = || format!("add_to_physmap_batch(SELF, gmfn_foreign, {d}, [{:#x}])", gfn.0);
        self.xen
            .map_foreign_batch(DomId::SELF, d, &[gfn], &[self.scratch], &mut errs)
            .map_err(|e| FrameError { call: call(), errno: Some(XenError::from_errno(e.errno())) })?;
        match errs[0].result() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(FrameError { call: call(), errno: Some(e) }),
            None => Err(FrameError { call: call() + " (entry not reached)", errno: None }),
        }
    }

    fn unmap(&self, count: u64) {
        for i in 0..count {
            let _ = self.xen.remove_from_physmap(DomId::SELF, Gfn(self.scratch.0 + i));
        }
    }
}

impl Admin for ModelAdmin {
    type Hv = SimBackend;

    fn xen(&self) -> &Xen<SimBackend> {
        &self.xen
    }

    fn read_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, buf: &mut [u8]) -> Result<(), FrameError> {
        if !self.translated() {
            // A PV dom0 maps foreign frames through its kernel's page tables; the model's
            // stand-in for that is reading the frame where the owner maps it.
            return self.sim.read_gfn(d, gfn, offset, buf).map_err(|e| FrameError {
                call: format!("model read of {d} gfn {:#x}: {e}", gfn.0),
                errno: Some(XenError::Inval),
            });
        }
        self.map_foreign(d, gfn)?;
        let r = self.sim.read_gfn(DomId(0), self.scratch, offset, buf);
        self.unmap(1);
        r.map_err(|e| FrameError { call: e.to_string(), errno: None })
    }

    fn write_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), FrameError> {
        if !self.translated() {
            return self.sim.write_gfn(d, gfn, offset, data).map_err(|e| FrameError {
                call: format!("model write of {d} gfn {:#x}: {e}", gfn.0),
                errno: Some(XenError::Inval),
            });
        }
        self.map_foreign(d, gfn)?;
        let r = self.sim.write_gfn(DomId(0), self.scratch, offset, data);
        self.unmap(1);
        r.map_err(|e| FrameError { call: e.to_string(), errno: None })
    }

    fn resource_frames(
        &mut self,
        d: DomId,
        ty: ResourceType,
        id: u32,
        frame: u32,
        count: u32,
    ) -> Result<Vec<u8>, FrameError> {
        if !self.translated() {
            return Err(FrameError {
                call: "the model cannot show frames a PV dom0 acquires (they come back as machine frames)"
                    .into(),
                errno: None,
            });
        }
        let mut list: Vec<Gfn> = (0..u64::from(count)).map(|i| Gfn(self.scratch.0 + i)).collect();
        self.xen.acquire_resource(d, ty, id, u64::from(frame), &mut list).map_err(|e| FrameError {
            call: format!("acquire_resource({d}, {}, id {id}, frame {frame}, {count} frames)", type_name(ty)),
            errno: Some(XenError::from_errno(e.errno())),
        })?;
        let mut bytes = vec![0; count as usize * 4096];
        let mut r = Ok(());
        for (i, page) in bytes.chunks_mut(4096).enumerate() {
            if let Err(e) = self.sim.read_gfn(DomId(0), list[i], 0, page) {
                r = Err(FrameError { call: e.to_string(), errno: None });
                break;
            }
        }
        self.unmap(u64::from(count));
        r.map(|()| bytes)
    }
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod privcmd {
    use super::{type_name, Admin, FrameError};
    use crate::privcmd_map::ForeignFrame;
    use crate::Failure;
    use xenmem::{DomId, Gfn, ResourceType, Xen};
    use xenmem_privcmd::{Privcmd, PRIVCMD_PATH};

    /// A Linux dom0 through `/dev/xen/privcmd`.
    pub struct PrivcmdAdmin {
        xen: Xen<Privcmd>,
    }

    impl PrivcmdAdmin {
        /// Opens the device.
        ///
        /// # Errors
        ///
        /// "not a Xen dom0" when the device does not exist (exit 2), the errno otherwise.
        pub fn open() -> Result<PrivcmdAdmin, Failure> {
            match Privcmd::open() {
                Ok(p) => Ok(PrivcmdAdmin { xen: Xen::new(p) }),
                Err(xenmem_privcmd::Error::NotDom0 { path }) => Err(Failure::Input(format!(
                    "not a Xen dom0: {} does not exist (not running on Xen, or the xen-privcmd module is not loaded)",
                    path.display()
                ))),
                Err(e) => Err(Failure::Input(format!("{PRIVCMD_PATH}: {e}"))),
            }
        }
    }

    impl Admin for PrivcmdAdmin {
        type Hv = Privcmd;

        fn xen(&self) -> &Xen<Privcmd> {
            &self.xen
        }

        fn read_frame(
            &mut self,
            d: DomId,
            gfn: Gfn,
            offset: usize,
            buf: &mut [u8],
        ) -> Result<(), FrameError> {
            let f = ForeignFrame::map(PRIVCMD_PATH, d, gfn)
                .map_err(|e| FrameError { call: e.call.to_string(), errno: Some(e.errno) })?;
            f.read(offset, buf);
            Ok(())
        }

        fn write_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), FrameError> {
            let mut f = ForeignFrame::map(PRIVCMD_PATH, d, gfn)
                .map_err(|e| FrameError { call: e.call.to_string(), errno: Some(e.errno) })?;
            f.write(offset, data);
            Ok(())
        }

        fn resource_frames(
            &mut self,
            d: DomId,
            ty: ResourceType,
            id: u32,
            frame: u32,
            count: u32,
        ) -> Result<Vec<u8>, FrameError> {
            let m = self.xen.backend().map_resource(d, ty, id, frame, count).map_err(|e| FrameError {
                call: format!(
                    "IOCTL_PRIVCMD_MMAP_RESOURCE({d}, {}, id {id}, frame {frame}, {count} frames)",
                    type_name(ty)
                ),
                errno: e.errno(),
            })?;
            Ok(m.to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_squeezes_repeats() {
        let mut b = vec![0u8; 64];
        b[..5].copy_from_slice(b"hello");
        assert_eq!(
            hexdump(0, &b),
            "00000000  68 65 6c 6c 6f 00 00 00  00 00 00 00 00 00 00 00  |hello...........|\n\
             00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n\
             *\n\
             00000040\n"
        );
    }

    #[test]
    fn domain_arguments() {
        assert!(matches!(parse_domid("D", "self"), Ok(DomId::SELF)));
        assert!(matches!(parse_domid("D", "d7"), Ok(DomId(7))));
        assert!(matches!(parse_domid("D", "0x7ff2"), Ok(DomId::XEN)));
        assert!(matches!(parse_domid("D", "70000"), Err(Failure::Input(_))));
        assert!(matches!(parse_domid("D", "dom0"), Err(Failure::Input(_))));
    }
}
