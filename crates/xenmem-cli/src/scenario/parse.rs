//! Reading a scenario from TOML, keeping every value's position so that a refusal names the
//! file, the line and the field.
//!
//! toml's spanned document (`DeTable`) is walked by hand rather than through serde derives:
//! serde would lose the spans of nested fields, and the messages would say less.

use super::value;
use super::{Domain, EntryExpect, IoreqServer, Machine, Op, RemotePort, Scenario, Step};
use crate::input::{InputError, Source};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;
use xenmem::dm_op::{BufIoreq, IoRangeType};
use xenmem::{DomId, Gfn, GrantFrame, GrantTableId, MapSpace, MemFlags, ResourceType};
use xenmem_sim::{Arch, DomainKind, GuestIo, IoSpace, Release};

/// The most GFNs one step may list (`gfn` + `count`, or repetitions): enough for any
/// demonstration, small enough that a typo cannot exhaust memory.
const MAX_LIST: u64 = 1 << 20;
/// The most machine frames a scenario may ask for (64 GiB): the model allocates its frame table
/// up front.
const MAX_FRAMES: u64 = 1 << 24;

/// Parses scenario text; `name` is the file name used in messages.
///
/// # Errors
///
/// An [`InputError`] naming the line and field of the first problem.
pub fn parse(name: &str, text: &str) -> Result<Scenario, InputError> {
    let src = Source { name, text };
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map(|s| src.line_of(s.start));
        let msg = e.message().trim().replace('\n', " ");
        InputError {
            file: name.to_string(),
            line,
            context: None,
            field: None,
            message: format!("not valid TOML: {msg}"),
        }
    })?;
    let span = doc.span();
    let mut top = Fields::new(src, "scenario".to_string(), span, doc.get_ref());
    let title = top.opt_str("name")?.map(str::to_string);
    let description = top.opt_str("description")?.map(str::to_string);
    let machine = match top.get("machine") {
        Some(v) => machine(src, v)?,
        None => return Err(top.missing("machine", "a scenario needs a [machine] table")),
    };
    let domain_tables = top.tables("domain")?;
    let step_tables = top.tables("step")?;
    top.finish()?;
    if domain_tables.is_empty() {
        return Err(src.error(0, None, Some("domain"), "a scenario needs at least one [[domain]]"));
    }

    let mut names = Names::default();
    let mut domains = Vec::new();
    for (i, (span, t)) in domain_tables.iter().enumerate() {
        let d = domain(src, i + 1, span.clone(), t, &mut names, machine.arch)?;
        domains.push(d);
    }
    // Targets and emulators may name any declared domain, before or after.
    for (d, (span, t)) in domains.iter_mut().zip(&domain_tables) {
        let mut f = Fields::new(src, format!("domain \"{}\"", d.name), span.clone(), t);
        if let Some(v) = f.get("target") {
            d.target = Some(names.declared(&f, "target", v)?);
        }
        if let Some(v) = f.get("ioreq_servers") {
            d.ioreq_servers = ioreq_servers(&f, v, &names)?;
        }
    }

    let mut steps = Vec::new();
    for (i, (span, t)) in step_tables.iter().enumerate() {
        steps.push(step(src, i + 1, span.clone(), t, &names)?);
    }
    let title = title.unwrap_or_else(|| name.rsplit('/').next().unwrap_or(name).to_string());
    Ok(Scenario { file: name.to_string(), name: title, description, machine, domains, steps })
}

/// The fields of one table, read one by one; whatever is left at the end is unknown.
struct Fields<'a, 'i> {
    src: Source<'a>,
    ctx: String,
    span: Range<usize>,
    table: &'a DeTable<'i>,
    used: BTreeSet<String>,
}

type Val<'a, 'i> = &'a Spanned<DeValue<'i>>;

impl<'a, 'i> Fields<'a, 'i> {
    fn new(src: Source<'a>, ctx: String, span: Range<usize>, table: &'a DeTable<'i>) -> Self {
        Fields { src, ctx, span, table, used: BTreeSet::new() }
    }

    fn get(&mut self, key: &str) -> Option<Val<'a, 'i>> {
        let (k, v) = self.table.iter().find(|(k, _)| k.get_ref().as_ref() == key)?;
        self.used.insert(k.get_ref().to_string());
        Some(v)
    }

    fn err(&self, at: &Range<usize>, field: &str, msg: impl Into<String>) -> InputError {
        self.src.error(at.start, Some(&self.ctx), Some(field), msg)
    }

