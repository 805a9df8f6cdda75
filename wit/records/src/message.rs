//! [`Message`]: a comment of a ticket, or one line of a chat transcript.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Text;

/// A comment of a ticket, or one line of a chat transcript.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "message")]
pub struct Message<'a> {
    /// Comment id, or '{comment id}-{line}' for a chat line
    pub id: String,
    /// The ticket
    pub conversation_id: String,
    /// The comment (the transcript, for chat lines)
    pub comment_id: String,
    /// The comment's author (null for chat lines)
    pub author_id: Option<String>,
    /// The speaker of a chat line
    pub author_name: Option<Text<'a>>,
    /// Who wrote it
    pub author_role: AuthorRole,
    /// Who sees it
    pub visibility: Visibility,
    /// Plain text
    pub body: Text<'a>,
    /// HTML (null for chat lines)
    pub html_body: Option<Text<'a>>,
    /// How the comment was made (via.channel)
    pub channel: Option<Text<'a>>,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// Files attached to the comment (to the first line, for a transcript)
    pub attachments: Cow<'a, [Attachment<'a>]>,
    /// For a chat line: its number, its clock time (HH:MM:SS, the
    /// transcript's time zone) and whether it parsed
    pub chat: Option<Chat<'a>>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorRole {
    /// An end user: anyone who is not an agent or admin.
    Customer,
    /// An agent or admin.
    Agent,
    /// Zendesk itself, a trigger or an automation.
    System,
}

/// Who sees a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// The requester and the agents.
    Public,
    /// Agents only (an internal note).
    Internal,
}

/// A file attached to a comment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
pub struct Attachment<'a> {
    /// Attachment id
    pub id: Option<String>,
    /// File name
    pub file_name: Option<Text<'a>>,
    /// MIME type
    pub content_type: Option<Text<'a>>,
    /// Size in bytes
    pub size: Option<u64>,
    /// Where to download it
    pub url: Option<Text<'a>>,
}

/// Where a chat line stands in its transcript.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
pub struct Chat<'a> {
    /// The line's number, from 1
    pub line: u64,
    /// Its clock time (HH:MM:SS), when it has one
    pub time: Option<Text<'a>>,
    /// Whether the line parsed as a transcript line
    pub parsed: bool,
}
