//! Typed values out of TOML values: numbers in any base (TOML integers, or strings for values
//! past `i64`), frame numbers, byte strings, errno names and expected outcomes.
//!
//! Each function returns the reason in words; the caller adds file, line and field.

use super::{EntryExpect, Expect};
use toml::de::DeValue;
use xenmem::{Gfn, XenError};

/// A non-negative number no larger than `max`. Strings take `0x`, `0o`, `0b` prefixes and
/// `_` separators, so 64-bit values past TOML's `i64` can be written (`"0xffffffffffffffff"`).
pub fn uint(v: &DeValue<'_>, max: u64) -> Result<u64, String> {
    let n = match v {
        DeValue::Integer(i) => {
            if i.as_str().starts_with('-') {
                return Err(format!("{} is negative: expected a number from 0 to {max}", i));
            }
            u64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| format!("{} is out of range: at most {max}", i))?
        }
        DeValue::String(s) => parse_uint(s).ok_or_else(|| format!("\"{s}\" is not a number"))?,
        other => return Err(format!("expected a number, found {}", other.type_str())),
    };
    if n > max {
        return Err(format!("{n:#x} is out of range: at most {max:#x}"));
    }
    Ok(n)
}

/// A number written as a string: decimal, or with a `0x`/`0o`/`0b` prefix; `_` allowed.
pub fn parse_uint(s: &str) -> Option<u64> {
    let t: String = s.trim().chars().filter(|&c| c != '_').collect();
    let (digits, radix) = match t.get(..2) {
        Some("0x" | "0X") => (&t[2..], 16),
        Some("0o") => (&t[2..], 8),
        Some("0b") => (&t[2..], 2),
        _ => (&t[..], 10),
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A guest frame number; `"INVALID"` is `INVALID_GFN`.
pub fn gfn(v: &DeValue<'_>) -> Result<Gfn, String> {
    if let DeValue::String(s) = v {
        if s.eq_ignore_ascii_case("invalid") {
            return Ok(Gfn::INVALID);
        }
    }
    uint(v, u64::MAX).map(Gfn)
}

/// A string.
pub fn string<'a>(v: &'a DeValue<'_>) -> Result<&'a str, String> {
    match v {
        DeValue::String(s) => Ok(s),
        other => Err(format!("expected a string, found {}", other.type_str())),
    }
}

/// A boolean.
pub fn boolean(v: &DeValue<'_>) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| format!("expected true or false, found {}", v.type_str()))
}

/// Bytes written as hex, with optional spaces (`"5a a5 3c"`).
pub fn hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("\"{s}\" is not whole bytes of hex"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let t: String = p.iter().collect();
            u8::from_str_radix(&t, 16).map_err(|_| format!("\"{t}\" in \"{s}\" is not a hex byte"))
        })
        .collect()
}

/// An errno by name, with or without the sign (`"-ESRCH"`, `"ESRCH"`), or by number (`-3`).
pub fn errno(s: &str) -> Option<XenError> {
    let t = s.trim();
    let name = t.strip_prefix('-').unwrap_or(t);
    if let Some(e) = XenError::from_name(name) {
        return Some(e);
    }
    let n: i32 = name.parse().ok()?;
    (n > 0).then(|| XenError::from_errno(n))
}

