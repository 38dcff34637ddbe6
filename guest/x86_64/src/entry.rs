//! PVH start of day: Xen enters the image in 32-bit protected mode with paging off, flat
//! segments, no stack, and `%ebx` holding the physical address of `struct hvm_start_info`
//! (`xen/include/public/arch-x86/hvm/start_info.h`). The stub below gets to long mode and
//! calls [`crate::kmain`].
//!
//! Memory: one identity map of the first 4 GiB in 2 MiB pages. The conformance suite maps
//! frames into a hole of the physmap (e.g. gfn 0x30000) and reads them back through this
//! map, so every gfn below 4 GiB must be reachable without creating mappings at run time.
//! Caching is write-back everywhere; the kernel never touches device memory.
//!
//! No IDT: interrupts stay disabled as Xen entered us, so nothing can land on the stack's red
//! zone (the host target's code assumes one), and an exception triple-faults the vCPU. For
//! dom0 Xen answers by rebooting the machine (QEMU exits); the domU is shut down with reason
//! reboot, which dom0 sees and reports as a failure.
//!
//! The same entry serves the domU, whose builder (toolstack.rs) sets up the same 32-bit state.

use core::arch::global_asm;

/// The Xen ELF notes (`xen/include/public/elfnote.h`). A PVH kernel needs these three: the
/// note Xen looks for to accept the image at all (GUEST_OS), the interface version, and the
/// 32-bit physical entry point that makes the domain builder start it as PVH.
macro_rules! xen_elfnote {
    ($ty:literal, $desc_directive:literal) => {
        concat!(
            ".p2align 2\n",
            ".long 4\n",       // namesz: "Xen\0"
            ".long 2f - 1f\n", // descsz
            ".long ",
            $ty,
            "\n", // type
            ".asciz \"Xen\"\n",
            ".p2align 2\n",
            "1: ",
            $desc_directive,
            "\n",
            "2: .p2align 2\n",
        )
    };
}

global_asm!(
    ".pushsection .note.Xen, \"a\", @note",
    xen_elfnote!("6", ".asciz \"xenmem-guest\""), // XEN_ELFNOTE_GUEST_OS
    xen_elfnote!("5", ".asciz \"xen-3.0\""),      // XEN_ELFNOTE_XEN_VERSION
    xen_elfnote!("18", ".long pvh_start32"),      // XEN_ELFNOTE_PHYS32_ENTRY
    ".popsection",
    options(att_syntax)
);

global_asm!(
    r#"
    .pushsection .text.pvh_entry, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    cld
    # start_info survives in %esi: rep stos below needs %edi, %ecx and %eax.
    mov %ebx, %esi

    # The page tables and the stack live in .bss; zero it here rather than trusting every
    # loader to have done so.
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    # PML4[0] -> PDPT; PDPT[0..4] -> the four page directories.
    mov $(pvh_pdpt + 3), %eax
    mov %eax, pvh_pml4
    mov $pvh_pdpt, %edi
    mov $(pvh_pd + 3), %eax
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $0x1000, %eax
    add $8, %edi
    loop 1b

    # 2048 PDEs of 2 MiB each: present | writable | page-size. The high halves stay zero
    # (everything is below 4 GiB).
    mov $pvh_pd, %edi
    mov $0x83, %eax
    mov $2048, %ecx
1:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b

    mov $pvh_pml4, %eax
    mov %eax, %cr3

    # PAE for long mode; OSFXSR and OSXMMEXCPT because the host target's code uses SSE.
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    mov %eax, %cr4

    # EFER.LME
    mov $0xc0000080, %ecx
    rdmsr
    or $(1 << 8), %eax
    wrmsr

    lgdt pvh_gdt_desc

    # Paging on (with LME this activates long mode); MP set and EM clear so SSE and x87
    # instructions execute instead of faulting.
    mov %cr0, %eax
    and $~(1 << 2), %eax
    or $((1 << 31) | (1 << 1)), %eax
    mov %eax, %cr0

    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs

    # The SysV ABI wants %rsp 16-byte aligned at the call; pvh_stack_top is page aligned.
    mov $pvh_stack_top, %esp
    mov %esi, %edi
    call kmain
2:  hlt
    jmp 2b
    .popsection

    # The accessed bits are preset: otherwise the CPU sets them when it loads a selector,
    # writing into .rodata, and the running image would no longer match its file (which dom0
    # checks before it boots the file as the domU).
    .pushsection .rodata.pvh_gdt, "a"
    .p2align 4
pvh_gdt:
    .quad 0
    .quad 0x00af9b000000ffff    # 0x08: 64-bit code, DPL 0
    .quad 0x00cf93000000ffff    # 0x10: flat data
pvh_gdt_end:
    .p2align 2
pvh_gdt_desc:
    .word pvh_gdt_end - pvh_gdt - 1
    .long pvh_gdt
    .popsection

    .pushsection .bss.pvh, "aw", @nobits
    .p2align 12
pvh_pml4:
    .skip 4096
pvh_pdpt:
    .skip 4096
pvh_pd:
    .skip 4 * 4096
pvh_stack:
    .skip 64 * 1024
pvh_stack_top:
    .popsection
"#,
    options(att_syntax)
);
