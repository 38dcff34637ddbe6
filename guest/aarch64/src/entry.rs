//! Start of day, in assembly: the arm64 Image header Xen's loader checks, the entry (stack,
//! .bss, self-relocation, exception vectors), and the two guarded byte accesses the platform
//! uses to touch guest frames that may have nothing mapped behind them.
//!
//! Xen starts the kernel as Linux's arm64 boot protocol says: at the image's first byte, EL1,
//! MMU and data cache off, interrupts masked, x0 = the device tree's physical address. With
//! the MMU off every data access is a Device-memory access, which is why the kernel is built
//! with strict alignment and no SIMD, and why the copies in `mem.rs` go byte by byte.
//!
//! Where Xen puts the image differs by role (dom0: wherever its RAM bank starts, plus
//! `text_offset`; the dom0less domU: 0x40080000), so the kernel is linked at 0 as a PIE and
//! applies its own `R_AARCH64_RELATIVE` relocations before any Rust code runs.

core::arch::global_asm!(
    r#"
    .section .text.head, "ax"
    .global _head
_head:
    b       _start                  // code0: Xen jumps to the image's first byte
    .long   0                       // code1
    .quad   0x80000                 // text_offset: 512 KiB above a 2 MiB-aligned base
    .quad   __image_size            // image_size, .bss and stack included (link.ld)
    .quad   0xa                     // flags: little endian, 4 KiB pages, anywhere in RAM
    .quad   0, 0, 0                 // res2, res3, res4
    .long   0x644d5241              // magic "ARM\x64"
    .long   0                       // res5

    .text
_start:
    mov     x19, x0                 // the device tree
    adrp    x20, _head              // the runtime base: PC-relative, so right wherever we are
    add     x20, x20, :lo12:_head

    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1

    // Zero .bss, which the file does not contain (16-byte aligned and sized, link.ld).
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b

    // Relocate: each Elf64_Rela is r_offset, r_info, r_addend. A PIE linked at 0 has only
    // R_AARCH64_RELATIVE (1027): *(base + offset) = base + addend. Anything else stops here,
    // before anything could print, rather than run with a wrong pointer.
2:  adrp    x1, __rela_start
    add     x1, x1, :lo12:__rela_start
    adrp    x2, __rela_end
    add     x2, x2, :lo12:__rela_end
3:  cmp     x1, x2
    b.hs    5f
    ldp     x3, x4, [x1], #16
    ldr     x5, [x1], #8
    cmp     x4, #1027
    b.ne    4f
    add     x5, x5, x20
    str     x5, [x20, x3]
    b       3b
4:  wfi
    b       4b

5:  adrp    x1, xenmem_vectors
    add     x1, x1, :lo12:xenmem_vectors
    msr     vbar_el1, x1
    isb

    mov     x0, x19
    mov     x1, x20
    bl      kmain
6:  wfi
    b       6b

// The exception vectors: 16 entries of 0x80 bytes, 2 KiB aligned. Only a synchronous
// exception on the kernel's own stack (current EL, SP_EL1) can be a guarded access; every
// other kind is reported and ends the run.
    .balign 2048
    .global xenmem_vectors
xenmem_vectors:
    .irp    kind, 0, 1, 2, 3
    .balign 0x80
    mov     x9, #\kind
    b       xenmem_exc_fatal
    .endr
    .balign 0x80
    b       xenmem_exc_sync_spx
    .irp    kind, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 0x80
    mov     x9, #\kind
    b       xenmem_exc_fatal
    .endr

// A data abort (ESR_EL1.EC 0x25) at one of the two guarded instructions: skip it and report
// the fault in x5. x6 and x7 are scratch by those functions' contract.
xenmem_exc_sync_spx:
    mrs     x7, esr_el1
    lsr     x7, x7, #26
    cmp     x7, #0x25
    b.ne    1f
    mrs     x6, elr_el1
    adr     x7, xenmem_guarded_ld8_insn
    cmp     x6, x7
    b.eq    2f
    adr     x7, xenmem_guarded_st8_insn
    cmp     x6, x7
    b.eq    2f
1:  mov     x9, #4
    b       xenmem_exc_fatal
2:  add     x6, x6, #4
    msr     elr_el1, x6
    mov     x5, #1
    eret

xenmem_exc_fatal:
    mov     x0, x9
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    bl      xenmem_exception
7:  wfi
    b       7b

// u32 xenmem_guarded_ld8(u64 addr): the byte at addr in bits 0..8; bit 8 set (and the byte 0)
// if the access faulted. Clobbers x4-x7 (caller-saved in the C ABI).
    .global xenmem_guarded_ld8
xenmem_guarded_ld8:
    mov     x5, #0
    mov     w4, #0
xenmem_guarded_ld8_insn:
    ldrb    w4, [x0]
    orr     w0, w4, w5, lsl #8
    ret

// u32 xenmem_guarded_st8(u64 addr, u8 value): 0, or 1 if the access faulted. Clobbers x5-x7.
    .global xenmem_guarded_st8
xenmem_guarded_st8:
    mov     x5, #0
xenmem_guarded_st8_insn:
    strb    w1, [x0]
    mov     w0, w5
    ret
"#
);

extern "C" {
    fn xenmem_guarded_ld8(addr: u64) -> u32;
    fn xenmem_guarded_st8(addr: u64, value: u8) -> u32;
}

/// Reads the byte at guest-physical `addr`; `None` if nothing is mapped there (Xen injected
/// a data abort, which the vector skipped).
///
/// # Safety
///
/// No Rust object may live at `addr` (the read may race with nothing, but it must not observe
/// memory the compiler assumes it owns exclusively).
pub unsafe fn guarded_read(addr: u64) -> Option<u8> {
    // SAFETY: the function performs one byte load, which either completes or faults into the
    // vector that resumes after it; it follows the C ABI. The caller vouches for the address.
    let v = unsafe { xenmem_guarded_ld8(addr) };
    (v & 0x100 == 0).then_some(v as u8)
}

/// Writes the byte at guest-physical `addr`; `false` if nothing is mapped there.
///
/// # Safety
///
/// No Rust object may live at `addr`.
pub unsafe fn guarded_write(addr: u64, value: u8) -> bool {
    // SAFETY: as in `guarded_read`, for one byte store.
    unsafe { xenmem_guarded_st8(addr, value) == 0 }
}
