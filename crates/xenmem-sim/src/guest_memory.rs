//! The caller's memory as the model reaches it: Xen's `copy_from_guest` / `copy_to_guest`,
//! through a fallible accessor so a bad address is `-EFAULT` (or a short count), never a
//! crash.
//!
//! [`GuestMemory`] is the seam; [`ArenaMemory`] is a safe one over a byte buffer at a chosen
//! base address (for fuzzing and for tests that want exact control of every byte);
//! `ProcessMemory` (in the one unsafe module) reads the calling process's own memory.

use zerocopy::{FromBytes, Immutable, IntoBytes};

/// An address the caller cannot access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadAddress {
    /// The first address of the access.
    pub addr: u64,
    /// Its length.
    pub len: usize,
}

/// The caller's memory.
pub trait GuestMemory {
    /// Reads `buf.len()` bytes at `addr`, all or nothing.
    ///
    /// # Errors
    ///
    /// [`BadAddress`] if any byte is not readable.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress>;

    /// Writes `data` at `addr`, all or nothing.
    ///
    /// # Errors
    ///
    /// [`BadAddress`] if any byte is not writable.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BadAddress>;

    /// Reads a little-endian `u64` at `addr` (an element of a `xen_pfn_t` array).
    ///
    /// # Errors
    ///
    /// [`BadAddress`] if any byte is not readable.
    fn read_u64(&mut self, addr: u64) -> Result<u64, BadAddress> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes a little-endian `i32` at `addr` (an element of an `int` array).
    ///
    /// # Errors
    ///
    /// [`BadAddress`] if any byte is not writable.
    fn write_i32(&mut self, addr: u64, v: i32) -> Result<(), BadAddress> {
        self.write(addr, &v.to_le_bytes())
    }
}

impl<M: GuestMemory + ?Sized> GuestMemory for &mut M {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        (**self).read(addr, buf)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BadAddress> {
        (**self).write(addr, data)
    }

    fn read_u64(&mut self, addr: u64) -> Result<u64, BadAddress> {
        (**self).read_u64(addr)
    }

    fn write_i32(&mut self, addr: u64, v: i32) -> Result<(), BadAddress> {
        (**self).write_i32(addr, v)
    }
}

/// Guest memory that is a byte buffer mapped at `base`: every address outside it is bad.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArenaMemory {
    base: u64,
    bytes: Vec<u8>,
}

impl ArenaMemory {
    /// `len` zero bytes at `base`.
    pub fn new(base: u64, len: usize) -> ArenaMemory {
        ArenaMemory { base, bytes: vec![0; len] }
    }

    /// The given bytes at `base`.
    pub fn from_bytes(base: u64, bytes: Vec<u8>) -> ArenaMemory {
        ArenaMemory { base, bytes }
    }

    /// The first address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The whole buffer.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The whole buffer, to fill.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, BadAddress> {
        let bad = BadAddress { addr, len };
        let off = addr.checked_sub(self.base).ok_or(bad)?;
        let off = usize::try_from(off).map_err(|_| bad)?;
        let end = off.checked_add(len).ok_or(bad)?;
        if end > self.bytes.len() {
            return Err(bad);
        }
        Ok(off..end)
    }

    /// Places a value's bytes at `addr` (a test helper).
    ///
    /// # Errors
    ///
    /// [`BadAddress`] outside the arena.
    pub fn put<T: IntoBytes + Immutable + ?Sized>(&mut self, addr: u64, v: &T) -> Result<(), BadAddress> {
        self.write(addr, v.as_bytes())
    }

    /// Reads a value at `addr` (a test helper).
    ///
    /// # Errors
    ///
    /// [`BadAddress`] outside the arena.
    pub fn get<T: FromBytes + IntoBytes>(&mut self, addr: u64) -> Result<T, BadAddress> {
        read_obj(self, addr)
    }
}

impl GuestMemory for ArenaMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        let r = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), BadAddress> {
        let r = self.range(addr, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }
}

