//! What the real-hypervisor runs cover, as tables: the Xen releases (where Debian ships each),
//! the architectures (how each boots), and the suites each boot yields. Adding a release or a
//! machine is a row here, not a new script.

use std::fmt::Write as _;
use xenmem_conformance::model::{
    run_arm64_dom0, run_arm64_domu, run_arm64_ioreq, run_x86_64_ioreq, run_x86_64_pvh_dom0,
    run_x86_64_pvh_domu,
};
use xenmem_conformance::Summary;
use xenmem_sim::{Release as ModelRelease, Sim};

/// Where Debian ships a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// The host's own Debian (12, bookworm): its apt sources as they are.
    Host,
    /// Another suite of the same mirror, fetched through a private apt configuration so the
    /// host's sources stay untouched.
    Other(&'static str),
}

/// A Xen release the runs cover.
#[derive(Debug)]
pub struct Release {
    /// `4.17`: also the golden files' folder and the hypervisor package's infix.
    pub name: &'static str,
    /// Where its hypervisor packages come from.
    pub suite: Suite,
    /// Where the Linux kernel a Linux dom0 on this release runs comes from, and its package's
    /// version prefix (resolved from that suite's `linux-image-amd64`).
    pub linux: (Suite, &'static str),
    /// The model configured as this release.
    pub model: ModelRelease,
    /// What the summary lines say before the architecture and role: empty for the first
    /// release the project proved (its lines stay as they always were).
    pub label: &'static str,
}

/// Every release, oldest first.
pub const RELEASES: &[Release] = &[
    Release {
        name: "4.17",
        suite: Suite::Host,
        linux: (Suite::Host, "linux-image-6.1."),
        model: ModelRelease::Xen4_17,
        label: "",
    },
    // Debian 13's, with Debian 13's Linux as its PV dom0.
    Release {
        name: "4.20",
        suite: Suite::Other("trixie"),
        linux: (Suite::Other("trixie"), "linux-image-6.12."),
        model: ModelRelease::Xen4_20,
        label: "xen 4.20",
    },
];

impl Release {
    /// The release named `name`.
    pub fn find(name: &str) -> Option<&'static Release> {
        RELEASES.iter().find(|r| r.name == name)
    }

    /// The first release the project proved, which the others are told apart from.
    pub fn first() -> &'static Release {
        &RELEASES[0]
    }

    /// The names of all releases, for messages.
    pub fn names() -> String {
        RELEASES.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
    }

    /// The hypervisor's Debian package for `arch`.
    pub fn hypervisor_package(&self, arch: Arch) -> String {
        format!("xen-hypervisor-{}-{}", self.name, arch.debian())
    }

    /// Where the hypervisor sits inside that package.
    pub fn hypervisor_file(&self, arch: Arch) -> String {
        match arch {
            Arch::X86_64 => format!("boot/xen-{}-amd64.gz", self.name),
            Arch::Arm64 => format!("boot/xen-{}-arm64", self.name),
        }
    }

    /// A summary label: the release's label, then the rest, skipping empty parts.
    pub fn label(&self, rest: &[&str]) -> String {
        let mut s = String::new();
        for part in std::iter::once(self.label).chain(rest.iter().copied()).filter(|p| !p.is_empty()) {
            if !s.is_empty() {
                s.push(' ');
            }
            let _ = write!(s, "{part}");
        }
        s
    }
}

/// A machine the suite boots on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// QEMU q35 with an AMD IOMMU: a PVH dom0 that builds an unprivileged PVH domU.
    X86_64,
    /// QEMU virt with GICv3: a dom0 and a dom0less domU at once.
    Arm64,
}

/// Every architecture.
pub const ARCHES: &[Arch] = &[Arch::X86_64, Arch::Arm64];

impl Arch {
    /// As the command line names it.
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "x86_64" => Some(Arch::X86_64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// Its name in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// Debian's name for it.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// Its word in summary labels: none for x86_64, the first machine the project proved.
    fn label(self) -> &'static str {
        match self {
            Arch::X86_64 => "",
            Arch::Arm64 => "arm64",
        }
    }

