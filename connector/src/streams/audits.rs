//! The walk of the account-wide audit list (`/api/v2/ticket_audits`, admins,
//! the account budget), the first part of `ticket_comments_backfill` when
//! the split's source is the audit list (`state::split::audits`).
//!
//! The list's older cursor gives up to 1,000 audits a page, the most recent
//! first, and `before_cursor` (or `before_url`) goes back in time; audits
//! made meanwhile join at the head, so walking back from the newest page
//! reads a region that does not change. The order inside a page is not
//! documented and nothing here depends on it. Of each page, the audits made
//! before the split of the tickets the walk serves (logged by the first
//! sweep, not possibly archived, not queued per ticket, kept by the comment
//! filter) become pseudo-events in the events export's shape
//! (`{"ticket_id":N,"created_at":..,"child_events":[..]}`), so their comments
//! and field changes map as the export's do. When the list has nothing
//! older, the tickets the walk did not serve are queued per ticket and the
//! stream goes on to its queue.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::backfill;
use super::body::{peek, Body};
use super::context::{FetchContext, Handled, PlannedRequest, Step};
use super::cursor::{self, State};
use super::filter::CommentGate;
use super::StreamName;
use crate::state::split::audits::Walked;
use crate::state::split::{self, Scheme, Split, TicketLog};
use crate::text::Text;
use crate::time;
use crate::types::{ConnectorError, Page};

/// The account-wide audit list.
pub(super) const PATH: &str = "/api/v2/ticket_audits.json";
/// Most audits a page of its older cursor holds.
const LIMIT_MAX: u32 = 1000;
/// The member holding a page's audits.
const KEY: &str = "audits";

/// The request for the page before `before` (the newest without it).
pub(super) fn request(ctx: &FetchContext<'_>, before: Option<&str>) -> Step {
    let http = ctx
        .url(PATH)
        .param_opt("cursor", before)
        .param("limit", ctx.size(LIMIT_MAX).to_string())
        .get();
    Step::Request(PlannedRequest {
        http,
        what: "the account-wide audit list".to_owned(),
        stream: StreamName::TicketCommentsBackfill,
        state: State::Walk {
            before: before.map(str::to_owned),
        },
    })
}

/// Whether the stream walks the audit list before its queue: the split's
/// source is the list and the walk has not ended.
pub(super) fn walking(ctx: &FetchContext<'_>) -> Result<bool, ConnectorError> {
    Ok(split::stored(ctx.storage)?.is_some_and(|s| s.audits)
        && !split::audits::walk_done(ctx.storage)?)
}

/// What the walk reads of an audit.
#[derive(Deserialize)]
struct AuditPeek<'a> {
    ticket_id: u64,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    events: Vec<EventPeek<'a>>,
}

/// What the walk reads of an audit's event.
#[derive(Deserialize)]
struct EventPeek<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
}

/// An audit as the events export's ticket event: `events` become
/// `child_events`, and comments without their own `via` take the audit's.
fn pseudo_event(raw: &str, what: &str) -> Result<String, ConnectorError> {
    let mut audit: Map<String, Value> = serde_json::from_str(raw).map_err(|e| {
        ConnectorError::Protocol(format!(
            "an audit in {what} is not a JSON object ({e}); retry later"
        ))
    })?;
    let via = audit.get("via").cloned();
    let mut events = match audit.remove("events") {
        Some(Value::Array(events)) => events,
        _ => Vec::new(),
    };
    for event in &mut events {
        let comment = matches!(
            event.get("type").and_then(Value::as_str),
            Some("Comment" | "VoiceComment")
        );
        if let (true, Some(via), Value::Object(members)) = (comment, &via, event) {
            members.entry("via").or_insert_with(|| via.clone());
        }
    }
    audit.insert("child_events".into(), Value::Array(events));
    Ok(Value::Object(audit).to_string())
}

/// The cursor towards older audits: `before_cursor`, else the `cursor`
/// parameter of `before_url`; none when nothing older is left.
fn older(body: &Body<'_>) -> Result<Option<String>, ConnectorError> {
    if let Some(cursor) = body
        .get::<String>("before_cursor")?
        .filter(|c| !c.is_empty())
    {
        return Ok(Some(cursor));
    }
    let url: Option<String> = body.get("before_url")?;
    Ok(url.as_deref().and_then(cursor_param))
}

/// The `cursor` query parameter of a URL, decoded.
fn cursor_param(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "cursor")
        .map(|(_, value)| {
            String::from_utf8_lossy(&percent_decode_str(value).collect::<Vec<u8>>()).into_owned()
        })
        .filter(|c| !c.is_empty())
}

