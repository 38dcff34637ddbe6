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
#include <xen/event_channel.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/ioreq.h>
#include <string.h>

#define V(name, val) printf("%s %llu\n", name, (unsigned long long)(val))
#define SZ(s) V("sizeof " #s, sizeof(struct s))
#define OFF(s, f) V("offsetof " #s "." #f, offsetof(struct s, f))
/* A C bitfield's bits: set it to all ones (0 minus 1) in a zeroed struct and read back the word
 * holding it (byte 30 of an ioreq, the first u32 of a buf_ioreq). */
#define IOREQ_BITS(f) do { struct ioreq r; memset(&r, 0, sizeof r); r.f--; \
	V("ioreq." #f " bits", ((unsigned char *)&r)[30]); } while (0)
#define BUF_BITS(f) do { struct buf_ioreq b; uint32_t w; memset(&b, 0, sizeof b); b.f--; \
	memcpy(&w, &b, 4); V("buf_ioreq." #f " bits", w); } while (0)

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

	V("XEN_DMOP_create_ioreq_server", XEN_DMOP_create_ioreq_server);
	V("XEN_DMOP_get_ioreq_server_info", XEN_DMOP_get_ioreq_server_info);
	V("XEN_DMOP_map_io_range_to_ioreq_server", XEN_DMOP_map_io_range_to_ioreq_server);
	V("XEN_DMOP_unmap_io_range_from_ioreq_server", XEN_DMOP_unmap_io_range_from_ioreq_server);
	V("XEN_DMOP_set_ioreq_server_state", XEN_DMOP_set_ioreq_server_state);
	V("XEN_DMOP_destroy_ioreq_server", XEN_DMOP_destroy_ioreq_server);
	V("XEN_DMOP_set_irq_level", XEN_DMOP_set_irq_level);
	V("XEN_DMOP_nr_vcpus", XEN_DMOP_nr_vcpus);
	V("XEN_DMOP_no_gfns", XEN_DMOP_no_gfns);
	V("XEN_DMOP_IO_RANGE_PORT", XEN_DMOP_IO_RANGE_PORT);
	V("XEN_DMOP_IO_RANGE_MEMORY", XEN_DMOP_IO_RANGE_MEMORY);
	V("XEN_DMOP_IO_RANGE_PCI", XEN_DMOP_IO_RANGE_PCI);
	V("XEN_DMOP_PCI_SBDF(1,2,3,4)", XEN_DMOP_PCI_SBDF(1, 2, 3, 4));
	V("HVM_IOREQSRV_BUFIOREQ_OFF", HVM_IOREQSRV_BUFIOREQ_OFF);
	V("HVM_IOREQSRV_BUFIOREQ_LEGACY", HVM_IOREQSRV_BUFIOREQ_LEGACY);
	V("HVM_IOREQSRV_BUFIOREQ_ATOMIC", HVM_IOREQSRV_BUFIOREQ_ATOMIC);
	SZ(xen_dm_op_buf);
	OFF(xen_dm_op_buf, h);
	OFF(xen_dm_op_buf, size);
	SZ(xen_dm_op);
	OFF(xen_dm_op, pad);
	OFF(xen_dm_op, u);
	SZ(xen_dm_op_create_ioreq_server);
	OFF(xen_dm_op_create_ioreq_server, pad);
	OFF(xen_dm_op_create_ioreq_server, id);
	SZ(xen_dm_op_get_ioreq_server_info);
	OFF(xen_dm_op_get_ioreq_server_info, flags);
	OFF(xen_dm_op_get_ioreq_server_info, bufioreq_port);
	OFF(xen_dm_op_get_ioreq_server_info, ioreq_gfn);
	OFF(xen_dm_op_get_ioreq_server_info, bufioreq_gfn);
	SZ(xen_dm_op_ioreq_server_range);
	OFF(xen_dm_op_ioreq_server_range, pad);
	OFF(xen_dm_op_ioreq_server_range, type);
	OFF(xen_dm_op_ioreq_server_range, start);
	OFF(xen_dm_op_ioreq_server_range, end);
	SZ(xen_dm_op_set_ioreq_server_state);
	OFF(xen_dm_op_set_ioreq_server_state, enabled);
	OFF(xen_dm_op_set_ioreq_server_state, pad);
	SZ(xen_dm_op_destroy_ioreq_server);
	OFF(xen_dm_op_destroy_ioreq_server, pad);
	SZ(xen_dm_op_nr_vcpus);
	{
		/* Every sub-op's body, by number: Xen copies exactly this much after the header. */
		static const size_t body[] = {
			0,
			sizeof(struct xen_dm_op_create_ioreq_server),
			sizeof(struct xen_dm_op_get_ioreq_server_info),
			sizeof(struct xen_dm_op_ioreq_server_range),
			sizeof(struct xen_dm_op_ioreq_server_range),
			sizeof(struct xen_dm_op_set_ioreq_server_state),
			sizeof(struct xen_dm_op_destroy_ioreq_server),
			sizeof(struct xen_dm_op_track_dirty_vram),
			sizeof(struct xen_dm_op_set_pci_intx_level),
			sizeof(struct xen_dm_op_set_isa_irq_level),
			sizeof(struct xen_dm_op_set_pci_link_route),
			sizeof(struct xen_dm_op_modified_memory),
			sizeof(struct xen_dm_op_set_mem_type),
			sizeof(struct xen_dm_op_inject_event),
			sizeof(struct xen_dm_op_inject_msi),
			sizeof(struct xen_dm_op_map_mem_type_to_ioreq_server),
			sizeof(struct xen_dm_op_remote_shutdown),
			sizeof(struct xen_dm_op_relocate_memory),
			sizeof(struct xen_dm_op_pin_memory_cacheattr),
			sizeof(struct xen_dm_op_set_irq_level),
			sizeof(struct xen_dm_op_nr_vcpus),
		};
		for (unsigned i = 0; i < sizeof body / sizeof body[0]; i++)
			printf("dm_op body %u %zu\n", i, body[i]);
	}

	V("IOREQ_READ", IOREQ_READ);
	V("IOREQ_WRITE", IOREQ_WRITE);
	V("STATE_IOREQ_NONE", STATE_IOREQ_NONE);
	V("STATE_IOREQ_READY", STATE_IOREQ_READY);
	V("STATE_IOREQ_INPROCESS", STATE_IOREQ_INPROCESS);
	V("STATE_IORESP_READY", STATE_IORESP_READY);
	V("IOREQ_TYPE_PIO", IOREQ_TYPE_PIO);
	V("IOREQ_TYPE_COPY", IOREQ_TYPE_COPY);
	V("IOREQ_TYPE_PCI_CONFIG", IOREQ_TYPE_PCI_CONFIG);
	V("IOREQ_TYPE_TIMEOFFSET", IOREQ_TYPE_TIMEOFFSET);
	V("IOREQ_TYPE_INVALIDATE", IOREQ_TYPE_INVALIDATE);
	V("IOREQ_BUFFER_SLOT_NUM", IOREQ_BUFFER_SLOT_NUM);
	SZ(ioreq);
	OFF(ioreq, data);
	OFF(ioreq, count);
	OFF(ioreq, size);
	OFF(ioreq, vp_eport);
	OFF(ioreq, type);
	IOREQ_BITS(state);
	IOREQ_BITS(data_is_ptr);
	IOREQ_BITS(dir);
	IOREQ_BITS(df);
	SZ(shared_iopage);
	SZ(buf_ioreq);
	OFF(buf_ioreq, data);
	BUF_BITS(type);
	BUF_BITS(dir);
	BUF_BITS(size);
	BUF_BITS(addr);
	SZ(buffered_iopage);
	OFF(buffered_iopage, read_pointer);
	OFF(buffered_iopage, write_pointer);
	OFF(buffered_iopage, buf_ioreq);

	V("EVTCHNOP_bind_interdomain", EVTCHNOP_bind_interdomain);
	V("EVTCHNOP_close", EVTCHNOP_close);
	V("EVTCHNOP_send", EVTCHNOP_send);
	V("EVTCHNOP_status", EVTCHNOP_status);
	V("EVTCHNOP_alloc_unbound", EVTCHNOP_alloc_unbound);
	V("EVTCHNOP_unmask", EVTCHNOP_unmask);
	V("EVTCHNSTAT_closed", EVTCHNSTAT_closed);
	V("EVTCHNSTAT_unbound", EVTCHNSTAT_unbound);
	V("EVTCHNSTAT_interdomain", EVTCHNSTAT_interdomain);
	V("EVTCHNSTAT_pirq", EVTCHNSTAT_pirq);
	V("EVTCHNSTAT_virq", EVTCHNSTAT_virq);
	V("EVTCHNSTAT_ipi", EVTCHNSTAT_ipi);
	SZ(evtchn_alloc_unbound);
	OFF(evtchn_alloc_unbound, remote_dom);
	OFF(evtchn_alloc_unbound, port);
	SZ(evtchn_bind_interdomain);
	OFF(evtchn_bind_interdomain, remote_port);
	OFF(evtchn_bind_interdomain, local_port);
	SZ(evtchn_send);
	SZ(evtchn_close);
	SZ(evtchn_status);
	OFF(evtchn_status, port);
	OFF(evtchn_status, status);
	OFF(evtchn_status, vcpu);
	OFF(evtchn_status, u);
	OFF(evtchn_status, u.interdomain.port);
#include "shared_info.h"
	return 0;
}
