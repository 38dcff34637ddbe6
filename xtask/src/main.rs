//! `cargo xtask`: the project's runs on the real hypervisor, under QEMU.
//!
//! ```text
//! cargo xtask conformance [--arch x86_64|arm64|all] [--xen RELEASE|all] [--record]
//! cargo xtask linux-dom0 [--xen RELEASE|all] [--record]
//! cargo xtask abi-headers [--xen RELEASE|all]
//! cargo xtask lint-kernels
//! cargo xtask list
//! ```
//!
//! Each fetches what it needs from Debian (cached under `out/`), builds the kernels, boots
//! under a timeout (`BOOT_TIMEOUT` seconds), and exits non-zero on any difference or failed
//! boot. Which releases and machines exist is a table (`table.rs`); every command takes all
//! of them unless told otherwise. Needs root, for apt-get.

mod debian;
mod economy;
mod guest;
mod headers;
mod judge;
mod linux_dom0;
mod machine;
mod proc;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use table::{Arch, Release, ARCHES, RELEASES};

const USAGE: &str = "usage: cargo xtask conformance [--arch x86_64|arm64|all] [--xen RELEASE|all] [--record]
       cargo xtask linux-dom0 [--xen RELEASE|all] [--record]
       cargo xtask abi-headers [--xen RELEASE|all]
       cargo xtask lint-kernels
       cargo xtask list";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repo = repo();
    match run(&repo, &args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Usage(msg)) => {
            eprintln!("{msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// A command line that cannot be run.
struct Usage(String);

/// The repository: xtask's manifest sits one folder below it.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The value of `--name`, if given.
fn option<'a>(args: &'a [String], name: &str) -> Result<Option<&'a str>, Usage> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            args.get(i + 1).map(|v| Some(v.as_str())).ok_or_else(|| Usage(format!("{name} needs a value")))
        }
    }
}

fn releases(args: &[String]) -> Result<Vec<&'static Release>, Usage> {
    match option(args, "--xen")? {
        None | Some("all") => Ok(RELEASES.iter().collect()),
        Some(name) => Release::find(name)
            .map(|r| vec![r])
            .ok_or_else(|| Usage(format!("unknown Xen release {name}: the runs cover {}", Release::names()))),
    }
}

fn arches(args: &[String]) -> Result<Vec<Arch>, Usage> {
    match option(args, "--arch")? {
        None | Some("all") => Ok(ARCHES.to_vec()),
        Some(a) => Arch::parse(a).map(|a| vec![a]).ok_or_else(|| Usage(format!("unknown architecture {a}"))),
    }
}

/// Runs one command; `Ok(false)` when it ran and something failed (already reported).
fn run(repo: &Path, args: &[String]) -> Result<bool, Usage> {
    let Some(command) = args.first() else { return Err(Usage("no command".to_string())) };
    let rest = &args[1..];
    match command.as_str() {
        "conformance" => {
            let (releases, arches, record) =
                (releases(rest)?, arches(rest)?, rest.iter().any(|a| a == "--record"));
            let mut ok = true;
            let mut summaries = Vec::new();
            for release in releases {
                let mut told_apart = None;
                for &arch in &arches {
                    match judge::run(repo, release, arch, record) {
                        Ok(o) => {
                            ok &= o.ok;
                            summaries.extend(o.summaries);
                            if let Some(k) = o.first_release_differ {
                                *told_apart.get_or_insert(0) += k;
                            }
                        }
                        Err(e) => {
                            eprintln!("xtask: {e}");
                            ok = false;
                        }
                    }
                }
                if let Some(k) = told_apart {
                    let first = Release::first().name;
                    summaries.push(format!("model as {first} vs real {}: {k} differ", release.name));
                    if k == 0 {
                        eprintln!("xtask: the suite cannot tell Xen {} from {first}", release.name);
                        ok = false;
                    }
                }
            }
            for s in &summaries {
                println!("{s}");
            }
            Ok(ok)
        }
        "linux-dom0" => {
            let (mut ok, record) = (true, rest.iter().any(|a| a == "--record"));
            for release in releases(rest)? {
                if let Err(e) = linux_dom0::run(repo, release, record).map(|passed| ok &= passed) {
                    eprintln!("xtask: {e}");
                    ok = false;
                }
            }
            Ok(ok)
        }
        "abi-headers" => {
            let mut ok = true;
            for release in releases(rest)? {
                if let Err(e) = headers::run_for(repo, release) {
                    eprintln!("xtask: {e}");
                    ok = false;
                }
            }
            Ok(ok)
        }
        "lint-kernels" => {
            let mut ok = true;
            for &arch in ARCHES {
                if let Err(e) = guest::lint(repo, arch) {
                    eprintln!("xtask: clippy over the {} kernel: {e}", arch.name());
                    ok = false;
                }
            }
            Ok(ok)
        }
        "list" => {
            for r in RELEASES {
                for &a in ARCHES {
                    println!(
                        "xen {} {}: {}, {}",
                        r.name,
                        a.name(),
                        r.hypervisor_package(a),
                        r.hypervisor_file(a)
                    );
                }
            }
            Ok(true)
        }
        other => Err(Usage(format!("unknown command {other}"))),
    }
}
