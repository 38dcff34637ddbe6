//! Building the freestanding guest kernels: each has its own workspace, target directory and
//! flags (its `.cargo/config.toml`), none of which may reach the host crates, and a caller's
//! RUSTFLAGS would replace those flags, so none are passed on.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::proc::{run, Error};
use crate::table::Arch;

/// A cargo command in the kernel's folder, with its own target directory and no inherited
/// flags. arm64 builds with Debian's rustc-web, which carries the library source for
/// `-Zbuild-std` (scripts/arm64-toolchain.sh installs it).
fn kernel_cargo(repo: &Path, arch: Arch) -> Command {
    let dir = repo.join("guest").join(match arch {
        Arch::X86_64 => "x86_64",
        Arch::Arm64 => "aarch64",
    });
    let mut c = Command::new("cargo");
    c.current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    if arch == Arch::Arm64 {
        c.env("RUSTC", "/usr/bin/rustc").env("RUSTC_BOOTSTRAP", "1");
    }
    c
}

/// Installs what the arm64 build needs (idempotent).
fn arm64_toolchain(repo: &Path) -> Result<(), Error> {
    run(Command::new("bash").arg(repo.join("scripts/arm64-toolchain.sh")).arg("install"))
}

/// Builds the kernel for `arch` and returns the file QEMU is given: the x86_64 ELF itself, or
/// the arm64 Image (the ELF's load image, with the 64-byte header of Linux's arm64 boot
/// protocol at its start).
pub fn build(repo: &Path, arch: Arch) -> Result<PathBuf, Error> {
    if arch == Arch::Arm64 {
        arm64_toolchain(repo)?;
    }
    run(kernel_cargo(repo, arch).args(["build", "--release", "--quiet"]))?;
    let target = repo.join("guest");
    match arch {
        Arch::X86_64 => {
            let elf = target.join("x86_64/target/x86_64-unknown-linux-gnu/release/xenmem-guest-x86_64");
            // QEMU's multiboot module list is comma-separated ("file args,file args").
            if elf.to_string_lossy().contains(',') {
                return Err(Error::msg(format!(
                    "the kernel's path must not contain a comma: {}",
                    elf.display()
                )));
            }
            Ok(elf)
        }
        Arch::Arm64 => {
            let elf =
                target.join("aarch64/target/aarch64-unknown-none-softfloat/release/xenmem-guest-aarch64");
            let out = crate::debian::out_dir(repo);
            fs::create_dir_all(&out).map_err(Error::io(&out))?;
            let image = out.join("xenmem-guest-aarch64.img");
            run(Command::new("aarch64-linux-gnu-objcopy").args(["-O", "binary"]).arg(&elf).arg(&image))?;
            let bytes = fs::read(&image).map_err(Error::io(&image))?;
            if bytes.get(56..60) != Some(b"ARM\x64") {
                return Err(Error::msg(format!("{}: no arm64 Image magic", image.display())));
            }
            Ok(image)
        }
    }
}

/// Clippy over the kernel of `arch`, warnings as errors. The arm64 kernel needs Debian's
/// clippy of the same rustc-web (rustup's cannot build core from that source).
pub fn lint(repo: &Path, arch: Arch) -> Result<(), Error> {
    match arch {
        Arch::X86_64 => {
            run(kernel_cargo(repo, arch).args(["clippy", "--release", "--quiet", "--", "-D", "warnings"]))
        }
        Arch::Arm64 => run(Command::new("bash").arg(repo.join("scripts/arm64-toolchain.sh")).arg("lint")),
    }
}
