//! A freestanding PVH kernel for Xen on x86_64 that runs the xenmem conformance suite in
//! two roles, chosen by `role=` on its command line (`hvm_start_info`):
//! - `role=dom0` (or no role): the hardware domain. Runs the dom0 suite, then acts as a
//!   toolstack (domu.rs): builds an unprivileged PVH domU from this same image, which
//!   Xen loaded as dom0's first module, waits for it, prints its log, and resets the machine.
//! - `role=domu`: that domU. Runs the domU suite, writing into a log area dom0 keeps mapped
//!   (the runtime's `log`), then powers itself off.
//! - `role=ioreq`: a second domU, built the same way after the first has stopped, whose MMIO
//!   dom0 serves as its device model (device_model.rs); it makes the suite's accesses, logs
//!   what each got, and powers off.
//!
//! Console format (each line one console_io call by dom0, unprefixed by Xen; the runtime's
//! crate docs describe the tags):
//! - `xenmem: <line>`: a line of dom0's suite, verbatim after the tag;
//! - `xenmem-guest: <text>`: dom0's own progress: `conformance-done observations=N` after its
//!   suite, and at the end `domu-done observations=N` (or `domu-failed: <why>`), or
//!   `panic ...`;
//! - `xenmem-domu: <line>`: a line of the domU's suite, verbatim after the tag;
//! - `xenmem-domu-guest: <text>`: the domU's own progress (`start ...`, `conformance-done
//!   observations=N`, or `panic: ...`).
//!
//! The domU's lines are printed by dom0 only after the domU has stopped, all after dom0's own.

#![no_std]
#![no_main]

mod arch;
mod bootinfo;
mod device_model;
mod domu;
mod economy;
mod elf;
mod entry;
mod mem;
mod memmap;

use core::fmt::Write;

use arch::{Console, Sink, X86};
use bootinfo::StartInfo;
use memmap::MemoryMap;
use xenmem::Gfn;
use xenmem_conformance::{Config, Platform};
use xenmem_guest_runtime::platform::Kernel;
use xenmem_guest_runtime::{cmdline, log, suite, toolstack, xen, Arch, Role, PAGE};

/// Scratch room handed to the suite (1024 pages = 4 MiB), 2 MiB aligned so that it never
/// shares a boot large page with anything Xen reported.
const SCRATCH_PAGES: u64 = 1024;
const SCRATCH_ALIGN: u64 = 2 << 20;

/// Called by the entry stub in long mode with the physical address of `hvm_start_info`.
#[no_mangle]
extern "C" fn kmain(start_info: u64) -> ! {
    if !arch::install() {
        // Not under Xen: there is no console to complain on.
        X86::halt();
    }
    // SAFETY: `start_info` is the address the domain builder passed in %ebx (the entry stub
    // hands it on unchanged), and the kernel never writes the start info or what it points to.
    let info = match unsafe { StartInfo::read(start_info) } {
        Ok(info) => info,
        Err(e) => panic!("start info at {start_info:#x}: {e}"),
    };
    match info.arg("role") {
        None | Some("dom0") => dom0_main(&info, start_info),
        Some("domu" | "ioreq") => domu_main(&info, start_info),
        Some(other) => panic!("unknown role={other}"),
    }
}

/// The suite's view of this kernel: everything outside the image.
fn kernel() -> Kernel<X86> {
    let Some(hv) = X86::hv() else { X86::halt() };
    Kernel::new(hv, [xenmem_guest_runtime::image_range(), 0..0])
}

fn query_map(con: &mut Console, tag: &str) -> MemoryMap {
    let map = match MemoryMap::query() {
        Ok(map) => map,
        Err(e) => panic!("XENMEM_memory_map failed: {e}"),
    };
    for r in map.regions() {
        let _ = writeln!(con, "{tag}: e820 {:#x}-{:#x} type {}", r.start, r.start + r.size, r.kind);
    }
    map
}

fn dom0_main(info: &StartInfo, start_info: u64) -> ! {
    let tag = Role::Dom0.tag();
    let mut con = Console::new();
    let _ = writeln!(con, "{tag}: start x86_64 pvh start_info={start_info:#x}");
    let map = query_map(&mut con, tag);
    // One hole for both the suite's scratch room and, after it, the window through which dom0
    // maps the domU's pages.
    let Some(hole) = map.hole_above_ram(SCRATCH_PAGES + domu::WINDOW_PAGES, SCRATCH_ALIGN) else {
        panic!("no hole of {} pages below 4 GiB", SCRATCH_PAGES + domu::WINDOW_PAGES);
    };
    let cfg = Config {
        self_id: 0,
        scratch_gfn: Gfn(hole / PAGE),
        scratch_pages: SCRATCH_PAGES,
        ..Default::default()
    };
    let mut dom0 = kernel();
    suite::run(&mut con, Role::Dom0, &mut dom0, &cfg);

    let window = Gfn(hole / PAGE + SCRATCH_PAGES);
    run_domu_from_dom0(&mut con, dom0.xen(), info, window);
    device_model::run(&mut con, &mut dom0, info, window, &cfg);
    arch::reboot()
}

