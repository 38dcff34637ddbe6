//! A freestanding arm64 kernel for Xen that runs the xenmem conformance suite in two
//! roles at once on one machine, chosen by `role=` in `/chosen/bootargs` of the device tree
//! Xen hands it:
//! - `role=dom0`: the hardware and control domain (mapped 1:1 by Xen). Runs the dom0 suite,
//!   then acts as the domU's toolstack (handover.rs): makes a sibling domain, names it to the
//!   domU through an event channel, raises the domU's memory limit (the domU's signal to
//!   start), waits for the domU to shut down, and resets the machine.
//! - `role=domu`: a dom0less domU Xen built from the same image at boot (unprivileged, 128
//!   MiB). Waits for dom0's signal, runs the domU suite, and powers itself off.
//!
//! Console format (console_io, one hypercall per line; Xen prints dom0's lines as they are and
//! the domU's as `(d1) <line>`; the runtime's crate docs describe the tags):
//! - `xenmem: <line>`: a line of dom0's suite, verbatim after the tag;
//! - `xenmem-guest: <text>`: dom0's progress: `conformance-done observations=N`, then
//!   `domu-done` (or `domu-failed: <why>`), or `panic: ...`;
//! - `xenmem-domu: <line>`: a line of the domU's suite, verbatim after the tag;
//! - `xenmem-domu-guest: <text>`: the domU's progress (`conformance-done observations=M`,
//!   `panic: ...`).

#![no_std]
#![no_main]

mod arch;
mod entry;
mod fdt;
mod handover;
mod mem;

use core::fmt::Write;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::{Arm64, Console};
use fdt::DtInfo;
use xenmem::{DomId, Gfn};
use xenmem_conformance::{Config, Platform};
use xenmem_guest_runtime::platform::Kernel;
use xenmem_guest_runtime::{cmdline, device_model, suite, toolstack, xen, Arch, Role, PAGE};

/// Scratch room handed to the suite (1024 pages = 4 MiB), 2 MiB aligned.
const SCRATCH_PAGES: u64 = 1024;
const SCRATCH_ALIGN: u64 = 2 << 20;
/// Where the domU suite puts the pages that fill it up to its limit (`domu.rs`, FILL_BASE):
/// the domU's scratch hole must end below it.
const DOMU_FILL_BASE: u64 = 0x8000_0000;
/// The top of Arm's first guest RAM region (`GUEST_RAM0_BASE` + `GUEST_RAM0_SIZE` in
/// `public/arch-arm.h`): a dom0less domU's RAM and nothing else lives between its base and here.
const GUEST_RAM0_END: u64 = 0x1_0000_0000;

/// Where Xen loaded the image (for reporting exception addresses).
static IMAGE_BASE: AtomicU64 = AtomicU64::new(0);

/// Called by the entry code with the device tree's address and the image's runtime base.
#[no_mangle]
extern "C" fn kmain(dtb: u64, base: u64) -> ! {
    IMAGE_BASE.store(base, Ordering::Relaxed);
    // SAFETY: x0 at entry is the device tree Xen placed in this domain's RAM (the arm64 boot
    // protocol); nothing writes it, and its first 8 bytes are read before trusting its size.
    let header = unsafe { core::slice::from_raw_parts(dtb as *const u8, 8) };
    let Some(size) = fdt::total_size(header) else { panic!("no device tree at {dtb:#x}") };
    // SAFETY: as above, for the size the tree's header gives.
    let blob = unsafe { core::slice::from_raw_parts(dtb as *const u8, size as usize) };
    let dt = match fdt::scan(blob) {
        Ok(dt) => dt,
        Err(e) => panic!("device tree at {dtb:#x}: {e}"),
    };
    let dtb_range = dtb..dtb + size as u64;
    match cmdline::arg(dt.bootargs, "role") {
        Some("dom0") => dom0_main(&dt, dtb_range),
        Some("domu") => domu_main(&dt, dtb_range),
        _ => panic!("no role=dom0|domu in bootargs \"{}\"", dt.bootargs),
    }
}

