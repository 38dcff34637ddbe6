//! A device model in Rust, served through an ioreq server and tested on the model with no
//! Xen: the path QEMU's Xen backend, xen-vhost-frontend and Zephyr's `vhost_xen_mmio` take.
//!
//! The device is a page of MMIO with two registers: at offset 0 a counter that reads as the
//! number of reads it has served (1, 2, 3, ...; writes are ignored), at offset 8 a scratch
//! register that keeps what was written. The device model ([`DeviceModel`]) is generic over
//! the hypercall backend and over how it reaches the ioreq page, so the same code runs on the
//! model (here: [`GfnPage`]), in a kernel on real Xen (`MappedPage` at the GFN it acquired the
//! page at) or in a Linux process (`MappedPage` over privcmd's `map_resource`).
//!
//! Its steps, each one call of `xenmem`: create the server (`dm_op`), acquire its synchronous
//! page (`acquire_resource` frame 1), register the MMIO range, enable it, bind vCPU 0's port
//! (`vp_eport`, written into the slot on enabling) with `evtchn_bind_interdomain`; then, for
//! each event, take the request from the slot, do the access, complete it and send an event.
//! The guest's side is the model's host API: `Sim::guest_io` makes the domU's vCPU access
//! the range, `Sim::guest_io_status` shows what it got.
//!
//! `cargo run -p xenmem-sim --example ioreq-device` (its tests run in `cargo test`)

use xenmem::dm_op::{BufIoreq, IoRangeType, IoreqServerId};
use xenmem::evtchn::Port;
use xenmem::ioreq::{IoDir, IoType, IoreqPage, Request};
use xenmem::shared_page::SharedPage;
use xenmem::{DomId, Error, Gfn, Hypercall, ResourceType, Xen};
use xenmem_sim::{DomainConfig, DomainKind, GfnPage, GuestIo, IoOutcome, MachineConfig, Sim};

/// Where the device sits in the guest's physical address space.
const BASE: u64 = 0xfeb0_0000;
/// Where the device model maps the server's page in its own physmap.
const IOREQ_GFN: Gfn = Gfn(0x58000);

/// The device's registers.
#[derive(Debug, Default)]
struct Device {
    reads: u64,
    scratch: u64,
}

impl Device {
    /// One access: the value of a read, `None` for a write.
    fn access(&mut self, req: &Request) -> Option<u64> {
        let offset = req.addr.wrapping_sub(BASE);
        match (req.dir, offset) {
            (IoDir::Read, 0) => {
                self.reads += 1;
                Some(self.reads)
            }
            (IoDir::Read, 8) => Some(self.scratch),
            (IoDir::Read, _) => Some(0),
            (IoDir::Write, 8) => {
                self.scratch = req.value();
                None
            }
            (IoDir::Write, _) => None,
        }
    }
}

/// The device model of one domain's device.
struct DeviceModel<H: Hypercall, P: SharedPage> {
    xen: Xen<H>,
    domu: DomId,
    id: IoreqServerId,
    /// Our end of vCPU 0's port.
    port: Port,
    page: IoreqPage<P>,
    device: Device,
}

impl<H: Hypercall, P: SharedPage> DeviceModel<H, P> {
    /// Sets the server up; `map` turns the GFN the page was acquired at into a [`SharedPage`].
    fn start(xen: Xen<H>, domu: DomId, map: impl FnOnce(Gfn) -> P) -> Result<Self, Error> {
        let id = xen.create_ioreq_server(domu, BufIoreq::Off)?;
        // Frame 1: the synchronous page (frame 0 would be the buffered one, which we did not
        // ask for: -ENOENT).
        xen.acquire_resource(domu, ResourceType::IoreqServer, id.0.into(), 1, &mut [IOREQ_GFN])?;
        xen.map_io_range_to_ioreq_server(domu, id, IoRangeType::Memory, BASE, BASE + 0xfff)?;
        xen.set_ioreq_server_state(domu, id, true)?;
        let page = IoreqPage::new(map(IOREQ_GFN));
        // Xen wrote the port into the slot when the server was enabled.
        let vp_eport = page.vp_eport(0).map_err(Error::Invalid)?;
        let port = xen.evtchn_bind_interdomain(domu, Port(vp_eport))?;
        Ok(DeviceModel { xen, domu, id, port, page, device: Device::default() })
    }

    /// Serves what vCPU 0's slot holds, if anything. Returns the request served.
    fn serve(&mut self) -> Result<Option<Request>, Error> {
        let Some(req) = self.page.take(0).map_err(Error::Invalid)? else { return Ok(None) };
        let value = match req.io_type {
            IoType::Copy if req.count == 1 && !req.data_is_ptr => self.device.access(&req),
            // Anything else (a `rep` with data in guest memory, ...) is not this device's:
            // answer reads with all ones, as Xen does for nobody's MMIO.
            _ => (req.dir == IoDir::Read).then_some(u64::MAX),
        };
        self.page.complete(0, value).map_err(Error::Invalid)?;
        self.xen.evtchn_send(self.port)?;
        Ok(Some(req))
    }

    /// Destroys the server and unmaps its page.
    fn stop(self) -> Result<(), Error> {
        self.xen.destroy_ioreq_server(self.domu, self.id)?;
        self.xen.remove_from_physmap(DomId::SELF, IOREQ_GFN)
    }
}

