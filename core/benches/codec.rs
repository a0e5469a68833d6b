//! Decode and encode of typical messages, next to serde_json's `Value` on the same bytes,
//! measured in the same run.
//!
//! `cargo bench -p mcp-ws-core --bench codec`
//!
//! Per message, compare the medians: `decode` / `value_parse` is the decode ratio (target ≤ 1.0)
//! and `encode` / `value_encode` the encode ratio.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcp_ws_core::{Frame, Limits, decode, encode};

fn tools_call_request() -> String {
    // ~100 bytes of arguments.
    r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search","arguments":{"query":"websocket transport for mcp","limit":10,"filters":{"lang":"rust","stars":100}}}}"#
        .to_owned()
}

fn tools_call_result_10k() -> String {
    let block = r#"{"type":"text","text":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."}"#;
    let blocks: Vec<&str> = std::iter::repeat_n(block, 10 * 1024 / block.len()).collect();
    format!(
        r#"{{"jsonrpc":"2.0","id":42,"result":{{"content":[{}],"isError":false}}}}"#,
        blocks.join(",")
    )
}

fn progress_notification() -> String {
    r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":42,"progress":3,"total":10,"message":"indexing"}}"#
        .to_owned()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, text) in [
        ("tools_call_request", tools_call_request()),
        ("tools_call_result_10k", tools_call_result_10k()),
        ("progress_notification", progress_notification()),
    ] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function("decode", |b| b.iter(|| decode(black_box(&text), &limits).unwrap()));
        group.bench_function("value_parse", |b| {
            b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&text)).unwrap())
        });
        let Ok(Frame::Single(message)) = decode(&text, &limits) else { panic!("valid") };
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        group.bench_function("encode", |b| b.iter(|| encode(black_box(&message))));
        group.bench_function("value_encode", |b| {
            b.iter(|| serde_json::to_string(black_box(&value)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
