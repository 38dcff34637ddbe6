/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The xendom_* functions as a C program uses them, linked against libxenmem_capi.a built
 * with the `model` feature, so the hypercalls run on the library's model of Xen 4.17.
 *
 * Every expected value comes from Xen's documented behaviour (the project's research notes,
 * section 2, and the real-Xen recording crates/xenmem-conformance/golden/4.17/x86_64-pvh-dom0.txt)
 * or from the header's documented differences from Zephyr's implementation; none was copied
 * from a run of this library.
 *
 * Prints one line per check and closes with "N passed, M failed"; exits non-zero on failure.
 */
#define XENMEM_MODEL
#include "xenmem.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zephyr's prototypes (include/zephyr/xen/memory.h), restated: if the library's differed,
 * this file would not compile. */
int xendom_add_to_physmap(int domid, unsigned long idx, unsigned int space, xen_pfn_t gpfn);
int xendom_add_to_physmap_batch(int domid, int foreign_domid, unsigned int space, unsigned int size,
				xen_ulong_t *idxs, xen_pfn_t *gpfns, int *errs);
int xendom_remove_from_physmap(int domid, xen_pfn_t gpfn);
int xendom_populate_physmap(int domid, unsigned int extent_order, unsigned int nr_extents,
			    unsigned int mem_flags, xen_pfn_t *extent_start);
int xendom_acquire_resource(domid_t domid, uint16_t type, uint32_t id, uint64_t frame,
			    uint32_t *nr_frames, xen_pfn_t *frame_list);
/* Zephyr PR #115173 (2026), as its author's tree declares them. */
int xendom_increase_reservation(int domid, unsigned int extent_order, unsigned int nr_extents,
				unsigned int mem_flags, xen_pfn_t *extent_start);
int xendom_decrease_reservation(int domid, unsigned int extent_order, unsigned int nr_extents,
				unsigned int mem_flags, xen_pfn_t *extent_start);

/* Xen's numbers (public/xen.h, public/memory.h, public/errno.h). */
#define DOMID_SELF 0x7FF0
#define DOMID_IO 0x7FF1
#define DOMID_XEN 0x7FF2
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
#define XENMAPSPACE_gmfn_range 3
#define XENMAPSPACE_gmfn_foreign 4
#define XENMEM_resource_ioreq_server 0
#define XENMEM_resource_grant_table 1
#define XENMEM_resource_vmtrace_buf 2
#define XENMEM_resource_grant_table_id_shared 0
#define XENMEM_resource_grant_table_id_status 1
#define INVALID_GFN (~(xen_pfn_t)0)

/* Xen numbers its errors as Linux does; this program relies on it. */
_Static_assert(EPERM == 1 && ENOENT == 2 && ESRCH == 3 && E2BIG == 7 && EACCES == 13 &&
		       EINVAL == 22 && ENOSYS == 38 && EOPNOTSUPP == 95,
	       "Xen's errno numbering");

static int passed, failed;

static void check(long long got, long long want, const char *what)
{
	if (got == want) {
		passed++;
		printf("ok   %s\n", what);
	} else {
		failed++;
		printf("FAIL %s: got %lld, want %lld\n", what, got, want);
	}
}

/* The two domains every group uses, and their grant-table sizes (xenmem_model_create_domain:
 * 64 frames for a control domain, 32 for a domU, as libxl). */
enum { DOM0 = 0, U = 1, U_MAX_PAGES = 1024 };

/* Frames of dom0's own physmap the tests map things at (dom0 has no RAM in the model). */
#define G_SHARED_INFO 0x80000u
#define G_FOREIGN 0x90000u
#define G_RESOURCE 0xA0000u
#define G_IOREQ 0xB0000u
#define G_BIG 0x200000u

static void setup(void)
{
	check(xenmem_model_init(1u << 19), 0, "model: 2 GiB x86_64 machine");
	check(xenmem_model_create_domain(DOM0, XENMEM_MODEL_PVH, XENMEM_MODEL_CONTROL | XENMEM_MODEL_HARDWARE,
					 UINT32_MAX),
	      DOM0, "model: PVH dom0 (control and hardware domain)");
	check(xenmem_model_create_domain(-1, XENMEM_MODEL_PVH, 0, U_MAX_PAGES), U,
	      "model: PVH domU gets the next free id, 1, and max_pages 1024");
	check(xenmem_model_set_caller(DOM0), 0, "model: hypercalls come from dom0");
}

