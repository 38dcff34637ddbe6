//! The body of the `raw_decode` fuzz target, shared with the crate's smoke test
//! (`tests/fuzz_smoke.rs`) so plain `cargo test` runs it too.
//!
//! The input drives hypercalls straight into the model's raw decode: a machine (x86, Arm, or
//! Arm built with ioreq servers) with a PVH dom0, an HVM domU with RAM, a PV domU (x86) and a
//! device model; where the build has ioreq servers, dom0 serves the domU through one (pages
//! acquired at GFNs 0x8000 and 0x8001, MMIO, port and PCI ranges, enabled, port bound).
//! Then up to 8 calls, each naming its caller, its hypercall (memory_op, domctl, dm_op,
//! event_channel_op, or any number), `cmd` (sub-op and continuation index; dm_op's domain
//! and buffer count) and its argument address — or one of two host actions: the domU's vCPU
//! makes an access (port or MMIO, any size, read or write, inside or outside the ranges), or
//! the emulator writes any bytes into its ioreq pages and sends an event, as a buggy device
//! model would. The rest of the input is the callers' memory, an arena at address 0, so
//! small numbers in the input are valid guest pointers. Every call must return (no panic),
//! and the model's invariants must hold after each.

use xenmem::dm_op::{BufIoreq, IoRangeType};
use xenmem::evtchn::Port;
use xenmem::{DomId, Gfn, ResourceType, Xen};
use xenmem_sim::{Arch, ArenaMemory, DomainConfig, DomainKind, GuestIo, MachineConfig, Sim};

/// Where the served domU's MMIO range starts (one page).
const MMIO: u64 = 0xfeb0_0000;
/// Where dom0 maps the server's buffered (0x8000) and synchronous (0x8001) pages.
const PAGES: u64 = 0x8000;

/// dom0 serving `domu` as a device model does; returns its bound port.
fn serve(sim: &Sim, dom0: DomId, domu: DomId, bufioreq: bool) -> Option<Port> {
    let xen = Xen::new(sim.backend(dom0));
    let mode = if bufioreq { BufIoreq::Atomic } else { BufIoreq::Off };
    let id = xen.create_ioreq_server(domu, mode).ok()?;
    let mut at = [Gfn(PAGES), Gfn(PAGES + 1)];
    let (first, list) = if bufioreq { (0, &mut at[..]) } else { (1, &mut at[1..]) };
    xen.acquire_resource(domu, ResourceType::IoreqServer, id.0.into(), first, list).ok()?;
    xen.map_io_range_to_ioreq_server(domu, id, IoRangeType::Memory, MMIO, MMIO + 0xfff).ok()?;
    let _ = xen.map_io_range_to_ioreq_server(domu, id, IoRangeType::Port, 0x3f8, 0x3ff);
    let _ = xen.map_io_range_to_ioreq_server(domu, id, IoRangeType::Pci, 0x18, 0x18);
    xen.set_ioreq_server_state(domu, id, true).ok()?;
    let mut vp = [0u8; 4];
    sim.read_gfn(dom0, Gfn(PAGES + 1), 24, &mut vp).ok()?;
    xen.evtchn_bind_interdomain(domu, Port(u32::from_le_bytes(vp))).ok()
}

/// The domU's vCPU 0 makes an access described by `cmd` (value `arg` for a write).
fn guest_access(sim: &Sim, domu: DomId, cmd: u64, arg: u64) {
    let size = [1u8, 2, 4, 8][(cmd >> 1) as usize & 3];
    let off = (cmd >> 8) & 0x1fff;
    let write = (cmd >> 4) & 1 == 1;
    let io = if cmd & 1 == 0 {
        let addr = MMIO.wrapping_add(off).wrapping_sub(0x10);
        GuestIo { space: xenmem_sim::IoSpace::Mmio, addr, size, write: write.then_some(arg) }
    } else {
        let port = [0x3f8u16, 0xe9, 0xcf8, 0xcfc][(cmd >> 5) as usize & 3] + (off & 7) as u16;
        GuestIo { space: xenmem_sim::IoSpace::Port, addr: port.into(), size, write: write.then_some(arg) }
    };
    let _ = sim.guest_io(domu, 0, io);
    let _ = sim.guest_io_status(domu, 0);
}

