//! HTTP/1.x request heads, sans-IO: [`parse_request_head`] reads one head from the start of a
//! byte buffer, and [`RequestHeadReader`] collects a head from bytes as they arrive, within a
//! size limit, parsing only where a line ended (a head trickling in a byte at a time costs one
//! parse per line, not one per byte). The server's WebSocket handshake and its Streamable HTTP
//! endpoint read their request heads through these; the answers to what they refuse (400 for
//! bytes that are not HTTP/1.x, 431 for too many or too large headers) are [`HeadError`]s.

use std::fmt;

/// The most header fields a request head may carry.
pub const MAX_HEADERS: usize = 64;

/// One parsed request head: the request line and the header fields in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedHead {
    /// The method (`GET`).
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor_version: u8,
    /// The header fields in order, names in lower case, values as text (bytes that are not
    /// UTF-8 replaced by U+FFFD).
    pub headers: Vec<(String, String)>,
}

/// Why bytes are not an acceptable request head.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// More than [`MAX_HEADERS`] header fields (431).
    TooManyHeaders,
    /// The head is larger than the reader's limit, in bytes (431).
    TooLarge(usize),
    /// Not an HTTP/1.x request head; the parser's complaint (400).
    Malformed(String),
}

impl HeadError {
    /// The HTTP status that answers it.
    pub fn status(&self) -> u16 {
        match self {
            HeadError::TooManyHeaders | HeadError::TooLarge(_) => 431,
            HeadError::Malformed(_) => 400,
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::TooManyHeaders => {
                write!(f, "too many header fields (at most {MAX_HEADERS})")
            }
            HeadError::TooLarge(max) => write!(f, "the request head is larger than {max} bytes"),
            HeadError::Malformed(why) => write!(f, "not an HTTP/1.1 request: {why}"),
        }
    }
}

impl std::error::Error for HeadError {}

/// What the bytes so far make of a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadStatus {
    /// A complete head of `len` bytes, blank line included (what follows is not the head's).
    Complete {
        /// The head.
        head: ParsedHead,
        /// Its length in bytes.
        len: usize,
    },
    /// More bytes are needed.
    Partial,
    /// The bytes are not an acceptable head.
    Invalid(HeadError),
}

/// Parses one HTTP/1.x request head from the start of `bytes` (no size limit: see
/// [`RequestHeadReader`] for one).
pub fn parse_request_head(bytes: &[u8]) -> HeadStatus {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Partial) => HeadStatus::Partial,
        Ok(httparse::Status::Complete(len)) => HeadStatus::Complete {
            head: ParsedHead {
                method: request.method.unwrap_or_default().to_string(),
                target: request.path.unwrap_or_default().to_string(),
                minor_version: request.version.unwrap_or(1),
                headers: request
                    .headers
                    .iter()
                    .map(|h| {
                        (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned())
                    })
                    .collect(),
            },
            len,
        },
        Err(httparse::Error::TooManyHeaders) => HeadStatus::Invalid(HeadError::TooManyHeaders),
        Err(e) => HeadStatus::Invalid(HeadError::Malformed(e.to_string())),
    }
}

/// Collects one request head from bytes as they arrive ([`Self::push`]), within a size limit
/// ([`HeadError::TooLarge`] beyond), keeping every byte received (the head and what followed).
#[derive(Debug)]
pub struct RequestHeadReader {
    bytes: Vec<u8>,
    max: usize,
    parses: usize,
    scanned: usize,
}

impl RequestHeadReader {
    /// A reader for a head of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        RequestHeadReader { bytes: Vec::with_capacity(max.min(1024)), max, parses: 0, scanned: 0 }
    }

    /// Adds `chunk`; says whether the head is complete.
    pub fn push(&mut self, chunk: &[u8]) -> HeadStatus {
        let first = self.bytes.is_empty();
        self.bytes.extend_from_slice(chunk);
        // The head can only have become complete, or newly invalid, where a line ended: parse
        // on the first bytes (garbage is refused at once) and then only when a chunk ends a
        // line.
        let parsed = if first || chunk.contains(&b'\n') {
            self.parses += 1;
            self.scanned += self.bytes.len();
            parse_request_head(&self.bytes)
        } else {
            HeadStatus::Partial
        };
        match parsed {
            HeadStatus::Complete { head, len } if len <= self.max => {
                HeadStatus::Complete { head, len }
            }
            HeadStatus::Invalid(error) => HeadStatus::Invalid(error),
            HeadStatus::Partial if self.bytes.len() < self.max => HeadStatus::Partial,
            _ => HeadStatus::Invalid(HeadError::TooLarge(self.max)),
        }
    }

    /// Every byte received so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Every byte received so far (the head and what followed it).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// How many times the head parser ran.
    pub fn parses(&self) -> usize {
        self.parses
    }

    /// How many bytes the head parser was handed, all runs together.
    pub fn scanned(&self) -> usize {
        self.scanned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_and_what_follows_it() {
        let bytes = b"GET /mcp HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\nrest";
        let HeadStatus::Complete { head, len } = parse_request_head(bytes) else { panic!() };
        assert_eq!(len, bytes.len() - 4);
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/mcp");
        assert_eq!(head.headers, [("host".into(), "a".into()), ("x-y".into(), "z".into())]);
    }

    #[test]
    fn the_refusals_carry_their_status() {
        let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
        let bytes = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let status = parse_request_head(bytes.as_bytes());
        assert_eq!(status, HeadStatus::Invalid(HeadError::TooManyHeaders));
        let HeadStatus::Invalid(garbage) = parse_request_head(b"\x00\x01 nope\r\n") else {
            panic!()
        };
        assert_eq!(garbage.status(), 400);
        let mut reader = RequestHeadReader::new(16);
        assert_eq!(
            reader.push(b"GET /a-long-path HTTP/1.1\r\n"),
            HeadStatus::Invalid(HeadError::TooLarge(16))
        );
    }
}