/* XENMEM_populate_physmap: a count, never a negative errno from Xen. */
static void test_populate(void)
{
	xen_pfn_t four[4] = {0x100, 0x101, 0x102, 0x103};
	check(xendom_populate_physmap(U, 0, 4, 0, four), 4, "populate: 4 pages into domU");
	check(xenmem_model_current_pages(U), 4, "populate: domU owns 4 pages");

	xen_pfn_t big = 0x400;
	check(xendom_populate_physmap(U, 9, 1, 0, &big), 1, "populate: one order-9 extent (dom0 may: limit 18)");
	check(xenmem_model_current_pages(U), 4 + 512, "populate: domU owns 516 pages");
	big = 0x600;
	check(xendom_populate_physmap(U, 9, 1, 0, &big), 0, "populate: an extent past max_pages is a count of 0");

	/* 508 pages are left under max_pages: Xen stops at the first extent over it. */
	enum { ASK = 600, ROOM = U_MAX_PAGES - 516 };
	static xen_pfn_t many[ASK];
	for (unsigned i = 0; i < ASK; i++)
		many[i] = 0x2000 + i;
	check(xendom_populate_physmap(U, 0, ASK, 0, many), ROOM, "populate: short count (508 of 600) at max_pages");
	check(xenmem_model_current_pages(U), U_MAX_PAGES, "populate: domU is at max_pages");

	xen_pfn_t one = 0x3000;
	check(xendom_populate_physmap(100, 0, 1, 0, &one), 0, "populate: no such domain is a count of 0");
	check(xendom_populate_physmap(DOMID_IO, 0, 1, 0, &one), 0, "populate: DOMID_IO is a count of 0");
	check(xendom_populate_physmap(DOMID_XEN, 0, 1, 0, &one), 0, "populate: DOMID_XEN is a count of 0");
	check(xendom_populate_physmap(U, 0, 0, 0, NULL), 0, "populate: no extents, null list: 0");

	check(xenmem_model_set_caller(U), 0, "populate: calls from the domU");
	one = 0x3000;
	check(xendom_populate_physmap(DOM0, 0, 1, 0, &one), 0, "populate: domU into dom0 (no privilege): 0");
	check(xenmem_model_set_caller(DOM0), 0, "populate: calls from dom0 again");

	/* The library's own refusals, and what Zephyr would truncate. */
	long long dom0_pages = xenmem_model_current_pages(DOM0);
	one = 0x3000;
	check(xendom_populate_physmap(0x10000, 0, 1, 0, &one), -EINVAL,
	      "populate: domid 0x10000 is -EINVAL (Zephyr: domain 0)");
	check(xendom_populate_physmap(-1, 0, 1, 0, &one), -EINVAL, "populate: domid -1 is -EINVAL");
	check(xenmem_model_current_pages(DOM0), dom0_pages, "populate: dom0 got no page from those");
	check(xendom_populate_physmap(DOMID_SELF, 52, 1, 0, &one), -EINVAL, "populate: order 52 is -EINVAL");
	check(xendom_populate_physmap(DOMID_SELF, 0, 1, 0, NULL), -EINVAL, "populate: null list with 1 extent");
	check(xendom_populate_physmap(DOMID_SELF, 0, (unsigned)INT_MAX + 1, 0, &one), -EINVAL,
	      "populate: more extents than an int can count is -EINVAL");
}

/* XENMEM_increase_reservation and XENMEM_decrease_reservation: counts, as populate. The
 * expected values are real Xen 4.17's (golden/4.17/x86_64-pvh-dom0.txt, cases "increase" and
 * "decrease"). Runs on a domain of its own so the other groups' counts stay as they were. */
