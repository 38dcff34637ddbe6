//! Line-buffered output, and tags at the start of lines.
//!
//! One hypercall per line keeps each line whole on Xen's console: Xen interleaves its own
//! messages only between hypercalls, so a line written in one call is never split by one.

use core::fmt;
use core::marker::PhantomData;

use crate::Arch;

/// Longest piece written in one go. Longer lines are written in pieces; Xen prints a hardware
/// domain's bytes as they come, so the pieces still join (a domU's lines Xen breaks at 199
/// characters anyway, and every suite line is far shorter).
const LINE: usize = 512;

/// A console that holds back bytes until a newline (or a full buffer), then hands them to the
/// architecture's output.
pub struct Console<A: Arch> {
    line: LineBuf<LINE>,
    arch: PhantomData<A>,
}

impl<A: Arch> Console<A> {
    /// An empty console buffer.
    pub const fn new() -> Self {
        Console { line: LineBuf::new(), arch: PhantomData }
    }

    /// Writes out whatever is buffered.
    pub fn flush(&mut self) {
        if !self.line.as_bytes().is_empty() {
            A::emit(self.line.as_bytes());
            self.line.clear();
        }
    }

    /// Writes raw bytes (a line another domain wrote, say).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.push(b));
    }

    fn push(&mut self, b: u8) {
        if self.line.is_full() {
            self.flush();
        }
        self.line.push(b);
        if b == b'\n' {
            self.flush();
        }
    }
}

impl<A: Arch> Default for Console<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Arch> fmt::Write for Console<A> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.push(b));
        Ok(())
    }
}

impl<A: Arch> Drop for Console<A> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// A fixed buffer to format a short text into; what does not fit is dropped and remembered.
pub struct LineBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> LineBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        LineBuf { buf: [0; N], len: 0, overflowed: false }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Whether anything written was dropped for lack of room.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn is_full(&self) -> bool {
        self.len == N
    }

    fn push(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => self.overflowed = true,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

impl<const N: usize> Default for LineBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for LineBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.push(b));
        if self.overflowed {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Puts a fixed tag at the start of every line, so that the boot tool can tell these lines
/// apart from Xen's own messages and the other domain's on the shared serial console.
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

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn tags_every_line_once_and_ends_an_open_one() {
        let mut out = LineBuf::<128>::new();
        {
            let mut t = Tagged::new(&mut out, "t: ");
            let _ = write!(t, "a\nb");
            let _ = write!(t, "c\n\nd");
            t.end_line();
            t.end_line();
        }
        assert_eq!(out.as_bytes(), b"t: a\nt: bc\nt: \nt: d\n");
    }

    #[test]
    fn a_full_line_buffer_drops_and_says_so() {
        let mut b = LineBuf::<4>::new();
        assert!(write!(b, "abcdef").is_err());
        assert_eq!(b.as_bytes(), b"abcd");
        assert!(b.overflowed());
    }
}
