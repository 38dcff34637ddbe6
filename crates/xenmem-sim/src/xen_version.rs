//! `do_xen_version` (hypercall 17, `xen/common/kernel.c`) for the two sub-ops a guest asks to
//! learn which release runs: `XENVER_version` (0) returns `major << 16 | minor`, and
//! `XENVER_extraversion` (1) copies the 16-byte `xen_extraversion_t` (`-EFAULT` if it cannot).
//! Every domain may ask (the default XSM policy allows both). Other sub-ops answer `-ENOSYS`
//! (the model's answer: Xen has more).

use crate::error::errno::*;
use crate::guest_memory::GuestMemory;
use crate::machine::Machine;
use xenmem::abi::{XENVER_EXTRAVERSION, XENVER_VERSION, XEN_EXTRAVERSION_LEN};

/// `do_xen_version(cmd, arg)`.
pub(crate) fn do_xen_version(m: &Machine, mem: &mut dyn GuestMemory, cmd: u64, arg: u64) -> i64 {
    match u32::try_from(cmd) {
        Ok(XENVER_VERSION) => m.cfg.xen.version().raw() as i64,
        Ok(XENVER_EXTRAVERSION) => {
            let mut buf = [0u8; XEN_EXTRAVERSION_LEN];
            let extra = m.cfg.xen.extraversion();
            buf[..extra.len()].copy_from_slice(extra);
            match mem.write(arg, &buf) {
                Ok(()) => 0,
                Err(_) => -(EFAULT as i64),
            }
        }
        _ => -(ENOSYS as i64),
    }
}
