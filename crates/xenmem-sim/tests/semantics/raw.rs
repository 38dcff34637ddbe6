//! The raw decode, through an arena of guest memory: bad addresses, continuation indexes in
//! `cmd`, and numbers the library never sends.

use crate::common::Rig;
use xenmem::abi::*;
use xenmem::{DomId, Gfn};
use xenmem_sim::{ArenaMemory, EntryKind, GuestMemory, PhysmapRange, Sim};

const BASE: u64 = 0x10_0000;
const ARG: u64 = BASE;
const LIST: u64 = BASE + 0x100;
const LIST2: u64 = BASE + 0x200;
const ERRS: u64 = BASE + 0x300;
const EFAULT: i64 = -14;

fn arena() -> ArenaMemory {
    ArenaMemory::new(BASE, 0x1000)
}

fn call(sim: &Sim, d: DomId, mem: &mut ArenaMemory, sub: u32, start: u64, arg: u64) -> i64 {
    sim.hypercall(d, mem, HYPERVISOR_MEMORY_OP, [sub as u64 | (start << MEMOP_EXTENT_SHIFT), arg, 0, 0, 0])
}

fn put_u64s(mem: &mut ArenaMemory, at: u64, v: &[u64]) {
    mem.put(at, v).unwrap();
}

fn reservation(list: u64, nr: u64, order: u32, domid: u16) -> XenMemoryReservation {
    XenMemoryReservation {
        extent_start: list,
        nr_extents: nr,
        extent_order: order,
        mem_flags: 0,
        domid,
        _pad: [0; 6],
    }
}

#[test]
fn bad_addresses_are_efault_or_a_short_count() {
    let r = Rig::x86();
    let (sim, u) = (&r.sim, r.domu);
    let mut m = arena();
    // The argument struct itself unreadable: copy_from_guest fails.
    for sub in [
        XENMEM_ADD_TO_PHYSMAP,
        XENMEM_ADD_TO_PHYSMAP_BATCH,
        XENMEM_REMOVE_FROM_PHYSMAP,
        XENMEM_CURRENT_RESERVATION,
    ] {
        assert_eq!(call(sim, u, &mut m, sub, 0, 0xdead_0000), EFAULT, "sub-op {sub}");
    }
    // acquire_resource: the caller check comes first (-EACCES for a translated domU on x86);
    // from dom0 the copy fails.
    assert_eq!(call(sim, u, &mut m, XENMEM_ACQUIRE_RESOURCE, 0, 0xdead_0000), -13);
    assert_eq!(call(sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 0, 0xdead_0000), EFAULT);
    // The reservation ops return start_extent instead (do_memory_op: `return start_extent`).
    assert_eq!(call(sim, u, &mut m, XENMEM_POPULATE_PHYSMAP, 0, 0xdead_0000), 0);
    assert_eq!(call(sim, u, &mut m, XENMEM_POPULATE_PHYSMAP, 3, 0xdead_0000), 3);
    // A bad extent list: populate_physmap's __copy_from_guest_offset fails → the count so far.
    m.put(ARG, &reservation(BASE + 0x1000 - 16, 3, 0, DOMID_SELF)).unwrap();
    put_u64s(&mut m, BASE + 0x1000 - 16, &[0x2000, 0x2001]);
    assert_eq!(call(sim, u, &mut m, XENMEM_POPULATE_PHYSMAP, 0, ARG), 2);
    // domctl: the struct unreadable → -EFAULT.
    assert_eq!(sim.hypercall(r.dom0, &mut m, HYPERVISOR_DOMCTL, [0xdead_0000, 0, 0, 0, 0]), EFAULT);
    r.ok();
}

#[test]
fn unknown_numbers() {
    let r = Rig::x86();
    let mut m = arena();
    // Unknown sub-op: arch_memory_op / subarch_memory_op default → -ENOSYS.
    assert_eq!(call(&r.sim, r.domu, &mut m, 63, 0, ARG), -38);
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_EXCHANGE, 0, ARG), -38);
    // A hypercall the model does not decode.
    assert_eq!(r.sim.hypercall(r.domu, &mut m, 99, [0; 5]), -38);
    // Arm's arch_memory_op answers the two sharing queries with 0.
    let a = Rig::arm();
    assert_eq!(call(&a.sim, a.domu, &mut m, 18, 0, ARG), 0);
    // maximum_ram_page: start_extent must be 0; then max_page.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_MAXIMUM_RAM_PAGE, 1, ARG), -22);
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_MAXIMUM_RAM_PAGE, 0, ARG), 1 << 16);
}

