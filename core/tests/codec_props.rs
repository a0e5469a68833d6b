//! Property tests of the frame codec: generated messages of every kind round-trip, and arbitrary
//! or mutated input never panics and is always classified.

use mcp_ws_core::codec::single_line;
use mcp_ws_core::message::Extensions;
use mcp_ws_core::testing::decode_frame;
use mcp_ws_core::{
    ErrorObject, ErrorResponse, Frame, Limits, Message, Notification, RawJson, Request, RequestId,
    ResultResponse, decode, encode, encode_batch,
};
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1e12f64..1e12).prop_map(serde_json::Value::from),
        ".*".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(".*", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn raw_of(value: serde_json::Value) -> RawJson {
    RawJson::from_serialize(&value).unwrap()
}

fn params() -> impl Strategy<Value = Option<RawJson>> {
    prop_oneof![
        Just(None),
        prop::collection::btree_map(".*", json_value(), 0..5)
            .prop_map(|m| Some(raw_of(serde_json::Value::Object(m.into_iter().collect())))),
        prop::collection::vec(json_value(), 0..4)
            .prop_map(|v| Some(raw_of(serde_json::Value::Array(v)))),
    ]
}

fn id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        any::<i64>().prop_map(RequestId::from),
        any::<u64>().prop_map(RequestId::from),
        ".*".prop_map(RequestId::from),
    ]
}

const RESERVED: [&str; 6] = ["jsonrpc", "id", "method", "params", "result", "error"];

fn extensions() -> impl Strategy<Value = Extensions> {
    prop::collection::btree_map(".*", json_value(), 0..3).prop_map(|m| {
        m.into_iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
            .map(|(k, v)| (k, raw_of(v)))
            .collect()
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (id(), ".*", params(), extensions()).prop_map(|(id, method, params, extensions)| {
            Message::Request(Request { id, method, params, extensions })
        }),
        (".*", params(), extensions()).prop_map(|(method, params, extensions)| {
            Message::Notification(Notification { method, params, extensions })
        }),
        (id(), json_value(), extensions()).prop_map(|(id, result, extensions)| {
            Message::Result(ResultResponse { id, result: raw_of(result), extensions })
        }),
        (
            proptest::option::of(id()),
            any::<i64>(),
            ".*",
            proptest::option::of(json_value()),
            extensions()
        )
            .prop_map(|(id, code, message, data, extensions)| {
                let error = ErrorObject { code, message, data: data.map(raw_of) };
                Message::Error(ErrorResponse { id, error, extensions })
            }),
    ]
}

fn assert_classified(bytes: &[u8]) -> Result<(), TestCaseError> {
    decode_frame::check(bytes).map_err(|v| TestCaseError::fail(v.to_string()))
}

proptest! {
    #[test]
    fn single_line_turns_pretty_json_into_the_compact_form(value in json_value()) {
        let pretty = serde_json::to_string_pretty(&value).expect("serialise");
        let compact = serde_json::to_string(&value).expect("serialise");
        prop_assert_eq!(single_line(&pretty), compact);
    }

    #[test]
    fn every_message_kind_round_trips(message in message()) {
        let text = encode(&message);
        prop_assert_eq!(decode(&text, &Limits::default()), Ok(Frame::Single(message)));
    }

    #[test]
    fn batches_round_trip(messages in prop::collection::vec(message(), 1..5)) {
        let text = encode_batch(&messages);
        let expected = Frame::Batch(messages.into_iter().map(Ok).collect());
        prop_assert_eq!(decode(&text, &Limits::default()), Ok(expected));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_classified(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_classified(&bytes)?;
    }

    #[test]
    fn arbitrary_strings_never_panic_and_are_classified(text in ".*") {
        assert_classified(text.as_bytes())?;
    }

    #[test]
    fn mutated_encodings_never_panic_and_are_classified(
        message in message(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let text = encode(&message).into_bytes();
        assert_classified(&text[..cut.index(text.len() + 1)])?;
        let mut flipped = text.clone();
        if !flipped.is_empty() {
            let at = flip.index(flipped.len());
            flipped[at] = byte;
        }
        assert_classified(&flipped)?;
        let mut inserted = text;
        inserted.insert(flip.index(inserted.len() + 1), byte);
        assert_classified(&inserted)?;
    }

    #[test]
    fn the_decoder_is_never_laxer_than_a_json_parser(text in "[\\[\\]{}\":,0-9a-z\\\\ .-]{0,64}") {
        if decode(&text, &Limits::default()).is_ok() {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{}", text);
        }
    }
}
