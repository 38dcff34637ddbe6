//! The whole hypervisor state behind the lock: frames, the heap, domains, and Xen's side
//! tables for pages it shares with guests. Also the domain lookups every hypercall starts
//! with (`xen/common/domain.c`, `get_pg_owner` in `xen/common/page_alloc.c`).
//!
//! Everything that changes the state lives in the modules that own that concern (`mm`,
//! `lifecycle`, `physmap`, `memory_op`, `domctl`); they all take `&mut Machine`.

use crate::allocator::Buddy;
use crate::config::MachineConfig;
use crate::domain::{Domain, DomainTable};
use crate::error::errno::*;
use crate::frames::{FrameMap, FrameTable};
use xenmem::abi::{DOMID_IO, DOMID_SELF, DOMID_XEN};

/// What a Xen heap page shared with a guest is (`share_xen_page_with_guest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum XenPageKind {
    SharedInfo,
    GrantShared(u32),
    GrantStatus(u32),
}

/// A Xen heap page shared with a domain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct XenPage {
    /// The domain it is shared with (its `page_get_owner`).
    pub shared_with: u16,
    pub what: XenPageKind,
    /// Where it is mapped in that domain's own P2M: x86's M2P entry, Arm's stored xenheap GFN.
    pub gfn: Option<u64>,
}

/// A domain page Xen allocated without counting it (`MEMF_no_refcount`) for its own use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExtraPage {
    /// An ioreq server page: server id and resource frame (0 bufioreq, 1 ioreq).
    Ioreq { server: u16, frame: u32 },
    /// A vCPU's processor-trace buffer page.
    Vmtrace { vcpu: u32, frame: u32 },
}

/// The hypervisor.
pub(crate) struct Machine {
    pub cfg: MachineConfig,
    pub frames: FrameTable,
    pub heap: Buddy,
    /// Domains by id, dying ones included until their last page goes.
    pub domains: DomainTable,
    pub xenheap: FrameMap<XenPage>,
    /// Uncounted domain pages, by MFN (their owner is in the frame table).
    pub extra: FrameMap<ExtraPage>,
    /// `createdomain`'s rover: the last id it handed out.
    pub rover: u16,
    /// Hypercalls handled (for reports).
    pub hypercalls: u64,
}

/// `get_pg_owner`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PgOwner {
    Domain(u16),
    /// `dom_io`.
    Io,
    /// `dom_xen`.
    Xen,
}

impl Machine {
    pub(crate) fn new(mut cfg: MachineConfig) -> Machine {
        cfg.gfn_bits = cfg.gfn_bits.min(crate::p2m::GFN_BITS_MAX);
        cfg.numa_nodes = cfg.numa_nodes.max(1);
        Machine {
            frames: FrameTable::new(cfg.frames),
            heap: Buddy::new(cfg.frames, cfg.numa_nodes),
            domains: DomainTable::default(),
            xenheap: FrameMap::default(),
            extra: FrameMap::default(),
            rover: 0,
            hypercalls: 0,
            cfg,
        }
    }

    pub(crate) fn is_arm(&self) -> bool {
        self.cfg.arch == crate::Arch::Arm64
    }

    #[inline]
    pub(crate) fn dom(&self, id: u16) -> &Domain {
        // Callers pass ids they looked up under the same lock.
        self.domains.get(&id).expect("domain looked up under the same lock")
    }

    #[inline]
    pub(crate) fn dom_mut(&mut self, id: u16) -> &mut Domain {
        self.domains.get_mut(&id).expect("domain looked up under the same lock")
    }

    /// `rcu_lock_domain_by_id`: the domain with this exact id (dying ones too).
    pub(crate) fn lookup_by_id(&self, id: u16) -> Option<u16> {
        self.domains.contains_key(&id).then_some(id)
    }

    /// `rcu_lock_domain_by_any_id`: `DOMID_SELF` is the caller.
    pub(crate) fn lookup_any(&self, caller: u16, id: u16) -> Option<u16> {
        if id == DOMID_SELF {
            return Some(caller);
        }
        self.lookup_by_id(id)
    }

    /// `rcu_lock_remote_domain_by_id`: `DOMID_SELF` is not looked up as the caller (no
    /// domain has that id: `-ESRCH`); the caller's own id is `-EPERM`.
    pub(crate) fn lookup_remote(&self, caller: u16, id: u16) -> Result<u16, i32> {
        let d = self.lookup_by_id(id).ok_or(ESRCH)?;
        if d == caller {
            return Err(EPERM);
        }
        Ok(d)
    }

    /// `get_pg_owner` (used by Arm's foreign mapping): the caller's own numeric id is refused
    /// (`NULL`), `DOMID_IO`/`DOMID_XEN` are the pseudo-domains, `DOMID_SELF` is the caller.
    pub(crate) fn get_pg_owner(&self, caller: u16, id: u16) -> Option<PgOwner> {
        if id == caller {
            return None;
        }
        match id {
            DOMID_IO => Some(PgOwner::Io),
            DOMID_XEN => Some(PgOwner::Xen),
            _ => self.lookup_any(caller, id).map(PgOwner::Domain),
        }
    }

    /// `max_page`: one past the highest machine frame of RAM.
    pub(crate) fn max_page(&self) -> u64 {
        self.frames.len()
    }

    /// Whether `gfn .. gfn + n` fits the P2M (`p2m_set_entry`'s range check).
    #[inline]
    pub(crate) fn gfn_range_ok(&self, gfn: u64, n: u64) -> bool {
        gfn.checked_add(n).is_some_and(|end| end <= 1u64 << self.cfg.gfn_bits)
    }

    /// The error `p2m_set_entry` gives for a GFN beyond the P2M: x86's page-table P2M
    /// (`p2m_next_level` → `-ENOENT`), Arm's root lookup (`__p2m_set_entry` → `-EINVAL`).
    pub(crate) fn gfn_range_errno(&self) -> i32 {
        if self.is_arm() {
            EINVAL
        } else {
            ENOENT
        }
    }
}
