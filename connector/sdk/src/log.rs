//! Logging through the host's `wasi:logging`. Natively (in tests) messages
//! are dropped.

/// How much a message matters (the `wasi:logging` levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Step-by-step detail.
    Trace,
    /// Detail for debugging, e.g. every request.
    Debug,
    /// What happens in normal operation.
    Info,
    /// Something went wrong but the connector goes on.
    Warn,
    /// Something failed.
    Error,
    /// The connector cannot go on.
    Critical,
}

/// Logs `message` under `context` (e.g. the connector's name) at `level`.
#[cfg(target_arch = "wasm32")]
pub fn log(level: Level, context: &str, message: &str) {
    use crate::bindings::wasi::logging::logging::{self as wasi, Level as L};
    let level = match level {
        Level::Trace => L::Trace,
        Level::Debug => L::Debug,
        Level::Info => L::Info,
        Level::Warn => L::Warn,
        Level::Error => L::Error,
        Level::Critical => L::Critical,
    };
    wasi::log(level, context, message);
}

/// Logs `message` under `context` at `level`: natively, nowhere.
#[cfg(not(target_arch = "wasm32"))]
pub fn log(_level: Level, _context: &str, _message: &str) {}
