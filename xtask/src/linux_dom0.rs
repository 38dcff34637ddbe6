//! The `xenmem` command on a real Linux dom0: Debian's Xen with the same Debian's Linux as an
//! x86 PV dom0 under QEMU (Debian 12's 6.1 on 4.17, Debian 13's 6.12 on 4.20: each release's
//! `linux` in the table), an initramfs holding a static `xenmem` (crates/xenmem-cli), its dom0
//! subcommands run through /dev/xen/privcmd and each answer checked against what Xen itself
//! reports; then the conformance suite through privcmd, diffed by the command against its
//! embedded model configured as the same PV dom0, and held to the golden file. Two boots:
//! 1. `dom0_mem=256M,max:256M`: dom0 has a page limit (65536 pages);
//! 2. `dom0_mem=256M`: no limit; max_pages is 0xFFFFFFFF, which must print as unlimited.
//!
//! QEMU's CPU is qemu64 with svm and npt: the scratch PVH domain needs HAP, and Debian's
//! Linux does not boot as a PV dom0 under `-cpu max`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use xenmem_conformance::model::compare;

use crate::debian::{ensure_tools, out_dir, Packages};
use crate::judge::golden_dir;
use crate::machine::console_lines;
use crate::proc::{self, output, run as run_cmd, Error};
use crate::table::Release;

/// The initramfs's `/init`. Each command is echoed as `+ xenmem ARGS`, its output follows,
/// then `= exit N`: the checks read answers and exit statuses by command.
const INIT: &str = r#"#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp
x() { echo "+ xenmem $*"; /bin/xenmem "$@" 2>&1; echo "= exit $?"; }
echo "cli: start"
# Before xen-privcmd is loaded this Linux is no dom0 as far as user space can tell.
x --backend privcmd domain info 0
insmod /lib/modules/xen-privcmd.ko || echo "init: insmod xen-privcmd.ko failed"
x --backend privcmd reservation self
x --backend privcmd reservation 0
x --backend privcmd --json reservation 0
x --backend privcmd reservation 7
x --backend privcmd resource 0 --size-only
x --backend privcmd resource self --size-only
# The suite first: it creates its domU through domctl, and Xen hands out ids from a rover
# (a destroyed domain's id is not reused at once), so the model, whose domU is the first
# domain it creates, names it alike only if no other domain was created before.
x --backend privcmd conformance --out /tmp/conformance.lines
echo "cli: conformance lines begin"
cat /tmp/conformance.lines
echo "cli: conformance lines end"
created=$(/bin/xenmem --backend privcmd domain create --pages 4 --at 0x100 --max-kib 1024 --grant-frames 32 2>&1)
echo "+ xenmem --backend privcmd domain create --pages 4 --at 0x100 --max-kib 1024 --grant-frames 32"
echo "$created"
d=$(echo "$created" | sed -n 's/^created d\([0-9]*\):.*/\1/p')
echo "cli: scratch domain d$d"
if [ -n "$d" ]; then
    x --backend privcmd domain info "$d"
    x --backend privcmd reservation "$d"
    x --backend privcmd resource "$d" --id shared --size-only
    x --backend privcmd resource "$d" --id status --size-only
    x --backend privcmd resource "$d" --id shared --count 1
    x --backend privcmd resource "$d" --type ioreq_server --size-only
    x --backend privcmd resource "$d" --type ioreq_server --count 1
    x --backend privcmd read-frame "$d" 0x100 --len 64
    x --backend privcmd write-frame "$d" 0x101 --text "xenmem was here"
    x --backend privcmd read-frame "$d" 0x101 --len 32
    x --backend privcmd read-frame "$d" 0x5000 --len 16
    x --backend privcmd domain destroy "$d"
    x --backend privcmd domain info "$d"
fi
echo "cli: done"
reboot -f
"#;

/// The two boots: their Xen `dom0_mem` and the log's name.
const BOOTS: [(&str, &str); 2] = [("256M,max:256M", "max"), ("256M", "nomax")];

