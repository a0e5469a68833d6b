//! Classifies WebSocket payloads the way an mcp-ws endpoint answers them.
//!
//! With no arguments it runs a built-in set of frames (valid messages and typical garbage); with
//! arguments, each argument is one text payload. For each it prints the decoded message kind or
//! the reply or close code the binding prescribes.
//!
//! `cargo run -p mcp-ws-core --example classify`

use mcp_ws_core::{Frame, FrameError, Limits, Message, decode, encode};

const BUILT_IN: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":0.5}}"#,
    r#"{"jsonrpc":"2.0","id":"abc-1","result":{"content":[]}}"#,
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call""#,
    r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
    r#"{"jsonrpc":"2.0","id":7,"method":"ping","params":"yes"}"#,
    r#"[]"#,
    "",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: Vec<&str> =
        if args.is_empty() { BUILT_IN.to_vec() } else { args.iter().map(String::as_str).collect() };
    let limits = Limits::default();
    for text in frames {
        println!("frame: {text}");
        match decode(text, &limits) {
            Ok(Frame::Single(message)) => println!("  -> {}", describe(&message)),
            Ok(Frame::Batch(members)) => {
                println!("  -> batch of {}", members.len());
                for member in members {
                    match member {
                        Ok(message) => println!("     {}", describe(&message)),
                        Err(reply) => println!("     reply {}", encode(&Message::Error(reply))),
                    }
                }
            }
            Err(FrameError::Reply(reply)) => {
                println!("  -> reply {}", encode(&Message::Error(reply)))
            }
            Err(FrameError::Close(close)) => println!("  -> {close}"),
        }
    }
}

fn describe(message: &Message) -> String {
    match message {
        Message::Request(r) => format!("request {} {}", r.id, r.method),
        Message::Notification(n) => format!("notification {}", n.method),
        Message::Result(r) => format!("result for {}", r.id),
        Message::Error(e) => format!("error {} for {:?}", e.error.code, e.id),
    }
}
