//! Pagination of the MCP list methods (`tools/list`, `resources/list`,
//! `resources/templates/list`, `prompts/list`): cutting a list into pages and the opaque
//! cursors that lead from one page to the next.
//!
//! A cursor is the base64url text (no padding) of 17 bytes: a format byte (`1`), a 64-bit
//! fingerprint of the list it was cut from, and the offset of the next item, both big-endian.
//! The fingerprint is FNV-1a over the list's kind and the keys of its items (tool and prompt
//! names, resource URIs, URI templates), in order: stable across processes and builds, so any
//! node serving the same registry honours a cursor another node issued.
//!
//! When the list changed between two pages (a server restarted with other tools, a node with
//! another registry), the fingerprint no longer matches and the cursor is refused
//! ([`CursorError::ListChanged`]) rather than silently skipping or repeating items: the client
//! lists again from the start. A cursor that does not decode, or whose offset lies outside the
//! list, is refused too. [`CursorError::to_error`] turns each into the -32602 MCP asks for.
//!
//! Everything here is pure: no clock, no I/O, no state between calls.

use std::fmt;
use std::hash::Hasher;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::message::{ErrorCode, ErrorObject};

/// The page size a server uses unless configured otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest page size [`clamp_page_size`] lets through.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// The cursor format this module writes and reads.
const FORMAT: u8 = 1;
const CURSOR_BYTES: usize = 17;
/// Longer cursor text than ours is refused before decoding.
const MAX_CURSOR_CHARS: usize = 64;

/// `size` brought into `1..=MAX_PAGE_SIZE` (0 becomes 1).
pub fn clamp_page_size(size: usize) -> usize {
    size.clamp(1, MAX_PAGE_SIZE)
}

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorError {
    /// The text is not a cursor this module wrote (bad base64, wrong length or format).
    Malformed,
    /// The cursor was cut from another list (it changed since, or another server issued it).
    ListChanged,
    /// The cursor points past the end of the list.
    OutOfRange {
        /// The offset the cursor names.
        offset: u64,
        /// How many items the list has.
        len: usize,
    },
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CursorError::Malformed => {
                f.write_str("invalid cursor: not a cursor this server issued")
            }
            CursorError::ListChanged => f.write_str(
                "invalid cursor: the list changed since this cursor was issued; list again \
                 without a cursor",
            ),
            CursorError::OutOfRange { offset, len } => {
                write!(f, "invalid cursor: offset {offset} is outside the list of {len} items")
            }
        }
    }
}

impl std::error::Error for CursorError {}

impl CursorError {
    /// The JSON-RPC error MCP prescribes for an invalid cursor: -32602 with this message.
    pub fn to_error(&self) -> ErrorObject {
        ErrorObject::new(ErrorCode::InvalidParams, self.to_string())
    }
}

/// One page cut from a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<'a, T> {
    /// The items on this page.
    pub items: &'a [T],
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Cuts the page of `items` that `cursor` names (the first page when `None`), at most
/// `page_size` items long (clamped with [`clamp_page_size`]). `kind` names the list (the
/// method, say) and `key` gives each item's identity; both enter the fingerprint.
pub fn page<'a, T>(
    kind: &str,
    items: &'a [T],
    key: impl Fn(&T) -> &str,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Page<'a, T>, CursorError> {
    let page_size = clamp_page_size(page_size);
    let fingerprint = fingerprint(kind, items.iter().map(&key));
    let start = match cursor {
        None => 0,
        Some(text) => {
            let (issued_for, offset) = decode(text)?;
            if issued_for != fingerprint {
                return Err(CursorError::ListChanged);
            }
            match usize::try_from(offset) {
                Ok(offset) if offset < items.len() => offset,
                _ => return Err(CursorError::OutOfRange { offset, len: items.len() }),
            }
        }
    };
    let end = start.saturating_add(page_size).min(items.len());
    let next_cursor = (end < items.len()).then(|| encode(fingerprint, end as u64));
    Ok(Page { items: &items[start..end], next_cursor })
}

