//! dom0 as the device model of a second domU: after the domU suite's run, dom0 builds another
//! domU from the same image with `role=ioreq`, runs the suite's ioreq cases for it (the
//! runtime's `device_model`: an ioreq server over one page of the domU's MMIO, served by
//! polling while the domU runs), and prints the domU's own lines (what each of its accesses
//! got) from its log after dom0's.

use core::fmt::Write;

use xenmem::{Gfn, Xen};
use xenmem_conformance::Config;
use xenmem_guest_runtime::device_model::{self, Served};
use xenmem_guest_runtime::platform::Kernel;
use xenmem_guest_runtime::toolstack::{self, Fail};
use xenmem_guest_runtime::{tags, Arch, Role};

use crate::arch::{Console, X86};
use crate::bootinfo::{self, StartInfo};
use crate::domu;

/// Builds the ioreq domU, serves it, and prints both sides and the verdict line
/// (`ioreq-domu-done observations=N` or `ioreq-domu-failed: <why>`).
pub fn run(con: &mut Console, kernel: &mut Kernel<X86>, info: &StartInfo, window: Gfn, cfg: &Config) {
    let tag = Role::Dom0.tag();
    // SAFETY: the module comes from this domain's own start info.
    let image = info.module.and_then(|m| unsafe { bootinfo::module_bytes(m) });
    let Some(image) = image else {
        let _ = writeln!(con, "{tag}: ioreq-domu-failed: no module");
        return;
    };
    // The builder's own handle, apart from the one the suite's platform holds.
    let Some(hv) = X86::hv() else { X86::halt() };
    let builder = Xen::new(hv);
    let drive = |id| {
        let mut p = Served::paused(kernel, id);
        device_model::run(con, &mut p, cfg);
        p.wait_out();
        p.waited.ok_or(Fail::new("the ioreq domU was never waited for"))
    };
    // SAFETY: the window is the part of dom0's hole after the suite's scratch pages, which
    // nothing else uses (the domU suite's run has unmapped it again).
    let report = match unsafe { domu::run_as(&builder, image, window, "ioreq", drive) } {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(con, "{tag}: ioreq-domu-failed: {e}");
            return;
        }
    };
    for line in report.text.split_inclusive(|&b| b == b'\n').filter(|l| *l != b"\n") {
        if !line.starts_with(tags::IOREQ_GUEST.as_bytes()) && !line.starts_with(Role::Domu.tag().as_bytes()) {
            let _ = write!(con, "{}: untagged: ", Role::Domu.tag());
        }
        con.write_bytes(line);
        if !line.ends_with(b"\n") {
            con.write_bytes(b"\n");
        }
    }
    match toolstack::verdict(report.waited.reason, Some(&report.header)) {
        Ok(()) => {
            let _ = writeln!(con, "{tag}: ioreq-domu-done observations={}", report.header.observations);
        }
        Err(why) => {
            let _ = writeln!(con, "{tag}: ioreq-domu-failed: {why}");
        }
    }
    con.flush();
}
