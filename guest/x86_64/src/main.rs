//! A freestanding PVH kernel for Xen 4.17 on x86_64 that runs the xenmem conformance suite in
//! two roles, chosen by `role=` on its command line (`hvm_start_info`):
//! - `role=dom0` (or no role): the hardware domain. Runs the dom0 suite, then acts as a
//!   toolstack (toolstack.rs): builds an unprivileged PVH domU from this same image, which
//!   Xen loaded as dom0's first module, waits for it, prints its log, and resets the machine.
//! - `role=domu`: that domU. Runs the domU suite, writing into a log area dom0 keeps mapped
//!   (log.rs), then powers itself off.
//!
//! Console format (each line one console_io call by dom0, unprefixed by Xen):
//! - `xenmem: <line>`: a line of dom0's suite, verbatim after the tag;
//! - `xenmem-guest: <text>`: dom0's own progress: `conformance-done observations=N` after its
//!   suite, and at the end `domu-done observations=N` (or `domu-failed: <why>`), or
//!   `panic: ...`;
//! - `xenmem-domu: <line>`: a line of the domU's suite, verbatim after the tag;
//! - `xenmem-domu-guest: <text>`: the domU's own progress (`start ...`, `conformance-done
//!   observations=N`, or `panic: ...`).
//!
//! The domU's lines are printed by dom0 only after the domU has stopped, all after dom0's own.

#![no_std]
#![no_main]

mod bootinfo;
mod console;
mod elf;
mod entry;
mod hv;
mod log;
mod mem;
mod memmap;
mod once;
mod platform;
mod toolstack;

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use bootinfo::StartInfo;
use console::{Console, Sink, Tagged};
use memmap::MemoryMap;
use xenmem::hypercall::x86_64::HypercallPage;
use xenmem::{Gfn, Xen};
use xenmem_conformance::{run_dom0, run_domu, Config, Platform};

/// Scratch room handed to the suite (1024 pages = 4 MiB), 2 MiB aligned so that it never
/// shares a boot large page with anything Xen reported.
const SCRATCH_PAGES: u64 = 1024;
const SCRATCH_ALIGN: u64 = 2 << 20;
const PAGE: u64 = 4096;

/// Set once the kernel knows it is the domU: a panic then ends the domain, not the machine.
static IS_DOMU: AtomicBool = AtomicBool::new(false);

/// Called by the entry stub in long mode with the physical address of `hvm_start_info`.
#[no_mangle]
extern "C" fn kmain(start_info: u64) -> ! {
    if !hv::install() {
        // Not under Xen: there is no console to complain on.
        hv::halt();
    }
    let Some(hv) = hv::backend() else { hv::halt() };
    // SAFETY: `start_info` is the address the domain builder passed in %ebx (the entry stub
    // hands it on unchanged), and the kernel never writes the start info or what it points to.
    let info = match unsafe { StartInfo::read(start_info) } {
        Ok(info) => info,
        Err(e) => panic!("start info at {start_info:#x}: {e}"),
    };
    match info.arg("role") {
        None | Some("dom0") => dom0_main(hv, &info, start_info),
        Some("domu") => domu_main(hv, &info, start_info),
        Some(other) => panic!("unknown role={other}"),
    }
}