/// FNV-1a over the kind and the keys, each followed by a separator byte no UTF-8 text holds.
fn fingerprint<'k>(kind: &str, keys: impl Iterator<Item = &'k str>) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(kind.as_bytes());
    hasher.write_u8(0xff);
    for key in keys {
        hasher.write(key.as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.finish()
}

fn encode(fingerprint: u64, offset: u64) -> String {
    let mut bytes = [0u8; CURSOR_BYTES];
    bytes[0] = FORMAT;
    bytes[1..9].copy_from_slice(&fingerprint.to_be_bytes());
    bytes[9..].copy_from_slice(&offset.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(text: &str) -> Result<(u64, u64), CursorError> {
    if text.len() > MAX_CURSOR_CHARS {
        return Err(CursorError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError::Malformed)?;
    let bytes: [u8; CURSOR_BYTES] = bytes.try_into().map_err(|_| CursorError::Malformed)?;
    if bytes[0] != FORMAT {
        return Err(CursorError::Malformed);
    }
    let fingerprint = u64::from_be_bytes(bytes[1..9].try_into().expect("8 bytes"));
    let offset = u64::from_be_bytes(bytes[9..].try_into().expect("8 bytes"));
    Ok((fingerprint, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

    fn walk(page_size: usize) -> Vec<Vec<&'static str>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let page = page("tools/list", &NAMES, |n| n, cursor.as_deref(), page_size).unwrap();
            pages.push(page.items.to_vec());
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
        panic!("the walk did not end");
    }

    #[test]
    fn a_walk_with_pages_of_two_visits_every_item_once_in_order() {
        assert_eq!(walk(2), vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
    }

    #[test]
    fn a_page_as_large_as_the_list_has_no_next_cursor() {
        assert_eq!(walk(5), vec![NAMES.to_vec()]);
        assert_eq!(walk(DEFAULT_PAGE_SIZE), vec![NAMES.to_vec()]);
    }

    #[test]
    fn a_zero_page_size_is_clamped_to_one() {
        assert_eq!(walk(0).len(), 5);
        assert_eq!(clamp_page_size(usize::MAX), MAX_PAGE_SIZE);
    }

    #[test]
    fn an_empty_list_is_one_empty_page() {
        let empty: [&str; 0] = [];
        let page = page("prompts/list", &empty, |n| n, None, 2).unwrap();
        assert!(page.items.is_empty() && page.next_cursor.is_none());
    }

    #[test]
    fn cursors_are_url_safe_text_without_padding() {
        let first = page("tools/list", &NAMES, |n| n, None, 2).unwrap();
        let cursor = first.next_cursor.unwrap();
        assert_eq!(cursor.len(), 23);
        assert!(cursor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn text_that_is_no_cursor_of_ours_is_malformed() {
        for bad in ["", "!!!", "AAAA", "not a cursor", &"A".repeat(200)] {
            let refused = page("tools/list", &NAMES, |n| n, Some(bad), 2).unwrap_err();
            assert_eq!(refused, CursorError::Malformed, "{bad:?}");
        }
        let mut other_format = [0u8; CURSOR_BYTES];
        other_format[0] = 2;
        let text = URL_SAFE_NO_PAD.encode(other_format);
        let refused = page("tools/list", &NAMES, |n| n, Some(&text), 2).unwrap_err();
        assert_eq!(refused, CursorError::Malformed);
    }

    #[test]
    fn a_cursor_from_a_changed_list_or_another_list_is_refused() {
        let cursor = page("tools/list", &NAMES, |n| n, None, 2).unwrap().next_cursor.unwrap();
        let changed = ["a", "b", "x", "d", "e"];
        let refused = page("tools/list", &changed, |n| n, Some(&cursor), 2).unwrap_err();
        assert_eq!(refused, CursorError::ListChanged);
        let refused = page("prompts/list", &NAMES, |n| n, Some(&cursor), 2).unwrap_err();
        assert_eq!(refused, CursorError::ListChanged);
    }

    #[test]
    fn a_cursor_past_the_end_is_out_of_range_and_answered_with_invalid_params() {
        let fingerprint = fingerprint("tools/list", NAMES.iter().copied());
        let text = encode(fingerprint, 5);
        let refused = page("tools/list", &NAMES, |n| n, Some(&text), 2).unwrap_err();
        assert_eq!(refused, CursorError::OutOfRange { offset: 5, len: 5 });
        let error = refused.to_error();
        assert_eq!(error.code, -32602);
        assert!(error.message.contains("offset 5"), "{}", error.message);
    }

    #[test]
    fn the_fingerprint_is_stable_across_builds() {
        // FNV-1a has fixed constants (the value is checked against an independent FNV-1a
        // computation): it must never change, or cursors issued by one
        // version of a server would be refused by the next.
        assert_eq!(fingerprint("tools/list", ["a", "b"].into_iter()), 0xa8df_6a3b_a567_c719);
    }
}
