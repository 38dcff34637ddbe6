//! The QEMU machines the kernels boot on, one per architecture, and what their consoles say.
//!
//! - x86_64: q35 with `-cpu max` and an AMD IOMMU (a PVH dom0 needs HAP and an IOMMU), 512 MiB,
//!   Xen's multiboot ELF as `-kernel`; modules: the kernel as dom0 (`role=dom0`), then the
//!   same file again, which Xen hands to dom0 as its first module: the image dom0 builds the
//!   domU from. Dom0 ends with SCHEDOP_shutdown(reboot), which `-no-reboot` turns into an exit.
//! - arm64: virt with virtualization and GICv3, a Cortex-A57, 1 GiB; Xen's Image as `-kernel`,
//!   QEMU's own device tree plus (under `/chosen`) dom0's module and a dom0less domU
//!   (`docs/misc/arm/device-tree/booting.txt`: 128 MiB, 1 vCPU, an emulated PL011, its kernel
//!   a module of its own), and the two copies of the image placed by `-device loader`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::debian::{ensure_tools, out_dir};
use crate::proc::{output, run, Error};
use crate::table::Arch;

/// Where QEMU's loader puts the two copies of the arm64 image in the machine's RAM
/// (0x40000000, 1 GiB), clear of Xen (loaded at 0x40200000, which relocates itself to the top
/// of RAM) and of the device tree QEMU places at the start of RAM.
const ARM64_DOM0_AT: u64 = 0x4900_0000;
const ARM64_DOMU_AT: u64 = 0x4a00_0000;
const ARM64_MACHINE: &str = "virt,virtualization=on,gic-version=3";

/// Installs QEMU (and dtc for arm64) when missing.
pub fn tools(arch: Arch) -> Result<(), Error> {
    match arch {
        Arch::X86_64 => ensure_tools(&[("qemu-system-x86_64", "qemu-system-x86")]),
        Arch::Arm64 => {
            ensure_tools(&[("qemu-system-aarch64", "qemu-system-arm"), ("dtc", "device-tree-compiler")])
        }
    }
}

/// The file QEMU's `-kernel` takes for the hypervisor unpacked at `root` (Xen's x86 package
/// ships a gzipped multiboot ELF, which QEMU does not unpack).
pub fn hypervisor_image(root: &Path, file: &str) -> Result<PathBuf, Error> {
    let packed = root.join(file);
    let Some(gz) = file.strip_suffix(".gz") else { return Ok(packed) };
    let elf = root.join(gz);
    if !elf.exists() {
        let out = Command::new("gunzip").arg("-c").arg(&packed).output().map_err(Error::spawn("gunzip"))?;
        if !out.status.success() {
            return Err(Error::msg(format!("gunzip {}: {}", packed.display(), out.status)));
        }
        fs::write(&elf, out.stdout).map_err(Error::io(&elf))?;
    }
    Ok(elf)
}

/// The QEMU command that boots `xen` with `kernel` on `arch`'s machine.
pub fn command(repo: &Path, arch: Arch, xen: &Path, kernel: &Path) -> Result<Command, Error> {
    match arch {
        Arch::X86_64 => {
            let k = kernel.display();
            let mut c = Command::new("qemu-system-x86_64");
            c.args(["-nographic", "-no-reboot", "-machine", "q35", "-cpu", "max", "-device", "amd-iommu"])
                .args(["-m", "512", "-monitor", "none", "-serial", "stdio", "-display", "none"])
                .arg("-kernel")
                .arg(xen)
                .arg("-initrd")
                .arg(format!("{k} role=dom0,{k}"))
                .args(["-append", "console=com1 dom0=pvh dom0_mem=64M loglvl=all guest_loglvl=all"]);
            Ok(c)
        }
        Arch::Arm64 => {
            let dtb = arm64_device_tree(repo, kernel)?;
            let mut c = Command::new("qemu-system-aarch64");
            c.args(["-machine", ARM64_MACHINE, "-cpu", "cortex-a57", "-m", "1G"])
                .args(["-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio"])
                .arg("-kernel")
                .arg(xen)
                .arg("-dtb")
                .arg(&dtb)
                .args([
                    "-append",
                    "console=dtuart dtuart=/pl011@9000000 dom0_mem=128M loglvl=all guest_loglvl=all",
                ]);
            for at in [ARM64_DOM0_AT, ARM64_DOMU_AT] {
                c.arg("-device").arg(format!("loader,file={},addr={at:#x},force-raw=on", kernel.display()));
            }
            Ok(c)
        }
    }
}