static void test_reservation(void)
{
	int r = xenmem_model_create_domain(-1, XENMEM_MODEL_PVH, 0, 64);
	check(r, 3, "reservation: a domU of its own (id 3, max_pages 64)");
	check(xendom_increase_reservation(r, 0, 2, 0, NULL), 2, "reservation: increase by 2 pages, no list");
	check(xenmem_model_current_pages(r), 2, "reservation: ... it owns them");
	xen_pfn_t slots[2] = {7, 7};
	check(xendom_increase_reservation(r, 0, 2, 0, slots), 2, "reservation: increase by 2 with a list");
	check(slots[0] == 7 && slots[1] == 7, 1, "reservation: ... a translated target's slots are left alone");
	check(xendom_increase_reservation(100, 0, 1, 0, NULL), 0, "reservation: increase for no such domain: 0");

	xen_pfn_t ram[3] = {0x101, 0x102, 0x103};
	check(xendom_populate_physmap(r, 0, 3, 0, ram), 3, "reservation: populate 0x101..0x103");
	xen_pfn_t one = 0x101;
	check(xendom_decrease_reservation(r, 0, 1, 0, &one), 1, "reservation: decrease 0x101");
	check(xendom_decrease_reservation(r, 0, 1, 0, &one), 0, "reservation: ... again: 0 (a hole now)");
	xen_pfn_t gap[3] = {0x102, 0x5000, 0x103};
	check(xendom_decrease_reservation(r, 0, 3, 0, gap), 1, "reservation: [0x102, hole, 0x103] frees 1");
	check(xenmem_model_current_pages(r), 5, "reservation: 7 - 2 pages left");
	unsigned char b;
	check(xenmem_model_read(r, 0x103, 0, &b, 1), 0, "reservation: ... 0x103, after the hole, kept");
	check(xendom_decrease_reservation(100, 0, 1, 0, gap), 0, "reservation: decrease for no such domain: 0");

	/* The library's own refusals: negative, and nothing reaches Xen. */
	uint64_t calls = xenmem_model_hypercalls();
	check(xendom_increase_reservation(0x10000 | r, 0, 1, 0, NULL), -EINVAL,
	      "reservation: increase for domid 0x10003 is -EINVAL (Zephyr: domain 3)");
	check(xendom_decrease_reservation(-1, 0, 1, 0, gap), -EINVAL, "reservation: decrease for domid -1");
	check(xendom_decrease_reservation(r, 0, 1, 0, NULL), -EINVAL, "reservation: decrease with a null list");
	check(xendom_increase_reservation(r, 52, 1, 0, NULL), -EINVAL, "reservation: order 52 is -EINVAL");
	check(xendom_increase_reservation(r, 0, (unsigned)INT_MAX + 1, 0, NULL), -EINVAL,
	      "reservation: more extents than an int can count is -EINVAL");
	check((long long)(xenmem_model_hypercalls() - calls), 0, "reservation: refused calls issue no hypercall");
	check(xenmem_model_current_pages(r), 5, "reservation: ... and change nothing");
}

