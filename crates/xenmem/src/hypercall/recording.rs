//! A recording backend for the library's unit tests: it keeps the exact bytes of every
//! argument struct (and of the arrays its handles name) and answers with a scripted reply,
//! writing the reply's array contents back the way Xen would. It is not a model of Xen: the
//! tests script every answer, and `xenmem-sim` is the model.

extern crate std;

use super::Hypercall;
use crate::abi;
use std::cell::RefCell;
use std::vec::Vec;

/// One hypercall as the backend saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub op: u32,
    pub args: [u64; 5],
    /// Bytes of the struct `args[1]` points to (memory_op), sized by sub-op.
    pub arg: Vec<u8>,
    /// Contents of the arrays its handles name, in struct order, as raw bytes.
    pub arrays: Vec<Vec<u8>>,
}

/// What to answer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reply {
    pub rc: i64,
    /// Values to write into the batch's `errs[]`, from entry 0.
    pub errs: Vec<i32>,
    /// Values to write into `extent_start[]` / `frame_list[]`, from entry 0.
    pub pfns: Vec<u64>,
    /// A value to store in acquire_resource's `nr_frames` (the size query's answer).
    pub nr_frames: Option<u32>,
    /// domctl: bytes to write over the 144-byte struct.
    pub domctl: Option<Vec<u8>>,
    /// xen_version(XENVER_extraversion): the 16 bytes to write.
    pub extraversion: Option<[u8; 16]>,
    /// dm_op: bytes to write over `bufs[0]`.
    pub dm_op: Option<Vec<u8>>,
    /// event_channel_op: bytes to write over the argument struct.
    pub evtchn: Option<Vec<u8>>,
}

pub(crate) struct Recorder<F> {
    pub seen: RefCell<Vec<Seen>>,
    reply: RefCell<F>,
}

impl<F: FnMut(&Seen) -> Reply> Recorder<F> {
    pub fn new(reply: F) -> Self {
        Recorder { seen: RefCell::new(Vec::new()), reply: RefCell::new(reply) }
    }

    pub fn calls(&self) -> Vec<Seen> {
        self.seen.borrow().clone()
    }
}

/// Copies `len` bytes from `addr`.
///
/// # Safety
///
/// `addr` must be readable for `len` bytes (or `len` is 0).
unsafe fn read(addr: u64, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: the caller guarantees `len` readable bytes at `addr`.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }.to_vec()
}

