//! Feature `model`: the xenmem-sim model of Xen 4.17 inside the static library, so a C
//! program's test runs with no Xen.
//!
//! The library then defines `xenmem_hypercall` itself and runs each hypercall on the model
//! as the domain chosen with `xenmem_model_set_caller`: the `xendom_*` functions take exactly
//! the path they take on a real platform, through the same hook. The `xenmem_model_*`
//! functions build the machine and its domains and look inside them.

use crate::ffi::{self, guard, guard_or};
use crate::xendom::xen_pfn_t;
use core::ffi::{c_int, c_long, c_uint, c_void};
use std::sync::{Mutex, MutexGuard};
use xenmem::{DomId, Gfn, Hypercall, XenError};
use xenmem_sim::{DomainConfig, DomainKind, MachineConfig, Release, Sim, SimError};

/// `xenmem_model_create_domain` kind: x86 PV (not translated).
pub const XENMEM_MODEL_PV: c_uint = 0;
/// `xenmem_model_create_domain` kind: x86 PVH (translated).
pub const XENMEM_MODEL_PVH: c_uint = 1;
/// `xenmem_model_create_domain` kind: x86 HVM (translated).
pub const XENMEM_MODEL_HVM: c_uint = 2;
/// `xenmem_model_create_domain` flag: the control domain (privileged over every domain).
pub const XENMEM_MODEL_CONTROL: c_uint = 1;
/// `xenmem_model_create_domain` flag: the hardware domain.
pub const XENMEM_MODEL_HARDWARE: c_uint = 2;
/// The most machine frames `xenmem_model_init` takes (2^26 frames, 256 GiB): the model keeps
/// 4 bytes per frame.
pub const XENMEM_MODEL_MAX_FRAMES: u64 = 1 << 26;

/// The model and the domain hypercalls come from.
struct Model {
    sim: Sim,
    caller: DomId,
}

static MODEL: Mutex<Option<Model>> = Mutex::new(None);

fn model() -> MutexGuard<'static, Option<Model>> {
    // A panic while the lock was held cannot leave the Option itself half-written.
    MODEL.lock().unwrap_or_else(|e| e.into_inner())
}

const fn neg(e: XenError) -> c_int {
    -e.errno()
}

/// The model's refusal of a host-side request, as a negative errno.
fn errno(e: SimError) -> c_int {
    match e {
        SimError::NoSuchDomain(_) => neg(XenError::Srch),
        SimError::BadDomainId(_) => neg(XenError::Exist),
        SimError::Xen(x) => neg(x),
        SimError::OutOfMemory => neg(XenError::NoMem),
        SimError::NotMapped(..) => neg(XenError::NoEnt),
        _ => neg(XenError::Inval),
    }
}

/// Runs `f` on the model; `-ENOSYS` before `xenmem_model_init`.
fn with_sim(f: impl FnOnce(&Sim) -> c_int) -> c_int {
    let sim = match &*model() {
        Some(m) => m.sim.clone(),
        None => return neg(XenError::NoSys),
    };
    f(&sim)
}

fn domid(d: c_int) -> Option<DomId> {
    u16::try_from(d).ok().map(DomId)
}

/// Starts a new model: an x86_64 machine with `frames` 4 KiB frames of RAM running Xen 4.17
/// with its defaults, and no domains. Replaces any earlier model.
///
/// Returns 0, or `-EINVAL` for 0 frames or more than `XENMEM_MODEL_MAX_FRAMES`.
#[no_mangle]
pub extern "C" fn xenmem_model_init(frames: u64) -> c_int {
    guard(|| init(frames, MachineConfig::x86_64))
}

/// As `xenmem_model_init`, for an arm64 machine (Xen 4.17 on Arm: every domain translated,
/// `memop-max-order` 9 for a domU, 10 for the hardware domain, 18 for the control domain;
/// no IOREQ servers). Domains are created with `XENMEM_MODEL_PVH` or `_HVM` (both stand for
/// an Arm guest); `XENMEM_MODEL_PV` is refused.
#[no_mangle]
pub extern "C" fn xenmem_model_init_arm64(frames: u64) -> c_int {
    guard(|| init(frames, MachineConfig::arm64))
}

fn init(frames: u64, machine: fn(u64) -> MachineConfig) -> c_int {
    if frames == 0 || frames > XENMEM_MODEL_MAX_FRAMES {
        return neg(XenError::Inval);
    }
    // Pinned: the C interface promises 4.17's answers (its tests hold it to them).
    *model() = Some(Model { sim: Sim::new(machine(frames).with_xen(Release::Xen4_17)), caller: DomId(0) });
    0
}