/* XENMEM_add_to_physmap. */
static void test_add(void)
{
	check(xendom_add_to_physmap(DOMID_SELF, 0, XENMAPSPACE_shared_info, G_SHARED_INFO), 0,
	      "add: shared info at a free frame");
	check(xendom_add_to_physmap(DOMID_SELF, 1, XENMAPSPACE_shared_info, G_SHARED_INFO + 1), -EINVAL,
	      "add: shared info idx 1 is -EINVAL");
	check(xendom_add_to_physmap(DOMID_SELF, 0, XENMAPSPACE_shared_info, INVALID_GFN), -EINVAL,
	      "add: INVALID_GFN is -EINVAL");
	check(xendom_add_to_physmap(DOMID_SELF, 0x100, XENMAPSPACE_gmfn_foreign, G_SHARED_INFO + 2), -ENOSYS,
	      "add: gmfn_foreign through the single call is -ENOSYS");
	check(xendom_add_to_physmap(100, 0, XENMAPSPACE_shared_info, G_SHARED_INFO + 3), -ESRCH,
	      "add: no such domain is -ESRCH");
	check(xendom_add_to_physmap(DOMID_SELF, 0x40, XENMAPSPACE_grant_table, G_SHARED_INFO + 4), -EINVAL,
	      "add: grant frame 64 of a 64-frame table is -EINVAL");
	check(xendom_add_to_physmap(DOMID_SELF, 0, XENMAPSPACE_gmfn_range, G_SHARED_INFO + 5), -EINVAL,
	      "add: gmfn_range without a size is -EINVAL (library)");

	check(xendom_add_to_physmap(0x10000, 0, XENMAPSPACE_shared_info, G_SHARED_INFO + 6), -EINVAL,
	      "add: domid 0x10000 is -EINVAL (Zephyr: domain 0)");
	check(xendom_remove_from_physmap(DOMID_SELF, G_SHARED_INFO + 6), -ENOENT,
	      "add: ... and nothing was mapped in domain 0");
	check(xendom_add_to_physmap(-1, 0, XENMAPSPACE_shared_info, G_SHARED_INFO + 6), -EINVAL,
	      "add: domid -1 is -EINVAL");

	check(xenmem_model_set_caller(U), 0, "add: calls from the domU");
	check(xendom_add_to_physmap(DOM0, 0, XENMAPSPACE_shared_info, G_SHARED_INFO + 7), -EPERM,
	      "add: domU into dom0 is -EPERM");
	check(xenmem_model_set_caller(DOM0), 0, "add: calls from dom0 again");
}

/* XENMEM_remove_from_physmap. */
static void test_remove(void)
{
	check(xendom_remove_from_physmap(DOMID_SELF, G_SHARED_INFO), 0, "remove: the shared-info mapping");
	check(xendom_remove_from_physmap(DOMID_SELF, G_SHARED_INFO), -ENOENT, "remove: twice is -ENOENT");
	check(xendom_remove_from_physmap(DOMID_SELF, G_SHARED_INFO + 100), -ENOENT, "remove: a hole is -ENOENT");
	check(xendom_remove_from_physmap(100, G_SHARED_INFO), -ESRCH, "remove: no such domain is -ESRCH");
	check(xendom_remove_from_physmap(U, 0x100), 0, "remove: a RAM page of the domU");
	check(xendom_remove_from_physmap(U, 0x100), -ENOENT, "remove: it again is -ENOENT");
	check(xenmem_model_current_pages(U), U_MAX_PAGES, "remove: the page stays the domU's (tot_pages)");
	check(xendom_remove_from_physmap(0x10000 | DOMID_SELF, G_SHARED_INFO), -EINVAL,
	      "remove: domid 0x17FF0 is -EINVAL (Zephyr: DOMID_SELF)");
}

