//! The Xen releases the model answers as, and every place their answers differ: one named
//! predicate per difference, each citing the Xen commit it follows. The rest of the model
//! asks these predicates (never compares version numbers itself), so this file is the whole
//! list of what changed between the releases the model knows.
//!
//! Both releases are the builds Debian ships, and the real ones were run under QEMU with the
//! conformance suite (golden files per release in `crates/xenmem-conformance/golden/`):
//! Xen 4.17.7 (Debian 12) and Xen 4.20.4 plus Debian's stable-branch updates (Debian 13:
//! `4.20.4+63-g7abfd2bce2`, whose banner says 4.20.5-pre).

use xenmem::{DomctlInterface, XenVersion};

/// A Xen release the model can answer as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    /// Xen 4.17 (Debian 12's 4.17.7).
    Xen4_17,
    /// Xen 4.20 (Debian 13's 4.20.4+63, `XENVER_extraversion` ".5-pre").
    Xen4_20,
}

impl Release {
    /// Every release the model knows, oldest first.
    pub const ALL: [Release; 2] = [Release::Xen4_17, Release::Xen4_20];

    /// The newest release whose real answers the conformance suite holds the model to: the
    /// default of [`crate::MachineConfig`].
    pub const NEWEST: Release = Release::Xen4_20;

    /// `major.minor`.
    pub const fn version(self) -> XenVersion {
        match self {
            Release::Xen4_17 => XenVersion::V4_17,
            Release::Xen4_20 => XenVersion::V4_20,
        }
    }

    /// The release of version `v`, if the model knows it.
    pub fn from_version(v: XenVersion) -> Option<Release> {
        Release::ALL.into_iter().find(|r| r.version() == v)
    }

    /// What `XENVER_extraversion` answers: the point release of the build Debian ships.
    pub(crate) const fn extraversion(self) -> &'static [u8] {
        match self {
            Release::Xen4_17 => b".7",
            Release::Xen4_20 => b".5-pre",
        }
    }

    /// The domctl interface `do_domctl` checks every call against (`-EACCES` otherwise), and
    /// with it the layout of `xen_domctl_createdomain`: 0x15 in 4.17; 0x17 in 4.20, with
    /// `altp2m_opts` (Xen commit 0291089f6e, 4.19).
    pub(crate) const fn domctl_interface(self) -> DomctlInterface {
        match self {
            Release::Xen4_17 => DomctlInterface::V15,
            Release::Xen4_20 => DomctlInterface::V17,
        }
    }

    /// Arm: a domain made by `XEN_DOMCTL_createdomain` starts with no P2M pool, so nothing
    /// can be mapped into it until the toolstack sizes the pool with
    /// `XEN_DOMCTL_set_paging_mempool_size` (Xen commit 9c962e07fb, 4.18: `p2m_init` no longer
    /// sets aside 16 pages). The model treats 4.17's 16 pages as enough for anything.
    pub(crate) const fn arm_p2m_pool_starts_empty(self) -> bool {
        matches!(self, Release::Xen4_20)
    }
}

/// The differences in memory_op, one per Xen commit. Each is named for what the later release
/// does; 4.17 does the opposite.
impl Release {
    /// `acquire_resource` of an unknown resource type: `resource_max_frames` returns 0, so the
    /// size query and a mapping are both `-EINVAL`. 4.17 returned `-EOPNOTSUPP` through an
    /// `unsigned int`: the size query succeeded with `nr_frames` 4294967201 and a mapping was
    /// `-EOPNOTSUPP`. Xen commit 9b87082900, in 4.20.0 (and 4.19.2, 4.18.5).
    pub(crate) const fn acquire_unknown_type_is_einval(self) -> bool {
        matches!(self, Release::Xen4_20)
    }

    /// x86 `arch_acquire_resource_check` refuses only domains with altp2m or nested
    /// virtualisation (whose extra P2Ms teardown would not scrub), instead of every
    /// translated domain but the hardware domain: a PVH domU's `acquire_resource` and
    /// `gmfn_foreign` mappings go on to the domain lookup and XSM like anyone's. Xen commit
    /// 845a60b63b ("remove foreign mappings from the p2m on teardown"), in 4.19.0.
    pub(crate) const fn x86_acquire_check_admits_translated_domus(self) -> bool {
        matches!(self, Release::Xen4_20)
    }

    /// x86 `XENMAPSPACE_gmfn` / `gmfn_range`: a source GFN that is not read/write RAM (a hole,
    /// a foreign or MMIO entry, populate-on-demand) is `-EACCES` before the page is looked
    /// at; 4.17 failed it later with `-EINVAL` (no page of the domain's there). Xen commit
    /// 219510a9d6 ("be more strict with XENMAPSPACE_gmfn source types"), in 4.20.3.
    pub(crate) const fn x86_gmfn_source_must_be_rw_ram(self) -> bool {
        matches!(self, Release::Xen4_20)
    }

    /// `XENMAPSPACE_gmfn_range` whose destination overlaps the source from above is done
    /// last page first, so every page moves once (4.17 went forwards: a page moved onto the
    /// next source GFN was moved again, and the pages it displaced were freed). Xen commit
    /// 04747ce00c ("memory: overlapping XENMAPSPACE_gmfn_range requests"), in 4.20.4.
    pub(crate) const fn gmfn_range_overlap_moves_backwards(self) -> bool {
        matches!(self, Release::Xen4_20)
    }

    /// Arm `XENMAPSPACE_gmfn_foreign` finds the owner as x86 does: `DOMID_XEN` is Xen's
    /// pseudo-domain, anything else `rcu_lock_remote_domain_by_id` (`DOMID_SELF`, `DOMID_IO`
    /// and unknown ids `-ESRCH`, the caller's own id `-EPERM`). 4.17 used `get_pg_owner`:
    /// `DOMID_SELF` was the caller (then `-EINVAL` as the target itself), its own id
    /// `-ESRCH`, and `DOMID_IO` took a data abort in Xen. Xen commit 35b75699a1, in 4.20.4.
    pub(crate) const fn arm_foreign_owner_by_remote_lookup(self) -> bool {
        matches!(self, Release::Xen4_20)
    }
}

impl core::fmt::Display for Release {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.version().fmt(f)
    }
}
