//! The fuzz target's body (`fuzz/harness.rs`) on a few thousand seeded pseudo-random inputs
//! and some shaped ones, so plain `cargo test` checks that no input panics the model or breaks
//! its invariants.

#[path = "../fuzz/harness.rs"]
mod harness;

use xenmem::abi::*;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_inputs_never_panic() {
    let mut s = 0x1234_5678_9abc_def1u64;
    for _ in 0..300 {
        let len = 40 + (xorshift(&mut s) % 400) as usize;
        let data: Vec<u8> = (0..len).map(|_| xorshift(&mut s) as u8).collect();
        harness::run(&data);
    }
}

/// Inputs shaped like real calls: a memory_op sub-op with its struct in the arena and arrays
/// of small numbers, so the decode goes deep.
#[test]
fn shaped_inputs_never_panic() {
    let mut s = 0xfeed_beefu64;
    let subs = [
        XENMEM_INCREASE_RESERVATION,
        XENMEM_DECREASE_RESERVATION,
        XENMEM_POPULATE_PHYSMAP,
        XENMEM_CURRENT_RESERVATION,
        XENMEM_ADD_TO_PHYSMAP,
        XENMEM_MAXIMUM_GPFN,
        XENMEM_REMOVE_FROM_PHYSMAP,
        XENMEM_ADD_TO_PHYSMAP_BATCH,
        XENMEM_ACQUIRE_RESOURCE,
    ];
    for round in 0..200u64 {
        let calls = 8usize;
        let mut data = vec![(round & 7) as u8, (calls - 1) as u8];
        for _ in 0..calls {
            let sub = subs[(xorshift(&mut s) % subs.len() as u64) as usize] as u64;
            let start = if xorshift(&mut s) % 4 == 0 { xorshift(&mut s) % 5 } else { 0 };
            data.push((xorshift(&mut s) % 4) as u8);
            data.push(0); // memory_op
            data.extend_from_slice(&(sub | start << MEMOP_EXTENT_SHIFT).to_le_bytes());
            data.extend_from_slice(&(0x40u64 * (xorshift(&mut s) % 4)).to_le_bytes());
        }
        // The arena: small words everywhere (domids, spaces, sizes, handles into the arena).
        for _ in 0..64 {
            let v = match xorshift(&mut s) % 6 {
                0 => 0x7ff0,
                1 => xorshift(&mut s) % 8,
                2 => 0x100 + xorshift(&mut s) % 0x40,
                3 => 0x200 + 8 * (xorshift(&mut s) % 16),
                4 => u64::MAX,
                _ => xorshift(&mut s) % 0x80,
            };
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend(std::iter::repeat_n(0u8, 512));
        harness::run(&data);
    }
}

/// Inputs shaped like a device model at work: dm_op structs in the arena, guest accesses in
/// and out of the served ranges, and the emulator writing any state, data or port into its
/// slots and sending events, on x86, Arm, and Arm built with ioreq servers.
#[test]
fn ioreq_sequences_never_panic() {
    use xenmem::abi::dm_op::*;
    use zerocopy::IntoBytes;
    let mut s = 0x10_0e0e_u64;
    for round in 0..300u64 {
        let calls = 8usize;
        // x86 or Arm+ioreq (bit 3), buffered or not, small or any cmd.
        let flags = [0u8, 2, 8 | 1, 1, 4][(round % 5) as usize];
        let mut data = vec![flags, (calls - 1) as u8];
        for _ in 0..calls {
            let kind = xorshift(&mut s) % 4;
            let op = match kind {
                0 => 7,  // dm_op
                1 => 11, // guest access
                2 => 13, // emulator writes
                _ => 9,  // event_channel_op
            };
            data.push(0); // dom0 calls
            data.push(op);
            let cmd = match kind {
                0 => (xorshift(&mut s) % 8) | ((1 + xorshift(&mut s) % 2) << 32),
                2 => {
                    // The state byte of slot 0, or vp_eport, or data; usually send after.
                    let off = [30u64, 24, 8, 0][(xorshift(&mut s) % 4) as usize];
                    off | (1 << 12)
                        | ((xorshift(&mut s) % 3) << 13)
                        | ((xorshift(&mut s) % 4 != 0) as u64) << 15
                }
                3 => [0u64, 3, 4, 5, 6][(xorshift(&mut s) % 5) as usize],
                _ => xorshift(&mut s),
            };
            data.extend_from_slice(&cmd.to_le_bytes());
            let arg = match kind {
                0 => 0x100, // the dm_op buffer array
                2 => xorshift(&mut s) % 16,
                3 => 0x200,
                _ => xorshift(&mut s),
            };
            data.extend_from_slice(&arg.to_le_bytes());
        }
        // The arena: bufs[0] at 0x100 naming a struct xen_dm_op at 0x140; an event-channel
        // struct at 0x200.
        let mut arena = vec![0u8; 0x300];
        let op = 1 + (xorshift(&mut s) % 6) as u32;
        let body = XenDmOpIoreqServerRange {
            id: (xorshift(&mut s) % 3) as u16,
            pad: 0,
            r#type: (xorshift(&mut s) % 4) as u32,
            start: 0xfeb0_0000 + xorshift(&mut s) % 0x2000,
            end: 0xfeb0_0000 + xorshift(&mut s) % 0x2000,
        };
        let dmop = XenDmOp::new(op, &body);
        arena[0x140..0x160].copy_from_slice(dmop.as_bytes());
        let buf = XenDmOpBuf { h: 0x140, size: 8 + xorshift(&mut s) % 30 };
        arena[0x100..0x110].copy_from_slice(buf.as_bytes());
        for (i, b) in arena[0x200..0x218].iter_mut().enumerate() {
            *b = if i % 4 == 0 { (xorshift(&mut s) % 4) as u8 } else { 0 };
        }
        data.extend_from_slice(&arena);
        harness::run(&data);
    }
}
