//! Debian's packages, downloaded and unpacked, never installed: the hypervisors and Linux
//! kernels of each release, and the host's tools (QEMU, dtc, ...) installed when missing.
//!
//! Packages of the host's own suite come through its apt sources as they are. Another suite
//! of the same mirror (Debian 13's Xen 4.20, say) comes through a private apt configuration
//! under `out/apt/<suite>/` — its own source list and package lists — so the host's sources
//! and lists stay untouched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::proc::{run, run_quiet, Error};
use crate::table::Suite;

/// The folder everything goes under (gitignored).
pub fn out_dir(repo: &Path) -> PathBuf {
    repo.join("out")
}

/// Installs host packages whose command is missing: `(command, package)` pairs.
pub fn ensure_tools(tools: &[(&str, &str)]) -> Result<(), Error> {
    let missing: Vec<&str> =
        tools.iter().filter(|(cmd, _)| !have_command(cmd)).map(|(_, pkg)| *pkg).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "-qq", "--no-install-recommends"]).args(&missing);
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    // Refresh the package lists only when an install fails without it.
    if run_quiet(&mut install()).is_err() {
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(&mut install())?;
    }
    Ok(())
}

/// Whether `cmd` is on PATH (or is a path that exists).
pub fn have_command(cmd: &str) -> bool {
    if cmd.contains('/') {
        return Path::new(cmd).exists();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

/// A package cache: downloads `.deb` files into `out/pkgs/<suite>/` and unpacks each once.
pub struct Packages {
    dir: PathBuf,
    apt: Apt,
}

impl Packages {
    /// The cache for `suite` under `repo/out`.
    pub fn new(repo: &Path, suite: Suite) -> Result<Packages, Error> {
        let name = match suite {
            Suite::Host => "host",
            Suite::Other(s) => s,
        };
        let dir = out_dir(repo).join("pkgs").join(name);
        fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        let apt = match suite {
            Suite::Host => Apt::Host,
            Suite::Other(s) => Apt::private(&out_dir(repo).join("apt").join(s), s)?,
        };
        Ok(Packages { dir, apt })
    }

    /// The folder `package` (`name` or `name:arch`) is unpacked in, downloading it first if
    /// no `.deb` of it is cached.
    pub fn unpacked(&self, package: &str) -> Result<PathBuf, Error> {
        let (name, arch) = package.split_once(':').unwrap_or((package, ""));
        let root = self
            .dir
            .join(format!("{name}{}.root", if arch.is_empty() { String::new() } else { format!("-{arch}") }));
        if root.join(".unpacked").exists() {
            return Ok(root);
        }
        let deb = self.deb(package)?;
        let _ = fs::remove_dir_all(&root);
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
        fs::write(root.join(".unpacked"), deb.to_string_lossy().as_bytes()).map_err(Error::io(&root))?;
        Ok(root)
    }

    /// The `.deb` of `package` (`name` or `name:arch`), downloading it unless one is cached.
    pub fn deb(&self, package: &str) -> Result<PathBuf, Error> {
        let (name, arch) = package.split_once(':').unwrap_or((package, ""));
        if let Some(deb) = self.cached(name, arch) {
            return Ok(deb);
        }
        self.apt.download(&self.dir, package, arch)?;
        self.cached(name, arch).ok_or_else(|| Error::msg(format!("apt-get download {package} left no .deb")))
    }

    fn cached(&self, name: &str, arch: &str) -> Option<PathBuf> {
        let prefix = format!("{name}_");
        let mut debs: Vec<PathBuf> = fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let f = p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                f.starts_with(&prefix)
                    && f.ends_with(".deb")
                    && (arch.is_empty() || f.ends_with(&format!("_{arch}.deb")))
            })
            .collect();
        debs.sort();
        debs.pop()
    }

    /// What the suite's `depends` of `package` names, among its first-level dependencies,
    /// starting with `prefix` (e.g. the kernel image `linux-image-amd64` stands for).
    pub fn dependency_with_prefix(&self, package: &str, prefix: &str) -> Result<String, Error> {
        let found = |out: &str| {
            out.lines()
                .filter_map(|l| l.trim().strip_prefix("Depends: "))
                .find(|d| d.starts_with(prefix))
                .map(str::to_string)
        };
        let out = self.apt.cache(&["depends", package])?;
        if let Some(d) = found(&out) {
            return Ok(d);
        }
        self.apt.update()?;
        let out = self.apt.cache(&["depends", package])?;
        found(&out).ok_or_else(|| Error::msg(format!("no dependency of {package} starts with {prefix}")))
    }
}

/// How apt is asked.
enum Apt {
    Host,
    /// A private source list and package lists for one suite.
    Private {
        options: Vec<String>,
    },
}

impl Apt {
    fn private(dir: &Path, suite: &str) -> Result<Apt, Error> {
        let lists = dir.join("lists");
        fs::create_dir_all(lists.join("partial")).map_err(Error::io(&lists))?;
        let list = dir.join("sources.list");
        let mirror = host_mirror()?;
        fs::write(&list, format!("deb {mirror} {suite} main\n")).map_err(Error::io(&list))?;
        let options = vec![
            format!("Dir::Etc::SourceList={}", list.display()),
            "Dir::Etc::SourceParts=/dev/null".to_string(),
            format!("Dir::State::Lists={}", lists.display()),
            "APT::Architectures::=amd64".to_string(),
            "APT::Architectures::=arm64".to_string(),
        ];
        Ok(Apt::Private { options })
    }

