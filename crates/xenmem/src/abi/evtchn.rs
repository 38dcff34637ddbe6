//! Event channels (`HYPERVISOR_event_channel_op`, hypercall 32, `public/event_channel.h` of
//! Xen 4.17): the sub-ops a device model uses and their argument structs, and where the
//! 2-level ABI keeps a domain's pending and mask bits in its shared-info page
//! (`public/xen.h`: `struct shared_info`, `struct vcpu_info`).

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `EVTCHNOP_bind_interdomain`.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// `EVTCHNOP_close`.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// `EVTCHNOP_send`.
pub const EVTCHNOP_SEND: u32 = 4;
/// `EVTCHNOP_status`.
pub const EVTCHNOP_STATUS: u32 = 5;
/// `EVTCHNOP_alloc_unbound`.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// `EVTCHNOP_unmask`.
pub const EVTCHNOP_UNMASK: u32 = 9;

/// `EVTCHNSTAT_closed`: the port is free.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
/// `EVTCHNSTAT_unbound`: waiting for a domain to bind to it.
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
/// `EVTCHNSTAT_interdomain`: connected to a port of another (or the same) domain.
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
/// `EVTCHNSTAT_pirq`: bound to a physical IRQ.
pub const EVTCHNSTAT_PIRQ: u32 = 3;
/// `EVTCHNSTAT_virq`: bound to a virtual IRQ.
pub const EVTCHNSTAT_VIRQ: u32 = 4;
/// `EVTCHNSTAT_ipi`: an inter-processor interrupt of the domain.
pub const EVTCHNSTAT_IPI: u32 = 5;

/// `struct evtchn_alloc_unbound`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct EvtchnAllocUnbound {
    /// IN: the domain the port is allocated in (`DOMID_SELF` allowed).
    pub dom: u16,
    /// IN: the domain that may bind to it.
    pub remote_dom: u16,
    /// OUT: the new port.
    pub port: u32,
}

/// `struct evtchn_bind_interdomain`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct EvtchnBindInterdomain {
    /// IN: the domain whose unbound port this binds to.
    pub remote_dom: u16,
    /// Padding of the C struct.
    pub _pad: u16,
    /// IN: that port.
    pub remote_port: u32,
    /// OUT: the caller's new port.
    pub local_port: u32,
}

/// `struct evtchn_send` and `struct evtchn_close` (one port each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct EvtchnPortArg {
    /// The caller's port.
    pub port: u32,
}

/// `struct evtchn_status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct EvtchnStatus {
    /// IN: the domain (`DOMID_SELF` allowed).
    pub dom: u16,
    /// Padding of the C struct.
    pub _pad: u16,
    /// IN: the port.
    pub port: u32,
    /// OUT: `EVTCHNSTAT_*`.
    pub status: u32,
    /// OUT: the vCPU notified.
    pub vcpu: u32,
    /// OUT: unbound: the remote domain in the low 16 bits of `u[0]`; interdomain: that and
    /// the remote port in `u[1]`; pirq, virq: the number in `u[0]`.
    pub u: [u32; 2],
}

/// Where a guest's shared-info page holds the event-channel state of the 2-level ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SharedInfoLayout {
    /// `sizeof(struct vcpu_info)`.
    pub vcpu_info_size: usize,
    /// `XEN_LEGACY_MAX_VCPUS`: vCPUs whose `vcpu_info` is in the shared-info page.
    pub legacy_vcpus: u32,
    /// `offsetof(struct shared_info, evtchn_pending)`: one bit per port.
    pub evtchn_pending: usize,
    /// `offsetof(struct shared_info, evtchn_mask)`: one bit per port.
    pub evtchn_mask: usize,
}

/// `offsetof(struct vcpu_info, evtchn_upcall_pending)` (a byte).
pub const VCPU_INFO_UPCALL_PENDING: usize = 0;
/// `offsetof(struct vcpu_info, evtchn_pending_sel)`: bit `w` set when word `w` of
/// `evtchn_pending` may have a pending port (`xen_ulong_t`, 64 bits).
pub const VCPU_INFO_PENDING_SEL: usize = 8;
/// Ports of the 2-level ABI for a 64-bit guest: 64 words of 64 bits.
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;

impl SharedInfoLayout {
    /// x86_64: 32 `vcpu_info`s of 64 bytes (`arch_vcpu_info` holds `cr2`).
    pub const X86_64: SharedInfoLayout =
        SharedInfoLayout { vcpu_info_size: 64, legacy_vcpus: 32, evtchn_pending: 2048, evtchn_mask: 2560 };
    /// arm64: one `vcpu_info` of 48 bytes (an empty `arch_vcpu_info`).
    pub const ARM64: SharedInfoLayout =
        SharedInfoLayout { vcpu_info_size: 48, legacy_vcpus: 1, evtchn_pending: 48, evtchn_mask: 560 };

    /// The byte offset of the 64-bit word of `evtchn_pending` holding `port`, and its bit.
    pub const fn pending_word(&self, port: u32) -> (usize, u64) {
        (self.evtchn_pending + (port / 64) as usize * 8, 1 << (port % 64))
    }

    /// As [`SharedInfoLayout::pending_word`], in `evtchn_mask`.
    pub const fn mask_word(&self, port: u32) -> (usize, u64) {
        (self.evtchn_mask + (port / 64) as usize * 8, 1 << (port % 64))
    }

    /// The offset of vCPU `vcpu`'s `vcpu_info` in the page, if it is there.
    pub const fn vcpu_info(&self, vcpu: u32) -> Option<usize> {
        if vcpu < self.legacy_vcpus {
            Some(vcpu as usize * self.vcpu_info_size)
        } else {
            None
        }
    }
}

const _: () = {
    assert!(size_of::<EvtchnAllocUnbound>() == 8);
    assert!(offset_of!(EvtchnAllocUnbound, remote_dom) == 2);
    assert!(offset_of!(EvtchnAllocUnbound, port) == 4);
    assert!(size_of::<EvtchnBindInterdomain>() == 12);
    assert!(offset_of!(EvtchnBindInterdomain, remote_port) == 4);
    assert!(offset_of!(EvtchnBindInterdomain, local_port) == 8);
    assert!(size_of::<EvtchnPortArg>() == 4);
    assert!(size_of::<EvtchnStatus>() == 24);
    assert!(offset_of!(EvtchnStatus, port) == 4);
    assert!(offset_of!(EvtchnStatus, status) == 8);
    assert!(offset_of!(EvtchnStatus, vcpu) == 12);
    assert!(offset_of!(EvtchnStatus, u) == 16);
    // Both layouts keep the bitmaps inside one page: 4096 ports of 1 bit each.
    assert!(SharedInfoLayout::X86_64.evtchn_mask + 512 <= 4096);
    assert!(SharedInfoLayout::ARM64.evtchn_mask + 512 <= 4096);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_bytes() {
        let a = EvtchnAllocUnbound { dom: 0x7ff0, remote_dom: 1, port: 9 };
        assert_eq!(a.as_bytes(), &[0xf0, 0x7f, 1, 0, 9, 0, 0, 0]);
        let b = EvtchnBindInterdomain { remote_dom: 1, _pad: 0, remote_port: 3, local_port: 0x100 };
        assert_eq!(b.as_bytes(), &[1, 0, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(SharedInfoLayout::X86_64.pending_word(65), (2056, 2));
        assert_eq!(SharedInfoLayout::ARM64.mask_word(3), (560, 8));
        assert_eq!(SharedInfoLayout::ARM64.vcpu_info(1), None);
        assert_eq!(SharedInfoLayout::X86_64.vcpu_info(31), Some(31 * 64));
    }
}
