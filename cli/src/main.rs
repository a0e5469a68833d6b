//! The `mcp-ws` command.

fn main() {}