/// Builds and runs the domU, then prints its lines and the verdict line.
fn run_domu_from_dom0(
    con: &mut Console,
    xen: &xenmem::Xen<<X86 as Arch>::Hv>,
    info: &StartInfo,
    window: Gfn,
) {
    let tag = Role::Dom0.tag();
    let Some(module) = info.module else {
        let _ = writeln!(con, "{tag}: domu-failed: no module (pass this kernel as dom0's first module)");
        return;
    };
    // SAFETY: the module comes from this domain's own start info.
    let Some(image) = (unsafe { bootinfo::module_bytes(module) }) else {
        let _ = writeln!(con, "{tag}: domu-failed: module at {:#x} out of reach", module.paddr);
        return;
    };
    let _ = writeln!(con, "{tag}: domu image {:#x} bytes {}", module.paddr, image.len());
    // SAFETY: the window is the part of dom0's hole (from its memory map, below 4 GiB) after
    // the suite's scratch pages, which nothing else uses.
    let report = match unsafe { domu::run(xen, image, window) } {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(con, "{tag}: domu-failed: {e}");
            return;
        }
    };
    let lines = report.text.split_inclusive(|&b| b == b'\n');
    for line in lines.filter(|l| *l != b"\n") {
        // Every line dom0 prints for the domU carries a domU tag, whatever the domU wrote.
        if !line.starts_with(b"xenmem-domu") {
            let _ = write!(con, "{}: untagged: ", Role::Domu.tag());
        }
        con.write_bytes(line);
        if !line.ends_with(b"\n") {
            con.write_bytes(b"\n");
        }
    }
    toolstack::report(con, report.domid, &report.waited, Some(&report.header));
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
        let domid = u16::try_from(cmdline::number(info.arg("domid")?)?).ok()?;
        let (log, size) = info.arg("log")?.split_once(',')?;
        let sibling = info.arg("sibling").and_then(cmdline::number).and_then(|v| u16::try_from(v).ok());
        Some(DomuArgs { domid, sibling, log: cmdline::number(log)?, log_size: cmdline::number(size)? })
    }
}

fn domu_main(info: &StartInfo, start_info: u64) -> ! {
    xenmem_guest_runtime::set_role(Role::Domu);
    let tag = Role::Domu.tag();
    // console_io is refused to an unprivileged domain; until the log exists, port 0xE9 is
    // the only way out.
    arch::set_sink(Sink::DebugPort);
    let Some(args) = DomuArgs::parse(info) else { panic!("bad domU command line: {}", info.cmdline) };
    let map = match MemoryMap::query() {
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
    arch::set_sink(Sink::Log);

    let mut con = Console::new();
    let _ = writeln!(con, "{tag}: start x86_64 pvh domid={} start_info={start_info:#x}", args.domid);
    for r in map.regions() {
        let _ = writeln!(con, "{tag}: e820 {:#x}-{:#x} type {}", r.start, r.start + r.size, r.kind);
    }
    if info.arg("role") == Some("ioreq") {
        // The device model's guest: its accesses, then off (dom0 collects the log).
        let n = xenmem_guest_runtime::device_model::guest(&mut con);
        con.flush();
        log::finish(log::DONE, n);
        xen::shutdown::<X86>(xen::SHUTDOWN_POWEROFF)
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
    let summary = suite::run(&mut con, Role::Domu, &mut kernel(), &cfg);
    log::finish(log::DONE, summary.observations);
    xen::shutdown::<X86>(xen::SHUTDOWN_POWEROFF)
}

/// Whether `base..base + size` is page-aligned, inside one RAM region of `map`, below 4 GiB,
/// and clear of the kernel image.
fn log_area_ok(map: &MemoryMap, base: u64, size: u64) -> bool {
    let image = xenmem_guest_runtime::image_range();
    let Some(end) = base.checked_add(size) else { return false };
    base.is_multiple_of(PAGE)
        && size.is_multiple_of(PAGE)
        && size > log::TEXT as u64
        && end <= arch::MAPPED_END
        && (end <= image.start || base >= image.end)
        && map
            .regions()
            .iter()
            .any(|r| r.kind == memmap::E820_RAM && r.start <= base && end <= r.start + r.size)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    xenmem_guest_runtime::panic::<X86>(info)
}
