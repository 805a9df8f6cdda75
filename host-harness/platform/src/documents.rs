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
//!  "customer": {"id", "name", "via"}}
//! ```
//!
//! The content is the conversation: every message in order (time, then
//! comment, then chat line), the lines of a chat transcript under one
//! heading, internal notes only when asked for. Documents come in ticket id
//! order; deleted tickets are left out.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::text::format_time;
use crate::{query, sql_time};
use connector_runtime::ConnectorError;
use connector_store_sqlite::db::host_error;
use connector_store_sqlite::Database;

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

/// A message as the content needs it.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    comment_id: Option<String>,
    #[serde(default)]
    author_id: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_role: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    chat: Option<ChatLine>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default)]
    file_name: Option<String>,
}

#[derive(Deserialize)]
struct ChatLine {
    #[serde(default)]
    time: Option<String>,
}

/// Records of one kind by key, as JSON.
fn records_by_key(
    db: &Database,
    connection: &str,
    kind: &str,
) -> Result<HashMap<String, Value>, ConnectorError> {
    let rows = query(
        db,
        "SELECT key, data FROM records WHERE connection = ?1 AND kind = ?2",
        [connection, kind],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )?;
    Ok(rows
        .into_iter()
        .map(|(key, data)| (key, serde_json::from_str(&data).unwrap_or_default()))
        .collect())
}

/// The keys of the tickets to export, or `None` for all.
fn selection(
    db: &Database,
    connection: &str,
    options: &DocumentOptions,
) -> Result<Option<HashSet<String>>, ConnectorError> {
    if !options.only_customer_feedback && options.limit.is_none() {
        return Ok(None);
    }
    let feedback: Option<HashSet<String>> = if options.only_customer_feedback {
        Some(
            query(
                db,
                "SELECT DISTINCT json_extract(data, '$.conversation_id') FROM records
                 WHERE connection = ?1 AND kind = 'message' AND deleted = 0
                   AND json_extract(data, '$.author_role') = 'customer'",
                [connection],
                |row| row.get::<_, Option<String>>(0),
            )?
            .into_iter()
            .flatten()
            .collect(),
        )
    } else {
        None
    };
    let mut tickets = query(
        db,
        &format!(
            "SELECT key, {} FROM records
             WHERE connection = ?1 AND kind = 'conversation' AND deleted = 0",
            sql_time("$.updated_at")
        ),
        [connection],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?)),
    )?;
    tickets.retain(|(key, _)| feedback.as_ref().is_none_or(|f| f.contains(key)));
    // Most recently updated first; ties by the higher (newer) id.
    tickets.sort_by(|a, b| (b.1, id_order(&b.0)).cmp(&(a.1, id_order(&a.0))));
    if let Some(limit) = options.limit {
        tickets.truncate(limit);
    }
    Ok(Some(tickets.into_iter().map(|(key, _)| key).collect()))
}

/// How tickets and messages are sorted (in SQL: `ORDER BY length(id), id`):
/// numeric ids in numeric order.
fn id_order(id: &str) -> (usize, &str) {
    (id.chars().count(), id)
}