/// QEMU's own device tree for the arm64 machine, with the two domains added under `/chosen`,
/// compiled to `out/real-xen-arm64.dtb` (its source beside it, for reading).
fn arm64_device_tree(repo: &Path, image: &Path) -> Result<PathBuf, Error> {
    let out = out_dir(repo);
    let size = fs::metadata(image).map_err(Error::io(image))?.len();
    let virt = out.join("virt.dtb");
    run(Command::new("qemu-system-aarch64")
        .args(["-machine", &format!("{ARM64_MACHINE},dumpdtb={}", virt.display())])
        .args(["-cpu", "cortex-a57", "-m", "1G", "-nographic"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null()))?;
    let dts = output(Command::new("dtc").args(["-q", "-I", "dtb", "-O", "dts"]).arg(&virt))?;
    let dts = add_domains(&dts, size)?;
    let dts_file = out.join("real-xen-arm64.dts");
    fs::write(&dts_file, dts).map_err(Error::io(&dts_file))?;
    let dtb = out.join("real-xen-arm64.dtb");
    run(Command::new("dtc").args(["-q", "-I", "dts", "-O", "dtb", "-o"]).arg(&dtb).arg(&dts_file))?;
    Ok(dtb)
}

/// Adds dom0's module and the dom0less domU under `/chosen` of a decompiled tree, and drops
/// the random seeds QEMU puts there, so that the same inputs give the same tree.
fn add_domains(dts: &str, image_size: u64) -> Result<String, Error> {
    let nodes = format!(
        "\t\t#address-cells = <0x02>;\n\
         \t\t#size-cells = <0x02>;\n\
         \n\
         \t\tmodule@{d0:x} {{\n\
         \t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";\n\
         \t\t\treg = <0x00 {d0:#x} 0x00 {size:#x}>;\n\
         \t\t\tbootargs = \"role=dom0\";\n\
         \t\t}};\n\
         \n\
         \t\tdomU1 {{\n\
         \t\t\tcompatible = \"xen,domain\";\n\
         \t\t\t#address-cells = <0x02>;\n\
         \t\t\t#size-cells = <0x01>;\n\
         \t\t\tmemory = <0x00 0x20000>;\n\
         \t\t\tcpus = <0x01>;\n\
         \t\t\tvpl011;\n\
         \n\
         \t\t\tmodule@{du:x} {{\n\
         \t\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";\n\
         \t\t\t\treg = <0x00 {du:#x} {size:#x}>;\n\
         \t\t\t\tbootargs = \"role=domu\";\n\
         \t\t\t}};\n\
         \t\t}};\n",
        d0 = ARM64_DOM0_AT,
        du = ARM64_DOMU_AT,
        size = image_size
    );
    let mut out = String::new();
    let mut in_chosen = false;
    let mut added = false;
    for line in dts.lines() {
        if line.starts_with("\tchosen {") {
            in_chosen = true;
        } else if in_chosen && (line.starts_with("\t\trng-seed =") || line.starts_with("\t\tkaslr-seed =")) {
            continue;
        } else if in_chosen && line == "\t};" {
            out.push_str(&nodes);
            in_chosen = false;
            added = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !added {
        return Err(Error::msg("QEMU's device tree has no /chosen node to add the domains to".to_string()));
    }
    Ok(out)
}

/// The lines of a serial console log, carriage returns dropped.
pub fn console_lines(log: &Path) -> Result<Vec<String>, Error> {
    let bytes = fs::read(log).map_err(Error::io(log))?;
    Ok(String::from_utf8_lossy(&bytes).lines().map(|l| l.trim_end_matches('\r').to_string()).collect())
}

/// The text after `tag` on each console line that carries it, after an optional Xen prefix:
/// `(XEN) ` or `(d0) ` for dom0's own console_io (in case a Xen build adds one), `(dN) ` for
/// a domU's console_io (Xen prints a dom0less domU's line by line).
pub fn tagged<'a>(lines: &'a [String], tag: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| {
            let l = l.as_str();
            let unprefixed = match l.strip_prefix('(') {
                Some(rest) => rest.split_once(") ").map_or(l, |(who, rest)| {
                    let xen_or_domain = who == "XEN"
                        || (who.starts_with('d') && who[1..].chars().all(|c| c.is_ascii_digit()));
                    if xen_or_domain {
                        rest
                    } else {
                        l
                    }
                }),
                None => l,
            };
            unprefixed.strip_prefix(tag)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_found_behind_any_xen_prefix_only() {
        let lines: Vec<String> =
            ["xenmem: a -> ok", "(d1) xenmem-domu: b", "(XEN) xenmem: c", "(x) xenmem: d", "noise xenmem: e"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(tagged(&lines, "xenmem: "), ["a -> ok", "c"]);
        assert_eq!(tagged(&lines, "xenmem-domu: "), ["b"]);
    }

    #[test]
    fn the_domains_go_under_chosen_and_the_seeds_go() {
        let dts = "/ {\n\tchosen {\n\t\trng-seed = <0x1>;\n\t\tstdout-path = \"/pl011\";\n\t};\n};\n";
        let out = add_domains(dts, 0x5000).unwrap();
        assert!(!out.contains("rng-seed"));
        assert!(out.contains("\t\tmodule@49000000 {\n"));
        assert!(out.contains("reg = <0x00 0x4a000000 0x5000>;"));
        assert!(out.find("domU1").unwrap() < out.find("\t};\n};").unwrap());
        assert!(add_domains("/ {\n};\n", 1).is_err());
    }
}