/// Creates a running domain as a domain builder would: id `domid` (-1 for the next free
/// one), `kind` one of `XENMEM_MODEL_PV`/`_PVH`/`_HVM`, `flags` any of
/// `XENMEM_MODEL_CONTROL` and `XENMEM_MODEL_HARDWARE`, a limit of `max_pages` pages
/// (`UINT32_MAX`: no limit), one vCPU, 64 grant-table frames for a control or hardware
/// domain and 32 (libxl's default) otherwise.
///
/// Returns the new domain's id, or a negative errno: `-EEXIST` (id taken or reserved),
/// `-EINVAL` (bad kind, flags or id), `-ENOMEM`, `-ENOSYS` (no model).
#[no_mangle]
pub extern "C" fn xenmem_model_create_domain(
    domid: c_int,
    kind: c_uint,
    flags: c_uint,
    max_pages: u64,
) -> c_int {
    guard(|| {
        let kind = match kind {
            XENMEM_MODEL_PV => DomainKind::Pv,
            XENMEM_MODEL_PVH => DomainKind::Pvh,
            XENMEM_MODEL_HVM => DomainKind::Hvm,
            _ => return neg(XenError::Inval),
        };
        if flags & !(XENMEM_MODEL_CONTROL | XENMEM_MODEL_HARDWARE) != 0 {
            return neg(XenError::Inval);
        }
        let id = match domid {
            -1 => None,
            d => match u16::try_from(d) {
                Ok(d) => Some(d),
                Err(_) => return neg(XenError::Inval),
            },
        };
        let privileged = flags != 0;
        let mut cfg = if privileged { DomainConfig::dom0(kind) } else { DomainConfig::domu(kind) };
        cfg.id = id;
        cfg.control = flags & XENMEM_MODEL_CONTROL != 0;
        cfg.hardware = flags & XENMEM_MODEL_HARDWARE != 0;
        cfg.max_pages = max_pages;
        with_sim(|sim| match sim.create_domain(cfg) {
            Ok(d) => c_int::from(d.raw()),
            Err(e) => errno(e),
        })
    })
}

/// Creates an ioreq server of domain `target` as `emulator`'s `XEN_DMOP_create_ioreq_server`
/// would (the library has no dm_op function of its own; a device model's test needs a
/// server to map): with a buffered page (atomic mode) when `bufioreq` is non-zero. Its pages
/// are allocated by the first `xendom_acquire_resource`: frame 0 the buffered page, frame 1
/// the synchronous one.
///
/// Returns the server's id, or a negative errno as Xen's dm_op gives it: `-ESRCH` (no such
/// domain), `-EPERM` (`emulator` is the target, or neither the control domain nor its device
/// model), `-EINVAL` (a PV target), `-ENOSPC` (8 servers already); `-ENOSYS` without a model.
#[no_mangle]
pub extern "C" fn xenmem_model_create_ioreq_server(target: c_int, emulator: c_int, bufioreq: c_int) -> c_int {
    guard(|| {
        let (Some(t), Some(e)) = (domid(target), domid(emulator)) else { return neg(XenError::Inval) };
        with_sim(|sim| match sim.create_ioreq_server(t, e, bufioreq != 0) {
            Ok(id) => c_int::from(id),
            Err(e) => errno(e),
        })
    })
}

/// Makes `domid` the domain every following hypercall comes from (initially domain 0).
///
/// Returns 0, or `-ESRCH` (no such domain), `-EINVAL` (not a domain id), `-ENOSYS` (no
/// model).
#[no_mangle]
pub extern "C" fn xenmem_model_set_caller(domid: c_int) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return neg(XenError::Inval) };
        let mut m = model();
        let Some(m) = m.as_mut() else { return neg(XenError::NoSys) };
        if m.sim.domain_info(d).is_none() {
            return neg(XenError::Srch);
        }
        m.caller = d;
        0
    })
}

/// Reads `len` bytes at byte `offset` of the page domain `domid` maps at frame `gfn`
/// (following foreign and grant mappings to the page behind them) into `buf`.
///
/// Returns 0, or `-ESRCH` (no such domain), `-ENOENT` (nothing readable mapped there),
/// `-EINVAL` (past the end of the page, a null `buf`), `-ENOSYS` (no model).
///
/// # Safety
///
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn xenmem_model_read(
    domid: c_int,
    gfn: xen_pfn_t,
    offset: usize,
    buf: *mut c_void,
    len: usize,
) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return neg(XenError::Inval) };
        // SAFETY: the caller promises `len` writable bytes at `buf`.
        let Some(buf) = (unsafe { ffi::slice_mut(buf.cast::<u8>(), len) }) else {
            return neg(XenError::Inval);
        };
        with_sim(|sim| sim.read_gfn(d, Gfn(gfn), offset, buf).map_or_else(errno, |()| 0))
    })
}