    /// An error about `field`: at its value when the table has it, else at the table.
    fn missing(&self, field: &str, msg: impl Into<String>) -> InputError {
        let at = self
            .table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == field)
            .map_or(self.span.start, |(_, v)| v.span().start);
        self.src.error(at, Some(&self.ctx), Some(field), msg)
    }

    /// Runs a value conversion, placing its complaint at the value.
    fn conv<T>(
        &self,
        field: &str,
        v: Val<'a, 'i>,
        f: impl FnOnce(&DeValue<'i>) -> Result<T, String>,
    ) -> Result<T, InputError> {
        f(v.get_ref()).map_err(|m| self.err(&v.span(), field, m))
    }

    fn opt<T>(
        &mut self,
        field: &str,
        f: impl FnOnce(&DeValue<'i>) -> Result<T, String>,
    ) -> Result<Option<T>, InputError> {
        match self.get(field) {
            Some(v) => self.conv(field, v, f).map(Some),
            None => Ok(None),
        }
    }

    fn req<T>(
        &mut self,
        field: &str,
        f: impl FnOnce(&DeValue<'i>) -> Result<T, String>,
    ) -> Result<T, InputError> {
        match self.get(field) {
            Some(v) => self.conv(field, v, f),
            None => Err(self.missing(field, "missing")),
        }
    }

    fn opt_str(&mut self, field: &str) -> Result<Option<&'a str>, InputError> {
        match self.get(field) {
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Ok(Some(s.as_ref())),
                other => {
                    Err(self.err(&v.span(), field, format!("expected a string, found {}", other.type_str())))
                }
            },
            None => Ok(None),
        }
    }

    fn uint(&mut self, field: &str, max: u64) -> Result<Option<u64>, InputError> {
        self.opt(field, |v| value::uint(v, max))
    }

    /// An array of tables (`[[domain]]`), each with its span.
    fn tables(&mut self, field: &str) -> Result<Vec<(Range<usize>, &'a DeTable<'i>)>, InputError> {
        let Some(v) = self.get(field) else { return Ok(Vec::new()) };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.err(
                &v.span(),
                field,
                format!("expected [[{field}]] tables, found {}", v.get_ref().type_str()),
            ));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(t) => Ok((item.span(), t)),
                other => Err(self.err(
                    &item.span(),
                    field,
                    format!("expected a table, found {}", other.type_str()),
                )),
            })
            .collect()
    }

    /// Fails on the first field nobody asked for.
    fn finish(self) -> Result<(), InputError> {
        for (k, _) in self.table.iter() {
            if !self.used.contains(k.get_ref().as_ref()) {
                return Err(self.src.error(
                    k.span().start,
                    Some(&self.ctx),
                    Some(k.get_ref()),
                    "unknown field",
                ));
            }
        }
        Ok(())
    }
}

fn machine(src: Source<'_>, v: Val<'_, '_>) -> Result<Machine, InputError> {
    let DeValue::Table(t) = v.get_ref() else {
        return Err(src.error(v.span().start, None, Some("machine"), "expected a [machine] table"));
    };
    let mut f = Fields::new(src, "machine".to_string(), v.span(), t);
    let arch = f.req("arch", |v| match value::string(v)? {
        "x86_64" | "x86" => Ok(Arch::X86_64),
        "arm64" | "aarch64" => Ok(Arch::Arm64),
        other => Err(format!("unknown architecture \"{other}\": x86_64 or arm64")),
    })?;
    let frames = f.req("frames", |v| value::uint(v, MAX_FRAMES))?;
    let xen = f.opt("xen", |v| xen_release(value::string(v)?))?;
    if frames < 1024 {
        return Err(f.missing(
            "frames",
            format!("{frames} frames is too little RAM for Xen's own pages: at least 1024"),
        ));
    }
    f.finish()?;
    Ok(Machine { arch, frames, xen })
}

/// A Xen release the model answers as, by its `MAJOR.MINOR` name.
pub fn xen_release(s: &str) -> Result<Release, String> {
    s.parse::<xenmem::XenVersion>().ok().and_then(Release::from_version).ok_or_else(|| {
        let known: Vec<String> = Release::ALL.iter().map(|r| format!("\"{r}\"")).collect();
        format!("unsupported Xen version \"{s}\": the model answers as {}", known.join(" or "))
    })
}

/// Domain names, and ids by name.
#[derive(Default)]
struct Names {
    by_name: BTreeMap<String, u16>,
}