#[test]
fn continuation_index_of_the_reservation_ops() {
    let r = Rig::x86();
    let mut m = arena();
    m.put(ARG, &reservation(LIST, 4, 0, DOMID_SELF)).unwrap();
    put_u64s(&mut m, LIST, &[0x2000, 0x2001, 0x2002, 0x2003]);
    // Resuming at extent 2: only extents 2 and 3 are populated, and the result is the index
    // reached (nr_done), 4.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_POPULATE_PHYSMAP, 2, ARG), 4);
    let pm = r.sim.physmap(r.domu);
    assert!(pm.contains(&PhysmapRange { first_gfn: Gfn(0x2002), count: 2, kind: EntryKind::Ram }));
    assert!(!pm.iter().any(|x| x.first_gfn == Gfn(0x2000)));
    // start_extent >= nr_extents → start_extent.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_POPULATE_PHYSMAP, 9, ARG), 9);
    // nr_extents > UINT_MAX >> MEMOP_EXTENT_SHIFT → start_extent.
    m.put(ARG, &reservation(LIST, MEMOP_MAX_EXTENTS + 1, 0, DOMID_SELF)).unwrap();
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_POPULATE_PHYSMAP, 0, ARG), 0);
    // decrease from extent 1 of [0x2002, 0x2003]: only 0x2003 goes.
    m.put(ARG, &reservation(LIST, 2, 0, DOMID_SELF)).unwrap();
    put_u64s(&mut m, LIST, &[0x2002, 0x2003]);
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_DECREASE_RESERVATION, 1, ARG), 2);
    assert!(r.sim.translate(r.domu, Gfn(0x2002)).is_some());
    assert!(r.sim.translate(r.domu, Gfn(0x2003)).is_none());
    // increase with a null list: allocated, nothing written.
    m.put(ARG, &reservation(0, 2, 0, DOMID_SELF)).unwrap();
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_INCREASE_RESERVATION, 0, ARG), 2);
    // The single-value ops take no index: -EINVAL.
    m.put(ARG, &DOMID_SELF).unwrap();
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_CURRENT_RESERVATION, 1, ARG), -22);
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_CURRENT_RESERVATION, 0, ARG), 64 + 2 + 1);
    m.put(ARG, &XenRemoveFromPhysmap { domid: DOMID_SELF, _pad: [0; 6], gpfn: 0x2002 }).unwrap();
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_REMOVE_FROM_PHYSMAP, 1, ARG), -22);
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_REMOVE_FROM_PHYSMAP, 0, ARG), 0);
    r.ok();
}

#[test]
fn continuation_index_of_add_to_physmap() {
    let r = Rig::x86();
    let mut m = arena();
    let xatp = XenAddToPhysmap {
        domid: DOMID_SELF,
        size: 4,
        space: XENMAPSPACE_GMFN_RANGE,
        idx: 0x100,
        gpfn: 0x3000,
    };
    m.put(ARG, &xatp).unwrap();
    // `start_extent != (typeof(xatp.size))start_extent` → -EDOM.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_ADD_TO_PHYSMAP, 1 << 16, ARG), -33);
    // `xatp->size < start` → -EILSEQ.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_ADD_TO_PHYSMAP, 5, ARG), -84);
    // Resuming at page 2: pages 2 and 3 move.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_ADD_TO_PHYSMAP, 2, ARG), 0);
    assert!(r.sim.physmap(r.domu).contains(&PhysmapRange {
        first_gfn: Gfn(0x3002),
        count: 2,
        kind: EntryKind::Ram
    }));
    assert!(r.sim.translate(r.domu, Gfn(0x3000)).is_none());
    assert!(r.sim.translate(r.domu, Gfn(0x100)).is_some());
    // size == start: nothing left, 0.
    assert_eq!(call(&r.sim, r.domu, &mut m, XENMEM_ADD_TO_PHYSMAP, 4, ARG), 0);
    r.ok();
}

