//! Where messages go (standard output, for the binary), one line each and
//! in order; and the token store that tells the platform of every rotated
//! refresh token with a CONTROL message before the host uses it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use connector_runtime::credentials::rows;
use connector_runtime::storage::{Expected, MemoryStore, TokenStore};
use connector_runtime::{ConnectorError, StoreError};
use serde_json::Value;

use crate::protocol::{now_ms, ConnectorConfig, Control, Message};

/// The message stream; clones write to the same place, a line at a time.
#[derive(Clone)]
pub struct Output(Arc<Mutex<Box<dyn Write + Send>>>);

impl Output {
    /// Messages to `writer`.
    pub fn new(writer: Box<dyn Write + Send>) -> Self {
        Output(Arc::new(Mutex::new(writer)))
    }

    /// Write `text` (whole lines) at once and flush it.
    pub fn write_lines(&self, text: &str) -> Result<(), ConnectorError> {
        let mut writer = self.0.lock().unwrap_or_else(|p| p.into_inner());
        writer
            .write_all(text.as_bytes())
            .and_then(|()| writer.flush())
            .map_err(|e| ConnectorError::Io {
                what: "cannot write Airbyte messages to the output".into(),
                source: e.into(),
            })
    }

    /// Write one message.
    pub fn emit(&self, message: &Message) -> Result<(), ConnectorError> {
        self.write_lines(&(message.to_line() + "\n"))
    }

    /// Write one message, logging (not failing) when the output is gone:
    /// for progress and status lines.
    pub fn emit_or_log(&self, message: &Message) {
        if let Err(e) = self.emit(message) {
            tracing::warn!("{e}");
        }
    }
}

/// Messages kept in memory, for a platform that runs the bridge
/// in-process (and for tests): give a clone to [`Output::new`], read
/// [`Captured::text`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tokens in memory, and a CONTROL message with the updated config each
/// time the refresh token rotates: the platform persists it, since under
/// Airbyte nothing else survives the process.
pub struct ControlTokenStore {
    tokens: MemoryStore,
    output: Output,
    config: Mutex<Value>,
    refresh_token_path: Option<Vec<String>>,
}

impl ControlTokenStore {
    /// Tokens of the connection configured by `config` (as the platform
    /// gave it); `refresh_token_path` is where its refresh token sits.
    pub fn new(output: Output, config: Value, refresh_token_path: Option<Vec<String>>) -> Self {
        ControlTokenStore {
            tokens: MemoryStore::default(),
            output,
            config: Mutex::new(config),
            refresh_token_path,
        }
    }

    /// Put a rotated token into the config and send it; nothing when the
    /// config holds it already (the seed).
    fn announce(&self, refresh_token: &str) -> Result<(), StoreError> {
        let Some(path) = &self.refresh_token_path else {
            return Ok(());
        };
        let mut config = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let mut slot = &mut *config;
        for member in path {
            slot = &mut slot[member.as_str()];
        }
        if slot.as_str() == Some(refresh_token) {
            return Ok(());
        }
        *slot = Value::String(refresh_token.to_owned());
        let message = Message::Control {
            control: Control {
                kind: "CONNECTOR_CONFIG",
                emitted_at: now_ms() as f64,
                connector_config: ConnectorConfig {
                    config: config.clone(),
                },
            },
        };
        self.output.emit(&message).map_err(|e| {
            StoreError::new(
                "cannot hand the rotated refresh token to the platform",
                "the platform must read the connector's output; authorize the app again if the token is lost",
                e,
            )
        })
    }
}

impl TokenStore for ControlTokenStore {
    fn load(&self, connection: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.tokens.load(connection, name)
    }

    fn save_all(&self, connection: &str, values: &[(&str, &str)]) -> Result<(), StoreError> {
        if let Some((_, token)) = values.iter().find(|(name, _)| *name == rows::REFRESH_TOKEN) {
            self.announce(token)?;
        }
        self.tokens.save_all(connection, values)
    }

    /// The tokens live in this process's memory, rotated by its one OAuth
    /// session (which holds its own lock while refreshing), so a check
    /// before the write suffices; the platform is told only when the swap
    /// is made.
    fn save_if(
        &self,
        connection: &str,
        expected: Expected<'_>,
        values: &[(&str, &str)],
    ) -> Result<bool, StoreError> {
        if self.tokens.load(connection, expected.name)?.as_deref() != expected.value {
            return Ok(false);
        }
        self.save_all(connection, values)?;
        Ok(true)
    }

    fn clear(&self, connection: &str) -> Result<usize, StoreError> {
        self.tokens.clear(connection)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(captured: &Captured) -> Vec<Value> {
        captured
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_rotated_refresh_token_is_sent_in_the_config_before_it_is_stored() {
        let lines = Captured::default();
        let config = json!({"subdomain": "acme", "credentials": {"auth_type": "oauth", "refresh_token": "seed"}});
        let store = ControlTokenStore::new(
            Output::new(Box::new(lines.clone())),
            config,
            Some(vec!["credentials".into(), "refresh_token".into()]),
        );
        // Storing the seed says nothing.
        store
            .save_all("c", &[(rows::REFRESH_TOKEN, "seed")])
            .unwrap();
        assert!(messages(&lines).is_empty());
        store
            .save_all(
                "c",
                &[(rows::REFRESH_TOKEN, "rotated"), (rows::ACCESS_TOKEN, "a")],
            )
            .unwrap();
        store.save_all("c", &[(rows::ACCESS_TOKEN, "b")]).unwrap();
        let messages = messages(&lines);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["type"], "CONTROL");
        assert_eq!(messages[0]["control"]["type"], "CONNECTOR_CONFIG");
        assert_eq!(
            messages[0]["control"]["connectorConfig"]["config"],
            json!({"subdomain": "acme", "credentials": {"auth_type": "oauth", "refresh_token": "rotated"}})
        );
        assert_eq!(
            store.load("c", rows::REFRESH_TOKEN).unwrap().as_deref(),
            Some("rotated")
        );
    }
}