/// Runs both boots on `release` and all checks; `Ok(false)` if any check failed. With
/// `record`, real Xen's privcmd lines are first written as the release's golden file.
pub fn run(repo: &Path, release: &Release, record: bool) -> Result<bool, Error> {
    println!(
        "== Xen {} with Debian's Linux as a PV dom0, the static xenmem in its initramfs ==",
        release.name
    );
    ensure_tools(&[
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("/bin/busybox", "busybox-static"),
        ("cpio", "cpio"),
        ("xz", "xz-utils"),
        ("zstd", "zstd"),
    ])?;
    let work = out_dir(repo).join(format!("xen-{}", release.name)).join("linux-dom0");
    fs::create_dir_all(&work).map_err(Error::io(&work))?;
    let packages = Packages::new(repo, release.suite)?;
    let root = packages.unpacked(&release.hypervisor_package(crate::table::Arch::X86_64))?;
    let xen = crate::machine::hypervisor_image(&root, &release.hypervisor_file(crate::table::Arch::X86_64))?;
    let linux_packages = Packages::new(repo, release.linux.0)?;
    let kernel_pkg = linux_packages.dependency_with_prefix("linux-image-amd64", release.linux.1)?;
    println!("kernel package: {kernel_pkg}");
    let (vmlinux, privcmd) = kernel(&linux_packages, &kernel_pkg, &work)?;
    let xenmem = static_xenmem(repo, &work)?;
    let initrd = initramfs(&work, &xenmem, &privcmd)?;

    let mut checks = Checks::default();
    let mut logs = Vec::new();
    for (mem, name) in BOOTS {
        let log = work.join(format!("{name}.log"));
        let mut qemu = Command::new("qemu-system-x86_64");
        qemu.args(["-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio", "-display", "none"])
            .args(["-cpu", "qemu64,+svm,+npt", "-m", "512", "-kernel"])
            .arg(&xen)
            .arg("-append")
            .arg(format!("console=com1 loglvl=all guest_loglvl=all dom0_mem={mem}"))
            .arg("-initrd")
            .arg(format!(
                "{} console=hvc0 earlyprintk=xen rdinit=/init quiet,{}",
                vmlinux.display(),
                initrd.display()
            ));
        let boot = proc::boot(&mut qemu, &log, proc::timeout(300))?;
        println!("boot (dom0_mem={mem}) to exit: {}", boot.describe());
        logs.push(Log::read(&log)?);
    }
    for log in &logs {
        check_boot(&mut checks, log);
    }
    let (max, nomax) = (&logs[0], &logs[1]);
    checks.line(max, "--backend privcmd reservation 0", "maximum_reservation(d0) = 65536 pages (262144 KiB)");
    // No max: Xen leaves max_pages at UINT_MAX; privcmd's int would make it -1/EPERM.
    checks.line(nomax, "--backend privcmd reservation 0", "maximum_reservation(d0) = unlimited");
    let json: String =
        nomax.output("--backend privcmd --json reservation 0").join("").split_whitespace().collect();
    checks.expect(
        json.contains(r#""maximum_reservation":{"unlimited":true,"value":4294967295}"#),
        "--json: maximum_reservation 4294967295, unlimited",
        &json,
    );

    // The suite through privcmd: the command's own diff against its model, each boot.
    let conformance = "--backend privcmd conformance --out /tmp/conformance.lines";
    for log in &logs {
        println!("--- conformance, {}", log.name);
        let out = log.output(conformance);
        for l in out.iter().filter(|l| {
            ["real", "DIFF", "  real Xen", "  model", "conformance"].iter().any(|p| l.starts_with(p))
        }) {
            println!("{l}");
        }
        let summary = out
            .iter()
            .find(|l| l.starts_with("conformance (pv dom0, privcmd):"))
            .cloned()
            .unwrap_or_default();
        checks.expect(
            summary_agrees(&summary),
            &summary,
            "the conformance run printed no summary with 0 differ",
        );
    }
    // And real Xen's lines against the recording the CLI's tests hold the model to.
    let lines = nomax.between("cli: conformance lines begin", "cli: conformance lines end");
    let file = golden_dir(repo, release).join("x86_64-pv-dom0.txt");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(work.join("conformance.lines"), &text).map_err(Error::io(&work))?;
    if record && !lines.is_empty() {
        fs::write(&file, &text).map_err(Error::io(&file))?;
        println!("recorded real Xen's answers in {} (review the diff before committing)", file.display());
    }
    let recorded = fs::read_to_string(&file).unwrap_or_default();
    let c = compare(&recorded, &text);
    for (n, was, now) in &c.differ {
        println!("  line {n}\n    recorded: {was}\n    now:      {now}");
    }
    checks.expect(
        c.differ.is_empty() && !lines.is_empty(),
        &format!("real Xen's privcmd lines ({}) match {}", lines.len(), file.display()),
        &format!("{} lines differ from the recording", c.differ.len()),
    );

    // The command's summary, named by release as the kernels' runs are.
    if let Some(rest) =
        logs[1].output(conformance).iter().find_map(|l| l.strip_prefix("conformance (pv dom0, privcmd): "))
    {
        let label = match release.label {
            "" => "pv dom0, privcmd".to_string(),
            l => format!("{l}, pv dom0, privcmd"),
        };
        println!("conformance ({label}): {rest}");
    }
    println!();
    if checks.failed > 0 {
        println!(
            "real-linux-dom0 (xen {}): {} of {} checks FAILED",
            release.name, checks.failed, checks.total
        );
        return Ok(false);
    }
    println!("real-linux-dom0 (xen {}): all {} checks passed", release.name, checks.total);
    Ok(true)
}

fn summary_agrees(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("conformance (pv dom0, privcmd): ") else { return false };
    let words: Vec<&str> = rest.split(' ').collect();
    matches!(words.as_slice(), [n, "observations,", a, "agree,", "0", "differ"] if n == a && n.parse::<u32>().is_ok())
}

/// The kernel image as an ELF (Xen decompresses a bzImage slowly under TCG: hand it the ELF
/// inside the compressed stream) and the privcmd module, from the kernel package; kept per
/// package, so releases with different kernels do not share them.
fn kernel(packages: &Packages, package: &str, work: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let dir = work.join(package);
    let vmlinux = dir.join("vmlinux");
    let privcmd = dir.join("xen-privcmd.ko");
    if vmlinux.exists() && privcmd.exists() {
        return Ok((vmlinux, privcmd));
    }
    let deb = packages.deb(package)?;
    let root = dir.join("kernel-root");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).map_err(Error::io(&root))?;
    // Only the two files: the package holds every module (compressed in newer Debian).
    run_cmd(Command::new("sh").arg("-c").arg(format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --wildcards './boot/vmlinuz-*' '*/kernel/drivers/xen/xen-privcmd.ko*'",
        deb.display(),
        root.display()
    )))?;
    let find = |dir: &Path, pred: &dyn Fn(&str) -> bool| -> Option<PathBuf> {
        let out = Command::new("find").arg(dir).arg("-type").arg("f").output().ok()?;
        String::from_utf8_lossy(&out.stdout).lines().find(|l| pred(l)).map(PathBuf::from)
    };
    let vmlinuz = find(&root, &|l| l.contains("/boot/vmlinuz-"))
        .ok_or_else(|| Error::msg("no vmlinuz in the kernel package".into()))?;
    let ko = find(&root, &|l| l.contains("/xen-privcmd.ko"))
        .ok_or_else(|| Error::msg("no xen-privcmd.ko in the kernel package".into()))?;
    let z = fs::read(&vmlinuz).map_err(Error::io(&vmlinuz))?;
    // The first compressed stream the bzImage holds: its payload.
    let (at, tool) =
        [(&[0xfd, b'7', b'z', b'X', b'Z', 0][..], "xz"), (&[0x28, 0xb5, 0x2f, 0xfd][..], "zstd")]
            .iter()
            .filter_map(|(magic, tool)| {
                z.windows(magic.len()).position(|w| w == *magic).map(|at| (at, *tool))
            })
            .min()
            .ok_or_else(|| Error::msg(format!("no xz or zstd stream in {}", vmlinuz.display())))?;
    let elf = decompress(tool, z[at..].to_vec())?;
    if !elf.starts_with(b"\x7fELF") {
        return Err(Error::msg(format!("what {} holds at {at} is not an ELF kernel", vmlinuz.display())));
    }
    fs::write(&vmlinux, &elf).map_err(Error::io(&vmlinux))?;
    let module = fs::read(&ko).map_err(Error::io(&ko))?;
    let module = match ko.extension().and_then(|e| e.to_str()) {
        Some("xz") => decompress("xz", module)?,
        Some("zst") => decompress("zstd", module)?,
        _ => module,
    };
    fs::write(&privcmd, &module).map_err(Error::io(&privcmd))?;
    Ok((vmlinux, privcmd))
}