fn dom0_main(hv: HypercallPage, info: &StartInfo, start_info: u64) -> ! {
    let mut con = Console::new();
    let _ = writeln!(con, "xenmem-guest: start x86_64 pvh start_info={start_info:#x}");

    let map = match MemoryMap::query(&hv) {
        Ok(map) => map,
        Err(e) => panic!("XENMEM_memory_map failed: {e}"),
    };
    for r in map.regions() {
        let _ = writeln!(con, "xenmem-guest: e820 {:#x}-{:#x} type {}", r.start, r.start + r.size, r.kind);
    }
    // One hole for both the suite's scratch room and, after it, the window through which dom0
    // maps the domU's pages.
    let Some(hole) = map.hole_above_ram(SCRATCH_PAGES + toolstack::WINDOW_PAGES, SCRATCH_ALIGN) else {
        panic!("no hole of {} pages below 4 GiB", SCRATCH_PAGES + toolstack::WINDOW_PAGES);
    };
    let cfg = Config {
        self_id: 0,
        scratch_gfn: Gfn(hole / PAGE),
        scratch_pages: SCRATCH_PAGES,
        ..Default::default()
    };
    let _ = writeln!(con, "xenmem-guest: scratch {} pages {}", cfg.scratch_gfn, cfg.scratch_pages);

    let mut dom0 = platform::Kernel::new(hv);
    let summary = {
        let mut out = Tagged::new(&mut con, "xenmem: ");
        let summary = run_dom0(&mut dom0, &cfg, &mut out);
        // A last suite line without its newline would otherwise glue onto the next line.
        out.end_line();
        summary
    };
    con.flush();
    let _ = writeln!(con, "xenmem-guest: conformance-done observations={}", summary.observations);

    let window = Gfn(hole / PAGE + SCRATCH_PAGES);
    run_domu_from_dom0(&mut con, dom0.xen(), info, window);
    hv::shutdown_reboot()
}

/// Builds and runs the domU, then prints its lines and the verdict line.
fn run_domu_from_dom0(con: &mut Console, xen: &Xen<HypercallPage>, info: &StartInfo, window: Gfn) {
    let Some(module) = info.module else {
        let _ =
            writeln!(con, "xenmem-guest: domu-failed: no module (pass this kernel as dom0's first module)");
        return;
    };
    // SAFETY: the module comes from this domain's own start info.
    let Some(image) = (unsafe { bootinfo::module_bytes(module) }) else {
        let _ = writeln!(con, "xenmem-guest: domu-failed: module at {:#x} out of reach", module.paddr);
        return;
    };
    let _ = writeln!(con, "xenmem-guest: domu image {:#x} bytes {}", module.paddr, image.len());
    let report = match toolstack::run(xen, image, window) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(con, "xenmem-guest: domu-failed: {e}");
            return;
        }
    };
    let lines = report.text.split_inclusive(|&b| b == b'\n');
    for line in lines.filter(|l| *l != b"\n") {
        // Every line dom0 prints for the domU carries a domU tag, whatever the domU wrote.
        if !line.starts_with(b"xenmem-domu") {
            con.write_bytes(b"xenmem-domu-guest: untagged: ");
        }
        con.write_bytes(line);
        if !line.ends_with(b"\n") {
            con.write_bytes(b"\n");
        }
    }
    let h = report.header;
    let _ = writeln!(
        con,
        "xenmem-guest: domu d{} stopped after {} polls: shutdown {}, log state {}, {} bytes, {} dropped",
        report.domid.raw(),
        report.polls,
        report.shutdown_reason.map_or("none (still running)", hv::shutdown_reason_name),
        h.state,
        h.len,
        h.dropped
    );
    match (report.failure(), h.dropped) {
        (None, 0) => {
            let _ = writeln!(con, "xenmem-guest: domu-done observations={}", h.observations);
        }
        (None, _) => {
            let _ = writeln!(con, "xenmem-guest: domu-failed: the domU's log overflowed");
        }
        (Some(why), _) => {
            let _ = writeln!(con, "xenmem-guest: domu-failed: {why}");
        }
    }
}

/// The domU's command line, as dom0's builder writes it.
struct DomuArgs {
    domid: u16,
    sibling: Option<u16>,
    log: u64,
    log_size: u64,
}

impl DomuArgs {
    fn parse(info: &StartInfo) -> Option<DomuArgs> {
        let num = |s: &str| match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        };
        let domid = u16::try_from(num(info.arg("domid")?)?).ok()?;
        let (log, size) = info.arg("log")?.split_once(',')?;
        let sibling = info.arg("sibling").and_then(num).and_then(|v| u16::try_from(v).ok());
        Some(DomuArgs { domid, sibling, log: num(log)?, log_size: num(size)? })
    }
}