/* XENMEM_add_to_physmap_batch. */
static void test_batch(void)
{
	/* domU has RAM at 0x101..0x103; 0x5000 is a hole. */
	xen_ulong_t idxs[4] = {0x101, 0x102, 0x5000, 0x103};
	xen_pfn_t gpfns[4] = {G_FOREIGN, G_FOREIGN + 1, G_FOREIGN + 2, G_FOREIGN + 3};
	int errs[4] = {7, 7, 7, 7};
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 4, idxs, gpfns, errs), 0,
	      "batch: a mixed foreign batch returns 0");
	check(errs[0], 0, "batch: errs[0] mapped");
	check(errs[1], 0, "batch: errs[1] mapped");
	check(errs[2], -EINVAL, "batch: errs[2] (a hole of the domU) is -EINVAL");
	check(errs[3], 0, "batch: errs[3] mapped");

	xen_ulong_t idx3[3] = {0x101, 0x102, 0x103};
	xen_pfn_t at3[3] = {G_FOREIGN + 8, INVALID_GFN, G_FOREIGN + 9};
	int err3[3] = {7, 7, 7};
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 3, idx3, at3, err3), -EINVAL,
	      "batch: INVALID_GFN in entry 1 fails the call with -EINVAL");
	check(err3[0], 0, "batch: ... entry 0 before it was mapped");
	check(err3[1], XENMEM_ENTRY_NOT_DONE, "batch: ... entry 1 not done");
	check(err3[2], XENMEM_ENTRY_NOT_DONE, "batch: ... entry 2 not done");

	xen_ulong_t i1 = 0x101;
	xen_pfn_t g1 = G_FOREIGN + 16;
	int e1 = 7;
	check(xendom_add_to_physmap_batch(DOMID_SELF, DOM0, XENMAPSPACE_gmfn_range, 1, &i1, &g1, &e1), -EOPNOTSUPP,
	      "batch: gmfn_range is -EOPNOTSUPP");
	check(xendom_add_to_physmap_batch(100, U, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), -ESRCH,
	      "batch: no such domain is -ESRCH");
	e1 = 7;
	check(xendom_add_to_physmap_batch(DOMID_SELF, DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), 0,
	      "batch: foreign DOMID_SELF returns 0");
	check(e1, -ESRCH, "batch: ... with errs[0] -ESRCH (x86)");
	e1 = 7;
	check(xendom_add_to_physmap_batch(DOMID_SELF, DOM0, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), 0,
	      "batch: foreign = own id returns 0");
	check(e1, -EPERM, "batch: ... with errs[0] -EPERM");
	e1 = 7;
	check(xendom_add_to_physmap_batch(DOMID_SELF, 100, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), 0,
	      "batch: foreign domain that does not exist returns 0");
	check(e1, -ESRCH, "batch: ... with errs[0] -ESRCH");
	e1 = 7;
	check(xendom_add_to_physmap_batch(U, DOM0, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), 0,
	      "batch: into the domU (not the hardware domain) returns 0");
	check(e1, -EPERM, "batch: ... with errs[0] -EPERM");

	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 0, NULL, NULL, NULL), 0,
	      "batch: no entries, null arrays: 0");
	check(xendom_add_to_physmap_batch(100, U, XENMAPSPACE_gmfn_foreign, 0, NULL, NULL, NULL), -ESRCH,
	      "batch: no entries for no such domain: -ESRCH");

	/* The library's own refusals, and what Zephyr would truncate: nothing reaches Xen. */
	uint64_t calls = xenmem_model_hypercalls();
	e1 = 7;
	check(xendom_add_to_physmap_batch(0x10000, U, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), -EINVAL,
	      "batch: domid 0x10000 is -EINVAL (Zephyr: domain 0)");
	check(xendom_add_to_physmap_batch(DOMID_SELF, 0x10000 | U, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1),
	      -EINVAL, "batch: foreign domid 0x10001 is -EINVAL (Zephyr: domain 1)");
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, 0x10000 | XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1),
	      -EINVAL, "batch: space 0x10004 is -EINVAL (Zephyr: gmfn_foreign)");
	check(xendom_add_to_physmap_batch(DOMID_SELF, -1, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, &e1), -EINVAL,
	      "batch: foreign domid -1 is -EINVAL");
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 1, NULL, &g1, &e1), -EINVAL,
	      "batch: null idxs with one entry is -EINVAL");
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 1, &i1, &g1, NULL), -EINVAL,
	      "batch: null errs with one entry is -EINVAL");
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 2, idxs, gpfns, (int *)idxs),
	      -EINVAL, "batch: errs overlapping idxs is -EINVAL");
	check(e1, 7, "batch: refused calls leave errs alone");
	check((long long)(xenmem_model_hypercalls() - calls), 0, "batch: refused calls issue no hypercall");
	unsigned char b;
	check(xenmem_model_read(DOM0, G_FOREIGN + 16, 0, &b, 1), -ENOENT, "batch: nothing was mapped by them");
}