fn describe(con: &mut Console, tag: &str, dt: &DtInfo<'_>, dtb: &Range<u64>) {
    let img = xenmem_guest_runtime::image_range();
    let _ = writeln!(
        con,
        "{tag}: image {:#x}-{:#x} dtb {:#x}-{:#x} bootargs \"{}\"",
        img.start, img.end, dtb.start, dtb.end, dt.bootargs
    );
    for m in dt.memory.as_slice() {
        let _ = writeln!(con, "{tag}: memory {:#x}-{:#x}", m.start, m.end());
    }
    // Room for 8 e820 entries, in case a Xen answers.
    match xen::memory_map::<Arm64>(&mut [0u8; 160]) {
        Ok(n) => {
            let _ = writeln!(con, "{tag}: XENMEM_memory_map gave {n} entries (the device tree is used)");
        }
        Err(e) => {
            let e = xenmem::XenError::from_errno(-e as i32);
            let _ = writeln!(con, "{tag}: XENMEM_memory_map: {e} (the device tree is the map)");
        }
    }
    for (i, h) in dt.hypervisor.as_slice().iter().enumerate() {
        let what = if i == 0 { "grant table" } else { "extended region" };
        let _ = writeln!(con, "{tag}: hypervisor reg {:#x}-{:#x} ({what})", h.start, h.end());
    }
}

/// Checks that nothing is mapped at the first and last page of `start..start + pages`: a read
/// there must fault (Xen injects a data abort for an unmapped guest-physical address).
fn hole_is_unmapped(start: u64, pages: u64) -> bool {
    [start, start + (pages - 1) * PAGE].iter().all(|&a| {
        // SAFETY: the address is outside the image (callers pick it outside every RAM bank),
        // so no Rust object lives there; the read either faults or returns a byte.
        unsafe { Arm64::read_phys_byte(a) }.is_none()
    })
}

fn align_up(v: u64, a: u64) -> Option<u64> {
    Some(v.checked_add(a - 1)? & !(a - 1))
}

/// dom0's scratch hole: the first extended region (Xen's own list of guest-physical space
/// safe for foreign mappings in the hardware domain) with room for it, clear of dom0's RAM.
fn dom0_scratch(dt: &DtInfo<'_>) -> Option<u64> {
    let need = SCRATCH_PAGES * PAGE;
    dt.hypervisor.as_slice().iter().skip(1).find_map(|r| {
        let start = align_up(r.start, SCRATCH_ALIGN)?;
        let end = start.checked_add(need)?;
        let clear = !dt.memory.as_slice().iter().any(|m| m.overlaps(start, end));
        (end <= r.end() && clear).then_some(start)
    })
}

/// The domU's scratch hole: right above its highest RAM bank in the first guest RAM region,
/// where Xen maps nothing for a dom0less domU, and below the suite's fill area.
fn domu_scratch(dt: &DtInfo<'_>) -> Option<u64> {
    let top = dt.memory.as_slice().iter().map(|m| m.end()).filter(|&e| e <= GUEST_RAM0_END).max()?;
    let start = align_up(top, SCRATCH_ALIGN)?;
    (start.checked_add(SCRATCH_PAGES * PAGE)? <= DOMU_FILL_BASE).then_some(start)
}

/// The suite's view of this kernel: everything outside the image and the device tree.
fn kernel(dtb: Range<u64>) -> Kernel<Arm64> {
    Kernel::new(xenmem::hypercall::aarch64::Hvc, [xenmem_guest_runtime::image_range(), dtb])
}

