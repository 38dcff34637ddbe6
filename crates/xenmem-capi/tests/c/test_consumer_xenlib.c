/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * A real consumer's call pattern, replayed against the library's model of Xen 4.17 on arm64:
 * the domain builder of xen-troops/zephyr-xenlib (a Zephyr dom0 on Arm), whose
 * xen-dom-mgmt/src/mem-mgmt.c (read at commit 0e8be60ac3d3) drives the xendom_* functions:
 *
 *   - guest RAM populated in 2 MiB extents (order 9) and the four magic pages at order 0, in
 *     calls of at most CONFIG_PFN_CHUNK_SIZE extents (Kconfig default 128);
 *   - a region of the guest (magic pages, device tree, kernel) made visible to dom0 by
 *     taking pages of dom0's heap out of its physmap one by one, then mapping the guest's
 *     frames there with XENMAPSPACE_gmfn_foreign batches of 128, reading each entry's error;
 *   - the region unmapped page by page and dom0's frames populated again, 128 at a time.
 *
 * The helpers below follow that logic (written here from its description, not copied), and
 * the checks show what the pattern costs and where this library's return values let a caller
 * do better than that code does today:
 *   1. the hypercalls it issues, and what becomes of dom0's heap frames
 *      (XENMEM_remove_from_physmap unmaps a RAM page; it stays the domain's, and an Arm
 *      dom0, mapped 1:1, takes the very same frame back when it populates that GFN again);
 *   2. its batch helper, on the first failed entry, reports i - 1 entries done: one mapped
 *      entry too few, and it ignores the entries after the failure that Xen mapped too (each
 *      batch entry has its own status) - errs[] says exactly which are mapped;
 *   3. its populate helper adds the return value to a count, so a negative return corrupts
 *      the count - here a negative return always means "refused, nothing done".
 *
 * Expected values come from Xen's semantics, each cited where it is used: real Xen 4.17's
 * recorded answers (crates/xenmem-conformance/golden/4.17/arm64-dom0.txt), Xen's public headers
 * (public/arch-arm.h), and counting the calls the pattern makes; none was copied from a run.
 *
 * Prints one line per check and closes with "N passed, M failed"; exits non-zero on failure.
 */
#define XENMEM_MODEL
#include "xenmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DOMID_SELF 0x7FF0
#define XENMAPSPACE_gmfn_foreign 4

/* Xen's public/arch-arm.h guest layout, as frame numbers. */
#define GUEST_MAGIC_BASE_PFN 0x39000u /* GUEST_MAGIC_BASE 0x39000000 */
#define GUEST_RAM0_BASE_PFN 0x40000u  /* GUEST_RAM0_BASE 0x40000000 */
#define NR_MAGIC_PAGES 4              /* console, xenstore, memaccess, vuart */

/* zephyr-xenlib's Kconfig: PFN_CHUNK_SIZE, default 128. */
#define CHUNK 128

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

static unsigned long long div_up(unsigned long long n, unsigned long long d)
{
	return (n + d - 1) / d;
}

/* ---- The consumer's helpers (the logic of mem-mgmt.c) ---------------------------------- */

static xen_pfn_t chunk_a[CHUNK], chunk_b[CHUNK];
static int chunk_errs[CHUNK];

/* Populates nr extents of 2^order pages from base, CHUNK extents per call; the count is
 * the sum of the calls' returns, and a short call ends it. */
static uint64_t xl_populate(int domid, uint64_t base, unsigned order, uint64_t nr)
{
	uint64_t i = 0;
	while (i < nr) {
		unsigned n = nr - i < CHUNK ? (unsigned)(nr - i) : CHUNK;
		for (unsigned j = 0; j < n; j++)
			chunk_a[j] = base + ((uint64_t)j << order);
		int ret = xendom_populate_physmap(domid, order, n, 0, chunk_a);
		i += ret; /* the consumer's arithmetic: a negative return is added too */
		if (ret != (int)n)
			return i;
		base += (uint64_t)n << order;
	}
	return i;
}

/* Maps nr frames of domid from dom_gfn at dom0's frames from dom0_pfn, CHUNK per batch. On
 * the first entry with an error it returns i - 1 (0 if i is 0), i being the entries before
 * it; on a failed call, the entries done before the call. */
static uint64_t xl_batch_by_chunks(int domid, uint64_t dom0_pfn, uint64_t dom_gfn, uint64_t nr)
{
	uint64_t i = 0;
	while (i < nr) {
		unsigned n = nr - i < CHUNK ? (unsigned)(nr - i) : CHUNK;
		for (unsigned j = 0; j < n; j++) {
			chunk_a[j] = dom0_pfn + j; /* gpfns: where dom0 sees them */
			chunk_b[j] = dom_gfn + j;  /* idxs: the guest's frames */
		}
		if (xendom_add_to_physmap_batch(DOMID_SELF, domid, XENMAPSPACE_gmfn_foreign, n, chunk_b, chunk_a,
						chunk_errs) < 0)
			return i;
		for (unsigned j = 0; j < n; j++) {
			if (chunk_errs[j])
				return i ? i - 1 : 0;
			i++;
		}
		dom0_pfn += n;
		dom_gfn += n;
	}
	return i;
}