/// Write the connection's tickets as documents, one JSON object a line.
/// Returns the number written.
pub fn export(
    db: &Database,
    connection: &str,
    options: &DocumentOptions,
    out: &mut dyn Write,
) -> Result<u64, ConnectorError> {
    let selected = selection(db, connection, options)?;
    let people = records_by_key(db, connection, "person")?;
    let orgs = records_by_key(db, connection, "account")?;
    let satisfaction = crate::satisfaction_by_ticket(db, connection)?;
    let customers: HashMap<String, (String, String, String)> = query(
        db,
        "SELECT cc.conversation_key, cc.customer_id, c.name, cc.via
         FROM customer_conversations cc JOIN customers c ON c.id = cc.customer_id
         WHERE cc.connection = ?1",
        [connection],
        |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?))),
    )?
    .into_iter()
    .collect();

    let conn = db.lock();
    // Tickets and messages in the same order (`id_order`), merged as they
    // stream.
    let mut tickets = conn
        .prepare(
            "SELECT key, data FROM records
             WHERE connection = ?1 AND kind = 'conversation' AND deleted = 0
             ORDER BY length(key), key",
        )
        .map_err(host_error)?;
    let mut messages = conn
        .prepare(&format!(
            "SELECT json_extract(data, '$.conversation_id') AS ticket, data, {} AS at
             FROM records
             WHERE connection = ?1 AND kind = 'message' AND deleted = 0 AND ticket IS NOT NULL
             ORDER BY length(ticket), ticket, at, length(json_extract(data, '$.comment_id')),
                      json_extract(data, '$.comment_id'), json_extract(data, '$.chat.line')",
            sql_time("$.created_at")
        ))
        .map_err(host_error)?;
    let mut tickets = tickets.query([connection]).map_err(host_error)?;
    let mut messages = messages.query([connection]).map_err(host_error)?;
    let mut pending: Option<(String, (String, Option<i64>))> = None;
    let mut written = 0;
    while let Some(row) = tickets.next().map_err(host_error)? {
        let key: String = row.get(0).map_err(host_error)?;
        let data: String = row.get(1).map_err(host_error)?;
        // This ticket's messages; those of tickets before it are skipped.
        let mut own = Vec::new();
        loop {
            if pending.is_none() {
                if let Some(m) = messages.next().map_err(host_error)? {
                    let ticket = m.get(0).map_err(host_error)?;
                    let message = (m.get(1).map_err(host_error)?, m.get(2).map_err(host_error)?);
                    pending = Some((ticket, message));
                }
            }
            match &pending {
                Some((ticket, _)) if id_order(ticket) < id_order(&key) => pending = None,
                Some((ticket, _)) if *ticket == key => {
                    own.push(pending.take().expect("pending").1);
                }
                _ => break,
            }
        }
        if selected.as_ref().is_some_and(|s| !s.contains(&key)) {
            continue;
        }
        let ticket: Value = serde_json::from_str(&data).unwrap_or_default();
        let requester = match ticket["requester_id"].as_str() {
            Some(id) => people
                .get(id)
                .cloned()
                .unwrap_or_else(|| json!({ "id": id })),
            None => Value::Null,
        };
        let organization = ticket["organization_id"]
            .as_str()
            .and_then(|id| orgs.get(id));
        let customer = customers
            .get(&key)
            .map(|(id, name, via)| json!({"id": id, "name": name, "via": via}));
        let document = json!({
            "id": format!("{connection}:ticket:{key}"),
            "content": content(&ticket, &own, &people, options.internal_notes),
            "metadata": {
                "connection": connection,
                "ticket_id": key,
                "subject": ticket["subject"],
                "status": ticket["status"],
                "url": ticket["url"],
                "channel": ticket["channel"],
                "priority": ticket["priority"],
                "type": ticket["type"],
                "created_at": ticket["created_at"],
                "updated_at": ticket["updated_at"],
            },
            "properties": {
                "custom_fields": ticket["custom_fields"],
                "satisfaction": satisfaction.get(&key),
                "tags": ticket["tags"],
            },
            "requester": requester,
            "organization": organization,
            "customer": customer,
        });
        writeln!(out, "{document}")
            .map_err(|e| ConnectorError::Host(format!("cannot write the documents: {e}")))?;
        written += 1;
    }
    Ok(written)
}

/// The conversation as text.
fn content(
    ticket: &Value,
    messages: &[(String, Option<i64>)],
    people: &HashMap<String, Value>,
    internal_notes: bool,
) -> String {
    let mut text = format!(
        "Subject: {}\n",
        ticket["subject"].as_str().unwrap_or_default()
    );
    let mut transcript: Option<String> = None;
    for (data, at) in messages {
        let Ok(m) = serde_json::from_str::<Message>(data) else {
            continue;
        };
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
                people
                    .get(id)
                    .and_then(|p| p["name"].as_str().map(str::to_string))
                    .or_else(|| Some(format!("user {id}")))
            })
            .unwrap_or_else(|| "unknown".into());
        let body = m.body.as_deref().unwrap_or_default().trim();
        let time = at
            .map(|t| format!("{} UTC", format_time(t)))
            .unwrap_or_else(|| "unknown time".into());
        if let Some(chat) = &m.chat {
            if transcript != m.comment_id {
                text.push_str(&format!("\n--- {time} · chat transcript\n"));
                transcript = m.comment_id.clone();
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
