//! # mcp-ws-cli
//!
//! The library half of the `mcp-ws` command: the built-in demo server ([`demo`]), shared by
//! the binary and by the project's cross-runtime and interop tests.
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

pub mod demo;