    /// The two suites one boot yields: dom0's and the domU's.
    pub fn suites(self) -> [SuiteRun; 2] {
        match self {
            Arch::X86_64 => [
                SuiteRun {
                    config: "x86_64-pvh-dom0",
                    role: Role::Dom0,
                    arch: self,
                    model: run_x86_64_pvh_dom0,
                },
                SuiteRun {
                    config: "x86_64-pvh-domu",
                    role: Role::Domu,
                    arch: self,
                    model: run_x86_64_pvh_domu,
                },
            ],
            Arch::Arm64 => [
                SuiteRun { config: "arm64-dom0", role: Role::Dom0, arch: self, model: run_arm64_dom0 },
                SuiteRun { config: "arm64-domu", role: Role::Domu, arch: self, model: run_arm64_domu },
            ],
        }
    }

    /// The device model's suite the same boot yields after those two: dom0 serving a domU
    /// through an ioreq server.
    pub fn ioreq_suite(self) -> SuiteRun {
        match self {
            Arch::X86_64 => {
                SuiteRun { config: "x86_64-ioreq", role: Role::Ioreq, arch: self, model: run_x86_64_ioreq }
            }
            Arch::Arm64 => {
                SuiteRun { config: "arm64-ioreq", role: Role::Ioreq, arch: self, model: run_arm64_ioreq }
            }
        }
    }

    /// Every suite one boot yields, in the order the boot prints them.
    pub fn all_suites(self) -> [SuiteRun; 3] {
        let [dom0, domu] = self.suites();
        [dom0, domu, self.ioreq_suite()]
    }
}

/// Whose lines a suite is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// dom0's suite.
    Dom0,
    /// The domU's suite.
    Domu,
    /// dom0's device-model cases, then the served domU's lines.
    Ioreq,
}

impl Role {
    /// The console tags of its lines, in the order they make up the suite's lines.
    pub fn tags(self) -> &'static [&'static str] {
        match self {
            Role::Dom0 => &["xenmem: "],
            Role::Domu => &["xenmem-domu: "],
            Role::Ioreq => &["xenmem-ioreq: ", "xenmem-ioreq-domu: "],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Role::Dom0 => "",
            Role::Domu => "domU",
            Role::Ioreq => "ioreq",
        }
    }
}

/// The model configured as the machine a suite ran on: runs the suite, returns the machine
/// afterwards (for its invariants) and the suite's counts.
pub type ModelRun = fn(ModelRelease, &mut dyn core::fmt::Write) -> (Sim, Summary);

/// One suite of one boot.
#[derive(Clone, Copy)]
pub struct SuiteRun {
    /// The configuration's name: the golden file's, and the lines file's.
    pub config: &'static str,
    /// Whose lines.
    pub role: Role,
    /// The machine.
    pub arch: Arch,
    /// The model side.
    pub model: ModelRun,
}

impl SuiteRun {
    /// The label of its summary line on `release`.
    pub fn label(&self, release: &Release) -> String {
        release.label(&[self.arch.label(), self.role.label()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_release_keeps_its_summary_labels() {
        let r = Release::find("4.17").unwrap();
        let labels: Vec<String> = ARCHES.iter().flat_map(|a| a.suites()).map(|s| s.label(r)).collect();
        assert_eq!(labels, ["", "domU", "arm64", "arm64 domU"]);
        let later = Release {
            name: "9.9",
            suite: Suite::Other("x"),
            linux: (Suite::Host, ""),
            model: ModelRelease::NEWEST,
            label: "xen 9.9",
        };
        let labels: Vec<String> = ARCHES.iter().flat_map(|a| a.suites()).map(|s| s.label(&later)).collect();
        assert_eq!(labels, ["xen 9.9", "xen 9.9 domU", "xen 9.9 arm64", "xen 9.9 arm64 domU"]);
    }

    #[test]
    fn the_ioreq_suites_are_labelled_after_the_release_and_machine() {
        let labels = |r: &Release| ARCHES.iter().map(|a| a.ioreq_suite().label(r)).collect::<Vec<_>>();
        assert_eq!(labels(Release::find("4.17").unwrap()), ["ioreq", "arm64 ioreq"]);
        assert_eq!(labels(Release::find("4.20").unwrap()), ["xen 4.20 ioreq", "xen 4.20 arm64 ioreq"]);
    }

    #[test]
    fn each_release_has_its_own_model_and_label() {
        for (i, r) in RELEASES.iter().enumerate() {
            assert_eq!(r.model.to_string(), r.name, "{}", r.name);
            assert_eq!(r.label.is_empty(), i == 0, "{}", r.name);
        }
    }
}
