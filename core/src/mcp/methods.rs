//! Method names of every MCP request and notification, across all released versions.
//!
//! Each constant notes the versions that define it. Names are matched exactly; a peer using a
//! name not listed here is speaking a version or extension this crate does not know.

// Lifecycle.

/// Request: opens a legacy-era session (2024-11-05 to 2025-11-25).
pub const INITIALIZE: &str = "initialize";
/// Notification: the client is ready after `initialize` (2024-11-05 to 2025-11-25).
pub const NOTIFICATIONS_INITIALIZED: &str = "notifications/initialized";
/// Request: liveness check answered with `{}`, either direction (2024-11-05 to 2025-11-25).
pub const PING: &str = "ping";
/// Request: asks a server for its versions, capabilities and identity (2026-07-28).
pub const SERVER_DISCOVER: &str = "server/discover";

// Tools.

/// Request: lists the server's tools.
pub const TOOLS_LIST: &str = "tools/list";
/// Request: runs one tool.
pub const TOOLS_CALL: &str = "tools/call";
/// Notification: the server's tool list changed.
pub const NOTIFICATIONS_TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";

// Resources.

/// Request: lists the server's resources.
pub const RESOURCES_LIST: &str = "resources/list";
/// Request: lists the server's resource templates.
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
/// Request: reads one resource.
pub const RESOURCES_READ: &str = "resources/read";
/// Request: asks for update notifications about one resource (2024-11-05 to 2025-11-25).
pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
/// Request: stops update notifications about one resource (2024-11-05 to 2025-11-25).
pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
/// Notification: the server's resource list changed.
pub const NOTIFICATIONS_RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
/// Notification: a resource the client follows has changed.
pub const NOTIFICATIONS_RESOURCES_UPDATED: &str = "notifications/resources/updated";

// Prompts.

/// Request: lists the server's prompts.
pub const PROMPTS_LIST: &str = "prompts/list";
/// Request: renders one prompt.
pub const PROMPTS_GET: &str = "prompts/get";
/// Notification: the server's prompt list changed.
pub const NOTIFICATIONS_PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";

// Completion and logging.

/// Request: asks for completions of a prompt or resource-template argument.
pub const COMPLETION_COMPLETE: &str = "completion/complete";
/// Request: sets the minimum level of log notifications (2024-11-05 to 2025-11-25).
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
/// Notification: one log message from the server.
pub const NOTIFICATIONS_MESSAGE: &str = "notifications/message";

// Progress and cancellation.

/// Notification: progress of a request that carried a progress token.
pub const NOTIFICATIONS_PROGRESS: &str = "notifications/progress";
/// Notification: the sender no longer wants the answer to one of its requests.
pub const NOTIFICATIONS_CANCELLED: &str = "notifications/cancelled";

// Requests a server makes of a client (legacy era), or input requests (2026-07-28).

/// Request: asks the client for its filesystem roots.
pub const ROOTS_LIST: &str = "roots/list";
/// Notification: the client's roots changed (2024-11-05 to 2025-11-25).
pub const NOTIFICATIONS_ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
/// Request: asks the client to sample from a language model.
pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
/// Request: asks the client to collect input from its user (2025-06-18 onwards).
pub const ELICITATION_CREATE: &str = "elicitation/create";
/// Notification: an out-of-band (URL mode) elicitation finished (2025-11-25).
pub const NOTIFICATIONS_ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";

// Subscriptions (2026-07-28).

/// Request: opens a long-lived stream of change notifications (2026-07-28).
pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";
/// Notification: first message of a `subscriptions/listen` stream (2026-07-28).
pub const NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED: &str =
    "notifications/subscriptions/acknowledged";

// Tasks (2025-11-25, experimental).

/// Request: reads the state of a task (2025-11-25).
pub const TASKS_GET: &str = "tasks/get";
/// Request: fetches the result of a finished task (2025-11-25).
pub const TASKS_RESULT: &str = "tasks/result";
/// Request: lists tasks (2025-11-25).
pub const TASKS_LIST: &str = "tasks/list";
/// Request: cancels a task (2025-11-25).
pub const TASKS_CANCEL: &str = "tasks/cancel";
/// Notification: a task changed state (2025-11-25).
pub const NOTIFICATIONS_TASKS_STATUS: &str = "notifications/tasks/status";

/// Every request method name above.
pub const ALL_REQUESTS: &[&str] = &[
    INITIALIZE,
    PING,
    SERVER_DISCOVER,
    TOOLS_LIST,
    TOOLS_CALL,
    RESOURCES_LIST,
    RESOURCES_TEMPLATES_LIST,
    RESOURCES_READ,
    RESOURCES_SUBSCRIBE,
    RESOURCES_UNSUBSCRIBE,
    PROMPTS_LIST,
    PROMPTS_GET,
    COMPLETION_COMPLETE,
    LOGGING_SET_LEVEL,
    ROOTS_LIST,
    SAMPLING_CREATE_MESSAGE,
    ELICITATION_CREATE,
    SUBSCRIPTIONS_LISTEN,
    TASKS_GET,
    TASKS_RESULT,
    TASKS_LIST,
    TASKS_CANCEL,
];

/// Every notification method name above.
pub const ALL_NOTIFICATIONS: &[&str] = &[
    NOTIFICATIONS_INITIALIZED,
    NOTIFICATIONS_TOOLS_LIST_CHANGED,
    NOTIFICATIONS_RESOURCES_LIST_CHANGED,
    NOTIFICATIONS_RESOURCES_UPDATED,
    NOTIFICATIONS_PROMPTS_LIST_CHANGED,
    NOTIFICATIONS_MESSAGE,
    NOTIFICATIONS_PROGRESS,
    NOTIFICATIONS_CANCELLED,
    NOTIFICATIONS_ROOTS_LIST_CHANGED,
    NOTIFICATIONS_ELICITATION_COMPLETE,
    NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED,
    NOTIFICATIONS_TASKS_STATUS,
];
