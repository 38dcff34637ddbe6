//! Page ownership and references: allocating pages to a domain, Xen heap pages shared with a
//! guest, `get_page` / `put_page`, and freeing a page when its last reference goes
//! (`xen/common/page_alloc.c`, the reference helpers of `xen/arch/*/mm.c`).
//!
//! The frame table's count is Xen's `count_info`: the owner's allocation reference
//! (`PGC_allocated`) plus one per holder (a foreign P2M entry, an ioreq server's type
//! reference). A domain page counts in its owner's `tot_pages` until it is actually freed, so
//! a page the owner gave back while another domain still maps it stays counted, and a dying
//! domain stays in the domain list until its last page is freed.

use crate::allocator::{Constraint, MAX_ORDER};
use crate::domain::Dying;
use crate::error::errno::*;
use crate::frames::Owner;
use crate::machine::{Machine, XenPage, XenPageKind};

/// The allocation flags memory_op derives from `mem_flags` (`MEMF_*`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemFlags {
    /// `MEMF_bits`: frames must lie below `2^bits` bytes.
    pub bits: Option<u32>,
    /// `MEMF_node`.
    pub node: Option<u8>,
    /// `MEMF_exact_node`.
    pub exact: bool,
    /// `MEMF_no_refcount`: not counted in `tot_pages`, no `max_pages` check.
    pub no_refcount: bool,
}

impl Machine {
    /// The domain a page belongs to for `get_page`: its heap owner, or the domain a Xen heap
    /// page is shared with.
    pub(crate) fn page_owner(&self, mfn: u64) -> Option<u16> {
        match self.frames.owner(mfn) {
            Owner::Domain(d) => Some(d),
            Owner::Xen => self.xenheap.get(&mfn).map(|x| x.shared_with),
            Owner::Free => None,
        }
    }

    /// `page_get_owner_and_reference`: takes a reference on a page in use and names its owner.
    #[inline]
    pub(crate) fn page_get_owner_and_reference(&mut self, mfn: u64) -> Option<u16> {
        match self.frames.reference(mfn)? {
            Owner::Domain(d) => Some(d),
            other => self.xen_page_owner_after_reference(mfn, other),
        }
    }

    /// `page_get_owner_and_reference` for a page that is not a domain's: a Xen heap page
    /// names the domain it is shared with; otherwise the reference goes back. Out of line:
    /// the domain pages of the hot paths never come here.
    #[cold]
    #[inline(never)]
    fn xen_page_owner_after_reference(&mut self, mfn: u64, owner: Owner) -> Option<u16> {
        let shared = match owner {
            Owner::Xen => self.xenheap.get(&mfn).map(|x| x.shared_with),
            _ => None,
        };
        if shared.is_none() {
            self.frames.put_ref(mfn);
        }
        shared
    }

    /// `get_page(page, d)`: a reference, if the page is in use and `d`'s.
    #[inline]
    pub(crate) fn get_page(&mut self, mfn: u64, d: u16) -> bool {
        match self.page_get_owner_and_reference(mfn) {
            Some(o) if o == d => true,
            Some(_) => {
                self.put_page(mfn);
                false
            }
            None => false,
        }
    }

    /// `put_page`: drops a reference; the last one frees the page.
    #[inline]
    pub(crate) fn put_page(&mut self, mfn: u64) {
        if self.frames.drop_ref(mfn) == Some(true) {
            self.free_page(mfn);
        }
    }

    /// `put_page_alloc_ref`: the owner lets go; the page is freed once no one else holds it.
    pub(crate) fn put_page_alloc_ref(&mut self, mfn: u64) {
        if !self.frames.allocated(mfn) {
            return;
        }
        self.frames.clear_allocated(mfn);
        if self.frames.count(mfn) == 0 {
            self.free_page(mfn);
        }
    }