impl Names {
    /// A domain reference in an operation: a declared name, `self`, one of Xen's `DOMID_*`
    /// names, or any number (so that ids naming nothing can be tried).
    fn domid(&self, f: &Fields<'_, '_>, field: &str, v: Val<'_, '_>) -> Result<DomId, InputError> {
        match v.get_ref() {
            DeValue::Integer(_) => {
                f.conv(field, v, |v| value::uint(v, u16::MAX as u64)).map(|n| DomId(n as u16))
            }
            DeValue::String(s) => {
                if let Some(&id) = self.by_name.get(s.as_ref()) {
                    return Ok(DomId(id));
                }
                if let Some(d) = special_domid(s) {
                    return Ok(d);
                }
                if let Some(n) = s.strip_prefix('d').and_then(|n| n.parse::<u16>().ok()) {
                    return Ok(DomId(n));
                }
                Err(f.err(&v.span(), field, format!("unknown domain \"{s}\" ({})", self.known())))
            }
            other => Err(f.err(
                &v.span(),
                field,
                format!("expected a domain name or id, found {}", other.type_str()),
            )),
        }
    }

    /// A declared domain, by name or id.
    fn declared(&self, f: &Fields<'_, '_>, field: &str, v: Val<'_, '_>) -> Result<u16, InputError> {
        let d = self.domid(f, field, v)?;
        if self.by_name.values().any(|&id| id == d.0) {
            Ok(d.0)
        } else {
            Err(f.err(&v.span(), field, format!("unknown domain {} ({})", d, self.known())))
        }
    }

    fn known(&self) -> String {
        let names: Vec<String> = self.by_name.iter().map(|(n, id)| format!("{n} = d{id}")).collect();
        format!("declared: {}", names.join(", "))
    }
}

fn special_domid(s: &str) -> Option<DomId> {
    Some(match s {
        "self" | "SELF" | "DOMID_SELF" => DomId::SELF,
        "DOMID_IO" => DomId::IO,
        "DOMID_XEN" => DomId::XEN,
        "DOMID_COW" => DomId::COW,
        "DOMID_INVALID" => DomId::INVALID,
        "DOMID_IDLE" => DomId::IDLE,
        _ => return None,
    })
}

fn domain(
    src: Source<'_>,
    n: usize,
    span: Range<usize>,
    t: &DeTable<'_>,
    names: &mut Names,
    arch: Arch,
) -> Result<Domain, InputError> {
    let mut f = Fields::new(src, format!("domain {n}"), span.clone(), t);
    let id = f.req("id", |v| value::uint(v, xenmem::abi::DOMID_FIRST_RESERVED as u64 - 1))? as u16;
    let name = f.opt_str("name")?.map(str::to_string).unwrap_or_else(|| format!("d{id}"));
    f.ctx = format!("domain \"{name}\"");
    if special_domid(&name).is_some() || name.is_empty() {
        return Err(f.missing("name", format!("\"{name}\" cannot name a domain")));
    }
    if names.by_name.contains_key(&name) {
        return Err(f.missing("name", format!("a second domain named \"{name}\"")));
    }
    if names.by_name.values().any(|&d| d == id) {
        return Err(f.missing("id", format!("a second domain with id {id}")));
    }
    let kind = f
        .opt("kind", |v| match value::string(v)? {
            "pv" => Ok(DomainKind::Pv),
            "pvh" => Ok(DomainKind::Pvh),
            "hvm" => Ok(DomainKind::Hvm),
            other => Err(format!("unknown kind \"{other}\": pv, pvh or hvm")),
        })?
        .unwrap_or(DomainKind::Pvh);
    if kind == DomainKind::Pv && arch == Arch::Arm64 {
        return Err(f.missing("kind", "every Arm domain is translated: no PV on arm64"));
    }
    let privileged = f.opt("privileged", value::boolean)?.unwrap_or(false);
    let control = f.opt("control", value::boolean)?.unwrap_or(privileged);
    let hardware = f.opt("hardware", value::boolean)?.unwrap_or(privileged);
    let memory = f.opt("memory", memory_pages)?.unwrap_or(0);
    let memory_at = f.opt("memory_at", value::gfn)?.unwrap_or(Gfn(0));
    let max_pages = f
        .opt("max_pages", |v| match v {
            DeValue::String(s) if s.as_ref() == "unlimited" => Ok(u32::MAX as u64),
            v => value::uint(v, u32::MAX as u64),
        })?
        .unwrap_or(if control { u32::MAX as u64 } else { 65_536 });
    let grant_frames = f.uint("grant_frames", 64)?.unwrap_or(if control { 64 } else { 32 }) as u32;
    if grant_frames == 0 {
        return Err(f.missing("grant_frames", "a grant table has at least one frame"));
    }
    let grant_version = f.opt("grant_version", |v| match value::uint(v, 2)? {
        0 => Err("grant versions are 1 and 2".to_string()),
        n => Ok(n as u8),
    })?;
    let grant_version = grant_version.unwrap_or(if arch == Arch::Arm64 { 1 } else { 2 });
    // Resolved once every domain is known.
    f.get("target");
    f.get("ioreq_servers");
    f.finish()?;
    names.by_name.insert(name.clone(), id);
    Ok(Domain {
        name,
        id,
        kind,
        control,
        hardware,
        memory,
        memory_at,
        max_pages,
        grant_frames,
        grant_version,
        target: None,
        ioreq_servers: Vec::new(),
        line: src.line_of(span.start),
    })
}

