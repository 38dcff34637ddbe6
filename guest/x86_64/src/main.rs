//! A freestanding PVH dom0 for Xen 4.17 on x86_64 that runs the xenmem conformance suite and
//! prints its lines on Xen's console, then resets the machine.
//!
//! Console format (each line one console_io call, unprefixed by Xen for the hardware domain):
//! - `xenmem: <line>`: a line of the suite, verbatim after the tag;
//! - `xenmem-guest: <text>`: the kernel's own progress, ending with
//!   `xenmem-guest: conformance-done observations=N` on success or `xenmem-guest: panic: ...`.

#![no_std]
#![no_main]

mod console;
mod entry;
mod hv;
mod mem;
mod memmap;
mod platform;

use core::fmt::Write;

use console::{Console, Tagged};
use memmap::MemoryMap;
use xenmem::Gfn;
use xenmem_conformance::{run_dom0, Config};

/// Scratch room handed to the suite (1024 pages = 4 MiB), 2 MiB aligned so that it never
/// shares a boot large page with anything Xen reported.
const SCRATCH_PAGES: u64 = 1024;
const SCRATCH_ALIGN: u64 = 2 << 20;

/// Called by the entry stub in long mode with the physical address of `hvm_start_info`.
#[no_mangle]
extern "C" fn kmain(start_info: u64) -> ! {
    if !hv::install() {
        // Not under Xen: there is no console to complain on.
        hv::halt();
    }
    let Some(hv) = hv::backend() else { hv::halt() };
    let mut con = Console::new();
    let _ = writeln!(con, "xenmem-guest: start x86_64 pvh start_info={start_info:#x}");

    let map = match MemoryMap::query(&hv) {
        Ok(map) => map,
        Err(e) => panic!("XENMEM_memory_map failed: {e}"),
    };
    for r in map.regions() {
        let _ = writeln!(con, "xenmem-guest: e820 {:#x}-{:#x} type {}", r.start, r.start + r.size, r.kind);
    }
    let Some(scratch) = map.hole_above_ram(SCRATCH_PAGES, SCRATCH_ALIGN) else {
        panic!("no hole of {SCRATCH_PAGES} pages below 4 GiB");
    };
    let cfg = Config {
        self_id: 0,
        scratch_gfn: Gfn(scratch / 4096),
        scratch_pages: SCRATCH_PAGES,
        ..Default::default()
    };
    let _ = writeln!(con, "xenmem-guest: scratch {} pages {}", cfg.scratch_gfn, cfg.scratch_pages);

    let mut dom0 = platform::Dom0::new(hv);
    let summary = {
        let mut out = Tagged::new(&mut con, "xenmem: ");
        let summary = run_dom0(&mut dom0, &cfg, &mut out);
        // A last suite line without its newline would otherwise glue onto the next line.
        out.end_line();
        summary
    };
    con.flush();
    let _ = writeln!(con, "xenmem-guest: conformance-done observations={}", summary.observations);
    hv::shutdown_reboot()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // A fresh buffer: the main one may hold half a line, which is lost; the leading newline
    // ends whatever part of it did reach the console. One line, so the script's tail shows it.
    let mut con = Console::new();
    let _ = write!(con, "\nxenmem-guest: panic");
    if let Some(loc) = info.location() {
        let _ = write!(con, " at {}:{}", loc.file(), loc.line());
    }
    let _ = writeln!(con, ": {}", info.message());
    hv::shutdown_reboot()
}
