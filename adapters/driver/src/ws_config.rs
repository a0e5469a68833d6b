//! The tungstenite settings both sides use, chosen deliberately rather than left at defaults.
//!
//! tungstenite allocates its read buffer eagerly at `read_buffer_size` (128 KiB by default) for
//! every connection, idle or not. MCP traffic is small JSON messages, so a server holding many
//! idle sessions would spend most of its memory on empty buffers. We read in 8 KiB chunks and
//! let tungstenite grow its message buffer only while a large message is actually arriving.

use async_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The read buffer each connection holds while idle.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// How much outgoing data is gathered before a write; the driver flushes after every batch of
/// actions anyway.
pub const WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// tungstenite settings for a connection whose largest accepted message is `max_message_bytes`
/// (take it from the session's decoder limits, so an oversized message is refused by the
/// WebSocket layer with close 1009 before it is buffered whole).
pub fn websocket_config(max_message_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
}