/// Writes `len` bytes from `buf` at byte `offset` of the page domain `domid` maps at frame
/// `gfn`.
///
/// Returns as `xenmem_model_read`.
///
/// # Safety
///
/// `buf` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn xenmem_model_write(
    domid: c_int,
    gfn: xen_pfn_t,
    offset: usize,
    buf: *const c_void,
    len: usize,
) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return neg(XenError::Inval) };
        // SAFETY: the caller promises `len` readable bytes at `buf`.
        let Some(data) = (unsafe { ffi::slice(buf.cast::<u8>(), len) }) else { return neg(XenError::Inval) };
        with_sim(|sim| sim.write_gfn(d, Gfn(gfn), offset, data).map_or_else(errno, |()| 0))
    })
}

/// Gives domain `domid` `pages` pages of RAM at `gfn` onwards, as Xen's domain builder does
/// before the domain runs (not a hypercall; not counted). An Arm hardware domain is mapped 1:1,
/// as Xen builds it (`allocate_memory_11`): it gets the machine frames of the same numbers.
///
/// Returns 0, or `-ESRCH` (no such domain), `-ENOMEM` (no memory, or for a 1:1 domain a frame
/// already in use), `-EINVAL` (bad id, a limit or a range the P2M cannot hold), `-ENOSYS`.
#[no_mangle]
pub extern "C" fn xenmem_model_populate_ram(domid: c_int, gfn: u64, pages: u64) -> c_int {
    guard(|| {
        let Some(d) = self::domid(domid) else { return neg(XenError::Inval) };
        with_sim(|sim| sim.populate_ram(d, Gfn(gfn), pages).map_or_else(errno, |()| 0))
    })
}

/// The pages domain `domid` owns (Xen's `tot_pages`), or `-ESRCH`, `-EINVAL`, `-ENOSYS`.
#[no_mangle]
pub extern "C" fn xenmem_model_current_pages(domid: c_int) -> i64 {
    guard_or(i64::from(neg(XenError::Io)), || {
        let Some(d) = self::domid(domid) else { return i64::from(neg(XenError::Inval)) };
        let Some(sim) = model().as_ref().map(|m| m.sim.clone()) else {
            return i64::from(neg(XenError::NoSys));
        };
        match sim.domain_info(d) {
            Some(i) => i64::try_from(i.tot_pages).unwrap_or(i64::MAX),
            None => i64::from(neg(XenError::Srch)),
        }
    })
}

/// Hypercalls the model has received since `xenmem_model_init` (0 without a model).
#[no_mangle]
pub extern "C" fn xenmem_model_hypercalls() -> u64 {
    guard_or(0, || model().as_ref().map_or(0, |m| m.sim.hypercalls()))
}

/// Checks the model's invariants (frame ownership, reference counts, reservations).
///
/// Returns 0 if they hold, `-EIO` (after printing the violation to stderr) if not, `-ENOSYS`
/// without a model.
#[no_mangle]
pub extern "C" fn xenmem_model_check() -> c_int {
    guard(|| {
        with_sim(|sim| match sim.check_invariants() {
            Ok(()) => 0,
            Err(v) => {
                eprintln!("xenmem model invariant violated: {v:?}");
                neg(XenError::Io)
            }
        })
    })
}

