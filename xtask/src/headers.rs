//! xenmem's ABI against each release's own public headers: Debian's `libxen-dev` of the
//! release's suite, downloaded and unpacked under `out/` (never installed), compiled by
//! `crates/xenmem/tests/abi_headers.rs` and compared line for line with the library's
//! layouts for that release.

use std::process::Command;

use crate::debian::Packages;
use crate::proc::{run, Error};
use crate::table::Release;
use std::path::Path;

/// Runs the header test against `release`'s `libxen-dev`.
pub fn run_for(repo: &Path, release: &Release) -> Result<(), Error> {
    println!("== xenmem's ABI against Xen {}'s public headers (libxen-dev) ==", release.name);
    let root = Packages::new(repo, release.suite)?.unpacked("libxen-dev")?;
    let include = root.join("usr/include");
    if !include.join("xen/domctl.h").exists() {
        return Err(Error::msg(format!("{} has no xen/domctl.h", include.display())));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    run(Command::new(cargo)
        .current_dir(repo)
        .args(["test", "--quiet", "-p", "xenmem", "--test", "abi_headers", "--"])
        .args(["--nocapture", "abi_matches_xens_public_headers"])
        .env("XENMEM_REQUIRE_XEN_HEADERS", "1")
        .env("XENMEM_XEN_HEADERS", format!("{}={}", release.name, include.display())))
}
