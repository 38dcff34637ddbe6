//! Line-buffered output: console_io for dom0, the log area (or port 0xE9 until it is set up)
//! for the domU.
//!
//! One hypercall per line keeps each line whole on Xen's console: Xen interleaves its own
//! messages only between hypercalls, so a line written in one call is never split by one.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::{hv, log};

/// Where finished lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Sink {
    /// console_io: the hardware domain's bytes reach Xen's console unchanged.
    ConsoleIo = 0,
    /// Port 0xE9: Xen prints an HVM guest's bytes as `(dN) ...` lines. The domU's channel of
    /// last resort (before its log exists, and for a panic).
    DebugPort = 1,
    /// The domU's log area (log.rs), which dom0 prints.
    Log = 2,
}

static SINK: AtomicU8 = AtomicU8::new(Sink::ConsoleIo as u8);

/// Sends all later output to `sink`.
pub fn set_sink(sink: Sink) {
    SINK.store(sink as u8, Ordering::Relaxed);
}

/// The current sink.
pub fn sink() -> Sink {
    match SINK.load(Ordering::Relaxed) {
        1 => Sink::DebugPort,
        2 => Sink::Log,
        _ => Sink::ConsoleIo,
    }
}

/// Writes bytes to the current sink as they are.
pub fn emit(bytes: &[u8]) {
    match sink() {
        Sink::ConsoleIo => hv::console_write(bytes),
        Sink::DebugPort => hv::debug_port_write(bytes),
        Sink::Log => log::append(bytes),
    }
}

/// Longest line written in one hypercall. Longer lines are written in pieces; Xen prints a
/// hardware domain's bytes as they come (no prefix, no wrapping), so the pieces still join.
const LINE: usize = 512;

/// A console that holds back bytes until a newline (or a full buffer).
pub struct Console {
    buf: [u8; LINE],
    len: usize,
}

impl Console {
    /// An empty console buffer.
    pub const fn new() -> Self {
        Console { buf: [0; LINE], len: 0 }
    }

    /// Writes out whatever is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            emit(&self.buf[..self.len]);
            self.len = 0;
        }
    }

    /// Writes raw bytes (a line another domain wrote, say).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.push(b));
    }

    fn push(&mut self, b: u8) {
        if self.len == LINE {
            self.flush();
        }
        self.buf[self.len] = b;
        self.len += 1;
        if b == b'\n' {
            self.flush();
        }
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.push(b));
        Ok(())
    }
}

/// Puts a fixed marker at the start of every line, so that a script can tell these lines
/// apart from Xen's own messages on the shared serial console.
pub struct Tagged<'a, W: fmt::Write> {
    inner: &'a mut W,
    tag: &'static str,
    at_line_start: bool,
}

impl<'a, W: fmt::Write> Tagged<'a, W> {
    /// Tags every line written through `inner` with `tag`.
    pub fn new(inner: &'a mut W, tag: &'static str) -> Self {
        Tagged { inner, tag, at_line_start: true }
    }

    /// Ends a line left open by the writer, if any.
    pub fn end_line(&mut self) {
        if !self.at_line_start {
            let _ = self.inner.write_str("\n");
            self.at_line_start = true;
        }
    }
}

impl<W: fmt::Write> fmt::Write for Tagged<'_, W> {
    fn write_str(&mut self, mut s: &str) -> fmt::Result {
        while !s.is_empty() {
            if self.at_line_start {
                self.inner.write_str(self.tag)?;
                self.at_line_start = false;
            }
            let (line, rest) = match s.find('\n') {
                Some(i) => s.split_at(i + 1),
                None => (s, ""),
            };
            self.inner.write_str(line)?;
            self.at_line_start = line.ends_with('\n');
            s = rest;
        }
        Ok(())
    }
}