/* Removes dom0's frames from base, one call each; returns how many went before a failure. */
static uint64_t xl_remove(uint64_t base, uint64_t nr)
{
	for (uint64_t i = 0; i < nr; i++)
		if (xendom_remove_from_physmap(DOMID_SELF, base + i) < 0)
			return i;
	return nr;
}

/* A region of the guest at dom0's heap frames heap..heap+nr: take them out of dom0's physmap,
 * map the guest's frames there. Returns 0, or -ENOMEM after undoing the mapping. */
static int xl_map_region(int domid, uint64_t nr, uint64_t dom_gfn, uint64_t heap)
{
	if (xl_remove(heap, nr) != nr)
		return -ENOMEM;
	uint64_t added = xl_batch_by_chunks(domid, heap, dom_gfn, nr);
	if (added == nr)
		return 0;
	xl_remove(heap, added);
	xl_populate(DOMID_SELF, heap, 0, nr);
	return -ENOMEM;
}

/* Unmaps the region page by page and gives dom0 RAM at those frames again. */
static int xl_unmap_region(uint64_t nr, uint64_t heap)
{
	if (xl_remove(heap, nr) != nr)
		return -EFAULT;
	return xl_populate(DOMID_SELF, heap, 0, nr) == nr ? 0 : -EFAULT;
}

/* ---- The machine --------------------------------------------------------------------- */

enum { DOM0 = 0, U = 1 };
/* The guest: 384 MiB of RAM (192 extents of 2 MiB: two populate calls of at most 128), a
 * kernel of 300 pages (three batches) and a device tree of 2 pages. */
enum { RAM_EXTENTS = 192, KERNEL_PAGES = 300, DTB_PAGES = 2 };
#define KERNEL_GFN (GUEST_RAM0_BASE_PFN + 0x80)    /* text_offset 0x80000 */
#define DTB_GFN (GUEST_RAM0_BASE_PFN + 0x8000)     /* 128 MiB into RAM */
/* dom0's own RAM: a heap of 1024 pages (the builder's k_aligned_alloc takes from it). Xen
 * maps an Arm hardware domain 1:1 (GFN == MFN), so dom0's RAM is given to it as Xen's domain
 * builder does, not by a populate of its own: a direct-mapped domain can only populate GFNs
 * whose frame is already its own (xen/common/memory.c, populate_physmap's direct-map branch;
 * golden "dom0 populate of a hole -> 0 extents"). */
#define DOM0_HEAP 0x10000u
enum { DOM0_HEAP_PAGES = 1024 };

static void setup(void)
{
	check(xenmem_model_init_arm64(1u << 17), 0, "model: 512 MiB arm64 machine");
	check(xenmem_model_create_domain(DOM0, XENMEM_MODEL_PVH, XENMEM_MODEL_CONTROL | XENMEM_MODEL_HARDWARE,
					 UINT32_MAX),
	      DOM0, "model: dom0 (control and hardware domain)");
	check(xenmem_model_create_domain(U, XENMEM_MODEL_PVH, 0, RAM_EXTENTS * 512 + NR_MAGIC_PAGES), U,
	      "model: the domU, max_pages = its RAM + the magic pages");
	check(xenmem_model_set_caller(DOM0), 0, "model: hypercalls come from dom0");
	check(xenmem_model_populate_ram(DOM0, DOM0_HEAP, DOM0_HEAP_PAGES), 0, "model: dom0's heap, 1024 pages (1:1)");
}

/* Counts dom0 frames from base that something readable is mapped at. */
static unsigned mapped(uint64_t base, unsigned n)
{
	unsigned count = 0;
	unsigned char b;
	for (unsigned i = 0; i < n; i++)
		count += xenmem_model_read(DOM0, base + i, 0, &b, 1) == 0;
	return count;
}

