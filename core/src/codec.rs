//! The frame codec: one WebSocket payload in, one classified JSON-RPC frame out, and back.
//!
//! [`decode`] turns a text payload into a [`Frame`] (one message or a batch) or a [`FrameError`]
//! that says what the input deserves: a JSON-RPC error reply (-32700 for text that is not JSON,
//! -32600 for JSON that is not a JSON-RPC message) or the close of the connection (1009 over the
//! size limit, 1003 for a binary payload, 1007 for invalid UTF-8). [`encode`] writes compact text,
//! and `decode(encode(m)) == m` for every message.
//!
//! The decoder never panics, never allocates more than a small multiple of the input size, and
//! runs in time linear in the input: a byte scan bounds the nesting depth and rejects lone
//! surrogate escapes, then serde_json reads the envelope while params, results and error data are
//! captured as raw slices of the input.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::close::{CloseCode, CloseReason};
use crate::id::{IntegerId, RequestId};
use crate::json_object::BorrowedKey;
use crate::message::{
    ErrorCode, ErrorObject, ErrorResponse, Extensions, Message, Notification, Request,
    ResultResponse,
};
use crate::raw::RawJson;
use crate::scan::scan;

/// Limits applied by the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest payload accepted, in bytes; larger ones close the connection with 1009.
    pub max_message_bytes: usize,
    /// The deepest nesting of JSON objects and arrays accepted; deeper text gets -32700.
    pub max_depth: usize,
}

impl Limits {
    /// 16 MiB, what the official Python server accepts.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
    /// 128 levels, serde_json's own recursion limit, so every accepted frame can also be parsed
    /// into typed views.
    pub const DEFAULT_MAX_DEPTH: usize = 128;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }
}

/// What one text payload decoded into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A single message, the only form real peers send.
    Single(Message),
    /// A JSON-RPC batch (allowed only by protocol version 2025-03-26; the session decides).
    /// Each member is a message, or the error reply an invalid member deserves.
    Batch(Vec<Result<Message, ErrorResponse>>),
}

/// A WebSocket payload as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// A text frame's bytes, not yet checked for UTF-8.
    Text(&'a [u8]),
    /// A binary frame's bytes.
    Binary(&'a [u8]),
}

/// Why a payload did not decode, and what it deserves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Send this JSON-RPC error response; the connection stays open.
    Reply(ErrorResponse),
    /// Close the connection with this code and reason.
    Close(CloseReason),
}

impl FrameError {
    /// The JSON-RPC error code of a reply, or `None` for a close.
    pub fn reply_code(&self) -> Option<i64> {
        match self {
            FrameError::Reply(e) => Some(e.error.code),
            FrameError::Close(_) => None,
        }
    }

    /// The close code of a fatal error, or `None` for a reply.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            FrameError::Reply(_) => None,
            FrameError::Close(c) => Some(c.code),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Reply(e) => write!(f, "error {}: {}", e.error.code, e.error.message),
            FrameError::Close(c) => c.fmt(f),
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes one WebSocket payload of either kind.
pub fn decode_payload(payload: Payload<'_>, limits: &Limits) -> Result<Frame, FrameError> {
    match payload {
        Payload::Text(bytes) => decode_bytes(bytes, limits),
        Payload::Binary(_) => Err(FrameError::Close(CloseReason::new(
            CloseCode::UNSUPPORTED_DATA,
            "binary frames are not MCP messages; send JSON-RPC as text frames",
        ))),
    }
}

/// Decodes the bytes of a text frame, checking UTF-8 first.
pub fn decode_bytes(bytes: &[u8], limits: &Limits) -> Result<Frame, FrameError> {
    check_size(bytes.len(), limits)?;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        FrameError::Close(CloseReason::new(
            CloseCode::INVALID_PAYLOAD,
            format!("text frame is not valid UTF-8 at byte {}", e.valid_up_to()),
        ))
    })?;
    decode(text, limits)
}

/// Decodes one text payload.
pub fn decode(text: &str, limits: &Limits) -> Result<Frame, FrameError> {
    check_size(text.len(), limits)?;
    if let Err(e) = scan(text.as_bytes(), limits.max_depth) {
        return Err(reply(None, ErrorCode::ParseError, format!("parse error: {e}")));
    }
    match text.trim_start_matches(is_json_whitespace).as_bytes().first() {
        Some(b'{') => decode_object(text).map(Frame::Single).map_err(FrameError::Reply),
        Some(b'[') => decode_batch(text),
        None => Err(reply(None, ErrorCode::ParseError, "parse error: empty frame")),
        Some(_) => match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Err(reply(
                None,
                ErrorCode::InvalidRequest,
                "invalid request: a message must be a JSON object",
            )),
            Err(e) => Err(parse_error(&e)),
        },
    }
}

/// Encodes one message as compact JSON text.
pub fn encode(message: &Message) -> String {
    serde_json::to_string(message).expect("a Message always serializes: string keys, raw values")
}

/// Encodes several messages as one JSON-RPC batch.
pub fn encode_batch(messages: &[Message]) -> String {
    serde_json::to_string(messages).expect("a Message always serializes: string keys, raw values")
}

