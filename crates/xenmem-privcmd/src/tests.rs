//! Tests that run on any Linux host: layouts, the request a call becomes, decoding, and the
//! error paths of a machine that is not a Xen dom0.

use crate::sys::{self, MulticallEntry, PrivcmdHypercall, PrivcmdMmapResource};
use crate::{Error, Privcmd, PRIVCMD_PATH};
use std::fs::OpenOptions;
use std::path::Path;
use xenmem::{DomId, GrantTableId, ResourceType, Xen, XenError};
use zerocopy::IntoBytes;

#[test]
fn mmap_resource_struct_bytes() {
    let arg = PrivcmdMmapResource {
        dom: 0x0102,
        _pad: 0,
        r#type: 1,
        id: 0x0304_0506,
        idx: 7,
        num: 0x0809,
        addr: 0x7f00_1234_5000,
    };
    let mut want = Vec::new();
    want.extend_from_slice(&[0x02, 0x01, 0, 0]);
    want.extend_from_slice(&1u32.to_le_bytes());
    want.extend_from_slice(&0x0304_0506u32.to_le_bytes());
    want.extend_from_slice(&7u32.to_le_bytes());
    want.extend_from_slice(&0x0809u64.to_le_bytes());
    want.extend_from_slice(&0x7f00_1234_5000u64.to_le_bytes());
    assert_eq!(arg.as_bytes(), &want[..]);
}

#[test]
fn memory_op_becomes_a_one_entry_multicall() {
    let mut entry = MulticallEntry { result: 99, ..MulticallEntry::default() };
    let call = sys::multicall_request(&mut entry, 12, [4, 0x7ffd_0000, 3, 2, 1]);
    assert_eq!(call, PrivcmdHypercall { op: 13, arg: [&raw const entry as u64, 1, 0, 0, 0] });
    assert_eq!(entry, MulticallEntry { op: 12, result: 0, args: [4, 0x7ffd_0000, 3, 2, 1, 0] });
    // As the kernel receives it: op 13, the entry's address, a count of 1, then zeros.
    let mut want = 13u64.to_le_bytes().to_vec();
    want.extend_from_slice(&(&raw const entry as u64).to_le_bytes());
    want.extend_from_slice(&1u64.to_le_bytes());
    want.extend_from_slice(&[0; 24]);
    assert_eq!(call.as_bytes(), &want[..]);
}

#[test]
fn multicall_result_is_the_full_long() {
    let entry = |result: u64| MulticallEntry { result, ..MulticallEntry::default() };
    // An unlimited max_pages: what the ioctl's int would have turned into -1 (EPERM).
    assert_eq!(sys::decode_multicall_result(&entry(0xffff_ffff)), 0xffff_ffff);
    assert_eq!(XenError::check(sys::decode_multicall_result(&entry(0xffff_ffff))), Ok(0xffff_ffff));
    assert_eq!(sys::decode_multicall_result(&entry(65536)), 65536);
    // Xen's -errno is a negative long in the same field.
    assert_eq!(sys::decode_multicall_result(&entry(-3i64 as u64)), -3);
    assert_eq!(XenError::check(sys::decode_multicall_result(&entry(-1i64 as u64))), Err(XenError::Perm));
}

#[test]
fn missing_device_is_not_a_dom0() {
    let err = Privcmd::open_path("/nonexistent/xen/privcmd").unwrap_err();
    assert_eq!(err.to_string(), "not a Xen dom0: /nonexistent/xen/privcmd not found");
    assert_eq!(err.errno(), None);
    assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::NotFound);
    if !Path::new(PRIVCMD_PATH).exists() {
        let err = Privcmd::open().unwrap_err();
        assert_eq!(err, Error::NotDom0 { path: PRIVCMD_PATH.into() });
        assert_eq!(err.to_string(), "not a Xen dom0: /dev/xen/privcmd not found");
    }
}

#[test]
fn other_open_failures_keep_the_errno() {
    // A directory cannot be opened for writing: EISDIR (21), not "not a dom0".
    let err = Privcmd::open_path("/").unwrap_err();
    assert_eq!(err, Error::Os { call: "open", errno: XenError::Other(21) });
    assert_eq!(err.to_string(), "open failed: errno 21");
    assert_eq!(std::io::Error::from(err).raw_os_error(), Some(21));
}

/// A file that is not privcmd: every operation fails the same way, with the driver's errno
/// kept (ENOTTY for the ioctls, ENODEV for mmap of /dev/null).
#[test]
fn bad_handle_every_operation_fails_alike() {
    const ENOTTY: i32 = 25;
    const ENODEV: i32 = 19;
    let null = OpenOptions::new().read(true).write(true).open("/dev/null").unwrap();
    let p = Privcmd::from_file(null);
    let ioctl_err = Error::Os { call: "IOCTL_PRIVCMD_HYPERCALL", errno: XenError::Other(ENOTTY) };
    assert_eq!(p.xen_version(), Err(ioctl_err));
    let xen = Xen::new(&p);
    let e = xenmem::Error::Xen(XenError::Other(ENOTTY));
    assert_eq!(xen.current_reservation(DomId::SELF), Err(e));
    assert_eq!(xen.maximum_reservation(DomId(0)), Err(e));
    assert_eq!(xen.maximum_gpfn(DomId::SELF).map(|g| g.0), Err(e));
    assert_eq!(xen.acquire_resource_size(DomId(1), ResourceType::GrantTable, 0), Err(e));
    assert_eq!(xen.destroy_domain(DomId(1)), Err(e));
    let shared = GrantTableId::Shared as u32;
    assert_eq!(
        p.resource_size(DomId(1), ResourceType::GrantTable, shared),
        Err(Error::Os { call: "IOCTL_PRIVCMD_MMAP_RESOURCE", errno: XenError::Other(ENOTTY) })
    );
    assert_eq!(
        p.map_resource(DomId(1), ResourceType::GrantTable, shared, 0, 1).unwrap_err(),
        Error::Os { call: "mmap", errno: XenError::Other(ENODEV) }
    );
}

#[test]
fn display_names_the_errno() {
    let e = Error::Os { call: "IOCTL_PRIVCMD_MMAP_RESOURCE", errno: XenError::Srch };
    assert_eq!(e.to_string(), "IOCTL_PRIVCMD_MMAP_RESOURCE failed: ESRCH (errno 3)");
    assert_eq!(e.errno(), Some(XenError::Srch));
}