fn domu_main(hv: HypercallPage, info: &StartInfo, start_info: u64) -> ! {
    IS_DOMU.store(true, Ordering::Relaxed);
    // console_io is refused to an unprivileged domain; until the log exists, port 0xE9 is
    // the only way out.
    console::set_sink(Sink::DebugPort);
    let Some(args) = DomuArgs::parse(info) else { panic!("bad domU command line: {}", info.cmdline) };
    let map = match MemoryMap::query(&hv) {
        Ok(map) => map,
        Err(e) => panic!("XENMEM_memory_map failed: {e}"),
    };
    if !log_area_ok(&map, args.log, args.log_size) {
        panic!("log area {:#x}+{:#x} is not free RAM of this domain", args.log, args.log_size);
    }
    // SAFETY: `log_area_ok` checked the range is page-aligned RAM of this domain below 4 GiB,
    // outside the kernel image (where every Rust object lives); the builder set it aside for
    // the log.
    unsafe { log::install(args.log, args.log_size) };
    console::set_sink(Sink::Log);

    let mut con = Console::new();
    let _ =
        writeln!(con, "xenmem-domu-guest: start x86_64 pvh domid={} start_info={start_info:#x}", args.domid);
    for r in map.regions() {
        let _ =
            writeln!(con, "xenmem-domu-guest: e820 {:#x}-{:#x} type {}", r.start, r.start + r.size, r.kind);
    }
    let Some(scratch) = map.hole_above_ram(SCRATCH_PAGES, SCRATCH_ALIGN) else {
        panic!("no hole of {SCRATCH_PAGES} pages below 4 GiB");
    };
    let cfg = Config {
        self_id: args.domid,
        scratch_gfn: Gfn(scratch / PAGE),
        scratch_pages: SCRATCH_PAGES,
        sibling: args.sibling,
    };
    let _ = writeln!(con, "xenmem-domu-guest: scratch {} pages {}", cfg.scratch_gfn, cfg.scratch_pages);

    let mut domu = platform::Kernel::new(hv);
    let summary = {
        let mut out = Tagged::new(&mut con, "xenmem-domu: ");
        let summary = run_domu(&mut domu, &cfg, &mut out);
        out.end_line();
        summary
    };
    let _ = writeln!(con, "xenmem-domu-guest: conformance-done observations={}", summary.observations);
    con.flush();
    log::finish(log::DONE, summary.observations);
    hv::shutdown(hv::SHUTDOWN_POWEROFF)
}

/// Whether `base..base + size` is page-aligned, inside one RAM region of `map`, below 4 GiB,
/// and clear of the kernel image.
fn log_area_ok(map: &MemoryMap, base: u64, size: u64) -> bool {
    extern "C" {
        static __image_start: u8;
        static __image_end: u8;
    }
    let image = core::ptr::addr_of!(__image_start) as u64..core::ptr::addr_of!(__image_end) as u64;
    let Some(end) = base.checked_add(size) else { return false };
    base.is_multiple_of(PAGE)
        && size.is_multiple_of(PAGE)
        && size > log::TEXT as u64
        && end <= 1 << 32
        && (end <= image.start || base >= image.end)
        && map.regions().iter().any(|r| r.kind == 1 && r.start <= base && end <= r.start + r.size)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let domu = IS_DOMU.load(Ordering::Relaxed);
    let tag = if domu { "xenmem-domu-guest" } else { "xenmem-guest" };
    // A fresh buffer: the main one may hold half a line, which is lost; the leading newline
    // ends whatever part of it did reach the output. One line, so the script's tail shows it.
    for mirror in [false, true] {
        if mirror {
            // The domU's log is read only if dom0 gets that far: say it on port 0xE9 too.
            if !domu || console::sink() != Sink::Log {
                break;
            }
            console::set_sink(Sink::DebugPort);
        }
        let mut con = Console::new();
        let _ = write!(con, "{}{tag}: panic", if mirror { "" } else { "\n" });
        if let Some(loc) = info.location() {
            let _ = write!(con, " at {}:{}", loc.file(), loc.line());
        }
        let _ = writeln!(con, ": {}", info.message());
    }
    if domu {
        log::finish(log::FAILED, 0);
        hv::shutdown(hv::SHUTDOWN_CRASH)
    }
    hv::shutdown_reboot()
}
