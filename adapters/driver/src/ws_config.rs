//! The tungstenite settings both sides use, chosen deliberately rather than left at defaults.
//!
//! tungstenite allocates its read buffer eagerly at `read_buffer_size` (128 KiB by default) for
//! every connection, idle or not, and zero-fills it on the first read. MCP traffic is small
//! JSON messages (a `tools/call` and its answer are a few hundred bytes), so a server holding
//! many idle sessions would spend most of its memory on empty buffers. We read in 1 KiB chunks,
//! which holds a typical message whole, and tungstenite grows the buffer to a frame's length
//! only while a larger frame is actually arriving. tungstenite never asks the stream for more
//! than this per read; [`crate::transport::Transport`] reads ahead so that a burst still costs
//! one syscall.

use async_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The read buffer each connection holds while idle.
pub const READ_BUFFER_BYTES: usize = 1024;

/// How much outgoing data is gathered before tungstenite writes it to the socket; the driver
/// flushes once it has handled every input that was ready anyway.
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
