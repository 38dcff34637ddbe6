//! The guest runtime: everything the two freestanding conformance kernels (`guest/x86_64`,
//! `guest/aarch64`) do alike, so that each architecture's folder keeps only what is truly its
//! own — the entry code, how it learns its boot information and memory map, the hypercall
//! instruction, its clock, and how it builds or meets its domU.
//!
//! | module | holds |
//! |---|---|
//! | [`console`] | line-buffered output (one hypercall per line) and the per-line tags |
//! | [`log`] | the log area a domU writes and dom0 prints |
//! | [`xen`] | the few hypercalls besides memory_op: console_io, sched_op, event channels, the memory map |
//! | [`suite`] | running the conformance suite in a role, and the progress lines around it |
//! | [`device_model`] | dom0 serving a domU's MMIO through an ioreq server (the suite's ioreq cases), and the domU's accesses |
//! | [`toolstack`] | dom0's steps that are the same everywhere: a sibling, a window onto a domU, waiting for it, the verdict |
//! | [`platform`] | the suite's view of the machine over guest-physical memory |
//! | [`cmdline`], [`once`] | `key=value` arguments; static buffers handed out once |
//!
//! # The console protocol
//!
//! The boot tool (`cargo xtask`) reads the serial console. Every line a kernel writes carries
//! one of four tags ([`tags`]): a suite line of dom0 (`xenmem: `) or of the domU
//! (`xenmem-domu: `), verbatim after the tag, and the progress of each
//! (`xenmem-guest: `, `xenmem-domu-guest: `), among which the markers
//! `conformance-done observations=N`, `domu-done` and `domu-failed: <why>`. The ioreq
//! cases add two more: dom0's device-model lines (`xenmem-ioreq: `) and the served domU's
//! (`xenmem-ioreq-domu: `), with the markers `ioreq-done observations=N` and
//! `ioreq-domu-done` / `ioreq-domu-failed: <why>`.
//!
//! Both kernels run with guest-virtual = guest-physical addresses (an identity map on
//! x86_64, the MMU off on arm64); the modules that touch memory by address rely on that.

#![no_std]

pub mod cmdline;
pub mod console;
pub mod device_model;
pub mod log;
pub mod once;
pub mod platform;
pub mod suite;
pub mod toolstack;
pub mod xen;

use core::sync::atomic::{AtomicBool, Ordering};
use xenmem::Hypercall;

/// Bytes in a page.
pub const PAGE: u64 = 4096;

/// The console tags, one place for both kernels and the boot tool's parser.
pub mod tags {
    /// dom0's suite lines.
    pub const DOM0_SUITE: &str = "xenmem: ";
    /// dom0's progress.
    pub const DOM0: &str = "xenmem-guest";
    /// The domU's suite lines.
    pub const DOMU_SUITE: &str = "xenmem-domu: ";
    /// The domU's progress.
    pub const DOMU: &str = "xenmem-domu-guest";
    /// dom0's ioreq suite lines (the device model's side).
    pub const IOREQ_SUITE: &str = "xenmem-ioreq: ";
    /// The served domU's lines (what each of its accesses got).
    pub const IOREQ_GUEST: &str = "xenmem-ioreq-domu: ";
}

/// What an architecture supplies. All functions are associated (no `self`): each kernel is
/// one binary with one architecture, and the console and the panic path need them without a
/// value at hand.
pub trait Arch: 'static {
    /// The hypercall instruction.
    type Hv: Hypercall;

    /// The backend, or `None` before it can be used (on x86_64, before Xen filled the
    /// hypercall page).
    fn hv() -> Option<Self::Hv>;

    /// Writes finished console bytes wherever this domain's output goes.
    fn emit(bytes: &[u8]);

    /// Writes a fatal message. Defaults to [`Arch::emit`]; an architecture whose usual
    /// channel might never be read (a domU's log area if dom0 is gone) says it twice.
    fn emit_fatal(bytes: &[u8]) {
        Self::emit(bytes)
    }

    /// Milliseconds since an arbitrary start by a clock the guest can read under Xen, or
    /// `None` if this machine gives no trustworthy rate.
    fn now_ms() -> Option<u64>;

    /// Parks the CPU for good.
    fn halt() -> !;

    /// The createdomain body for an unprivileged domU of this architecture, given its vCPUs
    /// and grant frames.
    const DOMU_CONFIG: fn(u32, i32) -> xenmem::abi::domctl::DomctlCreateDomain;

    /// The architecture as the conformance suite names it.
    const SUITE_ARCH: xenmem_conformance::Arch;

    /// Where guest-physical addresses stop being reachable at the same virtual address.
    const PHYS_END: u64;

    /// Reads the byte at guest-physical `addr`; `None` if nothing is mapped there.
    ///
    /// # Safety
    ///
    /// `addr` must be below [`Arch::PHYS_END`], and no Rust object may live there.
    unsafe fn read_phys_byte(addr: u64) -> Option<u8>;

    /// Writes the byte at guest-physical `addr`; `false` if nothing is mapped there.
    ///
    /// # Safety
    ///
    /// As [`Arch::read_phys_byte`].
    unsafe fn write_phys_byte(addr: u64, value: u8) -> bool;
}

