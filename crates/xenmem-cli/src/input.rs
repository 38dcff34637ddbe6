//! Bad input, reported as one line that names the file, the line and the field.
//!
//! Every refusal of a scenario file or an argument ends up here, so the command never panics
//! on input and always exits 2 with `FILE:LINE: WHERE field `F`: WHAT`.

use std::fmt;

/// Input the command cannot use: a missing or malformed file, an unknown operation or
/// domain, a value out of range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file (or `<demo>`, `<argument>`).
    pub file: String,
    /// 1-based line of the offending text, when there is one.
    pub line: Option<usize>,
    /// Where in the document: `step 3 (populate_physmap)`, `domain "domU"`, `machine`.
    pub context: Option<String>,
    /// The field, when one is to blame.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl InputError {
    /// An error about a whole file (it cannot be read, or is not TOML at all).
    pub fn file(file: &str, message: impl Into<String>) -> InputError {
        InputError { file: file.to_string(), line: None, context: None, field: None, message: message.into() }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(c) = &self.context {
            write!(f, "{c}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// A source text and its name, to turn byte offsets into line numbers.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The file name as the user gave it.
    pub name: &'a str,
    /// Its contents.
    pub text: &'a str,
}

impl Source<'_> {
    /// The 1-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// An error at byte `offset`.
    pub fn error(
        &self,
        offset: usize,
        context: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> InputError {
        InputError {
            file: self.name.to_string(),
            line: Some(self.line_of(offset)),
            context: context.map(str::to_string),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        let s = Source { name: "f.toml", text: "a = 1\nb = 2\n" };
        assert_eq!(s.line_of(0), 1);
        assert_eq!(s.line_of(6), 2);
        assert_eq!(s.line_of(100), 3);
        let e = s.error(6, Some("step 1 (read)"), Some("b"), "bad");
        assert_eq!(e.to_string(), "f.toml:2: step 1 (read): field `b`: bad");
    }
}
