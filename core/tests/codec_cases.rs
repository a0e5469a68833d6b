//! The frame decoder on literal inputs: every malformed class with its exact outcome, and the
//! valid forms real peers send.

use mcp_ws_core::codec::{Payload, decode_payload};
use mcp_ws_core::{
    CloseCode, Frame, FrameError, Limits, Message, RequestId, decode, decode_bytes, encode,
};

/// What a case must decode to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// A JSON-RPC error reply with this code and `id: null`.
    ReplyNull(i64),
    /// A JSON-RPC error reply with this code and this integer id.
    ReplyInt(i64, i64),
    /// A JSON-RPC error reply with this code and this string id.
    ReplyStr(i64, &'static str),
    /// A close with this code.
    Close(u16),
}

const PARSE: i64 = -32700;
const INVALID: i64 = -32600;

const CASES: &[(&str, &str, Expect)] = &[
    ("truncated object", r#"{"jsonrpc":"2.0","id":1,"method":"ping""#, Expect::ReplyNull(PARSE)),
    ("truncated string", r#"{"jsonrpc":"2.0","id":1,"method":"pi"#, Expect::ReplyNull(PARSE)),
    ("trailing garbage", r#"{"jsonrpc":"2.0","id":1,"method":"ping"} x"#, Expect::ReplyNull(PARSE)),
    (
        "two objects",
        r#"{"jsonrpc":"2.0","method":"a"}{"jsonrpc":"2.0","method":"b"}"#,
        Expect::ReplyNull(PARSE),
    ),
    ("single quotes", r#"{'jsonrpc':'2.0','id':1,'method':'ping'}"#, Expect::ReplyNull(PARSE)),
    ("trailing comma", r#"{"jsonrpc":"2.0","id":1,"method":"ping",}"#, Expect::ReplyNull(PARSE)),
    ("empty frame", "", Expect::ReplyNull(PARSE)),
    ("whitespace only", " \n\t\r ", Expect::ReplyNull(PARSE)),
    (
        "byte-order mark",
        "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        Expect::ReplyNull(PARSE),
    ),
    (
        "lone high surrogate",
        r#"{"jsonrpc":"2.0","id":1,"method":"x\ud800"}"#,
        Expect::ReplyNull(PARSE),
    ),
    (
        "lone low surrogate",
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\udc00"}}"#,
        Expect::ReplyNull(PARSE),
    ),
    (
        "high surrogate then a letter escape",
        r#"{"jsonrpc":"2.0","id":1,"method":"\ud83d\u0041"}"#,
        Expect::ReplyNull(PARSE),
    ),
    ("bad escape", r#"{"jsonrpc":"2.0","id":1,"method":"\q"}"#, Expect::ReplyNull(PARSE)),
    ("missing jsonrpc", r#"{"id":1,"method":"ping"}"#, Expect::ReplyInt(INVALID, 1)),
    ("jsonrpc 1.0", r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, Expect::ReplyInt(INVALID, 1)),
    (
        "jsonrpc as a number",
        r#"{"jsonrpc":2.0,"id":"a","method":"ping"}"#,
        Expect::ReplyStr(INVALID, "a"),
    ),
    (
        "missing method, result and error",
        r#"{"jsonrpc":"2.0","id":1}"#,
        Expect::ReplyInt(INVALID, 1),
    ),
    ("method not a string", r#"{"jsonrpc":"2.0","id":1,"method":7}"#, Expect::ReplyInt(INVALID, 1)),
    (
        "id an object",
        r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    ("id an array", r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, Expect::ReplyNull(INVALID)),
    ("id a boolean", r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, Expect::ReplyNull(INVALID)),
    ("id a fraction", r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Expect::ReplyNull(INVALID)),
    (
        "id in exponent form",
        r#"{"jsonrpc":"2.0","id":1e3,"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "id beyond u64",
        r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "id below i64",
        r#"{"jsonrpc":"2.0","id":-9223372036854775809,"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "huge id digits",
        r#"{"jsonrpc":"2.0","id":123456789012345678901234567890123456789012,"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "null id on a request",
        r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "params a string",
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"a"}"#,
        Expect::ReplyInt(INVALID, 1),
    ),
    (
        "params a number",
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#,
        Expect::ReplyInt(INVALID, 1),
    ),
    (
        "params null",
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":null}"#,
        Expect::ReplyInt(INVALID, 1),
    ),
    (
        "result and error both",
        r#"{"jsonrpc":"2.0","id":4,"result":{},"error":{"code":1,"message":"m"}}"#,
        Expect::ReplyInt(INVALID, 4),
    ),
    (
        "method and result both",
        r#"{"jsonrpc":"2.0","id":4,"method":"x","result":{}}"#,
        Expect::ReplyInt(INVALID, 4),
    ),
    ("result without id", r#"{"jsonrpc":"2.0","result":{}}"#, Expect::ReplyNull(INVALID)),
    (
        "result with null id",
        r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "error without code",
        r#"{"jsonrpc":"2.0","id":2,"error":{"message":"m"}}"#,
        Expect::ReplyInt(INVALID, 2),
    ),
    (
        "error with a string code",
        r#"{"jsonrpc":"2.0","id":2,"error":{"code":"1","message":"m"}}"#,
        Expect::ReplyInt(INVALID, 2),
    ),
    (
        "error not an object",
        r#"{"jsonrpc":"2.0","id":2,"error":"boom"}"#,
        Expect::ReplyInt(INVALID, 2),
    ),
    (
        "response with params",
        r#"{"jsonrpc":"2.0","id":2,"result":{},"params":{}}"#,
        Expect::ReplyInt(INVALID, 2),
    ),
    (
        "duplicate id",
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
        Expect::ReplyNull(INVALID),
    ),
    (
        "duplicate method",
        r#"{"jsonrpc":"2.0","id":3,"method":"a","method":"b"}"#,
        Expect::ReplyInt(INVALID, 3),
    ),
    (
        "duplicate unknown member",
        r#"{"jsonrpc":"2.0","id":3,"method":"a","x":1,"x":2}"#,
        Expect::ReplyInt(INVALID, 3),
    ),
    ("bare string", r#""ping""#, Expect::ReplyNull(INVALID)),
    ("bare number", "42", Expect::ReplyNull(INVALID)),
    ("bare true", "true", Expect::ReplyNull(INVALID)),
    ("bare null", "null", Expect::ReplyNull(INVALID)),
    ("empty batch", "[]", Expect::ReplyNull(INVALID)),
    ("truncated batch", r#"[{"jsonrpc":"2.0","method":"a"}"#, Expect::ReplyNull(PARSE)),
];

fn check(name: &str, outcome: Result<Frame, FrameError>, expect: Expect) {
    match (outcome, expect) {
        (Err(FrameError::Reply(reply)), Expect::ReplyNull(code)) => {
            assert_eq!((reply.error.code, reply.id), (code, None), "{name}");
        }
        (Err(FrameError::Reply(reply)), Expect::ReplyInt(code, id)) => {
            assert_eq!((reply.error.code, reply.id), (code, Some(RequestId::from(id))), "{name}");
        }
        (Err(FrameError::Reply(reply)), Expect::ReplyStr(code, id)) => {
            assert_eq!((reply.error.code, reply.id), (code, Some(RequestId::from(id))), "{name}");
        }
        (Err(FrameError::Close(close)), Expect::Close(code)) => {
            assert_eq!(close.code, CloseCode(code), "{name}");
        }
        (other, expect) => panic!("{name}: expected {expect:?}, got {other:?}"),
    }
}

#[test]
fn every_malformed_class_gets_its_exact_reply() {
    assert!(CASES.len() >= 30);
    let mut names = std::collections::HashSet::new();
    for (name, text, expect) in CASES {
        assert!(names.insert(name), "duplicate case name {name}");
        check(name, decode(text, &Limits::default()), *expect);
    }
}

#[test]
fn error_replies_always_encode_to_valid_json_rpc_errors() {
    for (name, text, _) in CASES {
        if let Err(FrameError::Reply(reply)) = decode(text, &Limits::default()) {
            let json: serde_json::Value =
                serde_json::from_str(&encode(&Message::Error(reply))).unwrap();
            assert_eq!(json["jsonrpc"], "2.0", "{name}");
            assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
            assert!(json.get("id").is_some(), "{name}: the id member is always present");
        }
    }
}

#[test]
fn nesting_at_the_depth_limit_passes_and_one_level_more_is_a_parse_error() {
    let limits = Limits { max_depth: 8, ..Limits::default() };
    let nested = |levels: usize| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{}{}}}"#,
            "[".repeat(levels - 1) + "{}",
            "]".repeat(levels - 1)
        )
    };
    // The envelope is level 1, params adds the rest.
    assert!(matches!(decode(&nested(7), &limits), Ok(Frame::Single(_))));
    check("one level too deep", decode(&nested(8), &limits), Expect::ReplyNull(PARSE));
    let hostile = "[".repeat(100_000);
    check("hostile depth", decode(&hostile, &Limits::default()), Expect::ReplyNull(PARSE));
}

#[test]
fn a_valid_surrogate_pair_passes_and_decodes_to_its_character() {
    let text = r#"{"jsonrpc":"2.0","id":"\ud83d\ude00","method":"ping"}"#;
    let Ok(Frame::Single(Message::Request(request))) = decode(text, &Limits::default()) else {
        panic!("a surrogate pair is valid")
    };
    assert_eq!(request.id, RequestId::from("😀"));
}

#[test]
fn size_is_checked_before_anything_else_at_exactly_the_limit() {
    let text = r#"{"jsonrpc":"2.0","method":"ping"}"#;
    let at_limit = Limits { max_message_bytes: text.len(), ..Limits::default() };
    assert!(decode(text, &at_limit).is_ok());
    let one_below = Limits { max_message_bytes: text.len() - 1, ..Limits::default() };
    check("one byte over", decode(text, &one_below), Expect::Close(1009));
    check(
        "garbage over the limit",
        decode("{{{{", &Limits { max_message_bytes: 3, ..Limits::default() }),
        Expect::Close(1009),
    );
}

#[test]
fn binary_frames_close_with_1003_and_invalid_utf8_with_1007() {
    let limits = Limits::default();
    check("binary", decode_payload(Payload::Binary(b"{}"), &limits), Expect::Close(1003));
    check("invalid utf-8", decode_bytes(b"{\"a\":\"\xff\"}", &limits), Expect::Close(1007));
    check(
        "invalid utf-8 text payload",
        decode_payload(Payload::Text(b"\xc3\x28"), &limits),
        Expect::Close(1007),
    );
}

#[test]
fn a_batch_with_invalid_members_answers_each_member_on_its_own() {
    let text = r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","id":2}, {"jsonrpc":"2.0","method":"n"}]"#;
    let Ok(Frame::Batch(members)) = decode(text, &Limits::default()) else { panic!("a batch") };
    assert_eq!(members.len(), 4);
    assert!(matches!(&members[0], Ok(Message::Request(r)) if r.id == RequestId::from(1i64)));
    assert!(matches!(&members[1], Err(e) if e.error.code == INVALID && e.id.is_none()));
    assert!(
        matches!(&members[2], Err(e) if e.error.code == INVALID && e.id == Some(RequestId::from(2i64)))
    );
    assert!(matches!(&members[3], Ok(Message::Notification(n)) if n.method == "n"));
}

#[test]
fn ids_are_preserved_exactly_at_the_ends_of_their_range() {
    for text in [
        r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":"abc-1","method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#,
    ] {
        let Ok(Frame::Single(message)) = decode(text, &Limits::default()) else { panic!("{text}") };
        assert_eq!(encode(&message), text);
    }
}

#[test]
fn lenient_forms_real_peers_send_are_accepted() {
    for text in [
        r#"{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}"#,
        r#"{"method":"ping","id":7,"jsonrpc":"2.0","params":{"_meta":{"progressToken":1}}}"#,
        r#" {"jsonrpc":"2.0","id":1,"result":{"content":[]}} "#,
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m","data":null}}"#,
    ] {
        let Ok(Frame::Single(message)) = decode(text, &Limits::default()) else { panic!("{text}") };
        let again = decode(&encode(&message), &Limits::default());
        assert_eq!(again, Ok(Frame::Single(message)), "{text}");
    }
}

#[test]
fn unknown_envelope_members_and_escaped_keys_are_kept_and_written_back() {
    let text =
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1},"x-trace":"t1","\u0061b":2}"#;
    let Ok(Frame::Single(Message::Request(request))) = decode(text, &Limits::default()) else {
        panic!("valid")
    };
    let keys: Vec<_> = request.extensions.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
    assert_eq!(keys, [("x-trace", r#""t1""#), ("ab", "2")]);
    assert_eq!(
        encode(&Message::Request(request)),
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1},"x-trace":"t1","ab":2}"#
    );
}

#[test]
fn raw_params_keep_the_peers_exact_text_including_big_numbers() {
    // Numbers are range-checked only when a typed view parses them: carried raw, even 1e999
    // survives a relay unchanged.
    let text = r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":123456789012345678901234567890,"f":1.50,"e":1e999}}"#;
    let Ok(Frame::Single(message)) = decode(text, &Limits::default()) else { panic!("valid") };
    assert_eq!(encode(&message), text);
}

#[test]
fn single_line_removes_whitespace_between_tokens_only() {
    use mcp_ws_core::codec::single_line;
    use std::borrow::Cow;
    let pretty =
        "{\n  \"s\" : \"a b\\\" c\\\\\",\n\t\"n\": [ 1e999 , 123456789012345678901234567890 ]\r\n}";
    assert_eq!(
        single_line(pretty),
        "{\"s\":\"a b\\\" c\\\\\",\"n\":[1e999,123456789012345678901234567890]}"
    );
    assert!(
        matches!(single_line(r#"{"a":"x y"}"#), Cow::Owned(_)),
        "a space inside a string is scanned"
    );
    assert_eq!(single_line(r#"{"a":"x y"}"#), r#"{"a":"x y"}"#);
    assert!(matches!(single_line(r#"{"a":1}"#), Cow::Borrowed(_)));
}
