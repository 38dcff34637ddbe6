//! The PVH start info (`struct hvm_start_info`, `xen/include/public/arch-x86/hvm/start_info.h`):
//! read by every domain at entry, and written by dom0 for the domU it builds.
//!
//! Layout (version 1, 56 bytes): magic u32 @0, version u32 @4, flags u32 @8, nr_modules u32
//! @12, modlist_paddr u64 @16, cmdline_paddr u64 @24, rsdp_paddr u64 @32, memmap_paddr u64
//! @40, memmap_entries u32 @48, reserved u32 @52. A module entry (`hvm_modlist_entry`, 32 bytes):
//! paddr u64 @0, size u64 @8, cmdline_paddr u64 @16, reserved u64 @24.

use crate::arch::MAPPED_END;

/// `XEN_HVM_START_MAGIC_VALUE`.
pub const MAGIC: u32 = 0x336e_c578;
/// Size of a version 1 start info.
pub const SIZE: usize = 56;
const MODLIST_ENTRY: usize = 32;
/// Longest command line read; a longer one is cut (and then most likely rejected by its parser).
const MAX_CMDLINE: usize = 1024;

/// A module Xen (or our builder) loaded for the domain.
#[derive(Clone, Copy, Debug)]
pub struct Module {
    pub paddr: u64,
    pub size: u64,
}

/// What the kernel uses of its start info.
pub struct StartInfo {
    /// The command line (empty if none was given).
    pub cmdline: &'static str,
    /// The first module, if any.
    pub module: Option<Module>,
}

/// `len` bytes of the caller's own memory at physical address `paddr`.
///
/// # Safety
///
/// The range must be RAM of this domain that nothing writes for the rest of the run.
unsafe fn phys_bytes(paddr: u64, len: usize) -> Option<&'static [u8]> {
    let end = paddr.checked_add(len as u64)?;
    if paddr == 0 || end > MAPPED_END {
        return None;
    }
    // SAFETY: the range is non-null and under the boot identity map (checked above), so
    // virtual = physical and it is mapped; it is RAM nobody writes (the caller's contract),
    // so a shared slice over it stays valid.
    Some(unsafe { core::slice::from_raw_parts(paddr as *const u8, len) })
}

/// The bytes of the NUL-terminated string at `paddr` (at most [`MAX_CMDLINE`] of them).
///
/// # Safety
///
/// As for [`phys_bytes`], for every byte up to the NUL.
unsafe fn c_string(paddr: u64) -> Option<&'static [u8]> {
    // Byte by byte: the NUL may lie less than MAX_CMDLINE bytes before the end of RAM.
    let mut len = 0;
    // SAFETY: the caller's contract, for bytes before the NUL (the loop stops at it).
    while len < MAX_CMDLINE && unsafe { phys_bytes(paddr + len as u64, 1) }?[0] != 0 {
        len += 1;
    }
    // SAFETY: as above; these `len` bytes were just read.
    unsafe { phys_bytes(paddr, len) }
}

impl StartInfo {
    /// Reads the start info at `paddr`.
    ///
    /// # Safety
    ///
    /// `paddr` must be the address the domain builder passed in `%ebx`: the start info, its
    /// command line and its module list are then RAM the builder set aside for this domain,
    /// which the kernel never writes.
    pub unsafe fn read(paddr: u64) -> Result<StartInfo, &'static str> {
        // SAFETY: the caller's contract covers the start info itself.
        let raw = unsafe { phys_bytes(paddr, SIZE) }.ok_or("start info out of reach")?;
        let u32_at = |o: usize| u32::from_le_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
        let u64_at = |o: usize| u32_at(o) as u64 | (u32_at(o + 4) as u64) << 32;
        if u32_at(0) != MAGIC {
            return Err("bad start info magic");
        }
        let cmdline = match u64_at(24) {
            0 => "",
            // SAFETY: the caller's contract covers the command line up to its NUL.
            at => core::str::from_utf8(unsafe { c_string(at) }.ok_or("command line out of reach")?)
                .map_err(|_| "command line is not UTF-8")?,
        };
        let module = match (u32_at(12), u64_at(16)) {
            (0, _) | (_, 0) => None,
            (_, list) => {
                // SAFETY: the caller's contract covers the module list.
                let e = unsafe { phys_bytes(list, MODLIST_ENTRY) }.ok_or("module list out of reach")?;
                let at = |o: usize| u64::from_le_bytes(e[o..o + 8].try_into().unwrap_or([0; 8]));
                Some(Module { paddr: at(0), size: at(8) })
            }
        };
        Ok(StartInfo { cmdline, module })
    }

    /// The value of `key=value` on the command line (the first occurrence).
    pub fn arg(&self, key: &str) -> Option<&'static str> {
        xenmem_guest_runtime::cmdline::arg(self.cmdline, key)
    }
}

/// A module's bytes.
///
/// # Safety
///
/// `m` must come from this domain's own start info (see [`StartInfo::read`]).
pub unsafe fn module_bytes(m: Module) -> Option<&'static [u8]> {
    let len = usize::try_from(m.size).ok()?;
    // SAFETY: the builder placed the module in this domain's RAM, which the kernel never
    // writes (the caller's contract).
    unsafe { phys_bytes(m.paddr, len) }
}

/// A version 1 start info for a domain whose command line is at `cmdline_paddr`, with no
/// modules and no memory map (the domain asks Xen for its map).
pub fn encode(cmdline_paddr: u64) -> [u8; SIZE] {
    let mut b = [0u8; SIZE];
    b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&1u32.to_le_bytes());
    b[24..32].copy_from_slice(&cmdline_paddr.to_le_bytes());
    b
}
