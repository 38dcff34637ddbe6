//! The model against real Xen, without QEMU: the suite runs on the model configured as the
//! real machine, and every line must equal what the real hypervisor answered (the golden
//! files, recorded from Xen 4.17 under QEMU by `cargo xtask conformance --record`). Afterwards
//! the model's invariants must hold.

use xenmem_conformance::model::{
    compare, run_arm64_dom0, run_arm64_domu, run_x86_64_pvh_dom0, run_x86_64_pvh_domu,
};

fn check(name: &str, real: &str, model: &str) {
    let c = compare(real, model);
    for (line, r, m) in &c.differ {
        eprintln!("{name}:{line}\n  real Xen: {r}\n  model:    {m}");
    }
    assert!(
        c.differ.is_empty(),
        "{name}: {} of {} observations differ from real Xen",
        c.differ.len(),
        c.observations
    );
}

#[test]
fn dom0_cases_agree_with_real_xen() {
    let mut out = String::new();
    let (sim, _) = run_x86_64_pvh_dom0(&mut out);
    check("x86_64-pvh-dom0", include_str!("../golden/4.17/x86_64-pvh-dom0.txt"), &out);
    sim.check_invariants().expect("invariants after the dom0 run");
}

#[test]
fn domu_cases_agree_with_real_xen() {
    let mut out = String::new();
    let (sim, _) = run_x86_64_pvh_domu(&mut out);
    check("x86_64-pvh-domu", include_str!("../golden/4.17/x86_64-pvh-domu.txt"), &out);
    sim.check_invariants().expect("invariants after the domU run");
}

#[test]
fn arm64_dom0_cases_agree_with_real_xen() {
    let mut out = String::new();
    let (sim, _) = run_arm64_dom0(&mut out);
    check("arm64-dom0", include_str!("../golden/4.17/arm64-dom0.txt"), &out);
    sim.check_invariants().expect("invariants after the arm64 dom0 run");
}

#[test]
fn arm64_domu_cases_agree_with_real_xen() {
    let mut out = String::new();
    let (sim, _) = run_arm64_domu(&mut out);
    check("arm64-domu", include_str!("../golden/4.17/arm64-domu.txt"), &out);
    sim.check_invariants().expect("invariants after the arm64 domU run");
}