/// Memory as pages (`256`) or with a unit (`"16M"`, `"512K"`, `"1G"`).
fn memory_pages(v: &DeValue<'_>) -> Result<u64, String> {
    if let DeValue::String(s) = v {
        let t = s.trim();
        let (num, mult) = match t.char_indices().last() {
            Some((i, 'K' | 'k')) => (&t[..i], 1u64 << 10),
            Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
            Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
            _ => {
                return value::parse_uint(t)
                    .ok_or_else(|| format!("\"{t}\" is not pages or a size such as \"16M\""))
            }
        };
        let n = value::parse_uint(num).ok_or_else(|| format!("\"{t}\" is not a size such as \"16M\""))?;
        let bytes = n.checked_mul(mult).ok_or_else(|| format!("\"{t}\" is out of range"))?;
        if bytes % 4096 != 0 {
            return Err(format!("\"{t}\" is not a whole number of 4 KiB pages"));
        }
        return Ok(bytes / 4096);
    }
    value::uint(v, MAX_FRAMES)
}

fn ioreq_servers(f: &Fields<'_, '_>, v: Val<'_, '_>, names: &Names) -> Result<Vec<IoreqServer>, InputError> {
    let DeValue::Array(items) = v.get_ref() else {
        return Err(f.err(
            &v.span(),
            "ioreq_servers",
            "expected a list of { emulator = ..., bufioreq = ... }",
        ));
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let DeValue::Table(t) = item.get_ref() else {
            return Err(f.err(&item.span(), "ioreq_servers", "expected { emulator = ..., bufioreq = ... }"));
        };
        let mut g = Fields::new(f.src, f.ctx.clone() + " ioreq server", item.span(), t);
        let emulator = match g.get("emulator") {
            Some(e) => names.declared(&g, "emulator", e)?,
            None => return Err(g.missing("emulator", "missing")),
        };
        let bufioreq = g.opt("bufioreq", value::boolean)?.unwrap_or(false);
        g.finish()?;
        out.push(IoreqServer { emulator, bufioreq });
    }
    Ok(out)
}

fn step(
    src: Source<'_>,
    n: usize,
    span: Range<usize>,
    t: &DeTable<'_>,
    names: &Names,
) -> Result<Step, InputError> {
    let mut f = Fields::new(src, format!("step {n}"), span.clone(), t);
    let op_name = f.req("op", |v| value::string(v).map(str::to_string))?;
    let Some(op_name) = Op::NAMES.iter().copied().find(|&k| k == op_name) else {
        let at = f.get("op").map(|v| v.span()).unwrap_or(span.clone());
        return Err(f.err(
            &at,
            "op",
            format!("unknown operation \"{op_name}\" (one of: {})", Op::NAMES.join(", ")),
        ));
    };
    f.ctx = format!("step {n} ({op_name})");
    let by = match f.get("by") {
        Some(v) => names.declared(&f, "by", v)?,
        None => return Err(f.missing("by", "missing: which domain issues the operation")),
    };
    let op = op(&mut f, op_name, names)?;
    let is_read = matches!(op, Op::Read { .. });
    let expect = f.opt("expect", |v| value::expect(v, is_read))?;
    let expect_errs = match f.get("expect_errs") {
        Some(v) => {
            let Op::AddToPhysmapBatch { idxs, .. } = &op else {
                return Err(f.err(
                    &v.span(),
                    "expect_errs",
                    "only add_to_physmap_batch has per-entry statuses",
                ));
            };
            let DeValue::Array(items) = v.get_ref() else {
                return Err(f.err(&v.span(), "expect_errs", "expected a list such as [\"ok\", \"-EINVAL\"]"));
            };
            if items.len() != idxs.len() {
                return Err(f.err(
                    &v.span(),
                    "expect_errs",
                    format!("{} statuses for {} entries", items.len(), idxs.len()),
                ));
            }
            let list: Result<Vec<EntryExpect>, InputError> =
                items.iter().map(|i| f.conv("expect_errs", i, value::entry_expect)).collect();
            Some(list?)
        }
        None => None,
    };
    let repeat = f.uint("repeat", MAX_LIST)?.unwrap_or(1);
    if repeat == 0 {
        return Err(f.missing("repeat", "a step runs at least once"));
    }
    let stride = f.uint("stride", MAX_LIST)?.unwrap_or(0);
    let note = f.opt_str("note")?.map(str::to_string);
    f.finish()?;
    Ok(Step { index: n, line: src.line_of(span.start), by, op, expect, expect_errs, repeat, stride, note })
}

