//! `export --documents`: one JSON document per ticket, as JSON Lines, for
//! search and assistants.
//!
//! A document is
//!
//! ```json
//! {"id": "acme:ticket:42",
//!  "content": "Subject: ...\n\n--- 2025-01-02 10:00:00 UTC · Jane Doe (customer)\n...",
//!  "metadata": {"connection", "ticket_id", "subject", "status", "url", "channel",
//!               "priority", "type", "created_at", "updated_at"},
//!  "properties": {"custom_fields": {title: label}, "satisfaction": {score, reason, comment},
//!                 "tags": [...]},
//!  "requester": {the person record}, "organization": {the account record},
//!  "customer": {"id", "name", "via"},
//!  "sentiment": {"mean", "first", "last", "min", "scored", "not_english",
//!                "messages": [{"key", "at", "outcome", "score"}]}}
//! ```
//!
//! `sentiment` covers the customer's messages ([`crate::sentiment`]): each
//! with its outcome (`scored`, `not_english`, `no_text`) and VADER score,
//! and their summary (null numbers when none was scored).
//!
//! The content is the conversation: every message in order (time, then
//! comment, then chat line), the lines of a chat transcript under one
//! heading, internal notes only when asked for. Documents come in ticket id
//! order; deleted tickets are left out.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use serde_json::{json, Value};

use crate::records::{Account, Conversation, Kind, Message, Person, Time};
use crate::sentiment::stored::{refresh_visiting, summarize, CustomerMessage, Scores};
use crate::sentiment::{Scorer, Sentiment};
use crate::store::{read, read_as, PlatformStore, Tombstones};
use crate::text::format_time;
use connector_runtime::ConnectorError;

/// Which tickets and what of them.
#[derive(Clone, Debug, Default)]
pub struct DocumentOptions {
    /// Put internal notes in the content.
    pub internal_notes: bool,
    /// Only tickets on which a customer wrote (a comment or a chat line).
    pub only_customer_feedback: bool,
    /// Only the N most recently updated tickets (after the filter above).
    pub limit: Option<usize>,
}

/// A ticket's messages with their times (Unix seconds).
type Messages = Vec<(Option<i64>, Message)>;

/// The keys of the tickets to export, or `None` for all.
fn selection(
    tickets: &[(String, Conversation)],
    messages: &HashMap<String, Messages>,
    options: &DocumentOptions,
) -> Option<HashSet<String>> {
    if !options.only_customer_feedback && options.limit.is_none() {
        return None;
    }
    let feedback = |key: &str| {
        messages.get(key).is_some_and(|own| {
            own.iter()
                .any(|(_, m)| m.author_role.as_deref() == Some("customer"))
        })
    };
    let mut chosen: Vec<(&str, Option<i64>)> = tickets
        .iter()
        .filter(|(key, _)| !options.only_customer_feedback || feedback(key))
        .map(|(key, t)| (key.as_str(), t.updated_at.as_ref().and_then(Time::unix)))
        .collect();
    // Most recently updated first; ties by the higher (newer) id.
    chosen.sort_by(|a, b| (b.1, id_order(b.0)).cmp(&(a.1, id_order(a.0))));
    if let Some(limit) = options.limit {
        chosen.truncate(limit);
    }
    Some(chosen.into_iter().map(|(key, _)| key.to_string()).collect())
}

/// How tickets are sorted (as `ORDER BY length(id), id` would): numeric
/// ids in numeric order.
fn id_order(id: &str) -> (usize, &str) {
    (id.chars().count(), id)
}

/// How a ticket's messages are sorted: time, then comment (as tickets),
/// then chat line.
fn message_order((at, m): &(Option<i64>, Message)) -> impl Ord + '_ {
    let comment = m.comment_id.as_deref().map(id_order);
    (*at, comment, m.chat.as_ref().and_then(|c| c.line))
}

/// A connection's messages by ticket, each ticket's in order (time, then
/// comment, then chat line), and their customer sentiment, brought up to
/// date: the messages are read once for both.
fn messages_by_ticket(
    store: &dyn PlatformStore,
    connection: &str,
) -> Result<(HashMap<String, Messages>, Scores), ConnectorError> {
    let mut by_ticket: HashMap<String, Messages> = HashMap::new();
    let scores = refresh_visiting(store, connection, &Scorer::default(), |m| {
        if let Some(ticket) = m.conversation_id.clone() {
            let at = m.created_at.as_ref().and_then(Time::unix);
            by_ticket.entry(ticket).or_default().push((at, m.clone()));
        }
    })?;
    for own in by_ticket.values_mut() {
        own.sort_by(|a, b| message_order(a).cmp(&message_order(b)));
    }
    Ok((by_ticket, scores))
}