/* 1. The whole build, the consumer's way. */
static void test_build(void)
{
	long long dom0_pages = xenmem_model_current_pages(DOM0);
	uint64_t calls = xenmem_model_hypercalls();
	uint64_t heap = DOM0_HEAP;

	check((long long)xl_populate(U, GUEST_MAGIC_BASE_PFN, 0, NR_MAGIC_PAGES), NR_MAGIC_PAGES,
	      "build: the 4 magic pages (order 0)");
	check(xl_map_region(U, NR_MAGIC_PAGES, GUEST_MAGIC_BASE_PFN, heap), 0, "build: magic pages mapped in dom0");
	static const unsigned char zero[16];
	check(xenmem_model_write(DOM0, heap + 1, 0, zero, sizeof zero), 0, "build: clear them through dom0");
	check(xl_unmap_region(NR_MAGIC_PAGES, heap), 0, "build: ... and unmap them");
	heap += NR_MAGIC_PAGES;

	check((long long)xl_populate(U, GUEST_RAM0_BASE_PFN, 9, RAM_EXTENTS), RAM_EXTENTS,
	      "build: 192 RAM extents of 2 MiB (order 9)");
	check(xenmem_model_current_pages(U), RAM_EXTENTS * 512LL + NR_MAGIC_PAGES, "build: the domU owns 98,308 pages");

	static const char dtb[] = "\xd0\x0d\xfe\xed device tree";
	check(xl_map_region(U, DTB_PAGES, DTB_GFN, heap), 0, "build: device tree region mapped");
	check(xenmem_model_write(DOM0, heap, 0, dtb, sizeof dtb), 0, "build: copy the device tree");
	check(xl_unmap_region(DTB_PAGES, heap), 0, "build: ... unmapped");
	heap += DTB_PAGES;

	check(xl_map_region(U, KERNEL_PAGES, KERNEL_GFN, heap), 0, "build: kernel region mapped (3 batches)");
	for (unsigned p = 0; p < KERNEL_PAGES; p += 100) {
		uint32_t v = 0x4B000000u + p;
		check(xenmem_model_write(DOM0, heap + p, 8, &v, sizeof v), 0, "build: copy a kernel page");
	}
	check(xl_unmap_region(KERNEL_PAGES, heap), 0, "build: ... unmapped");
	heap += KERNEL_PAGES;

	/* The guest's memory holds what dom0 wrote through the mappings. */
	char back[sizeof dtb];
	check(xenmem_model_read(U, DTB_GFN, 0, back, sizeof back) == 0 && memcmp(back, dtb, sizeof dtb) == 0, 1,
	      "build: the domU's device tree page holds the copy");
	uint32_t v = 0;
	check(xenmem_model_read(U, KERNEL_GFN + 200, 8, &v, sizeof v) == 0 ? v : 0, 0x4B000000u + 200,
	      "build: the domU's kernel page 200 holds the copy");

	/* Hypercalls: one per call the pattern makes (each within Xen's limits). Populate: the
	 * magic pages 1, RAM ceil(192 / 128) = 2. Each region of n pages: n removals to free
	 * dom0's frames, ceil(n / 128) batches, n removals to unmap, ceil(n / 128) populates. */
	unsigned long long region = 0;
	const unsigned long long sizes[] = {NR_MAGIC_PAGES, DTB_PAGES, KERNEL_PAGES};
	for (unsigned r = 0; r < 3; r++)
		region += 2 * sizes[r] + 2 * div_up(sizes[r], CHUNK);
	unsigned long long want = 1 + div_up(RAM_EXTENTS, CHUNK) + region;
	check((long long)(xenmem_model_hypercalls() - calls), (long long)want,
	      "build: 625 hypercalls for the 128-chunk pattern");
	printf("     (xenmem's example domain builder does the same build in 309: "
	       "cargo run -p xenmem-sim --example domain_builder)\n");

	/* XENMEM_remove_from_physmap only unmaps: dom0's heap pages taken out for a region stay
	 * allocated to dom0 (golden "remove ... the page stays the domain's"). dom0 is mapped 1:1,
	 * so the populate that gives the frames back maps those same frames again instead of
	 * allocating new ones: dom0 ends with exactly the pages it had. */
	check(xenmem_model_current_pages(DOM0) - dom0_pages, 0, "build: dom0 owns as many pages as before");
	check(mapped(DOM0_HEAP, NR_MAGIC_PAGES + DTB_PAGES + KERNEL_PAGES), NR_MAGIC_PAGES + DTB_PAGES + KERNEL_PAGES,
	      "build: ... while its heap frames hold RAM again");
	check(xenmem_model_check(), 0, "build: the model's invariants hold");
}

/* 2. A failed entry in the second batch: what the batch helper's count says, and what
 * errs[] says. The guest frame of entry 130 is a hole (removed before the mapping), so Xen
 * refuses that entry with -EINVAL and maps every other one: a batch entry's failure does not
 * stop the batch (golden "batch.foreign ... [0x1000,0x1001,hole,0x1002] -> ok
 * errs=[0,0,-EINVAL,0]"). */
