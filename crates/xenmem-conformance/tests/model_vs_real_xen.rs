//! The model against real Xen, without QEMU: the suite runs on the model configured as the
//! real machine and release, and every line must equal what that real hypervisor answered
//! (the golden files: one folder per release in `golden/`, each recorded under
//! QEMU; `golden/README.md`). Afterwards the model's invariants must hold.

use xenmem_conformance::model::{compare, Runner, CONFIGURATIONS, IOREQ_CONFIGURATIONS};
use xenmem_sim::Release;

/// The recorded answers of `release` for configuration `name`.
fn golden(release: Release, name: &str) -> &'static str {
    match (release, name) {
        (Release::Xen4_17, "x86_64-pvh-dom0") => include_str!("../golden/4.17/x86_64-pvh-dom0.txt"),
        (Release::Xen4_17, "x86_64-pvh-domu") => include_str!("../golden/4.17/x86_64-pvh-domu.txt"),
        (Release::Xen4_17, "arm64-dom0") => include_str!("../golden/4.17/arm64-dom0.txt"),
        (Release::Xen4_17, "arm64-domu") => include_str!("../golden/4.17/arm64-domu.txt"),
        (Release::Xen4_17, "x86_64-ioreq") => include_str!("../golden/4.17/x86_64-ioreq.txt"),
        (Release::Xen4_17, "arm64-ioreq") => include_str!("../golden/4.17/arm64-ioreq.txt"),
        (Release::Xen4_20, "x86_64-pvh-dom0") => include_str!("../golden/4.20/x86_64-pvh-dom0.txt"),
        (Release::Xen4_20, "x86_64-pvh-domu") => include_str!("../golden/4.20/x86_64-pvh-domu.txt"),
        (Release::Xen4_20, "arm64-dom0") => include_str!("../golden/4.20/arm64-dom0.txt"),
        (Release::Xen4_20, "arm64-domu") => include_str!("../golden/4.20/arm64-domu.txt"),
        (Release::Xen4_20, "x86_64-ioreq") => include_str!("../golden/4.20/x86_64-ioreq.txt"),
        (Release::Xen4_20, "arm64-ioreq") => include_str!("../golden/4.20/arm64-ioreq.txt"),
        _ => panic!("no golden file for {name} on Xen {release}"),
    }
}

fn runner(name: &str) -> Runner {
    CONFIGURATIONS
        .iter()
        .chain(&IOREQ_CONFIGURATIONS)
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
        .expect("a configuration")
}

fn check(release: Release, name: &str) {
    let mut out = String::new();
    let (sim, _) = runner(name)(release, &mut out);
    let c = compare(golden(release, name), &out);
    for (line, r, m) in &c.differ {
        eprintln!("{name} (Xen {release}):{line}\n  real Xen: {r}\n  model:    {m}");
    }
    assert!(
        c.differ.is_empty(),
        "{name}: {} of {} observations differ from real Xen {release}",
        c.differ.len(),
        c.observations
    );
    sim.check_invariants().unwrap_or_else(|v| panic!("invariants after {name} on Xen {release}: {v:?}"));
}

#[test]
fn xen_4_17_dom0_cases_agree_with_real_xen() {
    check(Release::Xen4_17, "x86_64-pvh-dom0");
}

#[test]
fn xen_4_17_domu_cases_agree_with_real_xen() {
    check(Release::Xen4_17, "x86_64-pvh-domu");
}

#[test]
fn xen_4_17_arm64_dom0_cases_agree_with_real_xen() {
    check(Release::Xen4_17, "arm64-dom0");
}

#[test]
fn xen_4_17_arm64_domu_cases_agree_with_real_xen() {
    check(Release::Xen4_17, "arm64-domu");
}

#[test]
fn xen_4_20_dom0_cases_agree_with_real_xen() {
    check(Release::Xen4_20, "x86_64-pvh-dom0");
}

#[test]
fn xen_4_20_domu_cases_agree_with_real_xen() {
    check(Release::Xen4_20, "x86_64-pvh-domu");
}

#[test]
fn xen_4_20_arm64_dom0_cases_agree_with_real_xen() {
    check(Release::Xen4_20, "arm64-dom0");
}

#[test]
fn xen_4_20_arm64_domu_cases_agree_with_real_xen() {
    check(Release::Xen4_20, "arm64-domu");
}

#[test]
fn xen_4_17_ioreq_cases_agree_with_real_xen() {
    check(Release::Xen4_17, "x86_64-ioreq");
}

#[test]
fn xen_4_20_ioreq_cases_agree_with_real_xen() {
    check(Release::Xen4_20, "x86_64-ioreq");
}

#[test]
fn xen_4_17_arm64_ioreq_cases_agree_with_real_xen() {
    check(Release::Xen4_17, "arm64-ioreq");
}

#[test]
fn xen_4_20_arm64_ioreq_cases_agree_with_real_xen() {
    check(Release::Xen4_20, "arm64-ioreq");
}

/// The suite tells the releases apart: the model configured as 4.17 gets real 4.20's
/// answers wrong (and 4.20's gets 4.17's wrong), configuration by configuration.
#[test]
fn each_release_differs_from_the_other_real_xen() {
    let mut total = 0;
    for (name, run) in CONFIGURATIONS {
        for (model, real) in [(Release::Xen4_17, Release::Xen4_20), (Release::Xen4_20, Release::Xen4_17)] {
            let mut out = String::new();
            run(model, &mut out);
            let c = compare(golden(real, name), &out);
            eprintln!("{name}: model as {model} vs real {real}: {} differ", c.differ.len());
            assert!(!c.differ.is_empty(), "{name}: the model as {model} answers exactly as real {real}");
            if model == Release::Xen4_17 {
                total += c.differ.len();
            }
        }
    }
    eprintln!("model as 4.17 vs real 4.20: {total} differ");
}
