//! Xen 4.17's memory_op, domctl, dm_op and event-channel semantics, run through `xenmem`'s own marshalling
//! (`Xen::new(sim.backend(dom))`) against the model. Every expected value comes from Xen's
//! source, cited beside it (file and function at RELEASE-4.17.7), never from the model's
//! own output.

mod acquire;
mod batch;
mod common;
mod domctl;
mod evtchn;
mod faults;
mod ioreq;
mod lifecycle;
mod physmap;
mod raw;
mod reservation;
mod threads;