/// The emulator writes the low `1 << ((cmd >> 13) & 3)` bytes of `arg` into one of its pages at
/// any offset, then maybe sends an event.
fn emulator_writes(sim: &Sim, dom0: DomId, port: Option<Port>, cmd: u64, arg: u64) {
    let len = 1usize << ((cmd >> 13) & 3);
    let off = (cmd & 0xfff) as usize;
    let off = off.min(4096 - len);
    let _ = sim.write_gfn(dom0, Gfn(PAGES + ((cmd >> 12) & 1)), off, &arg.to_le_bytes()[..len]);
    if let (Some(p), 1) = (port, (cmd >> 15) & 1) {
        let _ = Xen::new(sim.backend(dom0)).evtchn_send(p);
    }
}

/// Bytes describing one call: caller, hypercall, cmd (8), arg (8).
const CALL: usize = 18;

pub fn run(data: &[u8]) {
    let [flags, n, rest @ ..] = data else { return };
    let arch = if flags & 1 == 0 { Arch::X86_64 } else { Arch::Arm64 };
    let mut cfg = MachineConfig::new(arch, 4096);
    cfg.ioreq_server |= flags & 8 != 0;
    let calls = (*n as usize % 8) + 1;
    if rest.len() < calls * CALL {
        return;
    }
    let (calls, arena) = rest.split_at(calls * CALL);
    let sim = Sim::new(cfg.clone());
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
    let domu =
        sim.create_domain(DomainConfig { max_pages: 512, ..DomainConfig::domu(DomainKind::Hvm) }).unwrap();
    sim.populate_ram(domu, Gfn(0), 64).unwrap();
    let mut doms = vec![dom0, domu];
    if arch == Arch::X86_64 {
        let pv =
            sim.create_domain(DomainConfig { max_pages: 256, ..DomainConfig::domu(DomainKind::Pv) }).unwrap();
        sim.populate_ram(pv, Gfn(0), 16).unwrap();
        doms.push(pv);
    }
    let dm = sim
        .create_domain(DomainConfig {
            target: Some(domu),
            max_pages: 64,
            ..DomainConfig::domu(DomainKind::Pvh)
        })
        .unwrap();
    doms.push(dm);
    let bufioreq = flags & 2 != 0 && arch == Arch::X86_64;
    let port = if cfg.ioreq_server { serve(&sim, dom0, domu, bufioreq) } else { None };
    if cfg.ioreq_server {
        let _ = sim.create_ioreq_server(domu, dm, bufioreq);
    }
    let mut mem = ArenaMemory::from_bytes(0, arena.to_vec());
    for c in calls.chunks_exact(CALL) {
        let caller: DomId = doms[c[0] as usize % doms.len()];
        let word = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().unwrap_or([0; 8]));
        let (mut cmd, arg) = (word(2), word(10));
        // Mostly small continuation indexes, sometimes anything.
        if flags & 4 == 0 {
            cmd &= 0xffff;
        }
        let op = match c[1] % 16 {
            0..=4 => 12,
            5 | 6 => 36,
            7 | 8 => 41,
            9 | 10 => 32,
            11 | 12 => {
                guest_access(&sim, domu, cmd, arg);
                check(&sim, "a guest access", cmd, arg, domu);
                continue;
            }
            13 | 14 => {
                emulator_writes(&sim, dom0, port, cmd, arg);
                check(&sim, "the emulator's write", cmd, arg, dom0);
                continue;
            }
            _ => c[1] as u32,
        };
        let args = if op == 41 {
            // dm_op(domid, nr_bufs, bufs): a domain of the machine (or any id), 0 to 3 buffers.
            let domid = match c[2] {
                0..=7 => doms[c[2] as usize % doms.len()].0,
                _ => u16::from_le_bytes([c[2], c[3]]),
            };
            [domid.into(), u64::from(c[4] % 4), arg, 0, 0]
        } else {
            [cmd, arg, 0, 0, 0]
        };
        let _ = sim.hypercall(caller, &mut mem, op, args);
        check(&sim, &format!("hypercall {op}"), cmd, arg, caller);
    }
}

fn check(sim: &Sim, what: &str, cmd: u64, arg: u64, by: DomId) {
    if let Err(v) = sim.check_invariants() {
        panic!("invariant broken after {what} cmd {cmd:#x} arg {arg:#x} by {by}: {v}");
    }
}
