//! The request head parser fed arbitrary bytes: read whole by [`parse_request_head`] and in
//! arbitrary chunks by a [`RequestHeadReader`], both give the same head, the same refusal or
//! both want more bytes; a head is never longer than the bytes, carries at most
//! [`MAX_HEADERS`] fields with lower-case names, and is never larger than the reader's limit;
//! a head written back out (request line, fields, blank line) parses to the same head; and the
//! reader parses at most once per chunk that ends a line, plus once for the first chunk.
//!
//! Input layout: byte 0 picks the reader's size limit, byte 1 the chunk sizes, the rest is the
//! bytes received.

use crate::http_head::{
    HeadError, HeadStatus, MAX_HEADERS, ParsedHead, RequestHeadReader, parse_request_head,
};
use crate::testing::session_ops::Violation;

/// Feeds `bytes` to a reader of limit `max` in chunks of `step, step+1, step+2, step, ...`;
/// what it said last, and how many chunks ended a line.
fn read_in_chunks(bytes: &[u8], max: usize, step: usize) -> (HeadStatus, RequestHeadReader, usize) {
    let mut reader = RequestHeadReader::new(max);
    let mut status = HeadStatus::Partial;
    let mut line_ends = 0;
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at((step + i % 3).min(rest.len()));
        rest = tail;
        i += 1;
        line_ends += usize::from(chunk.contains(&b'\n'));
        status = reader.push(chunk);
        if !matches!(status, HeadStatus::Partial) {
            break;
        }
    }
    (status, reader, line_ends)
}

/// The head written back out as a request head.
fn render(head: &ParsedHead) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.{}\r\n", head.method, head.target, head.minor_version);
    for (name, value) in &head.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Runs the checks on `data`; the first broken promise, if any.
pub fn run(data: &[u8]) -> Result<(), Violation> {
    let (limit, step, bytes) = match data {
        [limit, step, bytes @ ..] => (*limit, usize::from(*step % 16) + 1, bytes),
        _ => return Ok(()),
    };
    let max = usize::from(limit) * 8 + 1;
    let whole = parse_request_head(bytes);
    let (chunked, reader, line_ends) = read_in_chunks(bytes, max, step);
    ensure!(
        reader.parses() <= line_ends + 1,
        "{} parses for {line_ends} chunks ending a line",
        reader.parses()
    );
    match (&whole, &chunked) {
        (HeadStatus::Complete { head, len }, _) => {
            ensure!(*len <= bytes.len(), "a head of {len} bytes from {} bytes", bytes.len());
            ensure!(head.headers.len() <= MAX_HEADERS, "{} header fields", head.headers.len());
            for (name, _) in &head.headers {
                ensure!(!name.is_empty(), "an empty header name in {head:?}");
                ensure!(
                    !name.bytes().any(|b| b.is_ascii_uppercase()),
                    "header name {name:?} is not lower case"
                );
            }
            if *len <= max {
                ensure!(chunked == whole, "chunked {chunked:?}, whole {whole:?}");
            } else {
                ensure!(
                    chunked == HeadStatus::Invalid(HeadError::TooLarge(max)),
                    "a head of {len} bytes passed a limit of {max}: {chunked:?}"
                );
            }
            // Written back out, the head reads the same (values that were not UTF-8 were
            // replaced on the way in, and a replaced value reads back as the replacement).
            if !head.headers.iter().any(|(_, value)| value.contains('\u{fffd}')) {
                let again = render(head);
                match parse_request_head(&again) {
                    HeadStatus::Complete { head: back, len } => {
                        ensure!(&back == head, "{head:?} came back {back:?}");
                        ensure!(len == again.len(), "{len} of {} bytes read back", again.len());
                    }
                    other => return Err(Violation(format!("{head:?} rendered reads {other:?}"))),
                }
            }
        }
        (HeadStatus::Invalid(error), HeadStatus::Partial) => {
            // The reader parses where a line ends: garbage after the last line end is refused
            // at the next one.
            ensure!(bytes.len() < max, "{} bytes kept under a limit of {max}", bytes.len());
            let mut reader = reader;
            let at_line_end = reader.push(b"\r\n");
            ensure!(
                matches!(at_line_end, HeadStatus::Invalid(_)),
                "{error:?} in the whole bytes, but the reader took them and a line end: \
                 {at_line_end:?}"
            );
            return Ok(());
        }
        (HeadStatus::Invalid(error), _) => {
            ensure!(matches!(error.status(), 400 | 431), "{error:?} answers {}", error.status());
            ensure!(
                chunked == whole || chunked == HeadStatus::Invalid(HeadError::TooLarge(max)),
                "chunked {chunked:?}, whole {whole:?}"
            );
        }
        (HeadStatus::Partial, _) => match &chunked {
            HeadStatus::Partial => {
                ensure!(bytes.len() < max, "{} bytes kept under a limit of {max}", bytes.len())
            }
            HeadStatus::Invalid(HeadError::TooLarge(_)) => {
                ensure!(bytes.len() >= max, "{} bytes refused under {max}", bytes.len())
            }
            other => return Err(Violation(format!("whole wants more, chunked {other:?}"))),
        },
    }
    if let HeadStatus::Partial = chunked {
        ensure!(reader.bytes() == bytes, "the reader lost bytes");
    }
    Ok(())
}