/// Which of the two roles this kernel plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The hardware and control domain.
    Dom0,
    /// The unprivileged domU.
    Domu,
}

impl Role {
    /// The tag of this role's progress lines.
    pub fn tag(self) -> &'static str {
        match self {
            Role::Dom0 => tags::DOM0,
            Role::Domu => tags::DOMU,
        }
    }

    /// The tag of this role's suite lines.
    pub fn suite_tag(self) -> &'static str {
        match self {
            Role::Dom0 => tags::DOM0_SUITE,
            Role::Domu => tags::DOMU_SUITE,
        }
    }
}

static IS_DOMU: AtomicBool = AtomicBool::new(false);

/// Records the role, so that a fatal error ends the right thing: a domU crashes itself (dom0
/// sees the reason), dom0 resets the machine (so the boot tool stops waiting).
pub fn set_role(role: Role) {
    IS_DOMU.store(role == Role::Domu, Ordering::Relaxed);
}

/// The role recorded by [`set_role`] (dom0 until told otherwise).
pub fn role() -> Role {
    if IS_DOMU.load(Ordering::Relaxed) {
        Role::Domu
    } else {
        Role::Dom0
    }
}

/// Reports a fatal condition as one line and ends the run (see [`set_role`]).
pub fn fatal<A: Arch>(what: core::fmt::Arguments<'_>) -> ! {
    use core::fmt::Write;
    let role = role();
    // A fresh buffer: whatever half line another console holds is lost, and the leading
    // newline ends what of it reached the output.
    let mut line = console::LineBuf::<512>::new();
    let _ = writeln!(line, "\n{}: {what}", role.tag());
    A::emit_fatal(line.as_bytes());
    if role == Role::Domu {
        log::finish(log::FAILED, 0);
        xen::shutdown::<A>(xen::SHUTDOWN_CRASH)
    }
    xen::shutdown::<A>(xen::SHUTDOWN_REBOOT)
}

/// The panic handler's body: the panic as one fatal line.
pub fn panic<A: Arch>(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(l) => fatal::<A>(format_args!("panic at {}:{}: {}", l.file(), l.line(), info.message())),
        None => fatal::<A>(format_args!("panic: {}", info.message())),
    }
}

/// The running image's guest-physical range, from the linker script's symbols (both kernels'
/// scripts define them around everything loaded, .bss and stack included).
#[cfg(feature = "kernel")]
pub fn image_range() -> core::ops::Range<u64> {
    extern "C" {
        static __image_start: u8;
        static __image_end: u8;
    }
    core::ptr::addr_of!(__image_start) as u64..core::ptr::addr_of!(__image_end) as u64
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use xenmem::{Gfn, Xen};
    use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim, SimBackend};

    /// An x86_64 "architecture" over the model, for the steps that only need a backend.
    struct OnModel;

    impl Arch for OnModel {
        type Hv = SimBackend;
        fn hv() -> Option<SimBackend> {
            None
        }
        fn emit(_: &[u8]) {}
        fn now_ms() -> Option<u64> {
            None
        }
        fn halt() -> ! {
            panic!("halt")
        }
        const DOMU_CONFIG: fn(u32, i32) -> xenmem::abi::domctl::DomctlCreateDomain = xenmem::domctl::pvh_domu;
        const SUITE_ARCH: xenmem_conformance::Arch = xenmem_conformance::Arch::X86_64;
        const PHYS_END: u64 = 0;
        unsafe fn read_phys_byte(_: u64) -> Option<u8> {
            None
        }
        unsafe fn write_phys_byte(_: u64, _: u8) -> bool {
            false
        }
    }

    #[test]
    fn the_sibling_is_what_the_model_side_of_the_suite_assumes() {
        let sim = Sim::new(MachineConfig::x86_64(1 << 16));
        let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
        let xen = Xen::new(sim.backend(dom0));
        let sib = toolstack::make_sibling::<OnModel>(&xen).unwrap();
        assert_eq!(xen.current_reservation(sib), Ok(4));
        assert_eq!(xen.maximum_reservation(sib), Ok(toolstack::SIBLING_MAX_KIB / 4));
        assert_eq!(xen.maximum_gpfn(sib), Ok(Gfn(0x103)));
        // A domain the sibling cannot be made by: an unprivileged caller.
        let domu = sim.create_domain(DomainConfig::domu(DomainKind::Pvh)).unwrap();
        assert!(toolstack::make_sibling::<OnModel>(&Xen::new(sim.backend(domu))).is_err());
    }
}
