/* The shared-info layout as an arm64 guest sees it, printed by a host compiler: Xen's
 * xen.h picks arch-arm.h when __aarch64__ is defined, and arm64's LP64 rules for the
 * types in it (u8, u64, empty structs) are x86_64's. The C library's headers come first,
 * before the switch, so only Xen's headers see the other architecture. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#undef __x86_64__
#define __aarch64__ 1
#include <xen/xen.h>

#define V(name, val) printf("%s %llu\n", name, (unsigned long long)(val))
#define SZ(s) V("sizeof " #s, sizeof(struct s))
#define OFF(s, f) V("offsetof " #s "." #f, offsetof(struct s, f))

int main(void)
{
#include "shared_info.h"
	return 0;
}
