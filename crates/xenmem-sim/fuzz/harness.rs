//! The body of the `raw_decode` fuzz target, shared with the crate's smoke test
//! (`tests/fuzz_smoke.rs`) so plain `cargo test` runs it too.
//!
//! The input drives hypercalls straight into the model's raw decode: a machine (x86 or Arm)
//! with a PVH dom0, an HVM domU with RAM, a PV domU (x86) and a device model, then up to 8
//! calls, each naming its caller, its hypercall, `cmd` (sub-op and continuation index) and
//! its argument address. The rest of the input is the callers' memory, an arena at address
//! 0, so small numbers in the input are valid guest pointers. Every call must return (no
//! panic), and the model's invariants must hold after each.

use xenmem::{DomId, Gfn};
use xenmem_sim::{Arch, ArenaMemory, DomainConfig, DomainKind, MachineConfig, Sim};

/// Bytes describing one call: caller, hypercall, cmd (8), arg (8).
const CALL: usize = 18;

pub fn run(data: &[u8]) {
    let [flags, n, rest @ ..] = data else { return };
    let arch = if flags & 1 == 0 { Arch::X86_64 } else { Arch::Arm64 };
    let calls = (*n as usize % 8) + 1;
    if rest.len() < calls * CALL {
        return;
    }
    let (calls, arena) = rest.split_at(calls * CALL);
    let sim = Sim::new(MachineConfig::new(arch, 4096));
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
    if arch == Arch::X86_64 {
        let _ = sim.create_ioreq_server(domu, dm, flags & 2 != 0);
    }
    let mut mem = ArenaMemory::from_bytes(0, arena.to_vec());
    for c in calls.chunks_exact(CALL) {
        let caller: DomId = doms[c[0] as usize % doms.len()];
        let op = match c[1] % 8 {
            0..=4 => 12,
            5 | 6 => 36,
            _ => c[1] as u32,
        };
        let word = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().unwrap_or([0; 8]));
        let (mut cmd, arg) = (word(2), word(10));
        // Mostly small continuation indexes, sometimes anything.
        if flags & 4 == 0 {
            cmd &= 0xffff;
        }
        let _ = sim.hypercall(caller, &mut mem, op, [cmd, arg, 0, 0, 0]);
        if let Err(v) = sim.check_invariants() {
            panic!("invariant broken after hypercall {op} cmd {cmd:#x} arg {arg:#x} by {caller}: {v}");
        }
    }
}