/// `json` without the whitespace between its tokens: one line, fit for newline-delimited
/// framing (the MCP stdio transport). Strings, numbers and every other token are kept byte for
/// byte, so raw params and big numbers survive. `json` must be valid JSON (text this codec
/// decoded or encoded); text with no whitespace at all is returned borrowed.
pub fn single_line(json: &str) -> Cow<'_, str> {
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    if !json.bytes().any(is_space) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn check_size(len: usize, limits: &Limits) -> Result<(), FrameError> {
    if len > limits.max_message_bytes {
        return Err(FrameError::Close(CloseReason::new(
            CloseCode::MESSAGE_TOO_BIG,
            format!("message of {len} bytes exceeds the limit of {}", limits.max_message_bytes),
        )));
    }
    Ok(())
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn reply(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> FrameError {
    FrameError::Reply(error_response(id, code, message))
}

fn error_response(
    id: Option<RequestId>,
    code: ErrorCode,
    message: impl Into<String>,
) -> ErrorResponse {
    ErrorResponse::new(id, ErrorObject::new(code, message))
}

fn parse_error(e: &serde_json::Error) -> FrameError {
    FrameError::Reply(parse_error_response(e))
}

fn parse_error_response(e: &serde_json::Error) -> ErrorResponse {
    error_response(None, ErrorCode::ParseError, format!("parse error: {e}"))
}

fn decode_batch(text: &str) -> Result<Frame, FrameError> {
    let members: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| parse_error(&e))?;
    if members.is_empty() {
        return Err(reply(None, ErrorCode::InvalidRequest, "invalid request: empty batch"));
    }
    let decoded = members
        .into_iter()
        .map(|member| {
            if member.get().starts_with('{') {
                decode_object(member.get())
            } else {
                Err(error_response(
                    None,
                    ErrorCode::InvalidRequest,
                    "invalid request: a batch member must be a JSON object",
                ))
            }
        })
        .collect();
    Ok(Frame::Batch(decoded))
}

/// Decodes a text known to start with `{` into one message.
fn decode_object(text: &str) -> Result<Message, ErrorResponse> {
    let envelope: Envelope<'_> =
        serde_json::from_str(text).map_err(|e| parse_error_response(&e))?;
    envelope.into_message()
}

/// The members of a JSON-RPC object, each still raw, borrowed from the input.
#[derive(Default)]
struct Envelope<'a> {
    jsonrpc: Option<&'a RawValue>,
    id: Option<&'a RawValue>,
    method: Option<&'a RawValue>,
    params: Option<&'a RawValue>,
    result: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
    extensions: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// The first member that appeared twice, if any.
    duplicate: Option<Cow<'a, str>>,
}

/// What the caller may learn about the id while the rest of the message is invalid.
enum IdState {
    Absent,
    Null,
    Valid(RequestId),
    Invalid,
}

impl IdState {
    fn reply_id(&self) -> Option<RequestId> {
        match self {
            IdState::Valid(id) => Some(id.clone()),
            IdState::Absent | IdState::Null | IdState::Invalid => None,
        }
    }
}

impl<'a> Envelope<'a> {
    fn into_message(self) -> Result<Message, ErrorResponse> {
        let id = match self.id {
            None => IdState::Absent,
            Some(raw) => match parse_id(raw) {
                Ok(Some(id)) => IdState::Valid(id),
                Ok(None) => IdState::Null,
                Err(()) => IdState::Invalid,
            },
        };
        let invalid = |id: &IdState, why: &str| {
            error_response(
                id.reply_id(),
                ErrorCode::InvalidRequest,
                format!("invalid request: {why}"),
            )
        };
        if let Some(name) = &self.duplicate {
            let id = if name == "id" { &IdState::Invalid } else { &id };
            return Err(invalid(id, &format!("member {name:?} appears more than once")));
        }
        match self.jsonrpc {
            None => return Err(invalid(&id, "missing \"jsonrpc\": \"2.0\"")),
            Some(v) if v.get() != "\"2.0\"" && parse_str(v).as_deref() != Some("2.0") => {
                return Err(invalid(&id, "\"jsonrpc\" must be exactly \"2.0\""));
            }
            Some(_) => {}
        }
        if matches!(id, IdState::Invalid) {
            return Err(invalid(&id, "\"id\" must be a string or an integer"));
        }
        let extensions = self.owned_extensions();
        if let Some(method) = self.method {
            if self.result.is_some() || self.error.is_some() {
                return Err(invalid(
                    &id,
                    "a message cannot carry both \"method\" and a result or error",
                ));
            }
            let Some(method) = parse_str(method) else {
                return Err(invalid(&id, "\"method\" must be a string"));
            };
            let params = match self.params {
                None => None,
                Some(p) if p.get().starts_with(['{', '[']) => Some(RawJson::from_raw_value(p)),
                Some(_) => return Err(invalid(&id, "\"params\" must be an object or an array")),
            };
            return match id {
                IdState::Absent => Ok(Message::Notification(Notification {
                    method: method.into_owned(),
                    params,
                    extensions,
                })),
                IdState::Valid(id) => Ok(Message::Request(Request {
                    id,
                    method: method.into_owned(),
                    params,
                    extensions,
                })),
                IdState::Null | IdState::Invalid => {
                    Err(invalid(&id, "a request id must be a string or an integer, not null"))
                }
            };
        }
        if self.params.is_some() {
            return Err(invalid(&id, "a response cannot carry \"params\""));
        }
        match (self.result, self.error) {
            (Some(_), Some(_)) => {
                Err(invalid(&id, "a response cannot carry both \"result\" and \"error\""))
            }
            (Some(result), None) => match id {
                IdState::Valid(id) => Ok(Message::Result(ResultResponse {
                    id,
                    result: RawJson::from_raw_value(result),
                    extensions,
                })),
                _ => Err(invalid(&id, "a result response needs a string or integer \"id\"")),
            },
            (None, Some(error)) => {
                let Some(error) = parse_error_object(error) else {
                    return Err(invalid(
                        &id,
                        "\"error\" must be an object with an integer \"code\" and a string \"message\"",
                    ));
                };
                Ok(Message::Error(ErrorResponse { id: id.reply_id(), error, extensions }))
            }
            (None, None) => Err(invalid(&id, "missing \"method\", \"result\" or \"error\"")),
        }
    }

