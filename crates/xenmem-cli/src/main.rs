//! `xenmem`: Xen's memory operations from the command line.
//!
//! By default it runs scenarios on the hypervisor model embedded in the binary (`run FILE`,
//! `demo`); with `--backend privcmd` on a Linux dom0 its administrator subcommands issue the
//! real hypercalls. Exit status: 0 success, 1 an expectation or an operation failed, 2 bad
//! input (a file, an argument, or a machine that is not a Xen dom0).
//!
//! Modules, one concern each: `scenario` (the file format and its parser), `exec` (running a
//! scenario on the model), `table` and `json` (output), `svg` (the picture), `dom0` (the
//! administrator subcommands over any backend), `conformance` (the suite through privcmd and
//! the model, diffed), and `privcmd_map` (the one unsafe module: foreign mappings through
//! privcmd).

#![deny(unsafe_code)]

mod conformance;
mod dom0;
mod exec;
mod input;
mod json;
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)]
mod privcmd_map;
mod scenario;
mod svg;
mod table;

use clap::{Parser, Subcommand, ValueEnum};
use input::InputError;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The built-in scenario of `xenmem demo`.
const DEMO: &str = include_str!("../examples/scenarios/demo.toml");

#[derive(Parser, Debug)]
#[command(
    name = "xenmem",
    version,
    about = "Xen's guest memory operations: scenarios on the embedded model, real operations on a Linux dom0",
    after_help = "Exit status: 0 success; 1 an expectation or operation failed; 2 bad input, or not a Xen dom0."
)]
struct Cli {
    /// Where hypercalls go: the embedded model, or Linux's /dev/xen/privcmd on a dom0.
    #[arg(long, global = true, value_enum, default_value_t = Backend::Model)]
    backend: Backend,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Model backend: the machine the dom0 subcommands act on, built by this scenario file
    /// (its steps run first). Default: a PVH dom0 with 16 MiB on a 512 MiB machine.
    #[arg(long, global = true, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Model backend: the Xen release the model answers as, 4.17 or 4.20 (default: the
    /// newest, 4.20; overrides a scenario's `[machine] xen`). With privcmd, the running
    /// hypervisor decides.
    #[arg(long, global = true, value_name = "VERSION")]
    xen: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// The hypervisor model built into this binary.
    Model,
    /// /dev/xen/privcmd (Linux dom0 only).
    Privcmd,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario file on the model: every operation with Xen's answer, then each physmap.
    Run {
        /// The scenario (TOML).
        file: PathBuf,
        /// Also draw each domain's guest-physical map into this SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Run the built-in scenario: dom0 builds, maps, fills, inspects and tears down a domU.
    Demo {
        /// Also draw each domain's guest-physical map into this SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Print the built-in scenario file instead of running it.
        #[arg(long)]
        print: bool,
    },
    /// A domain's reservation: current and maximum pages, highest GFN.
    Reservation(dom0::DomainArgs),
    /// Size, and hex dump, of a domain's resource (grant-table frames, ioreq pages).
    Resource(dom0::ResourceArgs),
    /// Hex dump of a guest frame of a domain (mapped through privcmd on a dom0).
    ReadFrame(dom0::FrameArgs),
    /// Write bytes into a guest frame of a domain.
    WriteFrame(dom0::WriteArgs),
    /// Create, inspect or destroy a scratch domain (domctl).
    #[command(subcommand)]
    Domain(dom0::DomainCommand),
    /// Run the dom0 conformance suite and diff it against the model configured alike.
    Conformance(conformance::Args),
}

/// How the command ended.
pub enum Failure {
    /// Bad input or environment: exit 2.
    Input(String),
    /// An operation or expectation failed: exit 1 (already reported).
    Failed,
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::Input(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap formats usage errors itself (and help/version, which are not errors).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Failed) => ExitCode::from(1),
        Err(Failure::Input(msg)) => {
            let _ = writeln!(std::io::stderr(), "xenmem: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `--xen`, checked: a release the model knows, and only for the model.
fn xen_option(cli: &Cli) -> Result<Option<xenmem_sim::Release>, Failure> {
    let Some(v) = &cli.xen else { return Ok(None) };
    if cli.backend == Backend::Privcmd {
        return Err(Failure::Input(
            "--xen picks the model's release; with --backend privcmd the running hypervisor's is used".into(),
        ));
    }
    scenario::xen_release(v).map(Some).map_err(|m| Failure::Input(format!("--xen: {m}")))
}

fn dispatch(cli: &Cli) -> Result<(), Failure> {
    let xen = xen_option(cli)?;
    match &cli.command {
        Command::Run { file, svg } => {
            model_only(cli, "run")?;
            no_scenario_option(cli)?;
            let name = file.display().to_string();
            let text = std::fs::read_to_string(file).map_err(|e| InputError::file(&name, read_error(&e)))?;
            scenario(cli, xen, &name, &text, svg.as_deref())
        }
        Command::Demo { svg, print } => {
            model_only(cli, "demo")?;
            no_scenario_option(cli)?;
            if *print {
                out(DEMO);
                return Ok(());
            }
            scenario(cli, xen, "<demo>", DEMO, svg.as_deref())
        }
        Command::Reservation(a) => dom0::reservation(&dom0_opts(cli, xen)?, a),
        Command::Resource(a) => dom0::resource(&dom0_opts(cli, xen)?, a),
        Command::ReadFrame(a) => dom0::read_frame(&dom0_opts(cli, xen)?, a),
        Command::WriteFrame(a) => dom0::write_frame(&dom0_opts(cli, xen)?, a),
        Command::Domain(c) => dom0::domain(&dom0_opts(cli, xen)?, c),
        Command::Conformance(a) => conformance::run(cli.backend == Backend::Privcmd, xen, a),
    }
}

fn dom0_opts(cli: &Cli, xen: Option<xenmem_sim::Release>) -> Result<dom0::Opts, Failure> {
    let privcmd = cli.backend == Backend::Privcmd;
    if privcmd && cli.scenario.is_some() {
        return Err(Failure::Input(
            "--scenario builds a machine on the model; it does not apply to --backend privcmd".into(),
        ));
    }
    Ok(dom0::Opts { privcmd, json: cli.json, scenario: cli.scenario.clone(), xen })
}

fn model_only(cli: &Cli, what: &str) -> Result<(), Failure> {
    if cli.backend == Backend::Privcmd {
        return Err(Failure::Input(format!(
            "`{what}` runs scenarios on the embedded model; --backend privcmd is for the dom0 subcommands"
        )));
    }
    Ok(())
}

fn no_scenario_option(cli: &Cli) -> Result<(), Failure> {
    if cli.scenario.is_some() {
        return Err(Failure::Input(
            "--scenario is for the dom0 subcommands; `run` takes the file itself".into(),
        ));
    }
    Ok(())
}

/// Why a file could not be read, without Rust's `(os error N)` noise but with the errno name.
fn read_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
        _ => format!("cannot read it: {e}"),
    }
}

/// Writes to stdout, ignoring a closed pipe (`xenmem demo | head` must not panic).
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

fn scenario(
    cli: &Cli,
    xen: Option<xenmem_sim::Release>,
    name: &str,
    text: &str,
    svg_path: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let mut s = scenario::parse(name, text)?;
    if xen.is_some() {
        s.machine.xen = xen;
    }
    let sim = exec::build(&s)?;
    let report = exec::run(&s, &sim, !cli.json);
    if cli.json {
        out(&format!("{:#}\n", json::render(&report)));
    } else {
        out(&table::render(&report));
    }
    if let Some(p) = svg_path {
        std::fs::write(p, svg::render(&report))
            .map_err(|e| Failure::Input(format!("{}: cannot write the picture: {e}", p.display())))?;
    }
    let mut failed = false;
    for m in report.mismatches() {
        failed = true;
        let rep = m.rep.map(|k| format!(", repetition {}", k + 1)).unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "xenmem: step {}{rep} ({}:{}, {}): {}",
            m.index,
            report.file,
            m.line,
            m.op,
            m.mismatch.as_deref().unwrap_or("")
        );
    }
    if failed {
        Err(Failure::Failed)
    } else {
        Ok(())
    }
}