/// Write the connection's tickets as documents, one JSON object a line.
/// Returns the number written.
pub fn export(
    store: &dyn PlatformStore,
    connection: &str,
    options: &DocumentOptions,
    out: &mut dyn Write,
) -> Result<u64, ConnectorError> {
    let mut tickets = read::<Conversation>(store, connection, Tombstones::Skip)?;
    tickets.sort_by(|(a, _), (b, _)| id_order(a).cmp(&id_order(b)));
    let (messages, scores) = messages_by_ticket(store, connection)?;
    let selected = selection(&tickets, &messages, options);
    let people: HashMap<String, Value> =
        read_as(store, connection, Person::KIND, Tombstones::Include)?
            .into_iter()
            .collect();
    let names: HashMap<String, String> = read::<Person>(store, connection, Tombstones::Include)?
        .into_iter()
        .filter_map(|(key, p)| Some((key, p.name?)))
        .collect();
    let orgs: HashMap<String, Value> =
        read_as(store, connection, Account::KIND, Tombstones::Include)?
            .into_iter()
            .collect();
    let satisfaction = crate::satisfaction::by_ticket(store, connection, &tickets)?;
    let customer_names: HashMap<String, String> = store
        .customers()?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let customers: HashMap<String, Value> = store
        .matching_results(connection)?
        .conversations
        .into_iter()
        .filter_map(|l| {
            let name = customer_names.get(&l.customer_id)?;
            let customer = json!({"id": l.customer_id, "name": name, "via": l.via.as_str()});
            Some((l.key, customer))
        })
        .collect();

    let sentiments = scores.by_conversation();

    let mut written = 0;
    for (key, ticket) in &tickets {
        if selected.as_ref().is_some_and(|s| !s.contains(key)) {
            continue;
        }
        let requester = ticket.requester_id.as_ref().map(|id| {
            people
                .get(id)
                .cloned()
                .unwrap_or_else(|| json!({ "id": id }))
        });
        let organization = ticket.organization_id.as_ref().and_then(|id| orgs.get(id));
        let own = messages.get(key).map(Vec::as_slice).unwrap_or_default();
        let document = json!({
            "id": format!("{connection}:ticket:{key}"),
            "content": content(ticket, own, &names, options.internal_notes),
            "metadata": {
                "connection": connection,
                "ticket_id": key,
                "subject": ticket.subject,
                "status": ticket.status,
                "url": ticket.url,
                "channel": ticket.channel,
                "priority": ticket.priority,
                "type": ticket.kind,
                "created_at": ticket.created_at,
                "updated_at": ticket.updated_at,
            },
            "properties": {
                "custom_fields": ticket.custom_fields,
                "satisfaction": satisfaction.get(key),
                "tags": ticket.tags,
            },
            "requester": requester,
            "organization": organization,
            "customer": customers.get(key),
            "sentiment": sentiment(sentiments.get(key.as_str()).map(Vec::as_slice).unwrap_or_default()),
        });
        writeln!(out, "{document}").map_err(|e| ConnectorError::Io {
            what: "cannot write the documents".into(),
            source: e.into(),
        })?;
        written += 1;
    }
    Ok(written)
}

/// A ticket's customer sentiment: each message and the summary.
fn sentiment(messages: &[&CustomerMessage]) -> Value {
    let summary = summarize(messages);
    let each: Vec<Value> = messages
        .iter()
        .map(|m| {
            let outcome = m.sentiment.outcome_name();
            json!({
                "key": m.key,
                "at": m.at.map(|t| format_time(t).replace(' ', "T") + "Z"),
                "outcome": outcome,
                "score": m.sentiment.score(),
            })
        })
        .collect();
    json!({
        "mean": summary.map(|s| s.mean),
        "first": summary.map(|s| s.first),
        "last": summary.map(|s| s.last),
        "min": summary.map(|s| s.min),
        "scored": summary.map_or(0, |s| s.scored),
        "not_english": messages.iter().filter(|m| m.sentiment == Sentiment::NotEnglish).count(),
        "messages": each,
    })
}

/// The conversation as text.
fn content(
    ticket: &Conversation,
    messages: &[(Option<i64>, Message)],
    names: &HashMap<String, String>,
    internal_notes: bool,
) -> String {
    let mut text = format!(
        "Subject: {}\n",
        ticket.subject.as_deref().unwrap_or_default()
    );
    let mut transcript: Option<&str> = None;
    for (at, m) in messages {
        let internal = m.visibility.as_deref() == Some("internal");
        if internal && !internal_notes {
            continue;
        }
        let role = m.author_role.as_deref().unwrap_or("unknown");
        let name = m
            .author_name
            .clone()
            .or_else(|| {
                let id = m.author_id.as_deref()?;
                Some(
                    names
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| format!("user {id}")),
                )
            })
            .unwrap_or_else(|| "unknown".into());
        let body = m.body.as_deref().unwrap_or_default().trim();
        let time = at
            .map(|t| format!("{} UTC", format_time(t)))
            .unwrap_or_else(|| "unknown time".into());
        if let Some(chat) = &m.chat {
            if transcript != m.comment_id.as_deref() {
                text.push_str(&format!("\n--- {time} · chat transcript\n"));
                transcript = m.comment_id.as_deref();
            }
            let clock = chat.time.as_deref().unwrap_or("--:--:--");
            if role == "system" {
                text.push_str(&format!("[{clock}] {body}\n"));
            } else {
                text.push_str(&format!("[{clock}] {name} ({role}): {body}\n"));
            }
        } else {
            transcript = None;
            let note = if internal { " · internal note" } else { "" };
            text.push_str(&format!("\n--- {time} · {name} ({role}){note}\n{body}\n"));
        }
        let files: Vec<&str> = m
            .attachments
            .iter()
            .filter_map(|a| a.file_name.as_deref())
            .collect();
        if !files.is_empty() {
            text.push_str(&format!("(attachments: {})\n", files.join(", ")));
        }
    }
    text
}
