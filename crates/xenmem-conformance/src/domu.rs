//! The unprivileged cases: a domU calls every operation on itself, on dom0, and on ids that
//! name nothing. (Filled in by the domU issue.)

use crate::report::V;
use crate::{Platform, Run};
use xenmem::DomId;

pub(crate) fn run<P: Platform>(r: &mut Run<'_, P>) {
    let v = r.xen().current_reservation(DomId::SELF);
    r.obs("domu.query", format_args!("current_reservation(SELF)"), V(v.map(|_| 0)));
    let v = r.xen().current_reservation(DomId(0));
    r.obs("domu.query", format_args!("current_reservation(d0)"), V(v));
}
