//! The incremental exports: cursor-based (tickets, users) and time-based (tickets, users,
//! organizations, ticket events).

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{json, Value};

use super::{Reply, Req};
use serde::Serialize;

use crate::model::{split_audit_id, Account, Status};
use crate::render::{Renderer, TicketJson, TicketParts};

/// Exports leave out the most recent minute.
const EXCLUDED_SECS: i64 = 60;
/// Most items a page holds (also the default).
const MAX_PER_PAGE: u64 = 1000;

/// A position in an export: items strictly after `(timestamp, id)` come next.
type Position = (i64, u64);

/// What an incremental export walks: `(timestamp, id)` pairs in order, after a position.
pub(crate) trait Source {
    /// Items strictly after `pos`, ascending.
    fn after(&self, pos: Position) -> Box<dyn Iterator<Item = Position> + '_>;
}

/// A source over the account's tickets, optionally without deleted ones.
pub(crate) struct Tickets<'a> {
    pub acct: &'a Account,
    pub exclude_deleted: bool,
}

impl Source for Tickets<'_> {
    fn after(&self, pos: Position) -> Box<dyn Iterator<Item = Position> + '_> {
        let acct = self.acct;
        let exclude = self.exclude_deleted;
        Box::new(acct.tickets_after(pos).filter(move |(_, id)| {
            !exclude
                || acct
                    .ticket(*id)
                    .is_some_and(|t| t.status != Status::Deleted)
        }))
    }
}

/// A source over an account's users, organizations or ticket events.
pub(crate) struct Of<'a>(pub &'a Account, pub Kind);

/// Which objects an [`Of`] walks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Users,
    Organizations,
    Events,
}

impl Source for Of<'_> {
    fn after(&self, pos: Position) -> Box<dyn Iterator<Item = Position> + '_> {
        match self.1 {
            Kind::Users => Box::new(self.0.users_after(pos)),
            Kind::Organizations => Box::new(self.0.orgs_after(pos)),
            Kind::Events => Box::new(self.0.events_after(pos)),
        }
    }
}

/// The requested page size (`per_page`, at most 1000).
pub(crate) fn per_page(req: &Req) -> Result<u64, Reply> {
    match req.param("per_page") {
        None => Ok(MAX_PER_PAGE),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(MAX_PER_PAGE))
            .ok_or_else(|| invalid("per_page must be a positive integer")),
    }
}

fn invalid(description: &str) -> Reply {
    Reply::error(
        400,
        json!({"error": "InvalidValue", "description": description}),
    )
}

/// Reads and checks `start_time`: required, Unix seconds, at least a minute old.
pub(crate) fn start_time(req: &Req, now: i64) -> Result<i64, Reply> {
    let raw = req
        .param("start_time")
        .ok_or_else(|| invalid("start_time is required"))?;
    let start: i64 = raw
        .parse()
        .map_err(|_| invalid("start_time must be a Unix epoch time in seconds"))?;
    if start > now - EXCLUDED_SECS {
        return Err(Reply::error(
            422,
            json!({
                "error": "InvalidValue",
                "description": "Too recent start_time. Use a start_time older than 1 minute"
            }),
        ));
    }
    Ok(start.max(0))
}

/// The export cursor of a position (the shape of Zendesk's: base64 of `ts.0||id|`).
pub(crate) fn encode_cursor(pos: Position) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}.0||{}|", pos.0, pos.1))
}

fn decode_cursor(cursor: &str) -> Option<Position> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (ts, rest) = text.split_once("||")?;
    let ts = ts.split('.').next()?.parse().ok()?;
    let id = rest.trim_end_matches('|').parse().ok()?;
    Some((ts, id))
}

/// The position a cursor export starts from: `cursor`, or just before `start_time`.
pub(crate) fn cursor_position(req: &Req, now: i64) -> Result<Position, Reply> {
    match req.param("cursor") {
        Some(c) => decode_cursor(c).ok_or_else(|| invalid("cursor is invalid")),
        None => Ok((start_time(req, now)? - 1, u64::MAX)),
    }
}

