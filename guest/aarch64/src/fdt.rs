//! Just enough of a flattened device tree reader for what Xen tells the kernel: its command
//! line (`/chosen/bootargs`), its RAM (`device_type = "memory"` nodes), and, for dom0, the
//! `/hypervisor` node's regions (the first is the grant-table area, the others are Xen's
//! "extended regions": guest-physical space that is safe to map foreign pages into).
//!
//! Safe code over a byte slice: every read is bounds-checked, and a malformed tree ends the
//! walk with an error instead of a panic.

/// Up to this many `reg` entries are kept per kind.
pub const MAX_REGIONS: usize = 8;

/// A guest-physical range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub size: u64,
}

impl Region {
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }

    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end()
    }
}

/// A fixed-capacity list of regions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regions {
    items: [Region; MAX_REGIONS],
    len: usize,
}

impl Regions {
    fn push(&mut self, r: Region) {
        if self.len < MAX_REGIONS {
            self.items[self.len] = r;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[Region] {
        &self.items[..self.len]
    }
}

/// What the kernel reads from the tree.
#[derive(Debug, Default)]
pub struct DtInfo<'a> {
    /// `/chosen/bootargs`, without its terminating NUL.
    pub bootargs: &'a str,
    /// RAM banks.
    pub memory: Regions,
    /// `/hypervisor` `reg` entries, in order.
    pub hypervisor: Regions,
}

const MAGIC: u32 = 0xd00d_feed;

/// The structure block's tokens (Devicetree Specification, 5.4.1).
mod token {
    pub const BEGIN_NODE: u32 = 1;
    pub const END_NODE: u32 = 2;
    pub const PROP: u32 = 3;
    pub const NOP: u32 = 4;
    pub const END: u32 = 9;
}
use token::*;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The NUL-terminated string at `at`.
fn cstr(b: &[u8], at: usize) -> Option<&str> {
    let rest = b.get(at..)?;
    let len = rest.iter().position(|&c| c == 0)?;
    core::str::from_utf8(&rest[..len]).ok()
}

/// Reads `cells` 32-bit cells as one number.
fn cells(b: &[u8], at: usize, cells: u32) -> Option<u64> {
    (0..cells as usize).try_fold(0u64, |acc, i| Some(acc << 32 | be32(b, at + 4 * i)? as u64))
}

/// The size of the tree at the start of `header` (its first 8 bytes), if it is one.
pub fn total_size(header: &[u8]) -> Option<u32> {
    (be32(header, 0)? == MAGIC).then(|| be32(header, 4))?
}

/// Walks the tree in `blob` (the whole tree, `total_size` bytes).
pub fn scan(blob: &[u8]) -> Result<DtInfo<'_>, &'static str> {
    let total = total_size(blob).ok_or("no device tree magic")?;
    if (total as usize) > blob.len() {
        return Err("device tree larger than its buffer");
    }
    let structs = be32(blob, 8).ok_or("short header")? as usize;
    let strings = be32(blob, 12).ok_or("short header")? as usize;
    let mut info = DtInfo::default();

    // #address-cells and #size-cells of the root, which govern the `reg` of its children
    // (the devicetree specification's defaults are 2 and 1).
    let (mut root_ac, mut root_sc) = (2u32, 1u32);
    let mut depth = 0usize;
    // The depth-1 node being read: its name, whether it is a memory node, its raw `reg`.
    let mut node: &str = "";
    let mut is_memory = false;
    let mut reg: &[u8] = &[];
    let mut at = structs;
    loop {
        let token = be32(blob, at).ok_or("truncated structure block")?;
        at += 4;
        match token {
            BEGIN_NODE => {
                let name = cstr(blob, at).ok_or("bad node name")?;
                at = (at + name.len() + 1 + 3) & !3;
                depth += 1;
                if depth == 2 {
                    node = name;
                    is_memory = false;
                    reg = &[];
                }
            }
            END_NODE => {
                if depth == 2 {
                    let entry = 4 * (root_ac + root_sc) as usize;
                    let name = node.split('@').next().unwrap_or("");
                    let list = if is_memory || name == "memory" {
                        Some(&mut info.memory)
                    } else if name == "hypervisor" {
                        Some(&mut info.hypervisor)
                    } else {
                        None
                    };
                    if let Some(list) = list {
                        for e in reg.chunks_exact(entry) {
                            let start = cells(e, 0, root_ac).ok_or("bad reg")?;
                            let size = cells(e, 4 * root_ac as usize, root_sc).ok_or("bad reg")?;
                            list.push(Region { start, size });
                        }
                    }
                }
                depth = depth.checked_sub(1).ok_or("unbalanced nodes")?;
            }
            PROP => {
                let len = be32(blob, at).ok_or("truncated property")? as usize;
                let name_off = be32(blob, at + 4).ok_or("truncated property")? as usize;
                let value = blob.get(at + 8..at + 8 + len).ok_or("property past the end")?;
                let name = cstr(blob, strings + name_off).ok_or("bad property name")?;
                at = (at + 8 + len + 3) & !3;
                match (depth, node, name) {
                    (1, _, "#address-cells") => root_ac = be32(value, 0).ok_or("bad cells")?,
                    (1, _, "#size-cells") => root_sc = be32(value, 0).ok_or("bad cells")?,
                    (2, "chosen", "bootargs") => info.bootargs = cstr(value, 0).unwrap_or(""),
                    (2, _, "device_type") => is_memory = value.starts_with(b"memory\0"),
                    (2, _, "reg") => reg = value,
                    _ => {}
                }
                if !(1..=2).contains(&root_ac) || !(1..=2).contains(&root_sc) {
                    return Err("unsupported #address-cells or #size-cells");
                }
            }
            NOP => {}
            END => return Ok(info),
            _ => return Err("unknown structure token"),
        }
    }
}
