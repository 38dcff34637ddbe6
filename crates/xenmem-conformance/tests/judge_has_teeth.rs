//! The golden comparison has teeth: a deliberately wrong model fails it. Each wrong model
//! here is built for this test only, from the model's public pieces, and must be caught by
//! the real-Xen golden lines that item names.

use xenmem::{DomId, Gfn, Xen};
use xenmem_conformance::model::{compare, x86_64_pvh_machine, ModelPlatform};
use xenmem_conformance::{Arch, Config, Platform};
use xenmem_sim::Release;
use xenmem_sim::SimBackend;

const GOLDEN: &str = include_str!("../golden/4.17/x86_64-pvh-dom0.txt");

/// The configuration `run_x86_64_pvh_dom0` uses (the x86_64 kernel's scratch hole).
fn cfg() -> Config {
    Config { self_id: 0, scratch_gfn: Gfn(0x2_0000), scratch_pages: 1024, sibling: None }
}

/// Lines that differ from real Xen, as `case op`.
fn differing(model: &str) -> Vec<String> {
    compare(GOLDEN, model).differing_ops()
}

#[test]
fn the_right_model_agrees() {
    let sim = x86_64_pvh_machine(Release::Xen4_17);
    let mut p = ModelPlatform::new(&sim, DomId(0));
    let mut out = String::new();
    xenmem_conformance::run_dom0(&mut p, &cfg(), &mut out);
    assert!(differing(&out).is_empty());
}

#[test]
fn a_model_that_over_reports_dom0_by_1000_pages_fails() {
    let sim = x86_64_pvh_machine(Release::Xen4_17);
    // The wrong model: dom0 owns 1000 pages more than real Xen gave it.
    sim.populate_ram(DomId(0), Gfn(0x1_0000), 1000).unwrap();
    let mut p = ModelPlatform::new(&sim, DomId(0));
    let mut out = String::new();
    xenmem_conformance::run_dom0(&mut p, &cfg(), &mut out);
    let d = differing(&out);
    assert!(d.iter().any(|l| l == "query.self current_reservation(SELF)"), "{d:#?}");
    assert!(d.iter().any(|l| l == "query.self getdomaininfo(own id)"), "{d:#?}");
}

/// The model, except that every GFN an acquired frame was mapped at reaches frame 0's
/// mapping (`s+64`): what a model mapping frame 0 at every requested GFN looks like.
struct FrameZeroEverywhere {
    inner: ModelPlatform,
    scratch: Gfn,
}

impl FrameZeroEverywhere {
    fn redirect(&self, gfn: Gfn) -> Gfn {
        let s = self.scratch.0;
        if (s + 65..=s + 99).contains(&gfn.0) {
            Gfn(s + 64)
        } else {
            gfn
        }
    }
}

impl Platform for FrameZeroEverywhere {
    type Hv = SimBackend;

    fn arch(&self) -> Arch {
        self.inner.arch()
    }

    fn xen(&self) -> &Xen<SimBackend> {
        self.inner.xen()
    }

    fn read_phys(&mut self, gfn: Gfn, offset: usize, buf: &mut [u8]) -> bool {
        let g = self.redirect(gfn);
        self.inner.read_phys(g, offset, buf)
    }

    fn write_phys(&mut self, gfn: Gfn, offset: usize, data: &[u8]) -> bool {
        let g = self.redirect(gfn);
        self.inner.write_phys(g, offset, data)
    }
}

#[test]
fn a_model_that_maps_frame_0_at_every_acquired_gfn_fails() {
    let sim = x86_64_pvh_machine(Release::Xen4_17);
    let mut p = FrameZeroEverywhere { inner: ModelPlatform::new(&sim, DomId(0)), scratch: cfg().scratch_gfn };
    let mut out = String::new();
    xenmem_conformance::run_dom0(&mut p, &cfg(), &mut out);
    let d = differing(&out);
    assert!(d.iter().any(|l| l == "acquire.ident read s+90 (frame 0 again)"), "{d:#?}");
    assert!(d.iter().any(|l| l == "acquire.ident read s+65 (frame 1)"), "{d:#?}");
}