/// A page of a cursor-based export.
pub(crate) struct CursorPage {
    pub items: Vec<Position>,
    pub after: Position,
    pub end_of_stream: bool,
}

/// Up to `per_page` items after `pos` that are at least a minute old.
pub(crate) fn cursor_page(src: &dyn Source, pos: Position, now: i64, per_page: u64) -> CursorPage {
    let cutoff = now - EXCLUDED_SECS;
    let mut it = src.after(pos).take_while(|(ts, _)| *ts <= cutoff);
    let items: Vec<Position> = it.by_ref().take(per_page as usize).collect();
    CursorPage {
        after: items.last().copied().unwrap_or(pos),
        end_of_stream: it.next().is_none(),
        items,
    }
}

/// A page of a time-based export.
pub(crate) struct TimePage {
    pub items: Vec<Position>,
    pub end_time: i64,
    pub end_of_stream: bool,
}

/// Items with timestamps from `start` on, at least a minute old: `per_page` of them, plus
/// every further item sharing the last one's second (so a page can be larger than
/// `per_page`). `end_time` is the last item's second, so those items come again at the top
/// of the next page; when a whole page shares `start`'s second it moves on by one second.
pub(crate) fn time_page(src: &dyn Source, start: i64, now: i64, per_page: u64) -> TimePage {
    let cutoff = now - EXCLUDED_SECS;
    let mut it = src
        .after((start - 1, u64::MAX))
        .take_while(|(ts, _)| *ts <= cutoff)
        .peekable();
    let mut items: Vec<Position> = it.by_ref().take(per_page as usize).collect();
    if let Some(&(last, _)) = items.last() {
        while let Some(next) = it.next_if(|(ts, _)| *ts == last) {
            items.push(next);
        }
    }
    let end_of_stream = it.peek().is_none();
    let end_time = match (items.first(), items.last()) {
        (Some(&(first, _)), Some(&(last, _)))
            if first == last && last == start && !end_of_stream =>
        {
            last + 1
        }
        (_, Some(&(last, _))) => last,
        _ => start,
    };
    TimePage {
        items,
        end_time,
        end_of_stream,
    }
}

/// The fields of a cursor-based export page besides its items.
pub(crate) fn cursor_meta(req: &Req, page: &CursorPage) -> Value {
    let cursor = encode_cursor(page.after);
    json!({
        "after_url": req.link_only(&[("cursor", cursor.clone())], KEPT_PARAMS),
        "after_cursor": cursor,
        "before_url": null,
        "before_cursor": null,
        "end_of_stream": page.end_of_stream,
    })
}

/// The fields of a time-based export page besides its items.
pub(crate) fn time_meta(req: &Req, page: &TimePage) -> Value {
    json!({
        "next_page": req.link_only(&[("start_time", page.end_time.to_string())], KEPT_PARAMS),
        "count": page.items.len(),
        "end_of_stream": page.end_of_stream,
        "end_time": page.end_time,
    })
}

/// Parameters carried over to the next page's URL.
const KEPT_PARAMS: &[&str] = &[
    "per_page",
    "include",
    "exclude_deleted",
    "support_type_scope",
];

/// A page of exported tickets, serialised without an intermediate JSON tree.
#[derive(Serialize)]
struct TicketsPage<'a> {
    tickets: Vec<TicketJson<'a>>,
    #[serde(flatten)]
    rest: Value,
}

