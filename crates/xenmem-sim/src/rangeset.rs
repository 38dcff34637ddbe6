//! Xen's rangeset (`xen/common/rangeset.c`), as an ioreq server's port, memory and PCI ranges
//! use it: disjoint inclusive ranges, adjacent ones merged, at most `limit` of them
//! (`rangeset_limit`, `MAX_NR_IO_RANGES` = 256 for ioreq servers).
//!
//! The callers check overlap and containment first (`ioreq_server_map_io_range` refuses an
//! overlap with `-EEXIST`, the unmap a range not wholly held with `-ENOENT`), so only the
//! cases those leave are followed here, with Xen's one quirk: adding a range that touches
//! only its *right* neighbour still needs a free slot first (`alloc_range` runs before the
//! merge), so a full set refuses it with `-ENOMEM`.

use crate::error::errno::ENOMEM;
use std::collections::BTreeMap;

/// A set of ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RangeSet {
    /// start → end (inclusive); no two overlap or touch.
    ranges: BTreeMap<u64, u64>,
    /// `nr_ranges`: ranges that may still be allocated.
    free: u32,
}

impl RangeSet {
    /// An empty set of at most `limit` ranges.
    pub(crate) fn with_limit(limit: u32) -> RangeSet {
        RangeSet { ranges: BTreeMap::new(), free: limit }
    }

    /// The range whose start is the last at or below `v` (`find_range`).
    fn find(&self, v: u64) -> Option<(u64, u64)> {
        self.ranges.range(..=v).next_back().map(|(&s, &e)| (s, e))
    }

    /// `rangeset_contains_range`: one range holds all of `s..=e`.
    pub(crate) fn contains(&self, s: u64, e: u64) -> bool {
        self.find(s).is_some_and(|(_, xe)| xe >= e)
    }

    /// `rangeset_overlaps_range`: some range meets `s..=e`.
    pub(crate) fn overlaps(&self, s: u64, e: u64) -> bool {
        self.find(e).is_some_and(|(_, xe)| xe >= s)
    }

    /// `rangeset_add_range` for a range that overlaps none of the set.
    pub(crate) fn add(&mut self, s: u64, e: u64) -> Result<(), i32> {
        let start = match self.find(s) {
            Some((xs, xe)) if xe.checked_add(1) == Some(s) => {
                self.ranges.insert(xs, e);
                xs
            }
            _ => {
                if self.free == 0 {
                    return Err(ENOMEM);
                }
                self.free -= 1;
                self.ranges.insert(s, e);
                s
            }
        };
        // Merge with the next range when they touch.
        let next = e.checked_add(1).and_then(|n| self.ranges.get(&n).copied().map(|ne| (n, ne)));
        if let Some((ns, ne)) = next {
            self.ranges.remove(&ns);
            self.ranges.insert(start, ne);
            self.free += 1;
        }
        Ok(())
    }

    /// `rangeset_remove_range` for a range one range of the set holds.
    pub(crate) fn remove(&mut self, s: u64, e: u64) -> Result<(), i32> {
        let Some((xs, xe)) = self.find(s).filter(|&(_, xe)| xe >= e) else { return Ok(()) };
        if xs < s && xe > e {
            if self.free == 0 {
                return Err(ENOMEM);
            }
            self.free -= 1;
            self.ranges.insert(xs, s - 1);
            self.ranges.insert(e + 1, xe);
        } else if xs == s && xe <= e {
            self.ranges.remove(&xs);
            self.free += 1;
        } else if xs == s {
            self.ranges.remove(&xs);
            self.ranges.insert(e + 1, xe);
        } else {
            self.ranges.insert(xs, s - 1);
        }
        Ok(())
    }

    /// The ranges, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_split_and_limit() {
        let mut r = RangeSet::with_limit(2);
        r.add(10, 19).unwrap();
        r.add(30, 39).unwrap();
        assert!(r.overlaps(19, 25) && !r.overlaps(20, 29) && r.overlaps(0, u64::MAX));
        // Full: a range touching only its right neighbour still needs a slot.
        assert_eq!(r.add(25, 29), Err(ENOMEM));
        // Touching the left neighbour extends it, and then joins the right one.
        r.add(20, 29).unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), [(10, 39)]);
        assert!(r.contains(10, 39) && !r.contains(9, 10));
        // Split in the middle uses a slot; removing the ends does not.
        r.remove(20, 29).unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), [(10, 19), (30, 39)]);
        assert_eq!(r.remove(12, 13), Err(ENOMEM));
        r.remove(10, 11).unwrap();
        r.remove(38, 39).unwrap();
        r.remove(30, 37).unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), [(12, 19)]);
        r.add(u64::MAX - 1, u64::MAX).unwrap();
        r.add(0, 0).unwrap_err();
        assert!(r.contains(u64::MAX, u64::MAX));
    }
}