/* A batch larger than the 16-bit size field: Zephyr's maps 70,000 & 0xFFFF = 4,464 entries. */
static void test_big_batch(void)
{
	enum { N = 70000, EXTENTS = (N + 511) / 512 };
	const xen_pfn_t base = 0x100000;
	int d2 = xenmem_model_create_domain(-1, XENMEM_MODEL_PVH, 0, 80000);
	check(d2, 2, "big: a second domU (id 2, max_pages 80000)");

	xen_pfn_t ext[EXTENTS];
	for (unsigned i = 0; i < EXTENTS; i++)
		ext[i] = base + 512u * i;
	check(xendom_populate_physmap(d2, 9, EXTENTS, 0, ext), EXTENTS, "big: 137 order-9 extents into it");
	check(xenmem_model_current_pages(d2), 512LL * EXTENTS, "big: it owns 70,144 pages");

	static const unsigned marked[] = {0, 4463, 4464, 65534, 65535, 65536, 69999};
	enum { MARKS = sizeof(marked) / sizeof(marked[0]) };
	for (unsigned m = 0; m < MARKS; m++) {
		uint32_t v = 0xC0DE0000u + marked[m];
		check(xenmem_model_write(d2, base + marked[m], 64, &v, sizeof v), 0, "big: mark a page of the domU");
	}

	xen_ulong_t *idxs = malloc(N * sizeof *idxs);
	xen_pfn_t *gpfns = malloc(N * sizeof *gpfns);
	int *errs = malloc(N * sizeof *errs);
	if (!idxs || !gpfns || !errs) {
		check(0, 1, "big: malloc");
		return;
	}
	for (unsigned i = 0; i < N; i++) {
		idxs[i] = base + i;
		gpfns[i] = G_BIG + i;
		errs[i] = 7;
	}
	uint64_t calls = xenmem_model_hypercalls();
	check(xendom_add_to_physmap_batch(DOMID_SELF, d2, XENMAPSPACE_gmfn_foreign, N, idxs, gpfns, errs), 0,
	      "big: a 70,000-entry foreign batch returns 0");
	unsigned ok = 0;
	for (unsigned i = 0; i < N; i++)
		ok += errs[i] == 0;
	check(ok, N, "big: all 70,000 errs[i] are 0");
	check((long long)(xenmem_model_hypercalls() - calls), 2, "big: in two hypercalls (65,535 + 4,465)");
	for (unsigned m = 0; m < MARKS; m++) {
		uint32_t v = 0;
		char what[96];
		snprintf(what, sizeof what, "big: entry %u reads the domU's page through dom0", marked[m]);
		check(xenmem_model_read(DOM0, G_BIG + marked[m], 64, &v, sizeof v) == 0 ? v : 0,
		      0xC0DE0000u + marked[m], what);
	}
	free(idxs);
	free(gpfns);
	free(errs);
}

