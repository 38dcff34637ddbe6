/* Arm's part of xen_domctl_createdomain, from Xen's own arch-arm.h. It cannot share a
 * translation unit with headers.c (each arch header defines xen_pfn_t and friends), and it
 * compiles on any 64-bit host: its fields are fixed-width, laid out alike on x86_64 and arm64.
 * xen_domctl_createdomain's fields before `arch` are common to both, so Arm's struct is
 * offsetof(arch) + sizeof(struct xen_arch_domainconfig). */
#define __XEN_TOOLS__ 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/arch-arm.h>

#define V(name, val) printf("%s %llu\n", name, (unsigned long long)(val))

int main(void)
{
	V("sizeof arm xen_arch_domainconfig", sizeof(struct xen_arch_domainconfig));
	V("offsetof arm xen_arch_domainconfig.tee_type", offsetof(struct xen_arch_domainconfig, tee_type));
	V("offsetof arm xen_arch_domainconfig.nr_spis", offsetof(struct xen_arch_domainconfig, nr_spis));
	V("offsetof arm xen_arch_domainconfig.clock_frequency",
	  offsetof(struct xen_arch_domainconfig, clock_frequency));
	return 0;
}
