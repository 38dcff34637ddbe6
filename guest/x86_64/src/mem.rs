//! The C memory functions the compiler emits calls to. On the host target they normally come
//! from libc, which is not linked. Written in assembly so that the optimiser cannot turn their
//! loops back into calls to themselves. SysV ABI: dest/s1 in rdi, src/s2/value in rsi, length in
//! rdx; result in rax. `rep movsb`/`stosb` clobber only rdi, rsi, rcx, which are caller-saved.

use core::arch::global_asm;

global_asm!(
    r#"
    .pushsection .text.mem, "ax"

    .globl memcpy
    .type memcpy, @function
memcpy:
    mov %rdi, %rax
    mov %rdx, %rcx
    rep movsb
    ret

    # Copies backwards when dest lies above an overlapping src.
    .globl memmove
    .type memmove, @function
memmove:
    mov %rdi, %rax
    mov %rdx, %rcx
    cmp %rsi, %rdi
    jbe 1f
    lea -1(%rsi, %rdx), %rsi
    lea -1(%rdi, %rdx), %rdi
    std
    rep movsb
    cld
    ret
1:  rep movsb
    ret

    .globl memset
    .type memset, @function
memset:
    mov %rdi, %r9
    mov %esi, %eax
    mov %rdx, %rcx
    rep stosb
    mov %r9, %rax
    ret

    # Returns the difference of the first differing bytes (as unsigned chars), or 0.
    .globl memcmp
    .type memcmp, @function
    .globl bcmp
    .type bcmp, @function
memcmp:
bcmp:
    xor %eax, %eax
    xor %ecx, %ecx
1:  cmp %rdx, %rcx
    je 2f
    movzbl (%rdi, %rcx), %eax
    movzbl (%rsi, %rcx), %r8d
    inc %rcx
    sub %r8d, %eax
    je 1b
2:  ret

    .popsection
"#,
    options(att_syntax)
);