/// Writes `data` at `addr`.
///
/// # Safety
///
/// `addr` must be writable for `data.len()` bytes (or `data` is empty).
unsafe fn write(addr: u64, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    // SAFETY: the caller guarantees `data.len()` writable bytes at `addr`.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) }
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

// SAFETY: the recorder touches exactly the struct and arrays of the sub-op, within the
// lengths the struct gives (as Xen would), and writes only into errs[], extent_start[],
// frame_list[], nr_frames, the domctl struct, the extraversion buffer, dm_op's first buffer
// and event-channel structs, which are Xen's outputs of those operations.
unsafe impl<F: FnMut(&Seen) -> Reply> Hypercall for Recorder<F> {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        if op == abi::HYPERVISOR_DOMCTL {
            // SAFETY: the domctl wrappers pass a live 144-byte xen_domctl.
            let arg = unsafe { read(args[0], 144) };
            let seen = Seen { op, args, arg, arrays: Vec::new() };
            let reply = (self.reply.borrow_mut())(&seen);
            self.seen.borrow_mut().push(seen);
            if let Some(bytes) = &reply.domctl {
                assert_eq!(bytes.len(), 144);
                // SAFETY: the same live struct, written within its 144 bytes.
                unsafe { write(args[0], bytes) };
            }
            return reply.rc;
        }
        if op == abi::HYPERVISOR_XEN_VERSION {
            let seen = Seen { op, args, arg: Vec::new(), arrays: Vec::new() };
            let reply = (self.reply.borrow_mut())(&seen);
            self.seen.borrow_mut().push(seen);
            if let (abi::XENVER_EXTRAVERSION, Some(bytes)) = (args[0] as u32, reply.extraversion) {
                // SAFETY: XENVER_extraversion's argument is a live 16-byte buffer.
                unsafe { write(args[1], &bytes) };
            }
            return reply.rc;
        }
        if op == abi::HYPERVISOR_DM_OP {
            // SAFETY: the dm_op wrappers pass `args[1]` live 16-byte buffer descriptors.
            let bufs = unsafe { read(args[2], args[1] as usize * 16) };
            let (h, size) =
                if bufs.len() >= 16 { (le_u64(&bufs, 0), le_u64(&bufs, 8) as usize) } else { (0, 0) };
            // SAFETY: buffer 0 is live for its `size` bytes.
            let arg = if h == 0 { Vec::new() } else { unsafe { read(h, size) } };
            let seen = Seen { op, args, arg, arrays: std::vec![bufs] };
            let reply = (self.reply.borrow_mut())(&seen);
            self.seen.borrow_mut().push(seen);
            if let Some(bytes) = &reply.dm_op {
                assert!(bytes.len() <= size, "reply writes past bufs[0]");
                // SAFETY: within buffer 0's `size` bytes.
                unsafe { write(h, bytes) };
            }
            return reply.rc;
        }
        if op == abi::HYPERVISOR_EVENT_CHANNEL_OP {
            let size = match args[0] as u32 {
                abi::evtchn::EVTCHNOP_ALLOC_UNBOUND => 8,
                abi::evtchn::EVTCHNOP_BIND_INTERDOMAIN => 12,
                abi::evtchn::EVTCHNOP_STATUS => 24,
                _ => 4,
            };
            // SAFETY: the event-channel wrappers pass the live struct of the sub-op.
            let arg = unsafe { read(args[1], size) };
            let seen = Seen { op, args, arg, arrays: Vec::new() };
            let reply = (self.reply.borrow_mut())(&seen);
            self.seen.borrow_mut().push(seen);
            if let Some(bytes) = &reply.evtchn {
                assert!(bytes.len() <= size, "reply writes past the struct");
                // SAFETY: within the struct.
                unsafe { write(args[1], bytes) };
            }
            return reply.rc;
        }
        assert_eq!(
            op,
            abi::HYPERVISOR_MEMORY_OP,
            "the library issues memory_op, domctl, xen_version, dm_op and event_channel_op only"
        );
        let cmd = (args[0] & abi::MEMOP_CMD_MASK) as u32;
        let p = args[1];
        let size = match cmd {
            abi::XENMEM_ADD_TO_PHYSMAP => 24,
            abi::XENMEM_ADD_TO_PHYSMAP_BATCH | abi::XENMEM_ACQUIRE_RESOURCE => 32,
            abi::XENMEM_REMOVE_FROM_PHYSMAP => 16,
            abi::XENMEM_INCREASE_RESERVATION
            | abi::XENMEM_DECREASE_RESERVATION
            | abi::XENMEM_POPULATE_PHYSMAP => 32,
            _ => 2, // domid_t
        };
        // SAFETY: the operation under test passed a live struct of that sub-op.
        let arg = unsafe { read(p, size) };
        // (handle, element size, count) of each array, by sub-op.
        let arrays: Vec<(u64, usize, usize)> = match cmd {
            abi::XENMEM_ADD_TO_PHYSMAP_BATCH => {
                let n = u16::from_le_bytes([arg[4], arg[5]]) as usize;
                std::vec![(le_u64(&arg, 8), 8, n), (le_u64(&arg, 16), 8, n), (le_u64(&arg, 24), 4, n)]
            }
            abi::XENMEM_INCREASE_RESERVATION
            | abi::XENMEM_DECREASE_RESERVATION
            | abi::XENMEM_POPULATE_PHYSMAP => {
                std::vec![(le_u64(&arg, 0), 8, le_u64(&arg, 8) as usize)]
            }
            abi::XENMEM_ACQUIRE_RESOURCE => {
                let n = u32::from_le_bytes(arg[8..12].try_into().unwrap()) as usize;
                std::vec![(le_u64(&arg, 24), 8, n)]
            }
            _ => Vec::new(),
        };
        let contents = arrays
            .iter()
            .map(|&(h, el, n)| {
                if h == 0 {
                    Vec::new()
                } else {
                    // SAFETY: the struct's handle names `n` elements of `el` bytes.
                    unsafe { read(h, el * n) }
                }
            })
            .collect();
        let seen = Seen { op, args, arg, arrays: contents };
        let reply = (self.reply.borrow_mut())(&seen);
        self.seen.borrow_mut().push(seen);
        let out_pfns = match cmd {
            abi::XENMEM_INCREASE_RESERVATION
            | abi::XENMEM_POPULATE_PHYSMAP
            | abi::XENMEM_ACQUIRE_RESOURCE => arrays.first().copied(),
            _ => None,
        };
        if let Some((h, _, n)) = out_pfns {
            assert!(reply.pfns.len() <= n, "reply writes past the array");
            let bytes: Vec<u8> = reply.pfns.iter().flat_map(|v| v.to_le_bytes()).collect();
            // SAFETY: within the `n` elements the struct names.
            unsafe { write(h, &bytes) };
        }
        if cmd == abi::XENMEM_ADD_TO_PHYSMAP_BATCH {
            let (h, _, n) = arrays[2];
            assert!(reply.errs.len() <= n, "reply writes past errs");
            let bytes: Vec<u8> = reply.errs.iter().flat_map(|v| v.to_le_bytes()).collect();
            // SAFETY: within the `n` ints errs names.
            unsafe { write(h, &bytes) };
        }
        if let (abi::XENMEM_ACQUIRE_RESOURCE, Some(n)) = (cmd, reply.nr_frames) {
            // SAFETY: nr_frames is at offset 8 of the live acquire struct.
            unsafe { write(p + 8, &n.to_le_bytes()) };
        }
        reply.rc
    }
}
