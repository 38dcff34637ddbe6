//! The administrator subcommands: a domain's reservation, its resources (size and hex dump),
//! its guest frames (read, write), and scratch domains (create, inspect, destroy).
//!
//! Each is written once over [`Admin`], which `--backend privcmd` implements with Linux's
//! privcmd device (hypercalls through `xenmem::Xen<Privcmd>`, frames through privcmd's
//! mappings) and the default backend with the embedded model, acting as its dom0 (hypercalls
//! through `xenmem::Xen<SimBackend>`, frames mapped into dom0's physmap with the library's
//! own foreign batch and acquire_resource).
//!
//! | file | holds |
//! |---|---|
//! | `reservation.rs` | `reservation DOMAIN` |
//! | `resource.rs` | `resource DOMAIN`: a resource's size, a hex dump of its frames |
//! | `frame.rs` | `read-frame`, `write-frame` |
//! | `domain.rs` | `domain create|info|destroy` |
//! | `model.rs`, `privcmd.rs` | the two [`Admin`] backends |

mod domain;
mod frame;
mod model;
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod privcmd;
mod reservation;
mod resource;

pub use domain::domain;
pub use frame::{read_frame, write_frame};
pub use model::ModelAdmin;
pub use reservation::reservation;
pub use resource::resource;

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
    /// The bytes of some frames of a resource of `d`.
    fn resource_frames(&mut self, d: DomId, r: Frames) -> Result<Vec<u8>, FrameError>;
}

/// Which frames of which resource.
#[derive(Clone, Copy, Debug)]
pub struct Frames {
    /// The resource's type.
    pub ty: ResourceType,
    /// Its id (which grant table, which ioreq server).
    pub id: u32,
    /// The first frame.
    pub frame: u32,
    /// How many.
    pub count: u32,
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

/// Bytes as lowercase hex, two digits each, no separator.
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
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
                let mut $a = $crate::dom0::privcmd::PrivcmdAdmin::open()?;
                $body
            }
            #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
            {
                Err(Failure::Input("--backend privcmd needs 64-bit Linux (a Xen dom0)".to_string()))
            }
        } else {
            #[allow(unused_mut)]
            let mut $a = $crate::dom0::ModelAdmin::new($opts.scenario.as_deref(), $opts.xen)?;
            $body
        }
    }};
}
pub(crate) use with_admin;

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
