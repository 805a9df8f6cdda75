//! A ticket event's `Change` child events become `change` records: which
//! field of the ticket changed, from what, to what, when and by whom
//! (escalations, reopenings and resolution times read them).
//!
//! The events export names the changed field by a member of its own
//! (`{"id":7,"event_type":"Change","status":"open","previous_value":"new"}`);
//! ticket audits write `field_name` and `value`. Both are read. Values
//! become strings: lists (tags) joined by spaces, numbers as written.

use std::collections::BTreeMap;

use connector_records::Change;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::input::{id_string, opt, opt_id, parse, record};
use crate::text::Text;
use crate::time;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct Event<'a> {
    ticket_id: u64,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    /// The author (ticket events).
    #[serde(default)]
    updater_id: Option<i64>,
    /// The author (ticket audits).
    #[serde(default)]
    author_id: Option<i64>,
    #[serde(default, borrow)]
    child_events: Vec<&'a RawValue>,
}

/// What tells a change from other child events.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    event_type: Option<Text<'a>>,
}

/// Members of a change event that are not the changed field.
const NOT_THE_FIELD: [&str; 14] = [
    "id",
    "type",
    "event_type",
    "via",
    "via_reference_id",
    "previous_value",
    "field_name",
    "value",
    "audit_id",
    "created_at",
    "author_id",
    "public",
    "comment_present",
    "comment_public",
];

/// A field value as the model's string; none for null.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(items.iter().filter_map(text).collect::<Vec<_>>().join(" ")),
        other => Some(other.to_string()),
    }
}

/// Maps the field changes of a ticket event.
pub(super) fn map(raw: &str) -> Result<Vec<NormalizedRecord>, ConnectorError> {
    let event: Event<'_> = parse("change", raw)?;
    let formatted = event
        .timestamp
        .filter(|_| event.created_at.is_none())
        .map(time::format_rfc3339);
    let at = opt(&event.created_at).or(formatted.as_deref().map(Text::from));
    let mut records = Vec::new();
    for child in &event.child_events {
        let kind: Kind<'_> = parse("change", child.get())?;
        let is_change = |t: &Option<Text<'_>>| t.as_deref() == Some("Change");
        if !is_change(&kind.kind) && !is_change(&kind.event_type) {
            continue;
        }
        let members: BTreeMap<String, Value> = parse("change", child.get())?;
        let named = members
            .get("field_name")
            .and_then(Value::as_str)
            .map(|field| (field, members.get("value")));
        let own = || {
            members
                .iter()
                .find(|(key, _)| !NOT_THE_FIELD.contains(&key.as_str()))
                .map(|(key, value)| (key.as_str(), Some(value)))
        };
        let (Some(id), Some((field, to))) = (
            members.get("id").and_then(Value::as_u64),
            named.or_else(own),
        ) else {
            continue;
        };
        let change = Change {
            id: id_string(id),
            conversation_id: id_string(event.ticket_id),
            field: field.into(),
            from: members.get("previous_value").and_then(text),
            to: to.and_then(text),
            at: at.clone(),
            author_id: opt_id(event.updater_id.or(event.author_id)),
        };
        let version = at.as_deref().map(str::to_owned);
        records.push(record(change.id.clone(), version, &change, false));
    }
    Ok(records)
}
