//! Xen's memory_op, domctl, dm_op and event-channel semantics, run through `xenmem`'s own marshalling
//! (`Xen::new(sim.backend(dom))`) against the model: Xen 4.17's in every module but
//! `releases`, which holds what 4.20 answers differently. Every expected value comes from
//! Xen's source, cited beside it (file and function at RELEASE-4.17.7, or the commit that
//! changed it), never from the model's own output.

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
mod releases;
mod reservation;
mod threads;
