//! Running other programs: plain commands that must succeed, and a boot under a timeout.

use std::fmt;
use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Why a step failed.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    /// A failure described in words.
    pub fn msg(s: String) -> Error {
        Error(s)
    }

    /// For `map_err`: an I/O error on `path`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |e| Error(format!("{}: {e}", path.display()))
    }

    /// For `map_err`: a program that could not be started.
    pub fn spawn(program: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |e| Error(format!("cannot run {program}: {e}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `c` with its output on ours; an error unless it exits with 0.
pub fn run(c: &mut Command) -> Result<(), Error> {
    let what = describe(c);
    let status = c.status().map_err(|e| Error(format!("cannot run {what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error(format!("{what}: {status}")))
    }
}

/// As [`run`], with the output swallowed (for a first try whose failure is expected and
/// handled, e.g. before refreshing package lists).
pub fn run_quiet(c: &mut Command) -> Result<(), Error> {
    run(c.stdout(Stdio::null()).stderr(Stdio::null()))
}

/// Runs `c` and returns its standard output; an error unless it exits with 0.
pub fn output(c: &mut Command) -> Result<String, Error> {
    let what = describe(c);
    let out = c.stderr(Stdio::inherit()).output().map_err(|e| Error(format!("cannot run {what}: {e}")))?;
    if !out.status.success() {
        return Err(Error(format!("{what}: {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// How a boot ended.
pub struct Boot {
    /// QEMU's exit status, or `None` if the timeout killed it.
    pub status: Option<ExitStatus>,
    /// Wall time from start to exit.
    pub wall: Duration,
}

impl Boot {
    /// `boot to exit: 2.13 s (qemu exit status 0)`.
    pub fn describe(&self) -> String {
        let status = match self.status.and_then(|s| s.code()) {
            Some(c) => c.to_string(),
            None => "killed after the timeout".to_string(),
        };
        format!("{:.2} s (qemu exit status {status})", self.wall.as_secs_f64())
    }
}

/// Runs a QEMU command line with no input and its console into `log`, killing it after
/// `timeout`.
pub fn boot(c: &mut Command, log: &Path, timeout: Duration) -> Result<Boot, Error> {
    let file = File::create(log).map_err(Error::io(log))?;
    let err = file.try_clone().map_err(Error::io(log))?;
    let what = describe(c);
    let start = Instant::now();
    let mut child = c
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| Error(format!("cannot run {what}: {e}")))?;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| Error(format!("waiting for {what}: {e}")))? {
            return Ok(Boot { status: Some(status), wall: start.elapsed() });
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Boot { status: None, wall: start.elapsed() });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The boot timeout: `BOOT_TIMEOUT` seconds from the environment, else `default`.
pub fn timeout(default: u64) -> Duration {
    Duration::from_secs(std::env::var("BOOT_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(default))
}
