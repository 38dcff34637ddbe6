//! Line-buffered console_io output.
//!
//! One hypercall per line keeps each line whole on Xen's console: Xen interleaves its own
//! messages only between hypercalls, and prints a domU's bytes one `(dN) ` line at a time.

use core::fmt;

use crate::hv;

/// Longest piece written in one hypercall. Xen splits a domU's lines at 199 characters
/// anyway (its per-domain line buffer), and every suite line is far shorter.
const LINE: usize = 256;

/// A console that holds back bytes until a newline (or a full buffer).
pub struct Console {
    buf: [u8; LINE],
    len: usize,
}

impl Console {
    pub const fn new() -> Self {
        Console { buf: [0; LINE], len: 0 }
    }

    /// Writes out whatever is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            hv::console_write(&self.buf[..self.len]);
            self.len = 0;
        }
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

impl Drop for Console {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Puts a fixed tag at the start of every line, so that the boot script can tell these lines
/// apart from Xen's own messages and from the other domain's on the shared serial console.
pub struct Tagged<'a, W: fmt::Write> {
    inner: &'a mut W,
    tag: &'static str,
    at_line_start: bool,
}

impl<'a, W: fmt::Write> Tagged<'a, W> {
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