fn dom0_main(dt: &DtInfo<'_>, dtb: Range<u64>) -> ! {
    let tag = Role::Dom0.tag();
    let t0 = Arm64::now_ms().unwrap_or(0);
    let mut con = Console::new();
    let _ = writeln!(con, "{tag}: start arm64 role=dom0");
    describe(&mut con, tag, dt, &dtb);
    match xen::own_domid::<Arm64>() {
        Ok(0) => {}
        Ok(id) => panic!("role=dom0 but this is d{id}"),
        Err(e) => panic!("own domain id: evtchn error {e}"),
    }
    let Some(scratch) = dom0_scratch(dt) else {
        panic!("no extended region with {SCRATCH_PAGES} free pages")
    };
    if !hole_is_unmapped(scratch, SCRATCH_PAGES) {
        panic!("scratch hole {scratch:#x} has something mapped");
    }
    let cfg =
        Config { self_id: 0, scratch_gfn: Gfn(scratch / PAGE), scratch_pages: SCRATCH_PAGES, sibling: None };
    let mut dom0 = kernel(dtb);
    if let Some(bank) = dt.memory.as_slice().first() {
        dom0 = dom0.with_spare_ram(bank.start..bank.end());
    }
    suite::run(&mut con, Role::Dom0, &mut dom0, &cfg);
    let u = DomId(1);
    match handover::run_domu(&mut con, dom0.xen(), u) {
        Ok((waited, sibling)) => {
            let _ = writeln!(con, "{tag}: sibling was d{}", sibling.raw());
            toolstack::report(&mut con, u, &waited, None);
        }
        Err(e) => {
            let _ = writeln!(con, "{tag}: domu-failed: {e}");
        }
    }
    // The device model's cases, naming the dom0less domU (stopped by now): Debian's arm64
    // Xen has no ioreq servers, so they show how it refuses them; nothing is served.
    let mut served = device_model::Served::idle(&mut dom0, u);
    device_model::run(&mut con, &mut served, &cfg);
    let _ = writeln!(con, "{tag}: total_ms={}", Arm64::now_ms().unwrap_or(0) - t0);
    con.flush();
    xen::shutdown::<Arm64>(xen::SHUTDOWN_REBOOT)
}

fn domu_main(dt: &DtInfo<'_>, dtb: Range<u64>) -> ! {
    xenmem_guest_runtime::set_role(Role::Domu);
    let tag = Role::Domu.tag();
    let mut con = Console::new();
    let id = match xen::own_domid::<Arm64>() {
        Ok(0) => panic!("role=domu but this is d0"),
        Ok(id) => id,
        Err(e) => panic!("own domain id: evtchn error {e}"),
    };
    let _ = writeln!(con, "{tag}: start arm64 role=domu domid={id}");
    describe(&mut con, tag, dt, &dtb);
    let Some(scratch) = domu_scratch(dt) else { panic!("no room for the scratch hole above RAM") };
    if !hole_is_unmapped(scratch, SCRATCH_PAGES) {
        panic!("scratch hole {scratch:#x} has something mapped");
    }
    let mut domu = kernel(dtb);
    let waited = match handover::wait_for_dom0(domu.xen()) {
        Ok(w) => w,
        Err(e) => panic!("{e}"),
    };
    let sibling = handover::sibling_from_dom0(id);
    let _ = writeln!(
        con,
        "{tag}: dom0's go after {} polls, {} ms; sibling {:?}",
        waited.polls, waited.ms, sibling
    );
    let cfg = Config { self_id: id, scratch_gfn: Gfn(scratch / PAGE), scratch_pages: SCRATCH_PAGES, sibling };
    suite::run(&mut con, Role::Domu, &mut domu, &cfg);
    xen::shutdown::<Arm64>(xen::SHUTDOWN_POWEROFF)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    xenmem_guest_runtime::panic::<Arm64>(info)
}

/// Called by the exception vectors (entry.rs) for anything but a guarded access's fault.
#[no_mangle]
extern "C" fn xenmem_exception(kind: u64, esr: u64, elr: u64, far: u64) -> ! {
    const KINDS: [&str; 4] = ["sync", "irq", "fiq", "serror"];
    const FROM: [&str; 4] = ["EL1 SP_EL0", "EL1 SP_EL1", "EL0 aarch64", "EL0 aarch32"];
    let base = IMAGE_BASE.load(Ordering::Relaxed);
    xenmem_guest_runtime::fatal::<Arm64>(format_args!(
        "panic: exception {} from {} esr={esr:#x} (ec {:#x}) elr={elr:#x} (image+{:#x}) far={far:#x}",
        KINDS[(kind % 4) as usize],
        FROM[(kind / 4 % 4) as usize],
        esr >> 26,
        elr.wrapping_sub(base)
    ))
}
