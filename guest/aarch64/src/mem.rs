//! memcpy, memmove, memset, memcmp and bcmp, which compiled Rust calls implicitly.
//!
//! In assembly, byte by byte: with the MMU off all memory is Device memory, where an unaligned
//! access faults, so nothing wider than a byte is safe without knowing the alignment; and
//! written in Rust, LLVM would recognise these loops as the very functions they implement
//! and call them. The kernel copies little, so speed does not matter.

core::arch::global_asm!(
    r#"
    .text
    .global memcpy
memcpy:                             // x0 dst, x1 src, x2 n -> dst
    mov     x3, x0
    cbz     x2, 2f
1:  ldrb    w4, [x1], #1
    strb    w4, [x3], #1
    subs    x2, x2, #1
    b.ne    1b
2:  ret

    .global memmove
memmove:                            // x0 dst, x1 src, x2 n -> dst
    cmp     x0, x1
    b.ls    memcpy                  // dst at or below src: copying forwards is safe
    add     x3, x0, x2
    add     x1, x1, x2
    cbz     x2, 2f
1:  ldrb    w4, [x1, #-1]!
    strb    w4, [x3, #-1]!
    subs    x2, x2, #1
    b.ne    1b
2:  ret

    .global memset
memset:                             // x0 dst, w1 byte, x2 n -> dst
    mov     x3, x0
    cbz     x2, 2f
1:  strb    w1, [x3], #1
    subs    x2, x2, #1
    b.ne    1b
2:  ret

    .global memcmp
    .global bcmp
memcmp:                             // x0 a, x1 b, x2 n -> <0, 0, >0
bcmp:
    cbz     x2, 2f
1:  ldrb    w3, [x0], #1
    ldrb    w4, [x1], #1
    subs    w3, w3, w4
    b.ne    3f
    subs    x2, x2, #1
    b.ne    1b
2:  mov     w0, #0
    ret
3:  mov     w0, w3
    ret
"#
);
