//! A software model of Xen's side of `HYPERVISOR_memory_op` (and `xen_version` and the few
//! `domctl` commands a toolstack needs), so guest code can be tested on a host with no Xen:
//! `xenmem`'s real marshalling runs unchanged against it through the same
//! [`xenmem::Hypercall`] trait the hardware backends implement.
//!
//! It answers as Xen 4.20 (Debian 13's) or 4.17 (Debian 12's), both held to the real
//! hypervisor's recorded answers: [`MachineConfig::with_xen`] picks one ([`Release::NEWEST`]
//! by default), and [`releases`] lists every way their answers differ, one predicate per Xen
//! commit.
//!
//! ```
//! use xenmem::{DomId, Gfn, MemFlags, Xen};
//! use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Sim};
//!
//! let sim = Sim::new(MachineConfig::x86_64(1 << 16));
//! let dom0 = sim.create_domain(DomainConfig::dom0(DomainKind::Pvh)).unwrap();
//! let xen = Xen::new(sim.backend(dom0));
//! let mut gfns = [Gfn(0x100), Gfn(0x101)];
//! assert_eq!(xen.populate_physmap(DomId::SELF, 0, MemFlags::empty(), &mut gfns), Ok(2));
//! assert_eq!(xen.current_reservation(DomId::SELF), Ok(2));
//! sim.check_invariants().unwrap();
//! ```
//!
//! # Modules
//!
//! | module | holds |
//! |---|---|
//! | `lib.rs` | the [`Sim`] handle: one lock around the machine, the hypercall entry |
//! | `host`, `view` | the host's API: building and changing the machine outside hypercalls; looking at it ([`DomainInfo`], [`Sim::physmap`], ...) |
//! | [`config`] | machine and domain configurations with Xen's defaults |
//! | [`releases`] | the Xen releases the model answers as, and each difference between them |
//! | `frames`, `allocator` | the frame table (owner, references, lazily backed contents) and the buddy heap |
//! | `p2m` | a domain's P2M: a radix tree of page-sized tables |
//! | `domain`, `lifecycle`, `mm` | domains, their creation and destruction, page references |
//! | `grant_table`, `physmap` | grant frames; the x86 and Arm P2M operations |
//! | `ioreq`, `rangeset`, `evtchn` | ioreq servers and their ranges; event channels |
//! | `dm_op`, `event_channel_op` | the decoders of hypercalls 41 and 32 |
//! | [`guest_io`] | a guest's emulated accesses, driven from the host ([`Sim::guest_io`]) |
//! | `xsm` | the default (dummy) XSM policy |
//! | `memory_op`, `domctl`, `xen_version` | the hypercall decoders, one file per memory_op sub-op |
//! | [`GfnPage`] | a page a domain maps, for `xenmem`'s shared-page accessors |
//! | [`guest_memory`], `process` | the caller's memory: [`ArenaMemory`], and [`ProcessMemory`] (the one unsafe module) |
//! | [`faults`] | [`FaultInjector`], a wrapper around any backend |
//! | `invariants` | [`Sim::check_invariants`] |
//!
//! Hypercalls from several threads are serialised by one lock around the machine, as if
//! every hypercall ran to completion before the next started: Xen's preemption and
//! continuations are invisible to a caller, and the model runs each call in one go.
//!
//! No input reaches a panic: guest addresses go through a fallible accessor, arithmetic on
//! guest values is checked.
//!
//! # Where the model answers for Xen
//!
//! Each function names the Xen function whose logic it follows. Where Xen's behaviour could
//! not be followed, the model's choice is documented where it is made; in short:
//! - sub-ops and domctl commands it does not implement return `-ENOSYS`, and a caller that
//!   cannot run (unknown, dying, crashed) gets `-ESRCH`: Xen would never see such a call;
//! - populate-on-demand follows `p2m-pod.c` for PoD entries, the cache and demand populate
//!   (`physmap/pod.rs` says what of it is left out);
//! - Arm 4.17 takes a data abort on a foreign mapping from `DOMID_IO`; the model answers
//!   `-ESRCH` as the later fix does (`DOMID_XEN` is Xen's `-EINVAL`: no page is dom_xen's);
//! - x86 refuses P2M changes to a domain being destroyed with `-ENOMEM`, where Xen's outcome
//!   depends on its paging pool;
//! - freed frames are scrubbed, so every allocation reads as zeros;
//! - no domain has a vNUMA topology; the x86 P2M is the page-table one of AMD's NPT (a GFN
//!   beyond 36 bits is `-ENOENT`; Intel's EPT would say `-EINVAL`).
//!
//! # Costs
//!
//! On the project's 2-core machine: populating a 16 GiB guest takes about 1 ns a page at
//! order 9 and 12 ns at order 0, a foreign batch about 13 ns an entry, removing a foreign
//! mapping (one hypercall) about 19 ns; a mapped page that was never written costs 4 to 13
//! bytes of model memory (4 for the frame table, up to 8 for a P2M entry, a quarter byte a
//! frame for the heap's bitmaps; order-9 extents are 2 MiB superpage entries).
//! `benches/model.rs` measures them; BENCHMARKS.md says where the time goes.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod allocator;
pub mod config;
mod dm_op;
mod domain;
mod domctl;
mod error;
mod event_channel_op;
mod evtchn;
pub mod faults;
mod frames;
mod gfn_page;
mod grant_table;
pub mod guest_io;
pub mod guest_memory;
mod host;
mod invariants;
mod ioreq;
mod lifecycle;
mod machine;
mod memory_op;
mod mm;
mod p2m;
mod physmap;
mod process;
mod rangeset;
pub mod releases;
mod view;
mod xen_version;
mod xsm;

