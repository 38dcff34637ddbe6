//! `key=value` arguments among the words of a command line (the PVH start info's on x86_64,
//! `/chosen/bootargs` on arm64).

/// The value of the first `key=value` among the whitespace-separated words of `cmdline`.
pub fn arg<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_ascii_whitespace().find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// A number as the builders write them: decimal, or hex with `0x`.
pub fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_keys_only() {
        let line = "role=domu domid=3 log=0x1000,0x10000 domid=9";
        assert_eq!(arg(line, "role"), Some("domu"));
        assert_eq!(arg(line, "domid"), Some("3"));
        assert_eq!(arg(line, "dom"), None);
        assert_eq!(arg("", "role"), None);
        assert_eq!(number("0x1f"), Some(31));
        assert_eq!(number("17"), Some(17));
        assert_eq!(number("0xg"), None);
    }
}