/// The target domain of an operation: `domid`, or `self` when absent (and `optional`).
fn target(f: &mut Fields<'_, '_>, names: &Names, optional: bool) -> Result<DomId, InputError> {
    match f.get("domid") {
        Some(v) => names.domid(f, "domid", v),
        None if optional => Ok(DomId::SELF),
        None => Err(f.missing("domid", "missing: the domain the operation acts on")),
    }
}

/// A list of frame numbers: `<field>s = [...]`, or `<field> = N` with `count = K`.
fn frame_list(
    f: &mut Fields<'_, '_>,
    one: &str,
    many: &str,
    count_field: &str,
) -> Result<Vec<u64>, InputError> {
    if let Some(v) = f.get(many) {
        let DeValue::Array(items) = v.get_ref() else {
            return Err(f.err(
                &v.span(),
                many,
                format!("expected a list of frame numbers, found {}", v.get_ref().type_str()),
            ));
        };
        return items.iter().map(|i| f.conv(many, i, value::gfn).map(|g| g.0)).collect();
    }
    let Some(first) = f.opt(one, value::gfn)? else {
        return Err(
            f.missing(many, format!("missing: give `{many} = [...]` or `{one}` (with `{count_field}`)"))
        );
    };
    let count = f.uint(count_field, MAX_LIST)?.unwrap_or(1);
    (0..count)
        .map(|i| first.0.checked_add(i).ok_or_else(|| f.missing(count_field, "the frames run past 2^64")))
        .collect()
}

fn gfns(f: &mut Fields<'_, '_>) -> Result<Vec<Gfn>, InputError> {
    Ok(frame_list(f, "gfn", "gfns", "count")?.into_iter().map(Gfn).collect())
}

fn space(v: &DeValue<'_>) -> Result<MapSpace, String> {
    match v {
        DeValue::String(s) => match s.as_ref() {
            "shared_info" => Ok(MapSpace::SharedInfo),
            "grant_table" => Ok(MapSpace::GrantTable),
            "gmfn" => Ok(MapSpace::Gmfn),
            "gmfn_range" => Ok(MapSpace::GmfnRange),
            "gmfn_foreign" => Ok(MapSpace::GmfnForeign),
            "dev_mmio" => Ok(MapSpace::DevMmio),
            other => Err(format!(
                "unknown space \"{other}\": shared_info, grant_table, gmfn, gmfn_range, gmfn_foreign, dev_mmio, or a number"
            )),
        },
        v => value::uint(v, u32::MAX as u64).map(|n| MapSpace::from_raw(n as u32)),
    }
}

fn resource_type(v: &DeValue<'_>) -> Result<ResourceType, String> {
    match v {
        DeValue::String(s) => match s.as_ref() {
            "grant_table" => Ok(ResourceType::GrantTable),
            "ioreq_server" => Ok(ResourceType::IoreqServer),
            "vmtrace_buf" => Ok(ResourceType::VmtraceBuf),
            other => Err(format!(
                "unknown resource type \"{other}\": grant_table, ioreq_server, vmtrace_buf, or a number"
            )),
        },
        v => value::uint(v, u16::MAX as u64).map(|n| ResourceType::from_raw(n as u16)),
    }
}

fn resource_id(v: &DeValue<'_>) -> Result<u32, String> {
    match v {
        DeValue::String(s) if s.as_ref() == "shared" => Ok(GrantTableId::Shared as u32),
        DeValue::String(s) if s.as_ref() == "status" => Ok(GrantTableId::Status as u32),
        v => value::uint(v, u32::MAX as u64).map(|n| n as u32),
    }
}

fn bufioreq(v: &DeValue<'_>) -> Result<BufIoreq, String> {
    match v {
        DeValue::String(s) => match s.as_ref() {
            "off" => Ok(BufIoreq::Off),
            "legacy" => Ok(BufIoreq::Legacy),
            "atomic" => Ok(BufIoreq::Atomic),
            other => Err(format!("unknown buffered mode \"{other}\": off, legacy, atomic, or a number")),
        },
        v => value::uint(v, u8::MAX as u64).map(|n| match n {
            0 => BufIoreq::Off,
            1 => BufIoreq::Legacy,
            2 => BufIoreq::Atomic,
            n => BufIoreq::Other(n as u8),
        }),
    }
}

