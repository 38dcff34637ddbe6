//! The default XSM policy (`xsm_default_action` in `xen/include/xsm/dummy.h`; Debian's
//! build has no `CONFIG_XSM`).
//!
//! - `XSM_TARGET`: the domain itself, its device model (`src->target == target`), or the
//!   control domain.
//! - `XSM_XS_PRIV`: the xenstore domain, a device model of the target, or the control domain
//!   (note: *not* the domain itself).
//! - `XSM_DM_PRIV`: a device model of the target, or the control domain.
//! - `XSM_PRIV`: the control domain only.
//!
//! Every refusal is `-EPERM`. Reads domain flags only.

use crate::error::errno::EPERM;
use crate::machine::Machine;

fn is_control(m: &Machine, src: u16) -> bool {
    m.domains.get(&src).is_some_and(|d| d.control)
}

fn is_dm_of(m: &Machine, src: u16, target: u16) -> bool {
    m.domains.get(&src).is_some_and(|d| d.target == Some(target))
}

/// `XSM_TARGET`.
pub(crate) fn target(m: &Machine, src: u16, target: u16) -> Result<(), i32> {
    if src == target || is_dm_of(m, src, target) || is_control(m, src) {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// `XSM_XS_PRIV`.
pub(crate) fn xs_priv(m: &Machine, src: u16, target: u16) -> Result<(), i32> {
    let xenstore = m.domains.get(&src).is_some_and(|d| d.xenstore);
    if xenstore || is_dm_of(m, src, target) || is_control(m, src) {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// `XSM_DM_PRIV`.
pub(crate) fn dm_priv(m: &Machine, src: u16, target: u16) -> Result<(), i32> {
    if is_dm_of(m, src, target) || is_control(m, src) {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// `XSM_PRIV`.
pub(crate) fn privileged(m: &Machine, src: u16) -> Result<(), i32> {
    if is_control(m, src) {
        Ok(())
    } else {
        Err(EPERM)
    }
}
