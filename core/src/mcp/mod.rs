//! Typed views of MCP payloads (filled in by the message-model work).
