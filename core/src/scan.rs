//! A linear pre-pass over a JSON text that enforces what serde_json leaves to the caller.
//!
//! serde_json skips over raw values without a depth limit and without checking `\u` escapes, so
//! before the real parse this scan bounds the nesting depth and rejects lone UTF-16 surrogate
//! escapes. Everything else about the grammar is left to serde_json: on malformed text the scan
//! stops early and reports nothing, and the parse that follows reports the syntax error.

use std::fmt;

/// Why the scan refused a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Objects and arrays nest deeper than the limit.
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// A `\u` escape names half of a surrogate pair without the other half.
    LoneSurrogate {
        /// Byte offset of the backslash.
        offset: usize,
    },
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::TooDeep { limit } => {
                write!(f, "JSON nests deeper than the limit of {limit} levels")
            }
            ScanError::LoneSurrogate { offset } => {
                write!(f, "lone UTF-16 surrogate escape at byte {offset}")
            }
        }
    }
}

/// Scans `bytes`, a JSON text, for nesting deeper than `max_depth` and for lone surrogates.
pub(crate) fn scan(bytes: &[u8], max_depth: usize) -> Result<(), ScanError> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ScanError::TooDeep { limit: max_depth });
                }
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'"' => match skip_string(bytes, i + 1)? {
                Some(next) => i = next,
                None => return Ok(()),
            },
            _ => i += 1,
        }
    }
    Ok(())
}

/// Skips a string body starting at `start` (just after the opening quote). Returns the index
/// after the closing quote, or `None` when the string is malformed or unterminated.
fn skip_string(bytes: &[u8], start: usize) -> Result<Option<usize>, ScanError> {
    let mut i = start;
    loop {
        match bytes.get(i) {
            None => return Ok(None),
            Some(b'"') => return Ok(Some(i + 1)),
            Some(b'\\') => match bytes.get(i + 1) {
                Some(b'u') => {
                    let Some(unit) = hex4(bytes, i + 2) else { return Ok(None) };
                    match unit {
                        0xD800..=0xDBFF => {
                            let low = (bytes.get(i + 6) == Some(&b'\\')
                                && bytes.get(i + 7) == Some(&b'u'))
                            .then(|| hex4(bytes, i + 8))
                            .flatten();
                            match low {
                                Some(0xDC00..=0xDFFF) => i += 12,
                                _ => return Err(ScanError::LoneSurrogate { offset: i }),
                            }
                        }
                        0xDC00..=0xDFFF => return Err(ScanError::LoneSurrogate { offset: i }),
                        _ => i += 6,
                    }
                }
                Some(_) => i += 2,
                None => return Ok(None),
            },
            Some(_) => i += 1,
        }
    }
}

/// Reads four hex digits at `at` as a UTF-16 code unit.
fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    let mut unit = 0u16;
    for &d in digits {
        let v = (d as char).to_digit(16)?;
        unit = unit << 4 | v as u16;
    }
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_at_the_limit_passes_and_one_more_fails() {
        assert_eq!(scan(b"[[[]]]", 3), Ok(()));
        assert_eq!(scan(b"[[[[]]]]", 3), Err(ScanError::TooDeep { limit: 3 }));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(scan(br#"{"a":"[[[[[[\"{{{{"}"#, 1), Ok(()));
    }

    #[test]
    fn surrogate_pairs_pass_and_lone_halves_fail() {
        assert_eq!(scan(br#""\ud83d\ude00""#, 4), Ok(()));
        assert_eq!(scan(br#""\ud83d""#, 4), Err(ScanError::LoneSurrogate { offset: 1 }));
        assert_eq!(scan(br#""\ude00x""#, 4), Err(ScanError::LoneSurrogate { offset: 1 }));
        assert_eq!(scan(br#""\ud83d\u0041""#, 4), Err(ScanError::LoneSurrogate { offset: 1 }));
    }

    #[test]
    fn truncated_escapes_are_left_to_the_parser() {
        assert_eq!(scan(br#""\u12"#, 4), Ok(()));
        assert_eq!(scan(br#""abc\"#, 4), Ok(()));
    }
}
