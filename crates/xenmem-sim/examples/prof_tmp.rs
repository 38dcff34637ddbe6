use std::time::Instant;
use xenmem::{DomId, EntryStatus, Gfn, MemFlags, Xen};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim};
const GUEST_PAGES: u64 = 16 << 18;
fn machine(guest_pages: u64) -> (Sim, DomId, DomId) {
    let sim = Sim::new(MachineConfig::x86_64(guest_pages + (1 << 16)));
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
    let domu = sim
        .create_domain(DomainConfig { max_pages: guest_pages, ..DomainConfig::domu(DomainKind::Pvh) })
        .unwrap();
    (sim, dom0, domu)
}
fn ctl(what: &str) {
    use std::io::Write;
    if let Ok(p) = std::env::var("PERF_CTL") {
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.write_all(format!("{what}\n").as_bytes()).unwrap();
        let mut b = [0u8; 5];
        use std::io::Read;
        let mut a = std::fs::File::open(std::env::var("PERF_ACK").unwrap()).unwrap();
        let _ = a.read(&mut b);
    }
}
fn main() {
    let job = std::env::args().nth(1).unwrap();
    let reps: u32 = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(3);
    for _ in 0..reps {
        match job.as_str() {
            "p9" | "p0" => {
                let order = if job == "p9" { 9 } else { 0 };
                let (sim, dom0, domu) = machine(GUEST_PAGES);
                let xen = Xen::new(sim.backend(dom0));
                let mut gfns: Vec<Gfn> = (0..GUEST_PAGES >> order).map(|i| Gfn(i << order)).collect();
                ctl("enable");
                let t = Instant::now();
                xen.populate_physmap(domu, order, MemFlags::empty(), &mut gfns).unwrap();
                ctl("disable");
                eprintln!("{job} {:.2} ns/page", t.elapsed().as_nanos() as f64 / GUEST_PAGES as f64);
            }
            "map" | "rm" => {
                let n = 1_000_000u64;
                let (sim, dom0, domu) = machine(n);
                sim.populate_ram(domu, Gfn(0), n).unwrap();
                let xen = Xen::new(sim.backend(dom0));
                let idx: Vec<Gfn> = (0..n).map(Gfn).collect();
                let at: Vec<Gfn> = (0..n).map(|i| Gfn(0x100_0000 + i)).collect();
                let mut errs = vec![EntryStatus::NOT_DONE; n as usize];
                if job == "map" {
                    ctl("enable");
                }
                let t = Instant::now();
                for ((i, a), e) in idx.chunks(65535).zip(at.chunks(65535)).zip(errs.chunks_mut(65535)) {
                    xen.map_foreign_batch(DomId::SELF, domu, i, a, e).unwrap();
                }
                if job == "map" {
                    ctl("disable");
                    eprintln!("map {:.2} ns/page", t.elapsed().as_nanos() as f64 / n as f64);
                }
                if job == "rm" {
                    ctl("enable");
                    let t = Instant::now();
                    for i in 0..n {
                        xen.remove_from_physmap(DomId::SELF, Gfn(0x100_0000 + i)).unwrap();
                    }
                    ctl("disable");
                    eprintln!("rm {:.2} ns/page", t.elapsed().as_nanos() as f64 / n as f64);
                }
            }
            _ => panic!(),
        }
    }
}
