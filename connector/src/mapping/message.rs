//! A ticket event (or a one-comment pseudo-audit from the per-ticket
//! backfill) becomes one `message` per comment, or one per line of a chat
//! transcript.
//!
//! Author roles: a comment added by a trigger or an automation, or by no
//! user, is `system` (a comment without `author_id` is the audit's
//! author's); an author in the staff catalog (agents and admins,
//! kept by the `users` stream, hence `ticket_comments` depends on `users`)
//! is `agent`; anyone else is `customer`. In a transcript, a speaker is an
//! `agent` when they joined the chat or bear a staff member's name, a
//! `customer` otherwise; event lines and lines that do not parse are
//! `system`.

use std::borrow::Cow;

use connector_records::{Attachment, Chat, Message, Visibility};
use serde::Deserialize;

use super::input::{id_string, opt, opt_id, parse, record, MapContext, Via};
use crate::chat::{self, ChatLine, LineKind};
use crate::state::catalog::Role;
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct Audit<'a> {
    ticket_id: u64,
    /// The audit's author (ticket audits).
    #[serde(default)]
    author_id: Option<i64>,
    /// The audit's author (ticket events).
    #[serde(default)]
    updater_id: Option<i64>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    child_events: Vec<Event<'a>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    event_type: Option<Text<'a>>,
    #[serde(default)]
    author_id: Option<i64>,
    #[serde(default, borrow)]
    body: Option<Text<'a>>,
    #[serde(default, borrow)]
    plain_body: Option<Text<'a>>,
    #[serde(default, borrow)]
    html_body: Option<Text<'a>>,
    #[serde(default)]
    public: Option<bool>,
    #[serde(default, borrow)]
    attachments: Option<Vec<AttachmentIn<'a>>>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    via: Option<Via<'a>>,
}

#[derive(Deserialize)]
struct AttachmentIn<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, borrow)]
    file_name: Option<Text<'a>>,
    #[serde(default, borrow)]
    content_type: Option<Text<'a>>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, borrow)]
    content_url: Option<Text<'a>>,
}

impl Event<'_> {
    fn is_comment(&self) -> bool {
        let is = |t: &Option<Text<'_>>| matches!(t.as_deref(), Some("Comment" | "VoiceComment"));
        is(&self.kind) || is(&self.event_type)
    }

    /// Added by a trigger or an automation.
    fn by_rule(&self) -> bool {
        self.via.as_ref().is_some_and(|v| {
            v.channel.as_deref() == Some("rule")
                || matches!(v.rel.as_deref(), Some("trigger" | "automation"))
        })
    }
}

/// The role of a transcript line's speaker.
fn speaker_role(
    line: &ChatLine<'_>,
    joined: &[&str],
    staff_names: &std::collections::HashSet<String>,
) -> Role {
    match (line.kind, line.speaker) {
        (LineKind::Message, Some(speaker)) => {
            if joined.contains(&speaker) || staff_names.contains(&speaker.to_lowercase()) {
                Role::Agent
            } else {
                Role::Customer
            }
        }
        _ => Role::System,
    }
}

/// Maps the comments of a ticket event.
pub(super) fn map(
    ctx: &mut MapContext<'_>,
    raw: &str,
) -> Result<Vec<NormalizedRecord>, ConnectorError> {
    if !ctx.config.import_comments {
        return Ok(Vec::new());
    }
    let audit: Audit<'_> = parse("message", raw)?;
    ctx.catalogs.staff.refresh(ctx.storage, Some(ctx.now_ms))?;
    let catalogs = &*ctx.catalogs;
    let conversation_id = id_string(audit.ticket_id);
    let mut records = Vec::new();
    for event in audit.child_events.iter().filter(|e| e.is_comment()) {
        let public = event.public.unwrap_or(true);
        if !public && !ctx.config.include_internal_notes {
            continue;
        }
        let Some(comment_id) = event.id.map(id_string) else {
            continue;
        };
        let created_at = opt(&event.created_at).or(opt(&audit.created_at));
        let channel = event.via.as_ref().and_then(|v| v.channel.as_deref());
        let body = event
            .plain_body
            .as_deref()
            .filter(|b| !b.is_empty())
            .or(event.body.as_deref())
            .unwrap_or_default();
        let attachments: Vec<Attachment<'_>> = event
            .attachments
            .iter()
            .flatten()
            .map(|a| Attachment {
                id: opt_id(a.id),
                file_name: opt(&a.file_name),
                content_type: opt(&a.content_type),
                size: a.size,
                url: opt(&a.content_url),
            })
            .collect();
        let author_id = event.author_id.or(audit.author_id).or(audit.updater_id);
        let role = if event.by_rule() {
            Role::System
        } else {
            catalogs.role_of(author_id)
        };
        let message = Message {
            id: comment_id.clone(),
            conversation_id: conversation_id.clone(),
            comment_id: comment_id.clone(),
            author_id: opt_id(author_id),
            author_name: None,
            author_role: role,
            visibility: if public {
                Visibility::Public
            } else {
                Visibility::Internal
            },
            body: body.into(),
            html_body: opt(&event.html_body),
            channel: channel.map(Text::from),
            created_at: created_at.clone(),
            attachments: Cow::Borrowed(&attachments),
            chat: None,
        };
        let version = created_at.as_deref().map(str::to_owned);
        let transcript = channel.is_some_and(chat::is_chat_channel)
            || body.trim_start().starts_with("Chat started");
        let lines = if transcript {
            chat::parse_transcript(body)
        } else {
            Vec::new()
        };
        if !chat::looks_like_transcript(&lines) {
            records.push(record(comment_id, version, &message, false));
            continue;
        }
        let joined: Vec<&str> = lines
            .iter()
            .filter(|l| l.kind == LineKind::Event && l.text.contains("joined"))
            .filter_map(|l| l.speaker)
            .collect();
        for (index, line) in lines.iter().enumerate() {
            let key = format!("{comment_id}-{}", index + 1);
            let line_message = Message {
                id: key.clone(),
                conversation_id: conversation_id.clone(),
                comment_id: comment_id.clone(),
                author_id: None,
                author_name: line.speaker.map(Text::from),
                author_role: speaker_role(line, &joined, catalogs.staff.index()),
                visibility: message.visibility,
                body: line.text.into(),
                html_body: None,
                channel: message.channel.clone(),
                created_at: message.created_at.clone(),
                attachments: Cow::Borrowed(if index == 0 { &attachments } else { &[] }),
                chat: Some(Chat {
                    line: index as u64 + 1,
                    time: line.time.as_deref().map(Text::from),
                    parsed: line.kind != LineKind::Unparsed,
                }),
            };
            records.push(record(key, version.clone(), &line_message, false));
        }
    }
    Ok(records)
}