/// `data` through `tool -dc`, its first stream only (a kernel image holds more after it).
fn decompress(tool: &str, data: Vec<u8>) -> Result<Vec<u8>, Error> {
    let mut child = Command::new(tool)
        .args(if tool == "xz" { &["-dc", "--single-stream"][..] } else { &["-dc"][..] })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(Error::spawn(tool))?;
    let mut stdin = child.stdin.take().ok_or_else(|| Error::msg(format!("{tool} has no stdin")))?;
    let feeder = std::thread::spawn(move || {
        // The tool may stop reading after the stream: a broken pipe then is expected.
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().map_err(Error::spawn(tool))?;
    let _ = feeder.join();
    Ok(out.stdout)
}

/// `xenmem`, linked statically (the initramfs has no libc), in its own target directory: the
/// static flags would otherwise invalidate the workspace's builds, and `--target` keeps them
/// off the proc-macros (clap's derive), which must stay dynamic.
fn static_xenmem(repo: &Path, work: &Path) -> Result<PathBuf, Error> {
    let target = work.join("target");
    let start = std::time::Instant::now();
    run_cmd(
        Command::new("cargo")
            .current_dir(repo)
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .args(["build", "--quiet", "--release", "-p", "xenmem-cli", "--bin", "xenmem"])
            .args(["--target", "x86_64-unknown-linux-gnu"]),
    )?;
    println!("static xenmem built in {:.1} s", start.elapsed().as_secs_f64());
    Ok(target.join("x86_64-unknown-linux-gnu/release/xenmem"))
}

/// busybox and its applets, the privcmd module, the stripped `xenmem` and the `/init`.
fn initramfs(work: &Path, xenmem: &Path, privcmd: &Path) -> Result<PathBuf, Error> {
    let root = work.join("initramfs");
    let _ = fs::remove_dir_all(&root);
    for d in ["bin", "sbin", "dev", "proc", "sys", "lib/modules"] {
        fs::create_dir_all(root.join(d)).map_err(Error::io(&root))?;
    }
    let busybox = root.join("bin/busybox");
    fs::copy("/bin/busybox", &busybox).map_err(Error::io(Path::new("/bin/busybox")))?;
    for applet in output(Command::new(&busybox).arg("--list"))?.lines() {
        let link = root.join("bin").join(applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", &link).map_err(Error::io(&link))?;
        }
    }
    fs::copy(privcmd, root.join("lib/modules/xen-privcmd.ko")).map_err(Error::io(privcmd))?;
    let bin = root.join("bin/xenmem");
    if run_cmd(Command::new("strip").arg("-o").arg(&bin).arg(xenmem)).is_err() {
        fs::copy(xenmem, &bin).map_err(Error::io(xenmem))?;
    }
    let init = root.join("init");
    fs::write(&init, INIT).map_err(Error::io(&init))?;
    run_cmd(Command::new("chmod").arg("755").arg(&init))?;
    let initrd = work.join("initrd.gz");
    run_cmd(Command::new("sh").arg("-c").arg(format!(
        "cd '{}' && find . | cpio -o -H newc --quiet | gzip -9 > '{}'",
        root.display(),
        initrd.display()
    )))?;
    Ok(initrd)
}

/// One boot's console.
struct Log {
    name: String,
    lines: Vec<String>,
}

impl Log {
    fn read(path: &Path) -> Result<Log, Error> {
        let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Log { name, lines: console_lines(path)? })
    }

    /// What `xenmem ARGS` printed, up to its `= exit` line.
    fn output(&self, args: &str) -> Vec<String> {
        let cmd = format!("+ xenmem {args}");
        self.lines
            .iter()
            .skip_while(|l| **l != cmd)
            .skip(1)
            .take_while(|l| !l.starts_with("= exit "))
            .cloned()
            .collect()
    }

    /// The exit status `xenmem ARGS` ended with.
    fn status(&self, args: &str) -> Option<String> {
        let cmd = format!("+ xenmem {args}");
        self.lines
            .iter()
            .skip_while(|l| **l != cmd)
            .find_map(|l| l.strip_prefix("= exit ").map(str::to_string))
    }

    /// The lines strictly between two marker lines.
    fn between(&self, begin: &str, end: &str) -> Vec<String> {
        self.lines.iter().skip_while(|l| *l != begin).skip(1).take_while(|l| *l != end).cloned().collect()
    }

    /// The first capture of a line of the log that starts with `prefix`, split on whitespace.
    fn words_after(&self, prefix: &str) -> Option<Vec<String>> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|r| r.split_whitespace().map(str::to_string).collect())
    }
}