    fn owned_extensions(&self) -> Extensions {
        self.extensions
            .iter()
            .map(|(k, v)| (k.clone().into_owned(), RawJson::from_raw_value(v)))
            .collect()
    }
}

/// Reads an id: `Ok(Some)` for a string or an in-range integer, `Ok(None)` for `null`.
fn parse_id(raw: &RawValue) -> Result<Option<RequestId>, ()> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => parse_str(raw).map(|s| Some(RequestId::String(s.into_owned()))).ok_or(()),
        Some(b'-' | b'0'..=b'9') => {
            if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                return Err(());
            }
            let n: i128 = text.parse().map_err(|_| ())?;
            if let Ok(v) = i64::try_from(n) {
                Ok(Some(RequestId::Number(IntegerId::from(v))))
            } else if let Ok(v) = u64::try_from(n) {
                Ok(Some(RequestId::Number(IntegerId::from(v))))
            } else {
                Err(())
            }
        }
        Some(b'n') => Ok(None),
        _ => Err(()),
    }
}

/// Reads a raw JSON string, borrowing when it has no escapes.
fn parse_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    let body = &text[1..text.len() - 1];
    if !body.contains('\\') {
        return Some(Cow::Borrowed(body));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

fn parse_error_object(raw: &RawValue) -> Option<ErrorObject> {
    #[derive(Deserialize)]
    struct WireError<'a> {
        code: i64,
        message: String,
        #[serde(default, borrow, deserialize_with = "present_raw")]
        data: Option<&'a RawValue>,
    }
    fn present_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
        <&RawValue>::deserialize(d).map(Some)
    }
    let wire: WireError<'_> = serde_json::from_str(raw.get()).ok()?;
    Some(ErrorObject {
        code: wire.code,
        message: wire.message,
        data: wire.data.map(RawJson::from_raw_value),
    })
}

/// The first key that appears twice among unknown members, found in linear expected time.
fn first_repeated_key<'a>(members: &[(Cow<'a, str>, &'a RawValue)]) -> Option<Cow<'a, str>> {
    if members.len() < 2 {
        return None;
    }
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    members.iter().find(|(k, _)| !seen.insert(&**k)).map(|(k, _)| k.clone())
}

/// The envelope member a key names.
enum Member<'a> {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other(Cow<'a, str>),
}

impl<'a> Member<'a> {
    fn from_key(key: Cow<'a, str>) -> Self {
        match &*key {
            "jsonrpc" => Member::Jsonrpc,
            "id" => Member::Id,
            "method" => Member::Method,
            "params" => Member::Params,
            "result" => Member::Result,
            "error" => Member::Error,
            _ => Member::Other(key),
        }
    }
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;

        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = Envelope<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC message object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut env = Envelope::default();
                while let Some(BorrowedKey(key)) = map.next_key()? {
                    let member = Member::from_key(key);
                    let value: &'de RawValue = map.next_value()?;
                    let (slot, name) = match member {
                        Member::Jsonrpc => (&mut env.jsonrpc, "jsonrpc"),
                        Member::Id => (&mut env.id, "id"),
                        Member::Method => (&mut env.method, "method"),
                        Member::Params => (&mut env.params, "params"),
                        Member::Result => (&mut env.result, "result"),
                        Member::Error => (&mut env.error, "error"),
                        Member::Other(key) => {
                            env.extensions.push((key, value));
                            continue;
                        }
                    };
                    if slot.is_some() {
                        env.duplicate.get_or_insert(Cow::Borrowed(name));
                    } else {
                        *slot = Some(value);
                    }
                }
                if env.duplicate.is_none() {
                    env.duplicate = first_repeated_key(&env.extensions);
                }
                Ok(env)
            }
        }

        deserializer.deserialize_map(EnvelopeVisitor)
    }
}
