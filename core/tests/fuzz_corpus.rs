//! Replays every committed fuzz corpus file through the same checks as the fuzz targets, so
//! CI covers the corpora on stable without cargo-fuzz.

use std::path::PathBuf;

use mcp_ws_core::testing::{
    bridge_ops, decode_frame, http_head, reconnect_ops, session_ops, sse_stream, streamable_route,
};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let files: Vec<_> = entries
        .map(|entry| {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    assert!(files.len() >= 10, "corpus {} has only {} files", dir.display(), files.len());
    files
}

#[test]
fn every_decode_frame_corpus_file_round_trips_or_is_classified() {
    for (path, data) in corpus("decode_frame") {
        if let Err(violation) = decode_frame::check(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}

#[test]
fn every_session_ops_corpus_file_keeps_the_session_invariants() {
    for (path, data) in corpus("session_ops") {
        if let Err(violation) = session_ops::run(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}

#[test]
fn every_reconnect_ops_corpus_file_keeps_the_reconnect_invariants() {
    for (path, data) in corpus("reconnect_ops") {
        if let Err(violation) = reconnect_ops::run(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}

#[test]
fn every_bridge_ops_corpus_file_keeps_the_bridge_promises() {
    for (path, data) in corpus("bridge_ops") {
        if let Err(violation) = bridge_ops::run(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}

#[test]
fn every_sse_stream_corpus_file_reads_the_same_in_any_chunking() {
    for (path, data) in corpus("sse_stream") {
        if let Err(violation) = sse_stream::run(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}

#[test]
fn every_http_head_corpus_file_parses_the_same_whole_and_in_chunks() {
    for (path, data) in corpus("http_head") {
        if let Err(violation) = http_head::run(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}

#[test]
fn every_streamable_route_corpus_file_is_classified_as_documented() {
    for (path, data) in corpus("streamable_route") {
        if let Err(violation) = streamable_route::run(&data) {
            panic!("{}: {violation}", path.display());
        }
    }
}