/* XENMEM_acquire_resource. */
static void test_acquire(void)
{
	uint32_t nr = 0;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, XENMEM_resource_grant_table_id_shared, 0, &nr,
				      NULL),
	      0, "acquire: size query of the domU's grant table");
	check(nr, 32, "acquire: ... *nr_frames is its 32 frames");
	nr = 0;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, XENMEM_resource_grant_table_id_status, 0, &nr,
				      NULL),
	      0, "acquire: size query of its status frames");
	check(nr, 4, "acquire: ... 4 (32 frames / 8)");
	nr = 0;
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 0, 0, &nr, NULL), 0,
	      "acquire: size query of ioreq server 0");
	check(nr, 2, "acquire: ... 2 frames for one vCPU");
	nr = 0;
	check(xendom_acquire_resource(U, XENMEM_resource_vmtrace_buf, 0, 0, &nr, NULL), -EINVAL,
	      "acquire: no trace buffer: -EINVAL");
	nr = 0;
	check(xendom_acquire_resource(U, 7, 0, 0, &nr, NULL), 0, "acquire: size query of unknown type 7 (Xen 4.17 bug)");
	check(nr, 4294967201u, "acquire: ... reports (unsigned)-EOPNOTSUPP frames");

	nr = 0;
	check(xendom_acquire_resource(DOMID_SELF, XENMEM_resource_grant_table, 0, 0, &nr, NULL), -ESRCH,
	      "acquire: DOMID_SELF is -ESRCH");
	check(xendom_acquire_resource(DOM0, XENMEM_resource_grant_table, 0, 0, &nr, NULL), -EPERM,
	      "acquire: the caller's own id is -EPERM");
	check(xendom_acquire_resource(100, XENMEM_resource_grant_table, 0, 0, &nr, NULL), -ESRCH,
	      "acquire: no such domain is -ESRCH");
	nr = 1;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 0, &nr, NULL), -EINVAL,
	      "acquire: size query with *nr_frames 1 is -EINVAL");
	check(nr, 1, "acquire: ... *nr_frames unchanged");
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 0, NULL, NULL), -EINVAL,
	      "acquire: null nr_frames is -EINVAL (library)");

	xen_pfn_t at[3] = {G_RESOURCE, G_RESOURCE + 1, G_RESOURCE + 2};
	nr = 1;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 0, &nr, at), 0,
	      "acquire: map grant frame 0 at a frame of dom0");
	check(nr, 1, "acquire: ... *nr_frames stays 1");
	unsigned char b = 0xFF;
	check(xenmem_model_read(DOM0, G_RESOURCE, 0, &b, 1), 0, "acquire: ... the frame is mapped");
	xen_pfn_t at3[3] = {G_RESOURCE + 1, G_RESOURCE + 2, G_RESOURCE + 3};
	nr = 3;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 1, &nr, at3), 0,
	      "acquire: map frames 1..3");
	nr = 1;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 0x20, &nr, at), -EINVAL,
	      "acquire: frame 32 of 32 is -EINVAL");
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 0x100000000ull, &nr, at), -EINVAL,
	      "acquire: a frame beyond 32 bits is -EINVAL");
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, XENMEM_resource_grant_table_id_status, 0, &nr,
				      at),
	      -EINVAL, "acquire: status frames of a grant v1 table are -EINVAL");
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 0, 0, &nr, at), -ENOENT,
	      "acquire: no ioreq server 0 is -ENOENT");
	check(xendom_acquire_resource(U, 7, 0, 0, &nr, at), -EOPNOTSUPP, "acquire: mapping unknown type 7 is -EOPNOTSUPP");
	nr = 0;
	check(xendom_acquire_resource(U, XENMEM_resource_grant_table, 0, 0, &nr, at), -EINVAL,
	      "acquire: a frame list with *nr_frames 0 is -EINVAL");

	check(xenmem_model_set_caller(U), 0, "acquire: calls from the domU");
	nr = 0;
	check(xendom_acquire_resource(DOM0, XENMEM_resource_grant_table, 0, 0, &nr, NULL), -EACCES,
	      "acquire: an x86 translated caller other than the hardware domain is -EACCES");
	check(xenmem_model_set_caller(DOM0), 0, "acquire: calls from dom0 again");
}

/* An ioreq server's page, mapped the way Zephyr's drivers/vhost/vhost_xen_mmio.c does once
 * its dm_op created the server: frame 1 (the synchronous page) alone, one frame. Expected
 * values: Xen 4.17's ioreq_server_get_frame and acquire_resource (xen/common/ioreq.c,
 * xen/common/memory.c) and the real-Xen record of an ioreq server serving a PVH domU. */