/// A machine with dom0 (the device model) and a PVH domU (the guest).
fn machine() -> (Sim, DomId, DomId) {
    let sim = Sim::new(MachineConfig::x86_64(1 << 16));
    let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
    let domu = sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
    sim.populate_ram(domu, Gfn(0), 256).unwrap();
    (sim, dom0, domu)
}

/// The guest's access, served: the event that wakes the device model (on real Xen it waits
/// with `SCHEDOP_poll` or reads its shared info), one request, the outcome the vCPU sees.
fn access<H: Hypercall>(
    sim: &Sim,
    dom0: DomId,
    domu: DomId,
    dm: &mut DeviceModel<H, GfnPage>,
    io: GuestIo,
) -> IoOutcome {
    match sim.guest_io(domu, 0, io).unwrap() {
        IoOutcome::Waiting { .. } => {
            assert!(sim.evtchn_take_pending(dom0, dm.port.0).unwrap(), "Xen signals the device model");
            dm.serve().unwrap().expect("a request in vCPU 0's slot");
            sim.guest_io_status(domu, 0).unwrap()
        }
        done => done,
    }
}

fn main() {
    let (sim, dom0, domu) = machine();
    let mut dm =
        DeviceModel::start(Xen::new(sim.backend(dom0)), domu, |gfn| GfnPage::new(&sim, dom0, gfn).unwrap())
            .expect("the device model starts");
    // The port starts pending once after the bind (Xen cannot know what an unbound port lost).
    sim.evtchn_take_pending(dom0, dm.port.0).unwrap();
    println!("ioreq server {} of {domu}, served by {dom0} on port {}", dm.id.0, dm.port.0);
    let steps = [
        ("read the counter", GuestIo::mmio_read(BASE, 4)),
        ("read the counter", GuestIo::mmio_read(BASE, 4)),
        ("write 0xcafe to scratch", GuestIo::mmio_write(BASE + 8, 4, 0xcafe)),
        ("read scratch", GuestIo::mmio_read(BASE + 8, 4)),
        ("write to the counter", GuestIo::mmio_write(BASE, 4, 7)),
        ("read the counter", GuestIo::mmio_read(BASE, 4)),
        ("read past the device's page", GuestIo::mmio_read(BASE + 0x1000, 4)),
    ];
    for (what, io) in steps {
        let shown = match access(&sim, dom0, domu, &mut dm, io) {
            IoOutcome::Done { value: Some(v), server: Some(s) } => format!("{v:#x} (from server {s})"),
            IoOutcome::Done { value: None, server: Some(s) } => format!("done (by server {s})"),
            IoOutcome::Done { value: Some(v), server: None } => format!("{v:#x} (Xen: nobody's MMIO)"),
            other => format!("{other:?}"),
        };
        println!("{what:30} {shown}");
    }
    dm.stop().unwrap();
    sim.check_invariants().unwrap();
    println!("server destroyed, page unmapped; {} hypercalls", sim.hypercalls());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: u64) -> IoOutcome {
        IoOutcome::Done { value: Some(v), server: Some(0) }
    }

    #[test]
    fn the_device_served_through_the_model() {
        let (sim, dom0, domu) = machine();
        let mut dm =
            DeviceModel::start(Xen::new(sim.backend(dom0)), domu, |g| GfnPage::new(&sim, dom0, g).unwrap())
                .unwrap();
        assert!(sim.evtchn_take_pending(dom0, dm.port.0).unwrap());
        let mut go = |io| access(&sim, dom0, domu, &mut dm, io);
        assert_eq!(go(GuestIo::mmio_read(BASE, 4)), value(1));
        assert_eq!(go(GuestIo::mmio_read(BASE, 4)), value(2));
        assert_eq!(
            go(GuestIo::mmio_write(BASE + 8, 2, 0x1_beef)),
            IoOutcome::Done { value: None, server: Some(0) }
        );
        // The write was 2 bytes: the scratch register kept 0xbeef.
        assert_eq!(go(GuestIo::mmio_read(BASE + 8, 8)), value(0xbeef));
        assert_eq!(go(GuestIo::mmio_write(BASE, 4, 7)), IoOutcome::Done { value: None, server: Some(0) });
        assert_eq!(go(GuestIo::mmio_read(BASE, 1)), value(3));
        // Outside the range Xen answers itself.
        assert_eq!(
            go(GuestIo::mmio_read(BASE + 0x1000, 4)),
            IoOutcome::Done { value: Some(0xffff_ffff), server: None }
        );
        assert_eq!(dm.device.reads, 3);
        dm.stop().unwrap();
        // With the server gone the range is nobody's.
        assert_eq!(
            sim.guest_io(domu, 0, GuestIo::mmio_read(BASE, 4)),
            Ok(IoOutcome::Done { value: Some(0xffff_ffff), server: None })
        );
        sim.check_invariants().unwrap();
    }

    #[test]
    fn a_slot_with_nothing_posted_is_left_alone() {
        let (sim, dom0, domu) = machine();
        let mut dm =
            DeviceModel::start(Xen::new(sim.backend(dom0)), domu, |g| GfnPage::new(&sim, dom0, g).unwrap())
                .unwrap();
        // The bind's spurious event: the slot decides, not the bit (XEN-FACTS).
        assert_eq!(dm.serve(), Ok(None));
        assert_eq!(dm.device.reads, 0);
    }
}
