/* Prints every number and layout xenmem's abi module defines, taken from Xen's own public
 * headers (Debian's libxen-dev: 4.17 in Debian 12, 4.20 in Debian 13; or a release tag's
 * xen/include/public), one "name value" line each. tests/abi_headers.rs diffs this against
 * the same list printed from the Rust definitions for that release's domctl interface. */
#define __XEN_TOOLS__ 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/xen.h>
#include <xen/memory.h>
#include <xen/domctl.h>
#include <xen/version.h>

#define V(name, val) printf("%s %llu\n", name, (unsigned long long)(val))
#define SZ(s) V("sizeof " #s, sizeof(struct s))
#define OFF(s, f) V("offsetof " #s "." #f, offsetof(struct s, f))

int main(void)
{
	V("HYPERVISOR_memory_op", __HYPERVISOR_memory_op);
	V("HYPERVISOR_multicall", __HYPERVISOR_multicall);
	V("HYPERVISOR_xen_version", __HYPERVISOR_xen_version);
	V("HYPERVISOR_console_io", __HYPERVISOR_console_io);
	V("HYPERVISOR_grant_table_op", __HYPERVISOR_grant_table_op);
	V("HYPERVISOR_sched_op", __HYPERVISOR_sched_op);
	V("HYPERVISOR_event_channel_op", __HYPERVISOR_event_channel_op);
	V("HYPERVISOR_hvm_op", __HYPERVISOR_hvm_op);
	V("HYPERVISOR_domctl", __HYPERVISOR_domctl);
	V("HYPERVISOR_dm_op", __HYPERVISOR_dm_op);
	V("XENVER_version", XENVER_version);
	V("XENVER_extraversion", XENVER_extraversion);
	V("sizeof xen_extraversion_t", sizeof(xen_extraversion_t));
	V("XENMEM_increase_reservation", XENMEM_increase_reservation);
	V("XENMEM_decrease_reservation", XENMEM_decrease_reservation);
	V("XENMEM_maximum_ram_page", XENMEM_maximum_ram_page);
	V("XENMEM_current_reservation", XENMEM_current_reservation);
	V("XENMEM_maximum_reservation", XENMEM_maximum_reservation);
	V("XENMEM_populate_physmap", XENMEM_populate_physmap);
	V("XENMEM_add_to_physmap", XENMEM_add_to_physmap);
	V("XENMEM_memory_map", XENMEM_memory_map);
	V("XENMEM_machine_memory_map", XENMEM_machine_memory_map);
	V("XENMEM_exchange", XENMEM_exchange);
	V("XENMEM_maximum_gpfn", XENMEM_maximum_gpfn);
	V("XENMEM_remove_from_physmap", XENMEM_remove_from_physmap);
	V("XENMEM_add_to_physmap_batch", XENMEM_add_to_physmap_batch);
	V("XENMEM_acquire_resource", XENMEM_acquire_resource);
	V("XENMAPSPACE_shared_info", XENMAPSPACE_shared_info);
	V("XENMAPSPACE_grant_table", XENMAPSPACE_grant_table);
	V("XENMAPSPACE_gmfn", XENMAPSPACE_gmfn);
	V("XENMAPSPACE_gmfn_range", XENMAPSPACE_gmfn_range);
	V("XENMAPSPACE_gmfn_foreign", XENMAPSPACE_gmfn_foreign);
	V("XENMAPSPACE_dev_mmio", XENMAPSPACE_dev_mmio);
	V("XENMAPIDX_grant_table_status", XENMAPIDX_grant_table_status);
	V("XENMEM_resource_ioreq_server", XENMEM_resource_ioreq_server);
	V("XENMEM_resource_grant_table", XENMEM_resource_grant_table);
	V("XENMEM_resource_vmtrace_buf", XENMEM_resource_vmtrace_buf);
	V("XENMEM_resource_grant_table_id_shared", XENMEM_resource_grant_table_id_shared);
	V("XENMEM_resource_grant_table_id_status", XENMEM_resource_grant_table_id_status);
	V("XENMEM_resource_ioreq_server_frame_bufioreq", XENMEM_resource_ioreq_server_frame_bufioreq);
	V("XENMEM_resource_ioreq_server_frame_ioreq(3)", XENMEM_resource_ioreq_server_frame_ioreq(3));
	V("XENMEMF_address_bits(37)", XENMEMF_address_bits(37));
	V("XENMEMF_node(5)", XENMEMF_node(5));
	V("XENMEMF_populate_on_demand", XENMEMF_populate_on_demand);
	V("XENMEMF_exact_node_request", XENMEMF_exact_node_request);
	V("XENMEMF_vnode", XENMEMF_vnode);
	V("DOMID_SELF", DOMID_SELF);
	V("DOMID_FIRST_RESERVED", DOMID_FIRST_RESERVED);
	V("DOMID_IO", DOMID_IO);
	V("DOMID_XEN", DOMID_XEN);
	V("DOMID_COW", DOMID_COW);
	V("DOMID_INVALID", DOMID_INVALID);
	V("DOMID_IDLE", DOMID_IDLE);
	SZ(xen_memory_reservation);
	OFF(xen_memory_reservation, extent_start);
	OFF(xen_memory_reservation, nr_extents);
	OFF(xen_memory_reservation, extent_order);
	OFF(xen_memory_reservation, mem_flags);
	OFF(xen_memory_reservation, domid);
	SZ(xen_add_to_physmap);
	OFF(xen_add_to_physmap, domid);
	OFF(xen_add_to_physmap, size);
	OFF(xen_add_to_physmap, space);
	OFF(xen_add_to_physmap, idx);
	OFF(xen_add_to_physmap, gpfn);
	SZ(xen_add_to_physmap_batch);
	OFF(xen_add_to_physmap_batch, domid);
	OFF(xen_add_to_physmap_batch, space);
	OFF(xen_add_to_physmap_batch, size);
	OFF(xen_add_to_physmap_batch, u.foreign_domid);
	OFF(xen_add_to_physmap_batch, idxs);
	OFF(xen_add_to_physmap_batch, gpfns);
	OFF(xen_add_to_physmap_batch, errs);
	SZ(xen_remove_from_physmap);
	OFF(xen_remove_from_physmap, domid);
	OFF(xen_remove_from_physmap, gpfn);
	SZ(xen_mem_acquire_resource);
	OFF(xen_mem_acquire_resource, domid);
	OFF(xen_mem_acquire_resource, type);
	OFF(xen_mem_acquire_resource, id);
	OFF(xen_mem_acquire_resource, nr_frames);
	OFF(xen_mem_acquire_resource, pad);
	OFF(xen_mem_acquire_resource, frame);
	OFF(xen_mem_acquire_resource, frame_list);
	SZ(xen_memory_map);
	OFF(xen_memory_map, nr_entries);
	OFF(xen_memory_map, buffer);
	V("XEN_DOMCTL_INTERFACE_VERSION", XEN_DOMCTL_INTERFACE_VERSION);
	V("XEN_DOMCTL_createdomain", XEN_DOMCTL_createdomain);
	V("XEN_DOMCTL_destroydomain", XEN_DOMCTL_destroydomain);
	V("XEN_DOMCTL_pausedomain", XEN_DOMCTL_pausedomain);
	V("XEN_DOMCTL_unpausedomain", XEN_DOMCTL_unpausedomain);
	V("XEN_DOMCTL_getdomaininfo", XEN_DOMCTL_getdomaininfo);
	V("XEN_DOMCTL_max_mem", XEN_DOMCTL_max_mem);
	V("XEN_DOMCTL_max_vcpus", XEN_DOMCTL_max_vcpus);
	V("XEN_DOMCTL_gethvmcontext", XEN_DOMCTL_gethvmcontext);
	V("XEN_DOMCTL_sethvmcontext", XEN_DOMCTL_sethvmcontext);
	V("XEN_DOMCTL_set_paging_mempool_size", XEN_DOMCTL_set_paging_mempool_size);
	V("XEN_DOMCTL_CDF_hvm", XEN_DOMCTL_CDF_hvm);
	V("XEN_DOMCTL_CDF_hap", XEN_DOMCTL_CDF_hap);
	V("XEN_DOMCTL_CDF_iommu", XEN_DOMCTL_CDF_iommu);
	V("XEN_X86_EMU_LAPIC", XEN_X86_EMU_LAPIC);
	V("XEN_DOMINF_dying", XEN_DOMINF_dying);
	V("XEN_DOMINF_hvm_guest", XEN_DOMINF_hvm_guest);
	V("XEN_DOMINF_shutdown", XEN_DOMINF_shutdown);
	V("XEN_DOMINF_paused", XEN_DOMINF_paused);
	V("XEN_DOMINF_hap", XEN_DOMINF_hap);
	SZ(xen_domctl);
	OFF(xen_domctl, interface_version);
	OFF(xen_domctl, domain);
	OFF(xen_domctl, u);
	SZ(xen_domctl_createdomain);
	OFF(xen_domctl_createdomain, handle);
	OFF(xen_domctl_createdomain, flags);
	OFF(xen_domctl_createdomain, max_vcpus);
	OFF(xen_domctl_createdomain, max_grant_frames);
	OFF(xen_domctl_createdomain, grant_opts);
#if XEN_DOMCTL_INTERFACE_VERSION >= 0x17
	OFF(xen_domctl_createdomain, altp2m_opts);
#endif
	OFF(xen_domctl_createdomain, vmtrace_size);
	OFF(xen_domctl_createdomain, cpupool_id);
	OFF(xen_domctl_createdomain, arch);
	SZ(xen_domctl_getdomaininfo);
	OFF(xen_domctl_getdomaininfo, flags);
	OFF(xen_domctl_getdomaininfo, tot_pages);
	OFF(xen_domctl_getdomaininfo, max_pages);
	OFF(xen_domctl_getdomaininfo, shared_info_frame);
	OFF(xen_domctl_getdomaininfo, nr_online_vcpus);
	OFF(xen_domctl_getdomaininfo, handle);
	OFF(xen_domctl_getdomaininfo, cpupool);
	OFF(xen_domctl_getdomaininfo, gpaddr_bits);
	OFF(xen_domctl_getdomaininfo, arch_config);
	SZ(xen_domctl_paging_mempool);
	OFF(xen_domctl, u.paging_mempool.size);
	return 0;
}