static void test_ioreq(void)
{
	check(xenmem_model_create_ioreq_server(U, DOM0, 100), 0, "ioreq: server 0 of the domU, run by dom0");
	check(xenmem_model_create_ioreq_server(U, DOM0, 0), 1, "ioreq: server 1, without a buffered page");
	check(xenmem_model_create_ioreq_server(DOM0, DOM0, 0), -EPERM, "ioreq: a server of the emulator itself is -EPERM");
	check(xenmem_model_create_ioreq_server(100, DOM0, 0), -ESRCH, "ioreq: no such target is -ESRCH");
	check(xenmem_model_create_ioreq_server(U, U, 0), -EPERM, "ioreq: the domU cannot serve itself: -EPERM");

	uint32_t nr = 0;
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 1, 0, &nr, NULL), 0,
	      "ioreq: size query of server 1");
	check(nr, 2, "ioreq: ... 2 frames (1 + one page of 32-byte slots for 1 vCPU)");

	/* vhost_xen_mmio: xendom_acquire_resource(domid, XENMEM_resource_ioreq_server, id, 1, &one, &gfn) */
	uint32_t one = 1;
	xen_pfn_t gfn = G_IOREQ;
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 1, 1, &one, &gfn), 0,
	      "ioreq: map server 1's frame 1 as vhost_xen_mmio does");
	check(one, 1, "ioreq: ... *nr_frames stays 1");
	unsigned char slot[32];
	memset(slot, 0xFF, sizeof slot);
	check(xenmem_model_read(DOM0, G_IOREQ, 0, slot, sizeof slot), 0, "ioreq: ... vCPU 0's slot is readable");
	static const unsigned char zero[32];
	check(memcmp(slot, zero, sizeof slot), 0, "ioreq: ... a fresh page: state NONE, vp_eport 0 until enabled");

	gfn = G_IOREQ + 1;
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 1, 0, &one, &gfn), -ENOENT,
	      "ioreq: frame 0 of a server without a buffered page is -ENOENT");
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 0, 0, &one, &gfn), 0,
	      "ioreq: frame 0 of server 0 is its buffered page");
	gfn = G_IOREQ + 2;
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 0, 2, &one, &gfn), -EINVAL,
	      "ioreq: frame 2 is -EINVAL (only frames 0 and 1 map)");
	check(xendom_acquire_resource(U, XENMEM_resource_ioreq_server, 7, 1, &one, &gfn), -ENOENT,
	      "ioreq: no server 7 is -ENOENT");
	check(xenmem_model_set_caller(U), 0, "ioreq: calls from the domU");
	check(xendom_acquire_resource(DOM0, XENMEM_resource_ioreq_server, 1, 1, &one, &gfn), -EACCES,
	      "ioreq: an x86 translated caller other than the hardware domain is -EACCES");
	check(xenmem_model_set_caller(DOM0), 0, "ioreq: calls from dom0 again");
	check(xendom_remove_from_physmap(DOMID_SELF, G_IOREQ), 0, "ioreq: unmap the page");
}

/* Bytes written on one side of a foreign mapping are read on the other. */
static void test_bytes(void)
{
	static const unsigned char pattern[8] = {0x5a, 0xa5, 0x3c, 0xc3, 0x0f, 0xf0, 0x11, 0xee};
	unsigned char got[8];

	/* test_batch mapped the domU's 0x102 at G_FOREIGN + 1. */
	check(xenmem_model_write(U, 0x102, 0, pattern, sizeof pattern), 0, "bytes: write a pattern into the domU's page");
	memset(got, 0, sizeof got);
	check(xenmem_model_read(DOM0, G_FOREIGN + 1, 0, got, sizeof got), 0, "bytes: read it through dom0's mapping");
	check(memcmp(got, pattern, sizeof got), 0, "bytes: ... the same bytes");

	check(xenmem_model_write(DOM0, G_FOREIGN + 1, 4000, pattern, sizeof pattern), 0,
	      "bytes: write through dom0's mapping");
	memset(got, 0, sizeof got);
	check(xenmem_model_read(U, 0x102, 4000, got, sizeof got), 0, "bytes: read it in the domU");
	check(memcmp(got, pattern, sizeof got), 0, "bytes: ... the same bytes");

	check(xendom_remove_from_physmap(DOMID_SELF, G_FOREIGN + 1), 0, "bytes: unmap the foreign page");
	check(xendom_remove_from_physmap(DOMID_SELF, G_FOREIGN + 1), -ENOENT, "bytes: unmap it again: -ENOENT");
	memset(got, 0, sizeof got);
	check(xenmem_model_read(U, 0x102, 0, got, sizeof got), 0, "bytes: the domU's page is still there");
	check(memcmp(got, pattern, sizeof got), 0, "bytes: ... with its bytes");

	xen_ulong_t idx = 0x102;
	xen_pfn_t g = G_FOREIGN + 32;
	int err = 7;
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, 1, &idx, &g, &err), 0,
	      "bytes: map it again elsewhere");
	check(err, 0, "bytes: ... errs[0] 0");
	memset(got, 0, sizeof got);
	check(xenmem_model_read(DOM0, g, 0, got, sizeof got), 0, "bytes: read through the new mapping");
	check(memcmp(got, pattern, sizeof got), 0, "bytes: ... the same bytes");
}

int main(void)
{
	setup();
	test_populate();
	test_add();
	test_remove();
	test_batch();
	test_big_batch();
	test_acquire();
	test_ioreq();
	test_bytes();
	test_reservation();
	check(xenmem_model_check(), 0, "model: invariants hold");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
