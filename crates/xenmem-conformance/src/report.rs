//! Printing observations: the canonical line and the normalisation of values that differ
//! between machines (see the crate documentation).

use crate::{Arch, Config, Platform, Summary};
use core::fmt::{self, Display, Write};
use xenmem::{DomId, EntryStatus, Error, Gfn, Xen};

/// One run of the suite: the platform, its configuration, where lines go, and counts.
pub struct Run<'a, P: Platform> {
    p: &'a mut P,
    cfg: &'a Config,
    out: &'a mut dyn Write,
    observations: u32,
}

impl<P: Platform> core::fmt::Debug for Run<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").field("cfg", self.cfg).field("observations", &self.observations).finish()
    }
}

impl<'a, P: Platform> Run<'a, P> {
    pub(crate) fn new(p: &'a mut P, cfg: &'a Config, out: &'a mut dyn Write) -> Self {
        Run { p, cfg, out, observations: 0 }
    }

    pub(crate) fn summary(&self) -> Summary {
        Summary { observations: self.observations }
    }

    /// The operations.
    pub(crate) fn xen(&self) -> &Xen<P::Hv> {
        self.p.xen()
    }

    pub(crate) fn cfg(&self) -> &Config {
        self.cfg
    }

    /// The platform's architecture.
    pub(crate) fn arch(&self) -> Arch {
        self.p.arch()
    }

    /// The platform's spare RAM page, if it has one (see [`Platform::spare_ram`]).
    pub(crate) fn spare_ram(&self) -> Option<Gfn> {
        self.p.spare_ram()
    }

    /// The platform itself (for the ioreq suite's view of a page through it).
    pub(crate) fn platform(&mut self) -> &mut P {
        self.p
    }

    /// See [`Platform::ioreq_guest`].
    pub(crate) fn ioreq_guest(&self) -> Option<DomId> {
        self.p.ioreq_guest()
    }

    /// See [`Platform::guest_start`].
    pub(crate) fn guest_start(&mut self) {
        self.p.guest_start()
    }

    /// See [`Platform::guest_step`].
    pub(crate) fn guest_step(&mut self) -> crate::GuestStep {
        self.p.guest_step()
    }

    /// GFN `n` pages into the scratch hole.
    pub(crate) fn s(&self, n: u64) -> Gfn {
        Gfn(self.cfg.scratch_gfn.0 + n)
    }

    /// Prints one observation.
    pub(crate) fn obs(&mut self, case: &str, op: fmt::Arguments<'_>, result: impl Display) {
        let _ = writeln!(self.out, "{case} {op} -> {result}");
        self.observations += 1;
    }

    /// Reads the first `N` bytes of the caller's frame `gfn` and formats them as hex.
    pub(crate) fn peek<const K: usize>(&mut self, gfn: Gfn) -> Bytes<K> {
        let mut b = [0u8; K];
        if self.p.read_phys(gfn, 0, &mut b) {
            Bytes(Some(b))
        } else {
            Bytes(None)
        }
    }

    /// Writes `data` at the start of the caller's frame `gfn`.
    pub(crate) fn poke(&mut self, gfn: Gfn, data: &[u8]) -> bool {
        self.p.write_phys(gfn, 0, data)
    }

    /// A domain id as the suite prints it: `SELF`, `OWN` (the caller's own numeric id, when
    /// it is not dom0's 0, which differs between runs), `SIB`, or `dN`.
    pub(crate) fn d(&self, d: DomId) -> Dn {
        Dn { d, own: self.cfg.self_id, sib: self.cfg.sibling }
    }

    /// A guest frame of the caller, printed relative to the scratch hole.
    pub(crate) fn g(&self, gfn: Gfn) -> G {
        G { gfn, base: self.cfg.scratch_gfn, pages: self.cfg.scratch_pages }
    }
}

/// A result with no value: `ok`, `-ENAME` or `lib:<reason>`.
pub(crate) struct R(pub Result<(), Error>);

impl Display for R {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(()) => f.write_str("ok"),
            Err(e) => ErrName(e).fmt(f),
        }
    }
}

/// An error by name.
pub(crate) struct ErrName(pub Error);

impl Display for ErrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::Xen(x) => match x.name() {
                Some(n) => write!(f, "-{n}"),
                None => write!(f, "-{}", x.errno()),
            },
            Error::Invalid(i) => write!(f, "lib:{i:?}"),
            _ => write!(f, "lib:{:?}", self.0),
        }
    }
}

/// A count: `n=4`.
pub(crate) struct N<T>(pub Result<T, Error>);

impl<T: Display> Display for N<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(v) => write!(f, "n={v}"),
            Err(e) => ErrName(*e).fmt(f),
        }
    }
}

/// A value: `=256`, with `u32::MAX` (Xen's "no limit") as `=unlimited`.
pub(crate) struct V(pub Result<u64, Error>);

impl Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) if v == u32::MAX as u64 => f.write_str("=unlimited"),
            Ok(v) => write!(f, "={v}"),
            Err(e) => ErrName(e).fmt(f),
        }
    }
}

/// A batch's statuses: `errs=[0,-EINVAL,-]`.
pub(crate) struct Errs<'a>(pub &'a [EntryStatus]);

impl Display for Errs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("errs=[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match e.result() {
                None => f.write_str("-")?,
                Some(Ok(())) => f.write_str("0")?,
                Some(Err(x)) => ErrName(Error::Xen(x)).fmt(f)?,
            }
        }
        f.write_str("]")
    }
}

/// A batch: the call's result and its statuses.
pub(crate) struct Batch<'a>(pub Result<(), Error>, pub &'a [EntryStatus]);

impl Display for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", R(self.0), Errs(self.1))
    }
}

/// Bytes read through a mapping, as hex (`unreadable` if the platform could not).
pub(crate) struct Bytes<const K: usize>(pub Option<[u8; K]>);

impl<const K: usize> Display for Bytes<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("unreadable"),
            Some(b) => {
                f.write_str("bytes=")?;
                for x in b {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// A caller's GFN: `s+N` inside the scratch hole, hex elsewhere.
pub(crate) struct G {
    gfn: Gfn,
    base: Gfn,
    pages: u64,
}

impl Display for G {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.gfn.0.checked_sub(self.base.0) {
            Some(n) if n < self.pages => write!(f, "s+{n}"),
            _ if self.gfn == Gfn::INVALID => f.write_str("INVALID"),
            _ => write!(f, "{:#x}", self.gfn.0),
        }
    }
}

/// A domain id as the suite names it.
pub(crate) struct D(pub DomId);

impl Display for D {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DomId::SELF => f.write_str("SELF"),
            d => write!(f, "{d}"),
        }
    }
}

/// See [`Run::d`].
pub(crate) struct Dn {
    d: DomId,
    own: u16,
    sib: Option<u16>,
}

impl Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.d {
            DomId::SELF => f.write_str("SELF"),
            DomId(n) if n == self.own && n != 0 => f.write_str("OWN"),
            DomId(n) if Some(n) == self.sib => f.write_str("SIB"),
            d => write!(f, "{d}"),
        }
    }
}