    fn options(&self) -> Vec<String> {
        match self {
            Apt::Host => Vec::new(),
            Apt::Private { options } => options.iter().flat_map(|o| ["-o".to_string(), o.clone()]).collect(),
        }
    }

    fn update(&self) -> Result<(), Error> {
        run(Command::new("apt-get").args(self.options()).args(["update", "-qq"]))
    }

    fn cache(&self, args: &[&str]) -> Result<String, Error> {
        let out = Command::new("apt-cache")
            .args(self.options())
            .args(args)
            .output()
            .map_err(Error::spawn("apt-cache"))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Downloads `package` into `dir`. A foreign architecture must be known to dpkg first; the
    /// lists are refreshed only when a download fails without it.
    fn download(&self, dir: &Path, package: &str, arch: &str) -> Result<(), Error> {
        let mut updated = false;
        if !arch.is_empty() && arch != host_arch()? {
            let foreign = Command::new("dpkg")
                .arg("--print-foreign-architectures")
                .output()
                .map_err(Error::spawn("dpkg"))?;
            if !String::from_utf8_lossy(&foreign.stdout).lines().any(|l| l == arch) {
                run(Command::new("dpkg").args(["--add-architecture", arch]))?;
                self.update()?;
                updated = true;
            }
        }
        if matches!(self, Apt::Private { .. }) && !updated && !self.has_lists()? {
            self.update()?;
            updated = true;
        }
        // As root apt hands downloads to its unprivileged _apt user, which cannot write here.
        let get = || {
            let mut c = Command::new("apt-get");
            c.current_dir(dir).args(self.options()).args([
                "-q",
                "-o",
                "APT::Sandbox::User=root",
                "download",
                package,
            ]);
            c
        };
        if run_quiet(&mut get()).is_ok() {
            return Ok(());
        }
        if !updated {
            self.update()?;
        }
        run(&mut get())
    }

    fn has_lists(&self) -> Result<bool, Error> {
        let Apt::Private { options } = self else { return Ok(true) };
        let lists = options
            .iter()
            .find_map(|o| o.strip_prefix("Dir::State::Lists="))
            .ok_or_else(|| Error::msg("no lists folder".to_string()))?;
        Ok(fs::read_dir(lists)
            .map_err(Error::io(Path::new(lists)))?
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with("_Packages")))
    }
}

fn host_arch() -> Result<String, Error> {
    let out = Command::new("dpkg").arg("--print-architecture").output().map_err(Error::spawn("dpkg"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The Debian mirror the host's apt sources use for its main suite (not security), from
/// `/etc/apt/sources.list` or the deb822 files of `/etc/apt/sources.list.d/`.
fn host_mirror() -> Result<String, Error> {
    let mut texts = Vec::new();
    if let Ok(s) = fs::read_to_string("/etc/apt/sources.list") {
        texts.push(s);
    }
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        texts.extend(
            files
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "sources" || e == "list"))
                .filter_map(|p| fs::read_to_string(p).ok()),
        );
    }
    texts
        .iter()
        .find_map(|t| mirror_in(t))
        .ok_or_else(|| Error::msg("no Debian mirror found in /etc/apt/sources.list{,.d}".to_string()))
}

/// The first Debian archive URI of a one-line or deb822 source text whose suites include one
/// that is not a security or updates suite.
fn mirror_in(text: &str) -> Option<String> {
    let main_suite =
        |s: &str| !s.contains("security") && !s.ends_with("-updates") && !s.ends_with("-backports");
    // One-line style: `deb [options] URI SUITE COMPONENTS...`.
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("deb ") else { continue };
        let rest = match rest.trim_start().strip_prefix('[') {
            Some(r) => r.split_once(']')?.1,
            None => rest,
        };
        let mut words = rest.split_whitespace();
        if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
            if uri.ends_with("/debian") && main_suite(suite) {
                return Some(uri.to_string());
            }
        }
    }
    // deb822 style: paragraphs with `URIs:` and `Suites:`.
    for para in text.split("\n\n") {
        let field = |name: &str| para.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:")) else { continue };
        if suites.split_whitespace().any(main_suite) {
            if let Some(uri) = uris.split_whitespace().find(|u| u.ends_with("/debian")) {
                return Some(uri.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::mirror_in;

    #[test]
    fn finds_the_main_archive_in_both_source_styles() {
        let one_line = "deb http://m.example/debian-security bookworm-security main\n\
                        deb [signed-by=/k.gpg] http://m.example/debian bookworm main\n";
        assert_eq!(mirror_in(one_line).as_deref(), Some("http://m.example/debian"));
        let deb822 = "Types: deb\nURIs: http://m.example/debian-security\nSuites: bookworm-security\n\n\
                      Types: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\n";
        assert_eq!(mirror_in(deb822).as_deref(), Some("http://m.example/debian"));
        assert_eq!(mirror_in("deb http://m.example/ubuntu jammy main"), None);
    }
}