/// Counts of checks, each printed as it is made.
#[derive(Default)]
struct Checks {
    total: u32,
    failed: u32,
}

impl Checks {
    fn expect(&mut self, ok: bool, what: &str, otherwise: &str) {
        self.total += 1;
        if ok {
            println!("ok: {what}");
        } else {
            self.failed += 1;
            println!("MISMATCH: {what}: {otherwise}");
        }
    }

    fn status(&mut self, log: &Log, args: &str, want: &str) {
        let got = log.status(args);
        self.expect(
            got.as_deref() == Some(want),
            &format!("xenmem {args}: exit {want}"),
            &format!("got {got:?}"),
        );
    }

    /// The output of `xenmem ARGS` holds exactly this line.
    fn line(&mut self, log: &Log, args: &str, want: &str) {
        let out = log.output(args);
        self.expect(out.iter().any(|l| l == want), &format!("xenmem {args}: {want}"), &out.join("|"));
    }

    /// Some output line of `xenmem ARGS` holds `text`.
    fn contains(&mut self, log: &Log, args: &str, text: &str) {
        let out = log.output(args);
        self.expect(
            out.iter().any(|l| l.contains(text)),
            &format!("xenmem {args}: ...{text}"),
            &out.join("|"),
        );
    }
}

/// Parses a hex number as Xen's log prints it.
fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// The checks of one boot.
fn check_boot(c: &mut Checks, log: &Log) {
    println!("--- {}", log.name);
    if !log.lines.iter().any(|l| l == "cli: done") {
        c.expect(false, "the initramfs finished", "no 'cli: done' line");
        for l in log.lines.iter().rev().take(30).collect::<Vec<_>>().into_iter().rev() {
            println!("{l}");
        }
        return;
    }
    // Not a dom0 yet: one line, exit 2.
    c.status(log, "--backend privcmd domain info 0", "2");
    let first = log.output("--backend privcmd domain info 0");
    c.expect(
        first.len() == 1 && first[0].starts_with("xenmem: not a Xen dom0: "),
        "before insmod: one 'not a Xen dom0' line",
        &first.join("|"),
    );

    // What Xen gave dom0, from Xen's own log. The PV dom0 builder (xen/arch/x86/pv/
    // dom0_build.c) prints "Dom0 alloc.: START->END (N pages to be allocated)" and, below it,
    // "Init. ramdisk: RSTART->REND". By then dom0 owns the contiguous chunk [START, END) and
    // the initrd's pages, which Xen hands over in place (PFN_UP of its length) rather than
    // copying; N is what is still missing of dom0's total, so the total is
    // (END - START) / 4096 + ceil((REND - RSTART) / 4096) + N.
    let alloc = log
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("(XEN)").map(str::trim_start)?.strip_prefix("Dom0 alloc.:"));
    let ramdisk = log
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("(XEN)").map(str::trim_start)?.strip_prefix("Init. ramdisk:"));
    let pages = alloc.zip(ramdisk).and_then(|(a, r)| {
        let (s, rest) = a.trim().split_once("->")?;
        let e = rest.split_whitespace().next()?;
        let n = rest
            .split_once('(')
            .map_or(Some(0), |(_, p)| p.split_whitespace().next()?.parse::<u64>().ok())?;
        let (rs, re) = r.trim().split_once("->")?;
        let (s, e, rs, re) = (hex(s)?, hex(e)?, hex(rs)?, hex(re)?);
        Some((e - s) / 4096 + (re - rs).div_ceil(4096) + n)
    });
    match pages {
        None => c.expect(false, "Xen's log has the 'Dom0 alloc.' and 'Init. ramdisk' lines", "missing"),
        Some(p) => {
            println!("Xen's log: {p} pages for dom0");
            c.line(
                log,
                "--backend privcmd reservation self",
                &format!("current_reservation(DOMID_SELF) = {p} pages ({} KiB)", p * 4),
            );
            c.line(
                log,
                "--backend privcmd reservation 0",
                &format!("current_reservation(d0) = {p} pages ({} KiB)", p * 4),
            );
        }
    }
    // dom0_mem=256M in pages.
    c.line(log, "--backend privcmd reservation 0", "current_reservation(d0) = 65536 pages (262144 KiB)");
    // A PV guest's maximum_gpfn: the end of the highest usable range Linux prints.
    let top = log.lines.iter().rev().find_map(|l| {
        let r = l.split_once("] Xen: [mem ")?.1.strip_suffix("] usable")?;
        hex(r.split_once('-')?.1)
    });
    match top {
        None => c.expect(false, "Linux's log has a usable memory range", "none"),
        Some(top) => {
            c.line(log, "--backend privcmd reservation 0", &format!("maximum_gpfn(d0) = {:#x}", top >> 12))
        }
    }
    // No domain 7: ESRCH by name, for all three queries, exit 1.
    for q in ["current_reservation", "maximum_reservation", "maximum_gpfn"] {
        c.line(log, "--backend privcmd reservation 7", &format!("{q}(d7) -> -ESRCH (errno 3)"));
    }
    c.status(log, "--backend privcmd reservation 7", "1");
    // acquire_resource: the caller's own id is EPERM, DOMID_SELF ESRCH (XEN-FACTS, seen).
    c.line(
        log,
        "--backend privcmd resource 0 --size-only",
        "acquire_resource_size(d0, grant_table, id 0) -> -EPERM (errno 1)",
    );
    c.line(
        log,
        "--backend privcmd resource self --size-only",
        "acquire_resource_size(DOMID_SELF, grant_table, id 0) -> -ESRCH (errno 3)",
    );

    // The scratch domain.
    let Some(d) =
        log.words_after("cli: scratch domain d").and_then(|w| w.first().cloned()).filter(|d| !d.is_empty())
    else {
        c.expect(false, "a scratch domain was created", "none");
        return;
    };
    c.expect(true, &format!("scratch domain d{d} created"), "");
    let at = |args: &str| args.replace("{d}", &d);
    c.line(
        log,
        &at("--backend privcmd domain info {d}"),
        &at("getdomaininfo(d{d}) = tot_pages 4 max_pages 256 flags hvm,paused,hap"),
    );
    c.line(
        log,
        &at("--backend privcmd reservation {d}"),
        &at("current_reservation(d{d}) = 4 pages (16 KiB)"),
    );
    c.line(
        log,
        &at("--backend privcmd reservation {d}"),
        &at("maximum_reservation(d{d}) = 256 pages (1024 KiB)"),
    );
    c.line(log, &at("--backend privcmd reservation {d}"), &at("maximum_gpfn(d{d}) = 0x103"));
    c.line(
        log,
        &at("--backend privcmd resource {d} --id shared --size-only"),
        &at("acquire_resource_size(d{d}, grant_table, id 0) = 32 frames"),
    );
    c.line(
        log,
        &at("--backend privcmd resource {d} --id status --size-only"),
        &at("acquire_resource_size(d{d}, grant_table, id 1) = 4 frames"),
    );
    c.status(log, &at("--backend privcmd resource {d} --id shared --count 1"), "0");
    c.line(log, &at("--backend privcmd resource {d} --id shared --count 1"), "00001000");
    // ioreq pages: the size query answers 2 (one buffered page, one synchronous) but the
    // domain runs no ioreq server, so mapping them fails.
    c.line(
        log,
        &at("--backend privcmd resource {d} --type ioreq_server --size-only"),
        &at("acquire_resource_size(d{d}, ioreq_server, id 0) = 2 frames"),
    );
    c.status(log, &at("--backend privcmd resource {d} --type ioreq_server --count 1"), "1");
    c.contains(log, &at("--backend privcmd resource {d} --type ioreq_server --count 1"), "-ENOENT (errno 2)");
    // A freshly populated page reads zeros (XEN-FACTS: seen through a foreign mapping).
    c.line(
        log,
        &at("--backend privcmd read-frame {d} 0x100 --len 64"),
        "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
    );
    c.status(log, &at("--backend privcmd write-frame {d} 0x101 --text xenmem was here"), "0");
    // Written through one mapping (one process), read through another: Xen's frame.
    c.line(
        log,
        &at("--backend privcmd read-frame {d} 0x101 --len 32"),
        "00000000  78 65 6e 6d 65 6d 20 77  61 73 20 68 65 72 65 00  |xenmem was here.|",
    );
    // Nothing at that GFN of the domU: the kernel's foreign mapping gets Xen's -EINVAL, as a
    // PVH dom0's foreign batch entry does (XEN-FACTS).
    c.status(log, &at("--backend privcmd read-frame {d} 0x5000 --len 16"), "1");
    c.contains(log, &at("--backend privcmd read-frame {d} 0x5000 --len 16"), "-EINVAL (errno 22)");
    c.line(log, &at("--backend privcmd domain destroy {d}"), &at("destroy_domain(d{d}) = ok"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_summary_with_nothing_differing_passes() {
        assert!(summary_agrees("conformance (pv dom0, privcmd): 207 observations, 207 agree, 0 differ"));
        assert!(!summary_agrees("conformance (pv dom0, privcmd): 207 observations, 206 agree, 1 differ"));
        assert!(!summary_agrees("conformance (pv dom0, privcmd): 207 observations, 200 agree, 0 differ"));
        assert!(!summary_agrees(""));
    }

    #[test]
    fn a_command_s_output_and_status_are_read_by_its_echo() {
        let log = Log {
            name: "t".into(),
            lines: ["+ xenmem a", "one", "two", "= exit 1", "+ xenmem b", "= exit 0", "begin", "x", "end"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        assert_eq!(log.output("a"), ["one", "two"]);
        assert_eq!(log.status("a").as_deref(), Some("1"));
        assert_eq!(log.status("b").as_deref(), Some("0"));
        assert!(log.output("c").is_empty());
        assert_eq!(log.between("begin", "end"), ["x"]);
    }
}