#[test]
fn continuation_index_of_the_batch() {
    let r = Rig::x86();
    let mut m = arena();
    let b = XenAddToPhysmapBatch {
        domid: DOMID_SELF,
        space: XENMAPSPACE_GMFN_FOREIGN as u16,
        size: 3,
        foreign_domid: r.domu.0,
        idxs: LIST,
        gpfns: LIST2,
        errs: ERRS,
    };
    m.put(ARG, &b).unwrap();
    put_u64s(&mut m, LIST, &[0x100, 0x101, 0x102]);
    put_u64s(&mut m, LIST2, &[0x30000, 0x30001, 0x30002]);
    m.put(ERRS, &[0x55i32; 3]).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 1 << 16, ARG), -33);
    // xenmem_add_to_physmap_batch: size < extent → -EILSEQ; size == extent != 0 → -EILSEQ.
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 4, ARG), -84);
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 3, ARG), -84);
    // From entry 1: errs[0] untouched.
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 1, ARG), 0);
    assert_eq!(m.get::<[i32; 3]>(ERRS).unwrap(), [0x55, 0, 0]);
    assert!(r.sim.translate(r.dom0, Gfn(0x30000)).is_none());
    // errs unwritable: the entry is mapped, then -EFAULT.
    let mut b2 = b;
    b2.errs = 0xdead_0000;
    b2.gpfns = LIST2;
    m.put(ARG, &b2).unwrap();
    put_u64s(&mut m, LIST2, &[0x30010, 0x30011, 0x30012]);
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), EFAULT);
    assert!(r.sim.translate(r.dom0, Gfn(0x30010)).is_some());
    assert!(r.sim.translate(r.dom0, Gfn(0x30011)).is_none());
    // idxs unreadable → -EFAULT before anything.
    let mut b3 = b;
    b3.idxs = 0xdead_0000;
    m.put(ARG, &b3).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), EFAULT);
    r.ok();
}

#[test]
fn batch_arrays_are_read_element_by_element() {
    let r = Rig::x86();
    let batch = |idxs, gpfns, errs, size| XenAddToPhysmapBatch {
        domid: DOMID_SELF,
        space: XENMAPSPACE_GMFN_FOREIGN as u16,
        size,
        foreign_domid: r.domu.0,
        idxs,
        gpfns,
        errs,
    };
    let idxs: Vec<u64> = (0x100..0x10c).collect();
    let gfns = |base: u64| (base..base + 12).collect::<Vec<u64>>();
    // idxs running off the end of the caller's memory at entry 2 of 12: entries 0 and 1 are
    // done, then -EFAULT.
    let mut m = arena();
    let at = BASE + 0x1000 - 16;
    m.put(ARG, &batch(at, LIST2, ERRS, 12)).unwrap();
    put_u64s(&mut m, at, &idxs[..2]);
    put_u64s(&mut m, LIST2, &gfns(0x30030));
    m.put(ERRS, &[0x55i32; 12]).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), EFAULT);
    assert_eq!(m.get::<[i32; 4]>(ERRS).unwrap(), [0, 0, 0x55, 0x55]);
    assert!(r.sim.translate(r.dom0, Gfn(0x30031)).is_some());
    assert!(r.sim.translate(r.dom0, Gfn(0x30032)).is_none());

    // errs running off the end at entry 2: entry 2 is mapped, its status cannot be written
    // (-EFAULT), entry 3 is never reached.
    let mut m = arena();
    let errs = BASE + 0x1000 - 8;
    m.put(ARG, &batch(LIST, LIST2, errs, 12)).unwrap();
    put_u64s(&mut m, LIST, &idxs);
    put_u64s(&mut m, LIST2, &gfns(0x30050));
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), EFAULT);
    assert_eq!(m.get::<[i32; 2]>(errs).unwrap(), [0, 0]);
    assert!(r.sim.translate(r.dom0, Gfn(0x30052)).is_some());
    assert!(r.sim.translate(r.dom0, Gfn(0x30053)).is_none());

    // INVALID_GFN at entry 9 of 12: entries before it mapped with their statuses written,
    // then -EINVAL.
    let mut m = arena();
    m.put(ARG, &batch(LIST, LIST2, ERRS, 12)).unwrap();
    let mut at = gfns(0x30060);
    at[9] = u64::MAX;
    put_u64s(&mut m, LIST, &idxs);
    put_u64s(&mut m, LIST2, &at);
    m.put(ERRS, &[0x55i32; 12]).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), -22);
    assert_eq!(m.get::<[i32; 12]>(ERRS).unwrap(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x55, 0x55, 0x55]);
    assert!(r.sim.translate(r.dom0, Gfn(0x30068)).is_some());
    assert!(r.sim.translate(r.dom0, Gfn(0x3006a)).is_none());

    // errs laid over gpfns: each status lands in the next GFN before Xen reads it. Entry 0
    // fails (-EINVAL, unpopulated), which puts 0xffffffea in the high half of gpfns[1]: a GFN
    // beyond the P2M (-ENOENT); that status becomes the low half of gpfns[2], GFN 0xfffffffe.
    let mut m = arena();
    m.put(ARG, &batch(LIST, LIST2, LIST2 + 12, 12)).unwrap();
    let mut from = idxs.clone();
    from[0] = 0x9000;
    put_u64s(&mut m, LIST, &from);
    put_u64s(&mut m, LIST2, &gfns(0x30040));
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), 0);
    assert_eq!(m.get::<[i32; 3]>(LIST2 + 12).unwrap(), [-22, -2, 0]);
    assert!(r.sim.translate(r.dom0, Gfn(0x30041)).is_none());
    assert!(r.sim.translate(r.dom0, Gfn(0xffff_fffe)).is_some());
    r.ok();
}