/// An expected outcome. `bytes` says the step is a read, whose strings are hex bytes.
pub fn expect(v: &DeValue<'_>, bytes: bool) -> Result<Expect, String> {
    match v {
        DeValue::Integer(i) if i.as_str().starts_with('-') => {
            let n: i64 =
                i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| format!("{i} is out of range"))?;
            let e = i32::try_from(-n).map_err(|_| format!("{i} is out of range"))?;
            Ok(Expect::Errno(XenError::from_errno(e)))
        }
        DeValue::Integer(_) => uint(v, u64::MAX).map(Expect::Value),
        DeValue::String(s) => {
            let t = s.trim();
            match t {
                "ok" => return Ok(Expect::Ok),
                "unlimited" => return Ok(Expect::Unlimited),
                "unmapped" => return Ok(Expect::Unmapped),
                "waiting" => return Ok(Expect::Waiting),
                "fault" => return Ok(Expect::Fault),
                "crashed" => return Ok(Expect::Crashed),
                "lib" => return Ok(Expect::Lib(None)),
                _ => {}
            }
            if let Some(reason) = t.strip_prefix("lib:") {
                return Ok(Expect::Lib(Some(reason.to_string())));
            }
            if t.starts_with('-') || t.starts_with('E') {
                return errno(t)
                    .map(Expect::Errno)
                    .ok_or_else(|| format!("\"{t}\" is not an errno name Xen uses"));
            }
            if bytes {
                return hex_bytes(t).map(Expect::Bytes);
            }
            parse_uint(t).map(Expect::Value).ok_or_else(|| {
                format!("\"{t}\" is not an outcome: use \"ok\", an errno such as \"-ESRCH\", a number, \"unlimited\", \"lib\", \"waiting\", \"fault\" or \"crashed\"")
            })
        }
        other => {
            Err(format!("expected an outcome (\"ok\", \"-ESRCH\", a number), found {}", other.type_str()))
        }
    }
}

/// One expected batch entry: `"ok"` (or `0`), an errno, or `"-"` for an entry Xen never
/// reached.
pub fn entry_expect(v: &DeValue<'_>) -> Result<EntryExpect, String> {
    match v {
        DeValue::Integer(i) if i.as_str() == "0" => Ok(EntryExpect::Ok),
        DeValue::Integer(i) if i.as_str().starts_with('-') => {
            let n: i32 = i.as_str().parse().map_err(|_| format!("{i} is out of range"))?;
            Ok(EntryExpect::Errno(XenError::from_errno(-n)))
        }
        DeValue::String(s) => match s.trim() {
            "ok" | "0" => Ok(EntryExpect::Ok),
            "-" => Ok(EntryExpect::NotDone),
            t => errno(t)
                .map(EntryExpect::Errno)
                .ok_or_else(|| format!("\"{t}\" is not \"ok\", \"-\" or an errno name")),
        },
        other => Err(format!("expected \"ok\", \"-\" or an errno name, found {}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(s: &str) -> DeValue<'_> {
        DeValue::parse(s).unwrap().into_inner()
    }

    #[test]
    fn numbers_in_any_base() {
        assert_eq!(uint(&val("0x100"), u64::MAX), Ok(0x100));
        assert_eq!(uint(&val("0b101"), u64::MAX), Ok(5));
        assert_eq!(uint(&val("\"0xffff_ffff_ffff_ffff\""), u64::MAX), Ok(u64::MAX));
        assert!(uint(&val("-1"), 10).unwrap_err().contains("negative"));
        assert!(uint(&val("70000"), 0xffff).unwrap_err().contains("out of range"));
        assert!(uint(&val("\"twelve\""), 10).is_err());
        assert!(uint(&val("1.5"), 10).unwrap_err().contains("float"));
        assert_eq!(gfn(&val("\"INVALID\"")), Ok(Gfn::INVALID));
    }

    #[test]
    fn outcomes() {
        assert_eq!(expect(&val("\"ok\""), false), Ok(Expect::Ok));
        assert_eq!(expect(&val("\"-ESRCH\""), false), Ok(Expect::Errno(XenError::Srch)));
        assert_eq!(expect(&val("\"EPERM\""), false), Ok(Expect::Errno(XenError::Perm)));
        assert_eq!(expect(&val("-22"), false), Ok(Expect::Errno(XenError::Inval)));
        assert_eq!(expect(&val("4"), false), Ok(Expect::Value(4)));
        assert_eq!(expect(&val("\"unlimited\""), false), Ok(Expect::Unlimited));
        assert_eq!(expect(&val("\"crashed\""), false), Ok(Expect::Crashed));
        assert_eq!(expect(&val("\"5a a5\""), true), Ok(Expect::Bytes(vec![0x5a, 0xa5])));
        assert!(expect(&val("\"-EWHAT\""), false).is_err());
        assert_eq!(entry_expect(&val("\"-\"")), Ok(EntryExpect::NotDone));
        assert_eq!(entry_expect(&val("0")), Ok(EntryExpect::Ok));
        assert_eq!(entry_expect(&val("\"-EINVAL\"")), Ok(EntryExpect::Errno(XenError::Inval)));
    }
}