/// A page of the audit list.
pub(super) fn page(ctx: &FetchContext<'_>, body: &Body<'_>) -> Result<Handled, ConnectorError> {
    let Some(split) = split::stored(ctx.storage)? else {
        return Ok(Handled::Next(backfill::initial(ctx)));
    };
    let mut walked = Walked::load(ctx.storage)?;
    let mut gate = CommentGate::new(ctx.config, ctx.storage)?;
    let mut log = TicketLog::default();
    let mut records = Vec::new();
    for raw in body.items(KEY)? {
        let audit: AuditPeek<'_> = peek(raw, body.what)?;
        let at = audit.created_at.as_deref().and_then(time::parse_rfc3339);
        let before_split = at.is_some_and(|t| t < split.start as i64);
        let ticket = audit.ticket_id;
        if !before_split
            || !log.knows(ctx.storage, ticket)?
            || !walked.serves(ctx.storage, ticket)?
            || gate.drops(ctx.storage, ticket, at.unwrap_or_default().max(0) as u64)?
        {
            continue;
        }
        let creation = audit
            .events
            .iter()
            .any(|e| e.kind.as_deref() == Some("Create"));
        walked.delivered(ctx.storage, ticket, creation)?;
        records.push(pseudo_event(raw.get(), body.what)?);
    }
    gate.flush(ctx.storage)?;
    let next = match older(body)? {
        Some(before) => {
            walked.flush(ctx.storage)?;
            State::Walk {
                before: Some(before),
            }
        }
        None => {
            finish(ctx, walked, &split)?;
            backfill::initial(ctx)
        }
    };
    Ok(Handled::Page(Page {
        records,
        next_cursor: Some(cursor::encode(&next)),
        ..Page::default()
    }))
}

/// The audit list refused a page (403: the token lost its admin role; 404):
/// the walk ends where it is, and the tickets it did not serve go per
/// ticket.
pub(super) fn refused(ctx: &FetchContext<'_>) -> Result<Handled, ConnectorError> {
    if let Some(split) = split::stored(ctx.storage)? {
        finish(ctx, Walked::load(ctx.storage)?, &split)?;
    }
    Ok(Handled::Next(backfill::initial(ctx)))
}

/// The walk's end: the tickets it did not serve go to the queue.
fn finish(ctx: &FetchContext<'_>, walked: Walked, split: &Split) -> Result<(), ConnectorError> {
    let j = match Scheme::stored(ctx.storage)? {
        Some(scheme) => scheme.boundary_at(split.start),
        None => 0,
    };
    walked.finish(ctx.storage, j, ctx.sync_started_at)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_becomes_a_ticket_event() {
        let raw = r#"{"id":9,"ticket_id":4,"created_at":"2024-01-01T00:00:00Z","author_id":7,"via":{"channel":"email"},"events":[{"id":1,"type":"Comment","body":"hi"},{"id":2,"type":"Change","field_name":"status","value":"open","previous_value":"new"},{"id":3,"type":"VoiceComment","via":{"channel":"voice"}}]}"#;
        let event: Value = serde_json::from_str(&pseudo_event(raw, "a page").unwrap()).unwrap();
        assert_eq!(event["ticket_id"], 4);
        assert!(event.get("events").is_none());
        let children = event["child_events"].as_array().unwrap();
        assert_eq!(children.len(), 3);
        assert_eq!(children[0]["via"]["channel"], "email");
        assert!(children[1].get("via").is_none(), "changes keep their shape");
        assert_eq!(children[2]["via"]["channel"], "voice", "an own via stays");
        assert!(matches!(
            pseudo_event("[1]", "a page"),
            Err(ConnectorError::Protocol(_))
        ));
    }

    #[test]
    fn the_older_cursor_comes_from_either_member() {
        let parse = |json: &str| older(&Body::parse(json.as_bytes(), "a page").unwrap()).unwrap();
        assert_eq!(
            parse(r#"{"before_cursor":"abc","before_url":null}"#),
            Some("abc".into())
        );
        assert_eq!(
            parse(
                r#"{"before_cursor":null,"before_url":"https://a.zendesk.com/api/v2/ticket_audits.json?limit=1000&cursor=MTU%3D"}"#
            ),
            Some("MTU=".into())
        );
        assert_eq!(parse(r#"{"before_cursor":null,"before_url":null}"#), None);
        assert_eq!(parse(r#"{"audits":[]}"#), None);
        assert_eq!(cursor_param("https://a/x?limit=5"), None);
    }
}
