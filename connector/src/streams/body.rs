//! Reading a response body: its top-level members borrowed from the bytes,
//! items deserialised one by one, and cursor pagination's `meta`.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::api::errors;
use crate::time;
use crate::types::ConnectorError;

/// The top-level members of a JSON object body, borrowed.
pub(super) struct Body<'a> {
    members: HashMap<String, &'a RawValue>,
    /// What the body answers, for messages.
    pub(super) what: &'a str,
}

impl<'a> Body<'a> {
    /// Reads a body; `what` it answers names it in errors.
    pub(super) fn parse(bytes: &'a [u8], what: &'a str) -> Result<Self, ConnectorError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ConnectorError::Protocol(format!(
                "Zendesk's answer for {what} is not UTF-8 ({e}); retry later"
            ))
        })?;
        let members = serde_json::from_str(text).map_err(|e| errors::unreadable(what, &e))?;
        Ok(Body { members, what })
    }

    /// A member, deserialised; absent and null give `None`.
    pub(super) fn get<T: Deserialize<'a>>(&self, key: &str) -> Result<Option<T>, ConnectorError> {
        match self.members.get(key) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<Option<T>>(raw.get())
                .map_err(|e| errors::unreadable(self.what, &e)),
        }
    }

    /// The items of a collection member, each a slice of the body.
    pub(super) fn items(&self, key: &str) -> Result<Vec<&'a RawValue>, ConnectorError> {
        Ok(self.get(key)?.unwrap_or_default())
    }

    /// Cursor pagination's `meta`.
    pub(super) fn meta(&self) -> Result<Option<Meta>, ConnectorError> {
        self.get("meta")
    }

    /// Cursor pagination's next page, if another follows.
    pub(super) fn next_after(&self) -> Result<Option<String>, ConnectorError> {
        Ok(match self.meta()? {
            Some(Meta {
                has_more: true,
                after_cursor: Some(after),
            }) => Some(after),
            _ => None,
        })
    }

    /// Whether an incremental export says it has no more items.
    pub(super) fn end_of_stream(&self) -> Result<bool, ConnectorError> {
        Ok(self.get::<bool>("end_of_stream")?.unwrap_or(false))
    }
}

/// Cursor pagination's `meta`.
#[derive(Debug, Deserialize)]
pub(super) struct Meta {
    /// Whether another page follows.
    #[serde(default)]
    pub(super) has_more: bool,
    /// The next page's cursor.
    #[serde(default)]
    pub(super) after_cursor: Option<String>,
}

/// Deserialises one item.
pub(super) fn peek<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
    what: &str,
) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get()).map_err(|e| errors::unreadable(what, &e))
}

/// Deserialises every item of a page.
pub(super) fn peek_all<T: DeserializeOwned>(
    items: &[&RawValue],
    what: &str,
) -> Result<Vec<T>, ConnectorError> {
    items.iter().map(|raw| peek(raw, what)).collect()
}

/// Unix seconds of an optional RFC 3339 time, 0 when absent or unreadable.
pub(super) fn seconds(text: Option<&str>) -> u64 {
    text.and_then(time::parse_rfc3339)
        .map_or(0, |t| t.max(0) as u64)
}
