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
