//! Probes a real Linux dom0 through privcmd and prints one `probe ...` line per answer: the
//! backend used directly, without the `xenmem` command (which `cargo xtask linux-dom0`
//! checks against what Xen itself reports on a real dom0).
//!
//! Lines are `probe <call> = <value>` or `probe <call> -> <ERRNO NAME>`; the last is
//! `probe done`. Needs root on a Xen dom0 with `xen-privcmd` loaded. The scratch domain it
//! creates (a PVH domU that never runs) is destroyed before it exits.

use std::fmt::Display;
use std::process::ExitCode;
use xenmem::{domctl::pvh_domu, DomId, Gfn, GrantTableId, MemFlags, ResourceType, Xen};
use xenmem_privcmd::{MappedResource, Privcmd};

/// Prints a result the way the checker reads it: the value, or the errno's name alone.
fn line<T: Display>(call: &str, r: Result<T, xenmem::Error>) -> Option<T> {
    match r {
        Ok(v) => {
            println!("probe {call} = {v}");
            Some(v)
        }
        Err(e) => {
            println!("probe {call} -> {}", errno_name(e.xen().map(|x| x.errno()).unwrap_or(22)));
            None
        }
    }
}

fn privcmd_line<T: Display>(call: &str, r: Result<T, xenmem_privcmd::Error>) -> Option<T> {
    match r {
        Ok(v) => {
            println!("probe {call} = {v}");
            Some(v)
        }
        Err(e) => {
            println!("probe {call} -> {} ({e})", errno_name(e.errno().map(|x| x.errno()).unwrap_or(0)));
            None
        }
    }
}

fn errno_name(errno: i32) -> String {
    match xenmem::XenError::from_errno(errno).name() {
        Some(n) => n.to_string(),
        None => format!("errno {errno}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn main() -> ExitCode {
    let privcmd = match Privcmd::open() {
        Ok(p) => p,
        Err(e) => {
            println!("probe open -> {e}");
            return ExitCode::FAILURE;
        }
    };
    match privcmd.xen_version() {
        Ok(v) => println!("probe xen_version = {v}"),
        Err(e) => println!("probe xen_version -> {e}"),
    }
    let xen = Xen::new(&privcmd);
    let grant = ResourceType::GrantTable;
    let shared = GrantTableId::Shared as u32;

    line("current_reservation(DOMID_SELF)", xen.current_reservation(DomId::SELF));
    line("current_reservation(d0)", xen.current_reservation(DomId(0)));
    line("maximum_reservation(DOMID_SELF)", xen.maximum_reservation(DomId::SELF));
    line("maximum_reservation(d0)", xen.maximum_reservation(DomId(0)));
    line("maximum_gpfn(DOMID_SELF)", xen.maximum_gpfn(DomId::SELF).map(|g| g.0));
    line("current_reservation(d1)", xen.current_reservation(DomId(1)));
    line("acquire_resource_size(d0, grant_table, 0)", xen.acquire_resource_size(DomId(0), grant, shared));
    line(
        "acquire_resource_size(DOMID_SELF, grant_table, 0)",
        xen.acquire_resource_size(DomId::SELF, grant, shared),
    );

    let ok = scratch_domain(&privcmd, &xen);
    println!("probe done");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Creates a PVH domU that never runs, gives it a few pages, measures and maps its grant
/// table, then destroys it. Returns whether every step worked.
fn scratch_domain(privcmd: &Privcmd, xen: &Xen<&Privcmd>) -> bool {
    let Some(d) = line(
        "create_domain(pvh_domu(1 vcpu, 32 grant frames))",
        xen.create_domain(DomId(0), &pvh_domu(1, 32)),
    ) else {
        return false;
    };
    let mut ok = true;
    ok &= line(&format!("set_max_vcpus({d}, 1)"), xen.set_max_vcpus(d, 1).map(|()| "ok")).is_some();
    ok &= line(&format!("set_max_mem({d}, 1024 KiB)"), xen.set_max_mem(d, 1024).map(|()| "ok")).is_some();
    let mut gfns = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
    let done = line(
        &format!("populate_physmap({d}, 4 x order 0 at gfn 0x100)"),
        xen.populate_physmap(d, 0, MemFlags::empty(), &mut gfns),
    );
    ok &= done == Some(4);
    line(&format!("current_reservation({d})"), xen.current_reservation(d));
    line(&format!("maximum_reservation({d})"), xen.maximum_reservation(d));
    line(
        &format!("acquire_resource_size({d}, grant_table, shared)"),
        xen.acquire_resource_size(d, ResourceType::GrantTable, GrantTableId::Shared as u32),
    );
    line(
        &format!("acquire_resource_size({d}, grant_table, status)"),
        xen.acquire_resource_size(d, ResourceType::GrantTable, GrantTableId::Status as u32),
    );
    privcmd_line(
        &format!("resource_size({d}, grant_table, shared)"),
        privcmd.resource_size(d, ResourceType::GrantTable, GrantTableId::Shared as u32),
    );
    ok &= grant_frame(privcmd, d);
    ok &= line(&format!("destroy_domain({d})"), xen.destroy_domain(d).map(|()| "ok")).is_some();
    // getdomaininfo answers with the next domain at or above the id: none left is ESRCH.
    match xen.domain_info(d) {
        Ok(info) if info.domain == d.raw() => {
            println!("probe domain_info({d}) after destroy = still there, flags {:#x}", info.flags)
        }
        Ok(info) => println!("probe domain_info({d}) after destroy = gone (next is d{})", info.domain),
        Err(e) => println!("probe domain_info({d}) after destroy -> {}", errno_name(e.errno())),
    }
    ok
}

/// Maps grant frame 0 of `d`, shows its first bytes, seeds one grant entry the way a toolstack
/// does, and maps the frame again to see the entry there: the bytes are Xen's frame, not a
/// private copy.
fn grant_frame(privcmd: &Privcmd, d: DomId) -> bool {
    let map = |what: &str| -> Option<MappedResource> {
        let call = format!("map_resource({d}, grant_table, shared, frame 0, 1 frame){what}");
        let r = privcmd.map_resource(d, ResourceType::GrantTable, GrantTableId::Shared as u32, 0, 1);
        let len = r.as_ref().map(MappedResource::len);
        privcmd_line(&call, len.map(|n| format!("{n} bytes")).map_err(|e| e.clone()))?;
        r.ok()
    };
    let Some(mut first) = map("") else { return false };
    let mut head = [0u8; 16];
    first.read(0, &mut head);
    println!("probe grant frame 0 bytes 0..16 = {}", hex(&head));
    // grant_entry_v1 #1: flags GTF_permit_access (1), domid 0, frame 0x100: what libxc's
    // gnttab seeding writes for a console or xenstore page.
    let entry: [u8; 8] = [1, 0, 0, 0, 0x00, 0x01, 0, 0];
    first.write(8, &entry);
    drop(first);
    let Some(second) = map(" again") else { return false };
    let mut again = [0u8; 16];
    second.read(0, &mut again);
    println!("probe grant frame 0 bytes 0..16 after seeding entry 1 and remapping = {}", hex(&again));
    again[8..16] == entry
}
