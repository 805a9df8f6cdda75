//! [`Change`]: a change of one field of a ticket.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Text;

/// A change of one field of a ticket (a Change event of the ticket events
/// export): status, priority, type, assignee, group, tags, custom fields, ...
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "change")]
pub struct Change<'a> {
    /// The change event
    pub id: String,
    /// The ticket
    pub conversation_id: String,
    /// The field as Zendesk names it: status, priority, type, assignee_id,
    /// group_id, tags, or a custom field's id
    pub field: Text<'a>,
    /// The previous value (lists joined by spaces, as tags are written);
    /// null when unset
    pub from: Option<String>,
    /// The new value; null when cleared
    pub to: Option<String>,
    /// When (RFC 3339)
    pub at: Option<Text<'a>>,
    /// Who made the change (the update's author; -1 for Zendesk itself)
    pub author_id: Option<String>,
}
