//! x86_64 backends: the hypercall page (PV and PVH/HVM) and the bare `vmcall`/`vmmcall`
//! instructions (PVH/HVM before a page is installed).
//!
//! ABI (`xen/include/public/arch-x86/xen-x86_64.h`): hypercall number in `rax` for the
//! instructions (the page's stubs load it themselves), arguments in `rdi, rsi, rdx, r10, r8`,
//! result in `rax`; Xen may clobber every argument register. A PV guest's page stubs use
//! `syscall`, which clobbers `rcx` and `r11`, so those are declared too.

use super::Hypercall;
use core::arch::asm;

/// Hypercalls through Xen's hypercall page: entry `op` sits at `page + 32 * op`.
#[derive(Debug)]
pub struct HypercallPage {
    page: *const u8,
}

impl HypercallPage {
    /// A backend calling through the page at `page` (a virtual address).
    ///
    /// # Safety
    ///
    /// `page` must point to a hypercall page that Xen filled in (by the PV start of day, or
    /// via the MSR of [`install_hypercall_page`]), executable and mapped for as long as this
    /// value is used.
    pub const unsafe fn new(page: *const u8) -> Self {
        HypercallPage { page }
    }
}

// SAFETY: the page's stubs trap straight into Xen, which touches only the memory the
// hypercall's definition names; the stubs themselves use only the stack.
unsafe impl Hypercall for HypercallPage {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        // A number past the page would jump outside it; Xen's answer to unknown numbers is
        // -ENOSYS, so give that.
        if op >= 128 {
            return -38;
        }
        let entry = self.page.wrapping_add(op as usize * 32);
        let ret: i64;
        // SAFETY: `entry` is a stub in the hypercall page (`new`'s contract, and op < 128).
        // The registers the x86_64 hypercall ABI clobbers are all declared as outputs; the
        // stub runs on our stack (a `call` pushes), so `nostack` is not claimed; the memory it
        // touches is what the caller's contract allows.
        unsafe {
            asm!(
                "call rax",
                inlateout("rax") entry => ret,
                inlateout("rdi") args[0] => _,
                inlateout("rsi") args[1] => _,
                inlateout("rdx") args[2] => _,
                inlateout("r10") args[3] => _,
                inlateout("r8") args[4] => _,
                lateout("rcx") _,
                lateout("r11") _,
            );
        }
        ret
    }
}

/// The trapping instruction of an HVM/PVH guest, used without a hypercall page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapInstruction {
    /// Intel VT-x.
    Vmcall,
    /// AMD SVM.
    Vmmcall,
}

// SAFETY: the instruction traps into Xen with the number in rax and the arguments in the
// ABI's registers; Xen touches only the memory the hypercall's definition names.
unsafe impl Hypercall for TrapInstruction {
    unsafe fn hypercall(&self, op: u32, args: [u64; 5]) -> i64 {
        let ret: i64;
        match self {
            // SAFETY: as for the page: every clobbered register is declared; the instruction
            // itself touches no memory.
            TrapInstruction::Vmcall => unsafe {
                asm!(
                    "vmcall",
                    inlateout("rax") op as u64 => ret,
                    inlateout("rdi") args[0] => _,
                    inlateout("rsi") args[1] => _,
                    inlateout("rdx") args[2] => _,
                    inlateout("r10") args[3] => _,
                    inlateout("r8") args[4] => _,
                    options(nostack),
                );
            },
            // SAFETY: as above.
            TrapInstruction::Vmmcall => unsafe {
                asm!(
                    "vmmcall",
                    inlateout("rax") op as u64 => ret,
                    inlateout("rdi") args[0] => _,
                    inlateout("rsi") args[1] => _,
                    inlateout("rdx") args[2] => _,
                    inlateout("r10") args[3] => _,
                    inlateout("r8") args[4] => _,
                    options(nostack),
                );
            },
        }
        ret
    }
}

/// Finds Xen's CPUID leaves (signature "XenVMMXenVMM" at 0x40000000 or, behind a Viridian
/// interface, 0x40000100 ...) and returns the base leaf.
pub fn xen_cpuid_base() -> Option<u32> {
    let mut base = 0x4000_0000u32;
    while base < 0x4001_0000 {
        let r = cpuid(base);
        if (r.ebx, r.ecx, r.edx) == (0x566e_6558, 0x65584d4d, 0x4d4d566e) && r.eax >= base + 2 {
            return Some(base);
        }
        base += 0x100;
    }
    None
}

/// One CPUID leaf. The intrinsic is an `unsafe fn` in the compilers of our MSRV (1.85) and
/// a safe one in later releases: the block keeps both building.
#[allow(unused_unsafe)]
fn cpuid(leaf: u32) -> core::arch::x86_64::CpuidResult {
    // SAFETY: every x86_64 CPU has the CPUID instruction, and it only reads registers.
    unsafe { core::arch::x86_64::__cpuid(leaf) }
}

/// Asks Xen to fill the page at guest-physical address `gpa` with hypercall stubs (HVM/PVH:
/// CPUID leaf base+2 names the MSR to write).
///
/// # Safety
///
/// Must run in ring 0 of an HVM/PVH guest of Xen; the 4 KiB page at `gpa` must be RAM the
/// caller owns and may be overwritten.
pub unsafe fn install_hypercall_page(gpa: u64) -> bool {
    let Some(base) = xen_cpuid_base() else { return false };
    let msr = cpuid(base + 2).ebx;
    // SAFETY: the caller runs in ring 0 under Xen, which defines this MSR to install the page
    // at `gpa`, a page the caller gave up for it.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") gpa as u32, in("edx") (gpa >> 32) as u32,
             options(nostack));
    }
    true
}