/// The body of a ticket export page: the tickets, `meta`, and the side-loads asked for in
/// `include` (`users`, `groups`, `organizations`).
pub(crate) fn tickets_body(
    r: &Renderer<'_>,
    req: &Req,
    ids: &[Position],
    mut meta: Value,
) -> Vec<u8> {
    let include: BTreeSet<&str> = req
        .param("include")
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let parts: Vec<TicketParts> = ids
        .iter()
        .filter_map(|&(_, id)| r.ticket_parts(id))
        .collect();
    let (mut users, mut groups, mut orgs) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for p in &parts {
        let f = &p.facts;
        users.extend(
            [Some(f.requester), Some(f.submitter), f.assignee]
                .into_iter()
                .flatten(),
        );
        groups.insert(f.group);
        orgs.extend(r.acct.users[f.requester].org_id);
    }
    if include.contains("users") {
        meta["users"] = users.iter().map(|&u| r.user(&r.acct.users[u])).collect();
    }
    if include.contains("groups") {
        meta["groups"] = groups.iter().map(|&g| r.group(&r.acct.groups[g])).collect();
    }
    if include.contains("organizations") {
        meta["organizations"] = orgs
            .iter()
            .filter_map(|id| r.acct.org(*id))
            .map(|o| r.org(o))
            .collect();
    }
    let page = TicketsPage {
        tickets: parts.iter().map(|p| r.ticket(p)).collect(),
        rest: meta,
    };
    serde_json::to_vec(&page).unwrap_or_default()
}

/// Renders ticket events (audits) by id.
pub(crate) fn events(r: &Renderer<'_>, ids: &[Position], with_comments: bool) -> Vec<Value> {
    ids.iter()
        .filter_map(|&(_, audit)| {
            let (ticket, k) = split_audit_id(audit)?;
            let t = r.acct.ticket(ticket)?;
            let facts = r.acct.facts(ticket, t.base_status);
            let a = r.acct.audit(ticket, k, &facts)?;
            Some(r.ticket_event(&a, with_comments))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<Position>);
    impl Source for Fixed {
        fn after(&self, pos: Position) -> Box<dyn Iterator<Item = Position> + '_> {
            Box::new(self.0.iter().copied().filter(move |p| *p > pos))
        }
    }

    #[test]
    fn export_cursor_has_zendesk_shape_and_round_trips() {
        assert_eq!(
            encode_cursor((1_580_753_798, 432)),
            "MTU4MDc1Mzc5OC4wfHw0MzJ8"
        );
        assert_eq!(
            decode_cursor("MTU4MDc1Mzc5OC4wfHw0MzJ8"),
            Some((1_580_753_798, 432))
        );
        assert_eq!(decode_cursor("%%%"), None);
    }

    #[test]
    fn time_pages_grow_over_ties_repeat_boundaries_and_always_progress() {
        // Ten items share second 100; per_page is 3.
        let mut items: Vec<Position> = (1..=10).map(|id| (100, id)).collect();
        items.extend([(101, 11), (102, 12), (5_000, 13)]);
        let src = Fixed(items);
        let now = 1_000;
        let p1 = time_page(&src, 50, now, 3);
        assert_eq!(
            p1.items.len(),
            10,
            "page grows to hold every item of second 100"
        );
        assert_eq!(p1.end_time, 100);
        assert!(!p1.end_of_stream);
        let p2 = time_page(&src, p1.end_time, now, 3);
        assert_eq!(
            p2.items.len(),
            10,
            "the tie repeats at the top of the next page"
        );
        assert_eq!(
            p2.end_time, 101,
            "a page made only of start's second moves on"
        );
        let p3 = time_page(&src, p2.end_time, now, 3);
        assert_eq!(p3.items, vec![(101, 11), (102, 12)]);
        assert!(p3.end_of_stream, "item 13 is within the last minute");
        assert_eq!(p3.end_time, 102);
    }

    #[test]
    fn cursor_pages_exclude_the_last_minute() {
        let src = Fixed(vec![(10, 1), (20, 2), (990, 3)]);
        let page = cursor_page(&src, (0, 0), 1_000, 10);
        assert_eq!(page.items, vec![(10, 1), (20, 2)]);
        assert!(page.end_of_stream);
        assert_eq!(page.after, (20, 2));
        let later = cursor_page(&src, page.after, 1_100, 10);
        assert_eq!(later.items, vec![(990, 3)]);
    }
}