static void test_failed_entry(void)
{
	enum { N = 300, BAD = 130 };
	const uint64_t region = DOM0_HEAP + 400; /* heap frames the build did not use */
	check(xendom_remove_from_physmap(U, KERNEL_GFN + BAD), 0, "entry: make the guest's frame 130 a hole");

	check((long long)xl_remove(region, N), N, "entry: free 300 of dom0's heap frames (300 calls)");
	uint64_t added = xl_batch_by_chunks(U, region, KERNEL_GFN, N);
	check((long long)added, BAD - 1, "entry: the helper reports 129 entries mapped");
	check(mapped(region, BAD), BAD, "entry: ... but entries 0..129 are: 130");
	check(mapped(region + BAD + 1, CHUNK * 2 - BAD - 1), CHUNK * 2 - BAD - 1,
	      "entry: ... and entries 131..255 of that batch are mapped too");
	check(mapped(region + CHUNK * 2, N - CHUNK * 2), 0, "entry: ... the third batch was never sent");

	/* The consumer's cleanup unmaps what its count says: 129 frames. */
	check((long long)xl_remove(region, added), BAD - 1, "entry: its cleanup unmaps 129 frames");
	check(mapped(region, N), (CHUNK * 2 - 1) - (BAD - 1),
	      "entry: 126 foreign mappings are left behind (entry 129, and 131..255)");

	/* With errs[], a caller knows each entry's fate: unmap exactly the entries that are 0. */
	unsigned left = 0;
	for (unsigned i = 0; i < N; i++)
		if (mapped(region + i, 1))
			left += xendom_remove_from_physmap(DOMID_SELF, region + i) == 0;
	check(left, 126, "entry: the leftovers, found by their status, unmap");
	check(mapped(region, N), 0, "entry: nothing of the guest stays mapped in dom0");

	/* The same batch through a caller that reads errs[] for the whole batch: one call per
	 * 128 entries, and the exact set of mapped entries. */
	xen_ulong_t idxs[CHUNK];
	xen_pfn_t gpfns[CHUNK];
	int errs[CHUNK];
	for (unsigned j = 0; j < CHUNK; j++) {
		idxs[j] = KERNEL_GFN + CHUNK + j;
		gpfns[j] = region + CHUNK + j;
	}
	check(xendom_add_to_physmap_batch(DOMID_SELF, U, XENMAPSPACE_gmfn_foreign, CHUNK, idxs, gpfns, errs), 0,
	      "entry: the second batch again returns 0");
	unsigned ok = 0, first_bad = CHUNK;
	for (unsigned j = 0; j < CHUNK; j++) {
		ok += errs[j] == 0;
		if (errs[j] && first_bad == CHUNK)
			first_bad = j;
	}
	check(ok, CHUNK - 1, "entry: errs[] has 127 entries mapped");
	check(CHUNK + first_bad, BAD, "entry: ... and names entry 130 as the one that failed");
	check(errs[BAD - CHUNK], -EINVAL, "entry: ... with -EINVAL (a hole of the guest)");
	for (unsigned j = 0; j < CHUNK; j++)
		if (errs[j] == 0)
			xendom_remove_from_physmap(DOMID_SELF, gpfns[j]);
	check(mapped(region, N), 0, "entry: unmapping by errs[] leaves nothing behind");
	check(xenmem_model_check(), 0, "entry: the model's invariants hold");
}

/* 3. A negative return from populate. This library returns a negative value only for a call
 * it refused before any hypercall (Xen itself answers populate with a count), so a caller
 * that checks for it first loses nothing; the consumer's helper adds it to its count. */
static void test_negative_populate(void)
{
	/* A domid that is not a domid_t (here a builder's variable still holding createdomain's
	 * -EEXIST): -EINVAL from this library, where Zephyr's would keep the low 16 bits. */
	const int bad_domid = -EEXIST;
	long long dom0_pages = xenmem_model_current_pages(DOM0);
	uint64_t calls = xenmem_model_hypercalls();
	uint64_t count = xl_populate(bad_domid, GUEST_RAM0_BASE_PFN, 9, 4);
	check(count == (uint64_t)0 - EINVAL, 1, "negative: the helper's count is 2^64 - 22, not 0");
	check((long long)(xenmem_model_hypercalls() - calls), 0, "negative: ... yet nothing reached Xen");
	check(xenmem_model_current_pages(DOM0), dom0_pages, "negative: ... and no page was allocated");

	/* A caller that tells the two results apart. */
	xen_pfn_t ext[4] = {GUEST_RAM0_BASE_PFN, GUEST_RAM0_BASE_PFN + 512, GUEST_RAM0_BASE_PFN + 1024,
			    GUEST_RAM0_BASE_PFN + 1536};
	int ret = xendom_populate_physmap(bad_domid, 9, 4, 0, ext);
	uint64_t done = ret < 0 ? 0 : (uint64_t)ret;
	check(ret, -EINVAL, "negative: checked first, the error is -EINVAL");
	check((long long)done, 0, "negative: ... and the count 0");
}

int main(void)
{
	setup();
	test_build();
	test_failed_entry();
	test_negative_populate();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