fn range_type(v: &DeValue<'_>) -> Result<IoRangeType, String> {
    match v {
        DeValue::String(s) => match s.as_ref() {
            "port" => Ok(IoRangeType::Port),
            "memory" | "mmio" => Ok(IoRangeType::Memory),
            "pci" => Ok(IoRangeType::Pci),
            other => Err(format!("unknown range \"{other}\": port, memory, pci, or a number")),
        },
        v => value::uint(v, u32::MAX as u64).map(|n| IoRangeType::from_raw(n as u32)),
    }
}

/// An ioreq server id (`id`, default 0).
fn server_id(f: &mut Fields<'_, '_>) -> Result<u16, InputError> {
    Ok(f.uint("id", u16::MAX as u64)?.unwrap_or(0) as u16)
}

fn guest_access(f: &mut Fields<'_, '_>) -> Result<Op, InputError> {
    let space = f.req("space", |v| match value::string(v)? {
        "mmio" | "memory" => Ok(IoSpace::Mmio),
        "port" => Ok(IoSpace::Port),
        other => Err(format!("unknown space \"{other}\": mmio or port")),
    })?;
    let addr = f.req("addr", |v| value::uint(v, u64::MAX))?;
    let size = f.req("size", |v| match value::uint(v, 8)? {
        n @ (1 | 2 | 4 | 8) => Ok(n as u8),
        n => Err(format!("an access is 1, 2, 4 or 8 bytes, not {n}")),
    })?;
    let write = f.uint("write", u64::MAX)?;
    let answer = f.uint("answer", u64::MAX)?;
    if write.is_some() && answer.is_some() {
        return Err(f.missing("answer", "a write has no answer: give `answer` for a read only"));
    }
    let state = f.uint("state", 15)?.map(|n| n as u8);
    let vcpu = f.uint("vcpu", u32::MAX as u64)?.unwrap_or(0) as u32;
    Ok(Op::GuestAccess { vcpu, io: GuestIo { space, addr, size, write }, answer, state })
}

fn order(f: &mut Fields<'_, '_>) -> Result<u32, InputError> {
    Ok(f.uint("order", 63)?.unwrap_or(0) as u32)
}

fn mem_flags(f: &mut Fields<'_, '_>) -> Result<MemFlags, InputError> {
    let mut flags = MemFlags::empty();
    if let Some(bits) = f.uint("address_bits", 255)? {
        flags = flags.with_address_bits(bits as u8);
    }
    if let Some(node) = f.uint("node", 254)? {
        flags = flags.with_node(node as u8);
    }
    if f.opt("exact_node", value::boolean)?.unwrap_or(false) {
        flags = flags.exact_node();
    }
    if f.opt("vnode", value::boolean)?.unwrap_or(false) {
        flags = flags.vnode();
    }
    if f.opt("populate_on_demand", value::boolean)?.unwrap_or(false) {
        flags = flags.populate_on_demand();
    }
    Ok(flags)
}