#[test]
fn acquire_resource_raw_fields() {
    let r = Rig::x86();
    let mut m = arena();
    let x = XenMemAcquireResource {
        domid: r.domu.0,
        r#type: XENMEM_RESOURCE_GRANT_TABLE,
        id: 0,
        nr_frames: 0,
        pad: 0,
        frame: 0x1234,
        frame_list: 0,
    };
    m.put(ARG, &x).unwrap();
    // The size query writes nr_frames and nothing else (`__copy_field_to_guest`); `frame`
    // is ignored.
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 0, ARG), 0);
    let back: XenMemAcquireResource = m.get(ARG).unwrap();
    assert_eq!(back, XenMemAcquireResource { nr_frames: 32, ..x });
    // ...and refuses a continuation index: -EINVAL.
    m.put(ARG, &x).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 1, ARG), -22);
    // pad != 0 → -EINVAL.
    m.put(ARG, &XenMemAcquireResource { pad: 1, ..x }).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 0, ARG), -22);
    // A mapping resumed at frame 1 of [0, 2): only frame 1 maps, at frame_list[1].
    m.put(ARG, &XenMemAcquireResource { nr_frames: 2, frame: 0, frame_list: LIST, ..x }).unwrap();
    put_u64s(&mut m, LIST, &[0x50000, 0x50001]);
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 1, ARG), 0);
    assert!(r.sim.translate(r.dom0, Gfn(0x50000)).is_none());
    assert_eq!(
        r.sim.physmap(r.dom0).iter().find(|p| p.first_gfn == Gfn(0x50001)).map(|p| p.kind),
        Some(EntryKind::GrantShared { owner: r.domu, frame: 1 })
    );
    // start_extent >= nr_frames → -EINVAL.
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 2, ARG), -22);
    // The frame list unreadable → -EFAULT.
    m.put(ARG, &XenMemAcquireResource { nr_frames: 1, frame: 0, frame_list: 0xdead_0000, ..x }).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut m, XENMEM_ACQUIRE_RESOURCE, 0, ARG), EFAULT);
    r.ok();
    assert!(m.write(BASE + 0x1000, &[0]).is_err());
}

#[test]
fn a_pv_callers_list_in_xens_half_is_refused() {
    // guest_handle_subrange_okay (x86_64 array_access_ok): a PV caller's extent list must
    // start below 2^47 or above Xen's reserved PML4 slots; a translated caller's is a guest
    // address and never checked this way.
    let r = Rig::with(xenmem_sim::MachineConfig::x86_64(1 << 16), xenmem_sim::DomainKind::Pv);
    let xen_half = 0xffff_8000_0000_0000u64;
    let mut mem = arena();
    mem.put(ARG, &reservation(xen_half, 1, 0, DOMID_SELF)).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut mem, XENMEM_POPULATE_PHYSMAP, 0, ARG), 0);
    assert_eq!(call(&r.sim, r.dom0, &mut mem, XENMEM_DECREASE_RESERVATION, 0, ARG), 0);
    assert_eq!(call(&r.sim, r.dom0, &mut mem, XENMEM_INCREASE_RESERVATION, 0, ARG), 0);
    // A null list for increase is fine: the extent is allocated.
    mem.put(ARG, &reservation(0, 1, 0, DOMID_SELF)).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut mem, XENMEM_INCREASE_RESERVATION, 0, ARG), 1);
    // The batch: -EFAULT before any entry.
    let b = XenAddToPhysmapBatch {
        domid: r.domu.raw(),
        space: XENMAPSPACE_SHARED_INFO as u16,
        size: 1,
        foreign_domid: 0,
        idxs: xen_half,
        gpfns: LIST2,
        errs: ERRS,
    };
    mem.put(ARG, &b).unwrap();
    assert_eq!(call(&r.sim, r.dom0, &mut mem, XENMEM_ADD_TO_PHYSMAP_BATCH, 0, ARG), EFAULT);
    r.ok();
}