    /// `free_domheap_pages` for one page whose count reached zero.
    #[inline(never)]
    fn free_page(&mut self, mfn: u64) {
        match self.frames.owner(mfn) {
            Owner::Domain(d) => {
                let uncounted = self.extra.remove(&mfn).is_some();
                if let Some(dom) = self.domains.get_mut(&d) {
                    if uncounted {
                        dom.extra_pages = dom.extra_pages.saturating_sub(1);
                    } else {
                        dom.tot_pages = dom.tot_pages.saturating_sub(1);
                    }
                    dom.pv_m2p.remove(&mfn);
                }
                self.frames.release(mfn);
                self.heap.free(mfn, 0);
                self.reap_if_done(d);
            }
            // A Xen heap page no longer shared: Xen still holds it (d->shared_info, the grant
            // table) until the domain is destroyed, so it only stops counting.
            Owner::Xen => {
                if let Some(d) = self.xenheap.get(&mfn).map(|x| x.shared_with) {
                    self.reap_if_done(d);
                }
            }
            Owner::Free => {}
        }
    }

    /// `alloc_domheap_pages` + `assign_pages`: `2^order` pages for `d`, or the errno
    /// `assign_pages` / the allocator gives (`-EINVAL` dying, `-EPERM` already over
    /// `max_pages`, `-E2BIG` over-allocation, `-ENOMEM` no memory).
    #[inline]
    pub(crate) fn alloc_domheap_pages(&mut self, d: u16, order: u32, f: MemFlags) -> Result<u64, i32> {
        self.alloc_domheap_pages_where(d, order, f, None)
    }

    /// As [`Machine::alloc_domheap_pages`], but the block at `mfn` exactly (`-ENOMEM` if any
    /// of it is in use): how a direct-mapped domain is given the frames equal to its GFNs.
    pub(crate) fn alloc_domheap_pages_at(&mut self, d: u16, mfn: u64, order: u32) -> Result<u64, i32> {
        self.alloc_domheap_pages_where(d, order, MemFlags::default(), Some(mfn))
    }

    fn alloc_domheap_pages_where(
        &mut self,
        d: u16,
        order: u32,
        f: MemFlags,
        at: Option<u64>,
    ) -> Result<u64, i32> {
        if order > MAX_ORDER {
            return Err(ENOMEM);
        }
        let n = 1u64 << order;
        let dom = self.dom(d);
        if dom.is_dying() {
            return Err(EINVAL);
        }
        if !f.no_refcount {
            if dom.tot_pages > dom.max_pages {
                return Err(EPERM);
            }
            if n > dom.max_pages - dom.tot_pages {
                return Err(E2BIG);
            }
        }
        let limit = match f.bits {
            Some(b) if b < 64 + 12 => (1u64 << b.saturating_sub(12).min(63)).max(1),
            _ => u64::MAX,
        };
        let mfn = match at {
            Some(m)
                if m.checked_add(n).is_some_and(|e| e <= self.frames.len()) && self.heap.take(m, order) =>
            {
                m
            }
            Some(_) => return Err(ENOMEM),
            None => {
                self.heap.alloc(order, Constraint { limit, node: f.node, exact: f.exact }).ok_or(ENOMEM)?
            }
        };
        self.frames.assign(mfn, n, Owner::Domain(d));
        let dom = self.dom_mut(d);
        if f.no_refcount {
            dom.extra_pages += n;
        } else {
            dom.tot_pages += n;
        }
        Ok(mfn)
    }

    /// `alloc_xenheap_page` + `share_xen_page_with_guest(page, d, SHARE_rw)`.
    pub(crate) fn alloc_shared_xenheap_page(&mut self, d: u16, what: XenPageKind) -> Option<u64> {
        let mfn = self.heap.alloc(0, Constraint::ANY)?;
        self.frames.assign(mfn, 1, Owner::Xen);
        self.xenheap.insert(mfn, XenPage { shared_with: d, what, gfn: None });
        Some(mfn)
    }

    /// Whether `d` is gone in all but name and nothing of it is still held: then the record
    /// goes and Xen frees the heap pages it kept for it (`domain_destroy`).
    pub(crate) fn reap_if_done(&mut self, d: u16) {
        let Some(dom) = self.domains.get(&d) else { return };
        if dom.dying != Dying::Dead || dom.tot_pages != 0 || dom.extra_pages != 0 {
            return;
        }
        let mut xen_pages: Vec<u64> = vec![dom.shared_info];
        xen_pages.extend(dom.grant.shared.iter().chain(dom.grant.status.iter()));
        if xen_pages.iter().any(|&m| self.frames.count(m) != 0) {
            return;
        }
        self.domains.remove(&d);
        for m in xen_pages {
            self.xenheap.remove(&m);
            self.frames.release(m);
            self.heap.free(m, 0);
        }
    }
}
