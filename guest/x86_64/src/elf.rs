//! Just enough of ELF64 to load a PVH kernel the way Xen's own loader does: the `PT_LOAD`
//! segments at their physical addresses, and the entry point from the Xen note
//! `XEN_ELFNOTE_PHYS32_ENTRY` (not `e_entry`, which a PVH loader ignores).
//!
//! Everything is bounds-checked against the byte slice, so a truncated or hostile image is an
//! error, never an out-of-range read.

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PF_W: u32 = 2;
const EM_X86_64: u16 = 62;
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
const PHDR_SIZE: usize = 56;
/// More segments than any kernel of ours has; a fixed array keeps the parser allocation-free.
const MAX_SEGMENTS: usize = 8;

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Segment {
    /// Physical load address.
    pub paddr: u64,
    /// Bytes in memory; those past `file_len` are zero.
    pub mem_len: u64,
    /// Where its file bytes start in the image.
    pub file_offset: usize,
    /// How many bytes come from the file.
    pub file_len: usize,
    /// Writable (`PF_W`): its bytes in a running copy may differ from the file's.
    pub writable: bool,
}

impl Segment {
    /// The first byte past the segment in memory.
    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(self.mem_len)
    }
}

/// A parsed image: its load segments and PVH entry point.
pub struct Image<'a> {
    bytes: &'a [u8],
    segments: [Segment; MAX_SEGMENTS],
    count: usize,
    /// The 32-bit physical entry point (`XEN_ELFNOTE_PHYS32_ENTRY`).
    pub entry: u32,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

impl<'a> Image<'a> {
    /// Parses `bytes`; `Err` names what is wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>, &'static str> {
        if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err("not an ELF file");
        }
        // Class 64-bit, little-endian, x86_64.
        if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
            return Err("not a 64-bit little-endian ELF");
        }
        if u16_at(bytes, 18) != Some(EM_X86_64) {
            return Err("not an x86_64 ELF");
        }
        let phoff = u64_at(bytes, 32).ok_or("truncated ELF header")? as usize;
        let phentsize = u16_at(bytes, 54).ok_or("truncated ELF header")? as usize;
        let phnum = u16_at(bytes, 56).ok_or("truncated ELF header")? as usize;
        if phentsize != PHDR_SIZE {
            return Err("unexpected program header size");
        }
        let mut image = Image { bytes, segments: [Segment::default(); MAX_SEGMENTS], count: 0, entry: 0 };
        let mut entry = None;
        for i in 0..phnum {
            let ph = i
                .checked_mul(PHDR_SIZE)
                .and_then(|o| o.checked_add(phoff))
                .and_then(|o| bytes.get(o..o.checked_add(PHDR_SIZE)?))
                .ok_or("program headers past the end of the file")?;
            let kind = u32_at(ph, 0).ok_or("bad program header")?;
            let flags = u32_at(ph, 4).ok_or("bad program header")?;
            let offset = u64_at(ph, 8).ok_or("bad program header")? as usize;
            let paddr = u64_at(ph, 24).ok_or("bad program header")?;
            let filesz = u64_at(ph, 32).ok_or("bad program header")? as usize;
            let memsz = u64_at(ph, 40).ok_or("bad program header")?;
            let file = offset
                .checked_add(filesz)
                .and_then(|end| bytes.get(offset..end))
                .ok_or("segment past the end of the file")?;
            match kind {
                PT_LOAD => {
                    if filesz as u64 > memsz || paddr.checked_add(memsz).is_none() {
                        return Err("load segment larger in the file than in memory");
                    }
                    let slot = image.segments.get_mut(image.count).ok_or("too many load segments")?;
                    *slot = Segment {
                        paddr,
                        mem_len: memsz,
                        file_offset: offset,
                        file_len: filesz,
                        writable: flags & PF_W != 0,
                    };
                    image.count += 1;
                }
                PT_NOTE => entry = entry.or(phys32_entry(file)),
                _ => {}
            }
        }
        if image.count == 0 {
            return Err("no load segments");
        }
        image.entry = entry.ok_or("no XEN_ELFNOTE_PHYS32_ENTRY note")?;
        Ok(image)
    }

    /// The load segments, in file order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// A segment's bytes from the file.
    pub fn file_bytes(&self, s: &Segment) -> &'a [u8] {
        // `parse` checked every segment's range against the file.
        &self.bytes[s.file_offset..s.file_offset + s.file_len]
    }

    /// The physical range all segments cover, from the lowest start to the highest end.
    pub fn span(&self) -> (u64, u64) {
        let lo = self.segments().iter().map(|s| s.paddr).min().unwrap_or(0);
        let hi = self.segments().iter().map(Segment::end).max().unwrap_or(0);
        (lo, hi)
    }
}

/// The PHYS32 entry from a note segment's bytes: entries of namesz, descsz, type, then the
/// name and the descriptor, each padded to 4 bytes.
fn phys32_entry(notes: &[u8]) -> Option<u32> {
    let mut off = 0usize;
    while off + 12 <= notes.len() {
        let namesz = u32_at(notes, off)? as usize;
        let descsz = u32_at(notes, off + 4)? as usize;
        let kind = u32_at(notes, off + 8)?;
        let name_at = off + 12;
        let desc_at = name_at.checked_add(namesz.checked_next_multiple_of(4)?)?;
        let name = notes.get(name_at..name_at.checked_add(namesz)?)?;
        if name == b"Xen\0" && kind == XEN_ELFNOTE_PHYS32_ENTRY && descsz >= 4 {
            return u32_at(notes, desc_at);
        }
        off = desc_at.checked_add(descsz.checked_next_multiple_of(4)?)?;
    }
    None
}
