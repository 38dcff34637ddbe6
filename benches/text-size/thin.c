/* The reference point of the cost report: the thinnest C wrapper of the same five calls,
 * written the way Zephyr's drivers/xen/memory.c is (fill a stack struct, call, return rc),
 * with no validation at all. Compiled at -Os for x86_64 by scripts/text-size.sh. */
#include <stdint.h>

extern long xen_hypercall(unsigned op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);
#define memory_op(cmd, arg) xen_hypercall(12, (cmd), (uint64_t)(uintptr_t)(arg), 0, 0, 0)

struct atp { uint16_t domid, size; uint32_t space; uint64_t idx, gpfn; };
struct atpb { uint16_t domid, space, size, foreign; uint64_t idxs, gpfns, errs; };
struct rfp { uint16_t domid; uint64_t gpfn; };
struct res { uint64_t extent_start, nr_extents; uint32_t extent_order, mem_flags; uint16_t domid; };
struct acq { uint16_t domid, type; uint32_t id, nr_frames, pad; uint64_t frame, frame_list; };

int thin_add_to_physmap(int domid, unsigned long idx, unsigned int space, uint64_t gpfn)
{
	struct atp a = { .domid = domid, .space = space, .idx = idx, .gpfn = gpfn };
	return memory_op(7, &a);
}

int thin_add_to_physmap_batch(int domid, int foreign, unsigned space, unsigned size,
			      uint64_t *idxs, uint64_t *gpfns, int *errs)
{
	struct atpb b = { .domid = domid, .space = space, .size = size, .foreign = foreign,
			  .idxs = (uintptr_t)idxs, .gpfns = (uintptr_t)gpfns, .errs = (uintptr_t)errs };
	return memory_op(23, &b);
}

int thin_remove_from_physmap(int domid, uint64_t gpfn)
{
	struct rfp r = { .domid = domid, .gpfn = gpfn };
	return memory_op(15, &r);
}

int thin_populate_physmap(int domid, unsigned long order, unsigned nr, uint64_t *extents)
{
	struct res r = { .extent_start = (uintptr_t)extents, .nr_extents = nr,
			 .extent_order = order, .domid = domid };
	return memory_op(6, &r);
}

int thin_acquire_resource(uint16_t domid, uint16_t type, uint32_t id, uint64_t frame,
			  uint32_t *nr_frames, uint64_t *frame_list)
{
	struct acq a = { .domid = domid, .type = type, .id = id, .nr_frames = *nr_frames,
			 .frame = frame, .frame_list = (uintptr_t)frame_list };
	int rc = memory_op(28, &a);
	*nr_frames = a.nr_frames;
	return rc;
}
