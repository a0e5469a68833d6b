//! # mcp-ws-cli
//!
//! The library half of the `mcp-ws` command, one module per subcommand, plus the built-in
//! demo server ([`demo`]) shared with the project's cross-runtime and interop tests.
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

pub mod advice;
pub mod args;
pub mod bridge;
pub mod demo;
pub mod explore;
pub mod inspect;
pub mod listener;
pub mod operate;
pub mod query;
pub mod serve;
pub mod watch;