fn op(f: &mut Fields<'_, '_>, name: &str, names: &Names) -> Result<Op, InputError> {
    Ok(match name {
        "add_to_physmap" => {
            let domid = target(f, names, true)?;
            let space = f.req("space", space)?;
            let mut idx = f.opt("idx", |v| value::uint(v, u64::MAX))?.unwrap_or(0);
            if f.opt("status", value::boolean)?.unwrap_or(false) {
                let Ok(n) = u32::try_from(idx) else {
                    return Err(f.missing("idx", "a status frame's index fits 32 bits"));
                };
                idx = GrantFrame::Status(n).idx();
            }
            let gfn = f.req("gfn", value::gfn)?;
            let size = f.uint("size", u16::MAX as u64)?;
            if space == MapSpace::GmfnRange && size.is_none() {
                return Err(f.missing("size", "gmfn_range moves `size` pages: give it"));
            }
            Op::AddToPhysmap { domid, space, idx, gfn, size: size.unwrap_or(0) as u16 }
        }
        "add_to_physmap_batch" => {
            let domid = target(f, names, true)?;
            let space = f.req("space", space)?;
            let foreign = match f.get("foreign") {
                Some(v) => names.domid(f, "foreign", v)?,
                None if space == MapSpace::GmfnForeign => {
                    return Err(f.missing("foreign", "gmfn_foreign needs the domain owning the frames"))
                }
                None => DomId(0),
            };
            let idxs = frame_list(f, "idx", "idxs", "count")?;
            let gfns = gfns(f)?;
            if idxs.len() > xenmem::BATCH_MAX_ENTRIES {
                return Err(
                    f.missing("idxs", format!("at most {} entries per batch", xenmem::BATCH_MAX_ENTRIES))
                );
            }
            Op::AddToPhysmapBatch { domid, space, foreign, idxs, gfns }
        }
        "remove_from_physmap" => {
            let domid = target(f, names, true)?;
            Op::RemoveFromPhysmap { domid, gfn: f.req("gfn", value::gfn)? }
        }
        "populate_physmap" => {
            let domid = target(f, names, true)?;
            let order = order(f)?;
            let flags = mem_flags(f)?;
            Op::PopulatePhysmap { domid, order, flags, gfns: gfns(f)? }
        }
        "acquire_resource" | "acquire_resource_size" => {
            let domid = target(f, names, false)?;
            let ty = f.req("type", resource_type)?;
            let id = f.opt("id", resource_id)?.unwrap_or(0);
            if name == "acquire_resource_size" {
                Op::AcquireResourceSize { domid, ty, id }
            } else {
                let frame = f.uint("frame", u64::MAX)?.unwrap_or(0);
                Op::AcquireResource { domid, ty, id, frame, gfns: gfns(f)? }
            }
        }
        "increase_reservation" => {
            let domid = target(f, names, true)?;
            let order = order(f)?;
            let flags = mem_flags(f)?;
            let count = f.req("count", |v| value::uint(v, MAX_LIST))?;
            Op::IncreaseReservation { domid, order, flags, count }
        }
        "decrease_reservation" => {
            let domid = target(f, names, true)?;
            let order = order(f)?;
            Op::DecreaseReservation { domid, order, gfns: gfns(f)? }
        }
        "current_reservation" => Op::CurrentReservation { domid: target(f, names, true)? },
        "maximum_reservation" => Op::MaximumReservation { domid: target(f, names, true)? },
        "maximum_gpfn" => Op::MaximumGpfn { domid: target(f, names, true)? },
        "set_max_mem" => {
            let domid = target(f, names, false)?;
            Op::SetMaxMem { domid, kib: f.req("kib", |v| value::uint(v, u64::MAX))? }
        }
        "destroy_domain" => Op::DestroyDomain { domid: target(f, names, false)? },
        "write" => {
            let gfn = f.req("gfn", value::gfn)?;
            let offset = f.uint("offset", 4095)?.unwrap_or(0) as usize;
            let data = match (f.get("data"), f.get("text")) {
                (Some(v), None) => f.conv("data", v, |v| value::hex_bytes(value::string(v)?))?,
                (None, Some(v)) => f.conv("text", v, |v| value::string(v).map(|s| s.as_bytes().to_vec()))?,
                (Some(v), Some(_)) => {
                    return Err(f.err(&v.span(), "data", "give `data` (hex) or `text`, not both"))
                }
                (None, None) => {
                    return Err(f.missing("data", "missing: the bytes to write (`data` in hex, or `text`)"))
                }
            };
            if offset + data.len() > 4096 {
                return Err(f.missing(
                    "data",
                    format!("{} bytes at offset {offset} run past the 4 KiB page", data.len()),
                ));
            }
            Op::Write { gfn, offset, data }
        }
        "read" => {
            let gfn = f.req("gfn", value::gfn)?;
            let offset = f.uint("offset", 4095)?.unwrap_or(0) as usize;
            let len = f.uint("len", 4096)?.unwrap_or(16) as usize;
            if offset + len > 4096 {
                return Err(
                    f.missing("len", format!("{len} bytes at offset {offset} run past the 4 KiB page"))
                );
            }
            Op::Read { gfn, offset, len }
        }
        "create_ioreq_server" => {
            let domid = target(f, names, false)?;
            Op::CreateIoreqServer { domid, bufioreq: f.opt("bufioreq", bufioreq)?.unwrap_or(BufIoreq::Off) }
        }
        "map_io_range" | "unmap_io_range" => {
            let domid = target(f, names, false)?;
            let id = server_id(f)?;
            let ty = f.req("range", range_type)?;
            let start = f.req("start", |v| value::uint(v, u64::MAX))?;
            let end = f.req("end", |v| value::uint(v, u64::MAX))?;
            Op::IoRange { domid, id, ty, start, end, map: name == "map_io_range" }
        }
        "set_ioreq_server_state" => {
            let domid = target(f, names, false)?;
            let id = server_id(f)?;
            Op::SetIoreqServerState { domid, id, enabled: f.opt("enabled", value::boolean)?.unwrap_or(true) }
        }
        "destroy_ioreq_server" => {
            let domid = target(f, names, false)?;
            Op::DestroyIoreqServer { domid, id: server_id(f)? }
        }
        "bind_interdomain" => {
            let domid = target(f, names, false)?;
            let port = match (f.uint("port", u32::MAX as u64)?, f.uint("ioreq_server", u16::MAX as u64)?) {
                (Some(p), None) => RemotePort::Number(p as u32),
                (None, Some(id)) => {
                    let vcpu = f.uint("vcpu", u32::MAX as u64)?.unwrap_or(0) as u32;
                    RemotePort::Ioreq { id: id as u16, vcpu }
                }
                (Some(_), Some(_)) => {
                    return Err(f.missing("ioreq_server", "give `port` or `ioreq_server`, not both"))
                }
                (None, None) => {
                    return Err(f.missing(
                        "port",
                        "missing: the remote `port`, or `ioreq_server` (its vCPU's vp_eport)",
                    ))
                }
            };
            Op::BindInterdomain { domid, port }
        }
        "guest_access" => guest_access(f)?,
        _ => unreachable!("op names are checked against Op::NAMES"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[machine]\narch = \"x86_64\"\nframes = 65536\n\n[[domain]]\nname = \"dom0\"\nid = 0\nprivileged = true\n\n[[domain]]\nname = \"guest\"\nid = 1\nmemory = \"1M\"\n";

    fn err(extra: &str) -> String {
        parse("s.toml", &format!("{BASE}{extra}")).unwrap_err().to_string()
    }

    #[test]
    fn a_full_step() {
        let s = parse(
            "s.toml",
            &format!("{BASE}\n[[step]]\nby = \"dom0\"\nop = \"add_to_physmap_batch\"\nspace = \"gmfn_foreign\"\nforeign = \"guest\"\nidx = 0x10\ngfn = 0x30000\ncount = 2\nexpect = \"ok\"\nexpect_errs = [\"ok\", \"-EINVAL\"]\n"),
        )
        .unwrap();
        assert_eq!(s.domains[1].memory, 256);
        assert_eq!(s.domains[1].max_pages, 65_536);
        assert_eq!(s.domains[0].max_pages, u32::MAX as u64);
        let st = &s.steps[0];
        assert_eq!(st.line, 15);
        assert_eq!(
            st.op,
            Op::AddToPhysmapBatch {
                domid: DomId::SELF,
                space: MapSpace::GmfnForeign,
                foreign: DomId(1),
                idxs: vec![0x10, 0x11],
                gfns: vec![Gfn(0x30000), Gfn(0x30001)],
            }
        );
        assert_eq!(
            st.expect_errs.as_deref(),
            Some(&[EntryExpect::Ok, EntryExpect::Errno(xenmem::XenError::Inval)][..])
        );
    }

    #[test]
    fn refusals_name_line_and_field() {
        assert_eq!(
            err("\n[[step]]\nby = \"dom0\"\nop = \"frobnicate\"\n"),
            "s.toml:17: step 1: field `op`: unknown operation \"frobnicate\" (one of: add_to_physmap, add_to_physmap_batch, remove_from_physmap, populate_physmap, acquire_resource, acquire_resource_size, increase_reservation, decrease_reservation, current_reservation, maximum_reservation, maximum_gpfn, set_max_mem, destroy_domain, write, read, create_ioreq_server, map_io_range, unmap_io_range, set_ioreq_server_state, destroy_ioreq_server, bind_interdomain, guest_access)"
        );
        assert_eq!(
            err("\n[[step]]\nby = \"nobody\"\nop = \"maximum_gpfn\"\n"),
            "s.toml:16: step 1 (maximum_gpfn): field `by`: unknown domain \"nobody\" (declared: dom0 = d0, guest = d1)"
        );
        assert_eq!(
            err("\n[[step]]\nby = \"dom0\"\nop = \"populate_physmap\"\norder = 64\ngfn = 1\n"),
            "s.toml:18: step 1 (populate_physmap): field `order`: 0x40 is out of range: at most 0x3f"
        );
        assert_eq!(
            err("\n[[step]]\nby = \"dom0\"\nop = \"maximum_gpfn\"\ncolour = 1\n"),
            "s.toml:18: step 1 (maximum_gpfn): field `colour`: unknown field"
        );
        assert!(err("\n[[step]\n").starts_with("s.toml:15: not valid TOML"));
    }
}