/// `copy_from_guest` of one `T`.
pub(crate) fn read_obj<T: FromBytes + IntoBytes>(
    mem: &mut (impl GuestMemory + ?Sized),
    addr: u64,
) -> Result<T, BadAddress> {
    let mut v = T::new_zeroed();
    let bytes = v.as_mut_bytes();
    // A struct of a word or two (remove_from_physmap's) as words: cheaper than a copy of
    // any length, and as all-or-nothing, since reading has no effect to undo.
    if bytes.len() == 16 {
        let bad = BadAddress { addr, len: 16 };
        let hi = addr.checked_add(8).ok_or(bad)?;
        let (lo, hi) = (mem.read_u64(addr).map_err(|_| bad)?, mem.read_u64(hi).map_err(|_| bad)?);
        bytes[..8].copy_from_slice(&lo.to_le_bytes());
        bytes[8..].copy_from_slice(&hi.to_le_bytes());
        return Ok(v);
    }
    mem.read(addr, bytes)?;
    Ok(v)
}

/// The address of element `i` of an array of `size`-byte elements at `base`
/// (`guest_handle_add_offset`), or a bad address when it does not exist.
pub(crate) fn element(base: u64, i: u64, size: u64) -> Result<u64, BadAddress> {
    i.checked_mul(size).and_then(|o| base.checked_add(o)).ok_or(BadAddress { addr: base, len: size as usize })
}

/// `__copy_from_guest_offset` of one `u64` (`xen_pfn_t`, `xen_ulong_t`).
pub(crate) fn read_u64_at(
    mem: &mut (impl GuestMemory + ?Sized),
    base: u64,
    i: u64,
) -> Result<u64, BadAddress> {
    mem.read_u64(element(base, i, 8)?)
}

/// Elements `i..i + out.len()` of a `u64` array at `base`, all or nothing (one copy for
/// what `__copy_from_guest_offset` would read element by element).
pub(crate) fn read_u64s(
    mem: &mut (impl GuestMemory + ?Sized),
    base: u64,
    i: u64,
    out: &mut [u64],
) -> Result<(), BadAddress> {
    let addr = element(base, i, 8)?;
    mem.read(addr, out.as_mut_bytes())?;
    for v in out.iter_mut() {
        *v = u64::from_le(*v);
    }
    Ok(())
}

/// Elements `i..i + out.len()` of an `int` array at `base`, all or nothing.
pub(crate) fn read_i32s(
    mem: &mut (impl GuestMemory + ?Sized),
    base: u64,
    i: u64,
    out: &mut [i32],
) -> Result<(), BadAddress> {
    let addr = element(base, i, 4)?;
    mem.read(addr, out.as_mut_bytes())?;
    for v in out.iter_mut() {
        *v = i32::from_le(*v);
    }
    Ok(())
}

/// `v` as elements `i..` of an `int` array at `base`, all or nothing (one copy for what
/// `__copy_to_guest_offset` would write element by element).
pub(crate) fn write_i32s(
    mem: &mut (impl GuestMemory + ?Sized),
    base: u64,
    i: u64,
    v: &[i32],
) -> Result<(), BadAddress> {
    let mut le = [0i32; 64];
    let Some(le) = le.get_mut(..v.len()) else {
        return v.iter().zip(i..).try_for_each(|(&x, at)| write_i32_at(mem, base, at, x));
    };
    for (d, &x) in le.iter_mut().zip(v) {
        *d = x.to_le();
    }
    mem.write(element(base, i, 4)?, le.as_bytes())
}

/// `__copy_to_guest_offset` of one `u64`.
pub(crate) fn write_u64_at(
    mem: &mut (impl GuestMemory + ?Sized),
    base: u64,
    i: u64,
    v: u64,
) -> Result<(), BadAddress> {
    mem.write(element(base, i, 8)?, &v.to_le_bytes())
}

/// `__copy_to_guest_offset` of one `int`.
pub(crate) fn write_i32_at(
    mem: &mut (impl GuestMemory + ?Sized),
    base: u64,
    i: u64,
    v: i32,
) -> Result<(), BadAddress> {
    mem.write_i32(element(base, i, 4)?, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_bounds() {
        let mut a = ArenaMemory::new(0x1000, 16);
        assert!(a.write(0x1000, &[1; 16]).is_ok());
        assert_eq!(a.write(0x1001, &[1; 16]), Err(BadAddress { addr: 0x1001, len: 16 }));
        assert!(a.read(0xfff, &mut [0; 1]).is_err());
        assert!(a.read(u64::MAX, &mut [0; 2]).is_err());
        assert_eq!(read_u64_at(&mut a, 0x1000, 1).unwrap(), 0x0101_0101_0101_0101);
        assert!(read_u64_at(&mut a, 0x1000, 2).is_err());
        assert!(read_u64_at(&mut a, 0x1000, u64::MAX).is_err());
    }
}
