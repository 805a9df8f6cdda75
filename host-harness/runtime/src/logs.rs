//! Bounded guest logs: `wasi:logging` messages and the guest's stdout and
//! stderr become `tracing` events, scrubbed of secrets, truncated, and
//! limited per call so a chatty or hostile connector cannot flood the host.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::secrets::Redactor;

/// Log levels, as in `wasi:logging`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something hazardous.
    Warn,
    /// An error.
    Error,
}

/// Limits on what one connection may log.
#[derive(Clone, Copy, Debug)]
pub struct LogLimits {
    /// Messages kept per call into the component; the rest are counted and dropped.
    pub messages_per_call: u32,
    /// Longest message kept, in bytes; longer ones are truncated.
    pub max_message_bytes: usize,
    /// Recent lines kept in memory for error reports and tests.
    pub recent_lines: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            messages_per_call: 1000,
            max_message_bytes: 4096,
            recent_lines: 50,
        }
    }
}

struct LogState {
    emitted_this_call: u32,
    dropped_this_call: u64,
    recent: VecDeque<String>,
    partial_line: Vec<u8>,
}

/// One connection's log sink; clones share state.
#[derive(Clone)]
pub struct GuestLog {
    connection: Arc<str>,
    limits: LogLimits,
    redactor: Redactor,
    state: Arc<Mutex<LogState>>,
}

impl GuestLog {
    /// A sink for `connection`'s messages.
    pub fn new(connection: &str, limits: LogLimits, redactor: Redactor) -> Self {
        GuestLog {
            connection: connection.into(),
            limits,
            redactor,
            state: Arc::new(Mutex::new(LogState {
                emitted_this_call: 0,
                dropped_this_call: 0,
                recent: VecDeque::new(),
                partial_line: Vec::new(),
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record one message from the guest.
    pub fn log(&self, level: Level, context: &str, message: &str) {
        let mut state = self.state();
        if state.emitted_this_call >= self.limits.messages_per_call {
            state.dropped_this_call += 1;
            return;
        }
        state.emitted_this_call += 1;
        let mut text = self.redactor.redact(message);
        if text.len() > self.limits.max_message_bytes {
            let mut cut = self.limits.max_message_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [truncated]");
        }
        let context = self.redactor.redact(context);
        let connection = &*self.connection;
        match level {
            Level::Trace => tracing::trace!(target: "connector", connection, context, "{text}"),
            Level::Debug => tracing::debug!(target: "connector", connection, context, "{text}"),
            Level::Info => tracing::info!(target: "connector", connection, context, "{text}"),
            Level::Warn => tracing::warn!(target: "connector", connection, context, "{text}"),
            Level::Error => tracing::error!(target: "connector", connection, context, "{text}"),
        }
        if state.recent.len() == self.limits.recent_lines {
            state.recent.pop_front();
        }
        state.recent.push_back(text);
    }

    /// Start a new call: report what the last one dropped, reset the budget.
    pub fn begin_call(&self) {
        let dropped = {
            let mut state = self.state();
            state.emitted_this_call = 0;
            std::mem::take(&mut state.dropped_this_call)
        };
        if dropped > 0 {
            tracing::warn!(
                target: "connector",
                connection = &*self.connection,
                "dropped {dropped} log messages over the limit of {} per call",
                self.limits.messages_per_call
            );
        }
    }

    /// Messages dropped in the current call so far.
    pub fn dropped_this_call(&self) -> u64 {
        self.state().dropped_this_call
    }

    /// The most recent messages kept, oldest first.
    pub fn recent(&self) -> Vec<String> {
        self.state().recent.iter().cloned().collect()
    }

    /// Feed raw bytes from the guest's stdout or stderr; complete lines are
    /// logged, and a partial line is held back (within the size limit).
    fn write_stdio(&self, bytes: &[u8]) {
        let lines = {
            let mut state = self.state();
            state.partial_line.extend_from_slice(bytes);
            let mut lines = Vec::new();
            while let Some(pos) = state.partial_line.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = state.partial_line.drain(..=pos).collect();
                lines.push(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            if state.partial_line.len() > self.limits.max_message_bytes {
                let line = std::mem::take(&mut state.partial_line);
                lines.push(String::from_utf8_lossy(&line).into_owned());
            }
            lines
        };
        for line in lines {
            self.log(Level::Info, "stdio", &line);
        }
    }
}

impl wasmtime_wasi::cli::IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestLog {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(StdioWriter(self.clone()))
    }
}

/// Adapter from the guest's stdio to the log; it never blocks nor fails,
/// so a guest's `println!` cannot panic when the budget is spent.
struct StdioWriter(GuestLog);

impl tokio::io::AsyncWrite for StdioWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.write_stdio(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_are_cut_and_secrets_scrubbed() {
        let redactor = Redactor::default();
        redactor.add("s3cret-token");
        let limits = LogLimits {
            messages_per_call: 3,
            max_message_bytes: 10,
            recent_lines: 2,
        };
        let log = GuestLog::new("c", limits, redactor);
        log.begin_call();
        log.log(Level::Info, "", "s3cret-token");
        log.log(Level::Info, "", "0123456789abcdef");
        log.write_stdio(b"line\npart");
        log.log(Level::Info, "", "dropped");
        assert_eq!(log.recent(), vec!["0123456789 [truncated]", "line"]);
        assert_eq!(log.dropped_this_call(), 1);
        log.begin_call();
        assert_eq!(log.dropped_this_call(), 0);
        log.write_stdio(b"ial\n");
        assert_eq!(log.recent().last().unwrap(), "partial");
    }
}