/// The library's own `xenmem_hypercall` in a `model` build: hypercall `op` on the model, as
/// the current caller, reading and writing this process's memory. `-ENOSYS` without a model.
///
/// # Safety
///
/// As for any `xenmem_hypercall`: every address among the arguments, and every guest handle
/// in the structs they point to, must be valid for the accesses hypercall `op` makes.
///
/// cbindgen:ignore
#[no_mangle]
pub unsafe extern "C" fn xenmem_hypercall(op: c_uint, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> c_long {
    let rc = guard_or(i64::from(neg(XenError::Io)), || {
        let Some(backend) = model().as_ref().map(|m| m.sim.backend(m.caller)) else {
            return i64::from(neg(XenError::NoSys));
        };
        // SAFETY: the caller's promise is the one `Hypercall::hypercall` asks for.
        unsafe { backend.hypercall(op, [a0, a1, a2, a3, a4]) }
    });
    // `long` is 64 bits on the targets the model builds for.
    #[allow(clippy::unnecessary_cast)]
    let rc = rc as c_long;
    rc
}

/// The setup functions, and the `xendom_*` functions through the model's own hook. One test:
/// the model is one global.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::xendom::{xendom_add_to_physmap_batch, xendom_populate_physmap, xendom_remove_from_physmap};

    const E: fn(XenError) -> c_int = neg;

    #[test]
    fn setup_functions_and_the_hook() {
        // Before a model exists.
        *model() = None;
        assert_eq!(xenmem_model_set_caller(0), E(XenError::NoSys));
        assert_eq!(xenmem_model_create_ioreq_server(1, 0, 0), E(XenError::NoSys));
        assert_eq!(xenmem_model_hypercalls(), 0);
        assert_eq!(xendom_remove_from_physmap(0x7ff0, 1), E(XenError::NoSys));
        assert_eq!(xenmem_model_init(0), E(XenError::Inval));
        assert_eq!(xenmem_model_init(XENMEM_MODEL_MAX_FRAMES + 1), E(XenError::Inval));

        assert_eq!(xenmem_model_init(1 << 16), 0);
        let all = XENMEM_MODEL_CONTROL | XENMEM_MODEL_HARDWARE;
        assert_eq!(xenmem_model_create_domain(0, XENMEM_MODEL_PVH, all, u32::MAX.into()), 0);
        assert_eq!(xenmem_model_create_domain(0, XENMEM_MODEL_PVH, 0, 16), E(XenError::Exist));
        assert_eq!(xenmem_model_create_domain(-1, 3, 0, 16), E(XenError::Inval));
        assert_eq!(xenmem_model_create_domain(-1, XENMEM_MODEL_PVH, 4, 16), E(XenError::Inval));
        assert_eq!(xenmem_model_create_domain(0x7ff0, XENMEM_MODEL_PVH, 0, 16), E(XenError::Exist));
        assert_eq!(xenmem_model_create_domain(-1, XENMEM_MODEL_HVM, 0, 16), 1);
        assert_eq!(xenmem_model_set_caller(2), E(XenError::Srch));
        assert_eq!(xenmem_model_set_caller(0x1_0000), E(XenError::Inval));
        assert_eq!(xenmem_model_set_caller(0), 0);
        assert_eq!(xenmem_model_create_ioreq_server(1, 0, 1), 0);
        assert_eq!(xenmem_model_create_ioreq_server(-1, 0, 0), E(XenError::Inval));

        let mut gfns = [0x10u64, 0x11];
        // SAFETY: the array is as long as the count.
        assert_eq!(unsafe { xendom_populate_physmap(1, 0, 2, 0, gfns.as_mut_ptr()) }, 2);
        assert_eq!(xenmem_model_current_pages(1), 2);
        assert_eq!(xenmem_model_current_pages(9), i64::from(E(XenError::Srch)));
        assert_eq!(xenmem_model_hypercalls(), 1);

        let data = *b"xenmem";
        let mut back = [0u8; 6];
        // SAFETY: the buffers are as long as the lengths; null is refused before any access.
        unsafe {
            assert_eq!(xenmem_model_write(1, 0x11, 100, data.as_ptr().cast(), 6), 0);
            assert_eq!(xenmem_model_read(1, 0x11, 100, back.as_mut_ptr().cast(), 6), 0);
            assert_eq!(xenmem_model_read(1, 0x12, 0, back.as_mut_ptr().cast(), 6), E(XenError::NoEnt));
            assert_eq!(xenmem_model_read(1, 0x11, 4092, back.as_mut_ptr().cast(), 6), E(XenError::Inval));
            assert_eq!(xenmem_model_read(1, 0x11, 0, core::ptr::null_mut(), 6), E(XenError::Inval));
            assert_eq!(xenmem_model_read(5, 0x11, 0, back.as_mut_ptr().cast(), 6), E(XenError::Srch));
        }
        assert_eq!(back, data);
        assert_eq!(xenmem_model_check(), 0);
        // A new model starts empty.
        assert_eq!(xenmem_model_init(1 << 10), 0);
        assert_eq!(xenmem_model_current_pages(1), i64::from(E(XenError::Srch)));
        // An arm64 machine: no PV domains, and Arm's answers (real Xen on arm64,
        // golden/4.17/arm64-dom0.txt "batch.foreign_self": a foreign DOMID_SELF is -EINVAL per
        // entry, where x86 says -ESRCH).
        assert_eq!(xenmem_model_init_arm64(0), E(XenError::Inval));
        assert_eq!(xenmem_model_init_arm64(1 << 16), 0);
        assert_eq!(xenmem_model_create_domain(0, XENMEM_MODEL_PV, all, 16), E(XenError::Inval));
        assert_eq!(xenmem_model_create_domain(0, XENMEM_MODEL_PVH, all, u32::MAX.into()), 0);
        let (mut idx, mut at, mut err) = ([0x1000u64], [0x9000u64], [7]);
        // SAFETY: one-entry arrays, as the size says.
        let rc = unsafe {
            xendom_add_to_physmap_batch(
                0x7ff0,
                0x7ff0,
                4,
                1,
                idx.as_mut_ptr(),
                at.as_mut_ptr(),
                err.as_mut_ptr(),
            )
        };
        assert_eq!((rc, err), (0, [E(XenError::Inval)]));
    }
}