pub use config::{Arch, DomainConfig, DomainKind, MachineConfig, MaxOrders, MmioRange};
pub use error::SimError;
pub use faults::{FaultInjector, FaultRule, Outcome};
pub use frames::PAGE_SIZE;
pub use gfn_page::GfnPage;
pub use guest_io::{GuestIo, IoOutcome, IoSpace};
pub use guest_memory::{ArenaMemory, BadAddress, GuestMemory};
pub use invariants::Violation;
pub use ioreq::IoreqServerView;
pub use process::{ProcessMemory, SimBackend};
pub use releases::Release;
pub use view::{DomainInfo, EntryKind, MemoryUsage, PhysmapRange};

use crate::error::errno::*;
use crate::machine::Machine;
use std::sync::{Arc, Mutex, MutexGuard};
use xenmem::abi::{
    HYPERVISOR_DM_OP, HYPERVISOR_DOMCTL, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_MEMORY_OP,
    HYPERVISOR_XEN_VERSION,
};
use xenmem::{DomId, XenError};

/// The model: a machine running Xen 4.17 or 4.20 ([`MachineConfig::xen`]). Cheap to clone
/// (all clones share one machine) and `Send + Sync`, so vCPUs of several domains may issue
/// hypercalls from several threads. Its host API is in `host.rs` (changes) and `view.rs`
/// (looks).
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Machine>>,
}

impl core::fmt::Debug for Sim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.lock();
        f.debug_struct("Sim").field("arch", &m.cfg.arch).field("domains", &m.domains.len()).finish()
    }
}

impl Sim {
    /// A machine with no domains.
    pub fn new(cfg: MachineConfig) -> Sim {
        Sim { inner: Arc::new(Mutex::new(Machine::new(cfg))) }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Machine> {
        // A panic elsewhere cannot leave the machine half-changed in a way later calls could
        // not cope with any less than the panicking one: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The machine's configuration.
    pub fn config(&self) -> MachineConfig {
        self.lock().cfg.clone()
    }

    /// A [`xenmem::Hypercall`] backend issuing hypercalls as `caller`, reading their
    /// arguments from this process's memory.
    pub fn backend(&self, caller: DomId) -> SimBackend {
        SimBackend { sim: self.clone(), caller }
    }

    /// Hypercall `op` with `args`, issued by `caller`, decoded exactly as Xen takes it:
    /// memory_op (12), xen_version (17), event_channel_op (32), domctl (36) and dm_op (41,
    /// absent from a build without ioreq servers); any other number is `-ENOSYS`. A caller that cannot
    /// run (unknown, dying, crashed) gets `-ESRCH` (the model's answer: Xen would never see
    /// the call).
    pub fn hypercall(&self, caller: DomId, mem: &mut dyn GuestMemory, op: u32, args: [u64; 5]) -> i64 {
        let mut m = self.lock();
        m.hypercalls += 1;
        if !m.domains.get(&caller.0).is_some_and(|d| d.can_run()) {
            return -(ESRCH as i64);
        }
        match op {
            HYPERVISOR_MEMORY_OP => memory_op::do_memory_op(&mut m, caller.0, mem, args[0], args[1]),
            HYPERVISOR_DOMCTL => domctl::do_domctl(&mut m, caller.0, mem, args[0]),
            HYPERVISOR_XEN_VERSION => xen_version::do_xen_version(&m, mem, args[0], args[1]),
            HYPERVISOR_DM_OP => dm_op::do_dm_op(&mut m, caller.0, mem, args),
            HYPERVISOR_EVENT_CHANNEL_OP => {
                event_channel_op::do_event_channel_op(&mut m, caller.0, mem, args[0], args[1])
            }
            _ => -(ENOSYS as i64),
        }
    }

    /// The errno Xen would give as a [`XenError`], for tests that compare with `-rc`.
    pub fn errno(rc: i64) -> Option<XenError> {
        XenError::check(rc).err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Sim>();
        check::<SimBackend>();
    }
}

/// The README (the package's front page) compiles as a doctest, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
