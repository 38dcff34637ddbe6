/* Where the 2-level event-channel ABI keeps its bits in struct shared_info. Included by
 * headers.c (x86_64, the host) and by arm64.c (the same headers read as arm64's). */
	V("XEN_LEGACY_MAX_VCPUS", XEN_LEGACY_MAX_VCPUS);
	SZ(vcpu_info);
	OFF(vcpu_info, evtchn_upcall_pending);
	OFF(vcpu_info, evtchn_pending_sel);
	OFF(shared_info, evtchn_pending);
	OFF(shared_info, evtchn_mask);
