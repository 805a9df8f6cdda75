//! `fetch-page` without I/O. [`next_request`] turns a stream and its cursor
//! into the request to make; [`handle_response`] turns the response into a
//! page of raw records (slices of the body) and the next cursor. A page may
//! be empty and not done (a preparatory step such as finding the
//! `max_tickets` anchor); the driver then asks again.
//!
//! Every cursor is capped at `sync-started-at` minus 60 s: items changed
//! later are left to the next sync, and boundary duplicates (the same id
//! and version at the cursor's second) are dropped.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::cursor::{self, State};
use super::filter::{brand_ids, TicketFilter, TicketPeek};
use super::StreamName;
use crate::api::errors::{self, ErrorContext};
use crate::api::{ratelimit, HttpRequestSpec, HttpResponse, Url};
use crate::config::Config;
use crate::state::catalog::{Catalogs, FieldDef, Named, Role, StaffMember};
use crate::state::marks::{Marks, CUSTOMER_COMMENTED, OTHER_BRAND};
use crate::state::window;
use crate::storage::Storage;
use crate::text::Text;
use crate::time;
use crate::types::{ConnectorError, Page};

/// The one-minute exclusion of the incremental exports.
pub const EXCLUSION_SECS: u64 = 60;

/// Satisfaction ratings are re-read this far back, to catch ratings
/// answered after they were offered.
pub const RATINGS_LOOKBACK_SECS: u64 = 30 * 86_400;

/// Largest page of the incremental and search exports.
const EXPORT_MAX: u32 = 1000;
/// Largest page of the list endpoints.
const LIST_MAX: u32 = 100;

/// What a fetch works with.
pub struct FetchContext<'a> {
    /// The adopted config.
    pub config: &'a Config,
    /// The connection's storage.
    pub storage: &'a dyn Storage,
    /// The cached reference catalogs.
    pub catalogs: &'a mut Catalogs,
    /// When the sync started (Unix seconds).
    pub sync_started_at: u64,
    /// The host's preferred page size.
    pub page_size: Option<u32>,
}

impl FetchContext<'_> {
    /// The latest second any cursor may reach.
    pub fn cap(&self) -> u64 {
        self.sync_started_at.saturating_sub(EXCLUSION_SECS)
    }

    fn size(&self, max: u32) -> u32 {
        self.page_size.unwrap_or(max).clamp(1, max)
    }

    fn url(&self, path: &str) -> Url {
        Url::new(&self.config.base_url(), path)
    }
}

/// What to do next for a page.
#[derive(Debug)]
pub enum Step {
    /// Make this request, then call [`handle_response`].
    Request(PlannedRequest),
    /// Nothing to request (the stream is caught up): this is the page.
    Finished(Page),
}

/// A request with the state it was planned from.
#[derive(Debug, Clone)]
pub struct PlannedRequest {
    /// The request to make.
    pub http: HttpRequestSpec,
    /// What the request reads, for messages.
    pub what: String,
    stream: StreamName,
    state: State,
}

/// The search query for unsolved tickets last updated before `start`.
fn unsolved_before(start: u64) -> String {
    format!(
        "type:ticket status<solved updated<{}",
        time::format_rfc3339(start as i64)
    )
}

/// The first state of a stream that has no cursor yet.
fn initial_state(ctx: &FetchContext<'_>, stream: StreamName) -> Result<State, ConnectorError> {
    let history = |start: u64| match (stream, ctx.config.max_tickets) {
        (StreamName::Tickets, None) => State::Backfill { start, after: None },
        (StreamName::TicketComments, None) => State::CommentBackfill {
            start,
            search_after: None,
            search_done: false,
            queue: Vec::new(),
            page_after: None,
        },
        _ => State::Time {
            start,
            seen: Vec::new(),
        },
    };
    Ok(match stream {
        StreamName::Tickets | StreamName::TicketComments => {
            match window::stored_start(ctx.storage, ctx.config)? {
                Some(start) => history(start),
                None if ctx.config.max_tickets.is_some() => State::Anchor,
                None => {
                    let start = window::configured_start(ctx.config, ctx.sync_started_at);
                    window::store(ctx.storage, ctx.config, start)?;
                    history(start)
                }
            }
        }
        StreamName::Users | StreamName::Organizations => State::Time {
            start: 0,
            seen: Vec::new(),
        },
        StreamName::SatisfactionRatings => State::Ratings {
            since: window::stored_start(ctx.storage, ctx.config)?
                .unwrap_or_else(|| window::configured_start(ctx.config, ctx.sync_started_at)),
            until: None,
            after: None,
        },
        StreamName::TicketFields | StreamName::Tags | StreamName::Brands | StreamName::Groups => {
            State::List {
                after: None,
                page: None,
            }
        }
    })
}

/// The path of a list stream.
fn list_path(stream: StreamName) -> Option<(&'static str, &'static str)> {
    match stream {
        StreamName::TicketFields => Some(("/api/v2/ticket_fields.json", "ticket_fields")),
        StreamName::Tags => Some(("/api/v2/tags.json", "tags")),
        StreamName::Brands => Some(("/api/v2/brands.json", "brands")),
        StreamName::Groups => Some(("/api/v2/groups.json", "groups")),
        _ => None,
    }
}

/// Path and collection key of a cursor-based export.
fn cursor_export(stream: StreamName) -> Option<(&'static str, &'static str)> {
    match stream {
        StreamName::Tickets => Some(("/api/v2/incremental/tickets/cursor.json", "tickets")),
        StreamName::Users => Some(("/api/v2/incremental/users/cursor.json", "users")),
        _ => None,
    }
}

/// Path and collection key of a time-based export.
fn time_export(stream: StreamName) -> Option<(&'static str, &'static str)> {
    match stream {
        StreamName::Organizations => {
            Some(("/api/v2/incremental/organizations.json", "organizations"))
        }
        StreamName::TicketComments => {
            Some(("/api/v2/incremental/ticket_events.json", "ticket_events"))
        }
        _ => None,
    }
}

/// The request for a stream at a cursor (none to start), or the page when
/// nothing needs requesting. The same cursor always gives the same request.
pub fn next_request(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    cursor: Option<&str>,
) -> Result<Step, ConnectorError> {
    let state = match cursor {
        Some(c) => cursor::decode(stream.as_str(), c)?,
        None => initial_state(ctx, stream)?,
    };
    if stream == StreamName::Tickets && !ctx.config.brands.is_empty() {
        // An unknown brand name is a config error, found before any request.
        ctx.catalogs.brands.refresh(ctx.storage, None)?;
        brand_ids(ctx.config, ctx.catalogs)?;
    }
    plan(ctx, stream, state)
}

fn plan(ctx: &FetchContext<'_>, stream: StreamName, state: State) -> Result<Step, ConnectorError> {
    let cap = ctx.cap();
    let export_size = ctx.size(EXPORT_MAX).to_string();
    let list_size = ctx.size(LIST_MAX).to_string();
    let finished = |state: &State| {
        Step::Finished(Page {
            next_cursor: Some(cursor::encode(state)),
            done: true,
            ..Page::default()
        })
    };
    let (http, what) = match (&state, stream) {
        (State::Anchor, StreamName::Tickets | StreamName::TicketComments) => {
            let n = ctx.config.max_tickets.unwrap_or(1);
            let per_page = n.min(LIST_MAX);
            let page = n.div_ceil(per_page);
            let http = ctx
                .url("/api/v2/tickets.json")
                .param("sort_by", "updated_at")
                .param("sort_order", "desc")
                .param("per_page", per_page.to_string())
                .param("page", page.to_string())
                .get();
            (
                http,
                "the ticket list sorted by update time (max_tickets)".to_owned(),
            )
        }
        (State::Backfill { start, after }, StreamName::Tickets) => {
            let http = ctx
                .url("/api/v2/search/export.json")
                .param("query", unsolved_before(*start))
                .param("filter[type]", "ticket")
                .param("page[size]", &export_size)
                .param_opt("page[after]", after.as_deref())
                .get();
            (
                http,
                "the search export of older unsolved tickets".to_owned(),
            )
        }
        (
            State::CommentBackfill {
                start,
                search_after,
                search_done,
                queue,
                page_after,
            },
            StreamName::TicketComments,
        ) => match queue.first() {
            Some(ticket) => {
                let http = ctx
                    .url(&format!("/api/v2/tickets/{ticket}/comments.json"))
                    .param("page[size]", &list_size)
                    .param_opt("page[after]", page_after.as_deref())
                    .get();
                (http, format!("the comments of ticket {ticket}"))
            }
            None if *search_done => {
                return plan(
                    ctx,
                    stream,
                    State::Time {
                        start: *start,
                        seen: Vec::new(),
                    },
                );
            }
            None => {
                let http = ctx
                    .url("/api/v2/search/export.json")
                    .param("query", unsolved_before(*start))
                    .param("filter[type]", "ticket")
                    .param("page[size]", ctx.size(LIST_MAX).to_string())
                    .param_opt("page[after]", search_after.as_deref())
                    .get();
                (
                    http,
                    "the search export of older unsolved tickets".to_owned(),
                )
            }
        },
        (State::After { after }, _) if cursor_export(stream).is_some() => {
            let (path, key) = cursor_export(stream).expect("checked by the guard");
            let http = ctx
                .url(path)
                .param("cursor", after)
                .param("per_page", &export_size)
                .get();
            (http, format!("the {key} export"))
        }
        (State::Time { start, .. }, _) if *start > cap => return Ok(finished(&state)),
        (State::Time { start, .. }, _) if cursor_export(stream).is_some() => {
            let (path, key) = cursor_export(stream).expect("checked by the guard");
            let http = ctx
                .url(path)
                .param("start_time", start.to_string())
                .param("per_page", &export_size)
                .get();
            (http, format!("the {key} export"))
        }
        (State::Time { start, .. }, _) if time_export(stream).is_some() => {
            let (path, key) = time_export(stream).expect("checked by the guard");
            let mut url = ctx.url(path).param("start_time", start.to_string());
            if stream == StreamName::TicketComments {
                url = url.param("include", "comment_events");
            }
            (
                url.param("per_page", &export_size).get(),
                format!("the {key} export"),
            )
        }
        (State::List { after, page }, _) if list_path(stream).is_some() => {
            let (path, key) = list_path(stream).expect("checked by the guard");
            let url = ctx.url(path);
            let url = match page {
                Some(page) => url
                    .param("per_page", &list_size)
                    .param("page", page.to_string()),
                None => url
                    .param("page[size]", &list_size)
                    .param_opt("page[after]", after.as_deref()),
            };
            (url.get(), key.replace('_', " "))
        }
        (
            State::Ratings {
                since,
                until,
                after,
            },
            StreamName::SatisfactionRatings,
        ) => {
            let until = until.unwrap_or(cap);
            if *since > until {
                return Ok(finished(&state));
            }
            let http = ctx
                .url("/api/v2/satisfaction_ratings.json")
                .param("start_time", since.to_string())
                .param("end_time", until.to_string())
                .param("page[size]", &list_size)
                .param_opt("page[after]", after.as_deref())
                .get();
            let state = State::Ratings {
                since: *since,
                until: Some(until),
                after: after.clone(),
            };
            return Ok(Step::Request(PlannedRequest {
                http,
                what: "satisfaction ratings".to_owned(),
                stream,
                state,
            }));
        }
        _ => {
            return Err(ConnectorError::Internal(format!(
                "the cursor {} does not belong to the {} stream; reset the stream's state",
                cursor::encode(&state),
                stream.as_str()
            )))
        }
    };
    Ok(Step::Request(PlannedRequest {
        http,
        what,
        stream,
        state,
    }))
}

/// The top-level members of a JSON object body, borrowed.
struct Body<'a> {
    members: HashMap<String, &'a RawValue>,
    what: &'a str,
}

impl<'a> Body<'a> {
    fn parse(bytes: &'a [u8], what: &'a str) -> Result<Self, ConnectorError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ConnectorError::Protocol(format!(
                "Zendesk's answer for {what} is not UTF-8 ({e}); retry later"
            ))
        })?;
        let members = serde_json::from_str(text).map_err(|e| errors::unreadable(what, &e))?;
        Ok(Body { members, what })
    }

    /// A member, deserialised; absent and null give `None`.
    fn get<T: Deserialize<'a>>(&self, key: &str) -> Result<Option<T>, ConnectorError> {
        match self.members.get(key) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<Option<T>>(raw.get())
                .map_err(|e| errors::unreadable(self.what, &e)),
        }
    }

    /// The items of a collection member, each a slice of the body.
    fn items(&self, key: &str) -> Result<Vec<&'a RawValue>, ConnectorError> {
        Ok(self.get(key)?.unwrap_or_default())
    }

    /// Cursor pagination's `meta`.
    fn meta(&self) -> Result<Option<Meta>, ConnectorError> {
        self.get("meta")
    }
}

/// Cursor pagination's `meta`.
#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    after_cursor: Option<String>,
}

/// Deserialises one item.
fn peek<'a, T: Deserialize<'a>>(raw: &'a RawValue, what: &str) -> Result<T, ConnectorError> {
    serde_json::from_str(raw.get()).map_err(|e| errors::unreadable(what, &e))
}

/// An item with the identity used at cursor boundaries.
struct Stamped<'a> {
    raw: &'a RawValue,
    id: u64,
    /// The item's change time (Unix seconds): its version.
    at: u64,
}

/// Drops items already delivered (`seen`) and items changed after `cap`;
/// tells whether any item was past the cap.
fn dedupe_and_cap<'a>(
    items: Vec<Stamped<'a>>,
    seen: &[(u64, u64)],
    cap: u64,
) -> (Vec<Stamped<'a>>, bool) {
    let mut capped = false;
    let kept = items
        .into_iter()
        .filter(|item| {
            if item.at > cap {
                capped = true;
                return false;
            }
            !seen.contains(&(item.id, item.at))
        })
        .collect();
    (kept, capped)
}

/// The `(id, version)` pairs at `at`, with the earlier ones when the
/// boundary did not move.
fn seen_at(kept: &[Stamped<'_>], at: u64, previous: Option<&[(u64, u64)]>) -> Vec<(u64, u64)> {
    let mut seen = previous.map(<[_]>::to_vec).unwrap_or_default();
    seen.extend(kept.iter().filter(|i| i.at == at).map(|i| (i.id, i.at)));
    seen
}

/// A page of kept items.
fn page_of(items: &[&RawValue], next: &State, done: bool) -> Page {
    Page {
        records: items.iter().map(|r| r.get().to_owned()).collect(),
        next_cursor: Some(cursor::encode(next)),
        done,
        ..Page::default()
    }
}

/// Turns a response into a page. Non-success statuses become classified
/// errors, except a comments page of a ticket deleted meanwhile (skipped)
/// and an expired search-export cursor (the search restarts).
pub fn handle_response(
    ctx: &mut FetchContext<'_>,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> Result<Page, ConnectorError> {
    let mut page = match handle(ctx, planned, response)? {
        Handled::Page(page) => page,
        Handled::Next(state) => Page {
            next_cursor: Some(cursor::encode(&state)),
            ..Page::default()
        },
    };
    page.budgets = ratelimit::budgets(&response.headers);
    page.requests = 1;
    Ok(page)
}

enum Handled {
    Page(Page),
    /// No records; continue from this state.
    Next(State),
}

fn handle(
    ctx: &mut FetchContext<'_>,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> Result<Handled, ConnectorError> {
    let status = response.status;
    if !(200..300).contains(&status) {
        match &planned.state {
            State::CommentBackfill {
                start,
                search_after,
                search_done,
                queue,
                ..
            } if !queue.is_empty() && status == 404 => {
                return Ok(Handled::Next(State::CommentBackfill {
                    start: *start,
                    search_after: search_after.clone(),
                    search_done: *search_done,
                    queue: queue[1..].to_vec(),
                    page_after: None,
                }));
            }
            State::Backfill {
                start,
                after: Some(_),
            } if matches!(status, 400 | 422) => {
                return Ok(Handled::Next(State::Backfill {
                    start: *start,
                    after: None,
                }));
            }
            State::CommentBackfill {
                start,
                search_after: Some(_),
                queue,
                ..
            } if queue.is_empty() && matches!(status, 400 | 422) => {
                return Ok(Handled::Next(State::CommentBackfill {
                    start: *start,
                    search_after: None,
                    search_done: false,
                    queue: Vec::new(),
                    page_after: None,
                }));
            }
            _ => {
                let context = ErrorContext {
                    subdomain: &ctx.config.subdomain,
                    auth: ctx.config.auth,
                    what: &planned.what,
                };
                return Err(errors::classify(response, &context));
            }
        }
    }
    let body = Body::parse(&response.body, &planned.what)?;
    let stream = planned.stream;
    match &planned.state {
        State::Anchor => anchor(ctx, &body),
        State::Backfill { start, .. } => tickets_backfill(ctx, &body, *start),
        State::CommentBackfill {
            start,
            search_after,
            search_done,
            queue,
            page_after,
        } => {
            let position = CommentBackfill {
                start: *start,
                search_after: search_after.clone(),
                search_done: *search_done,
                queue: queue.clone(),
                page_after: page_after.clone(),
            };
            comments_backfill(ctx, &body, position)
        }
        State::After { .. } => cursor_export_page(ctx, stream, &body, None),
        State::Time { start, seen } if cursor_export(stream).is_some() => {
            cursor_export_page(ctx, stream, &body, Some((*start, seen)))
        }
        State::Time { start, seen } => time_export_page(ctx, stream, &body, *start, seen),
        State::List { page, .. } => list_page(ctx, stream, &body, *page),
        State::Ratings { since, until, .. } => {
            ratings_page(&body, *since, until.unwrap_or(ctx.cap()))
        }
    }
}

/// The `max_tickets`-th most recently updated ticket's update time starts
/// the history (0 when the account has fewer tickets).
fn anchor(ctx: &mut FetchContext<'_>, body: &Body<'_>) -> Result<Handled, ConnectorError> {
    let n = ctx.config.max_tickets.unwrap_or(1);
    let index = ((n - 1) % n.min(LIST_MAX)) as usize;
    let tickets = body.items("tickets")?;
    let start = match tickets.get(index) {
        None => 0,
        Some(raw) => {
            let ticket: TicketPeek<'_> = peek(raw, body.what)?;
            ticket
                .updated_at
                .as_deref()
                .and_then(time::parse_rfc3339)
                .map_or(0, |t| t.max(0) as u64)
        }
    };
    window::store(ctx.storage, ctx.config, start)?;
    Ok(Handled::Next(State::Time {
        start,
        seen: Vec::new(),
    }))
}

/// Older unsolved tickets from the search export.
fn tickets_backfill(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    start: u64,
) -> Result<Handled, ConnectorError> {
    refresh_for_tickets(ctx)?;
    let mut filter = TicketFilter::new(ctx.config, ctx.catalogs)?;
    let mut kept = Vec::new();
    for raw in body.items("results")? {
        let ticket: TicketPeek<'_> = peek(raw, body.what)?;
        if filter.keep(ctx.storage, ctx.catalogs, &ticket)? {
            kept.push(raw);
        }
    }
    filter.flush(ctx.storage)?;
    let meta = body.meta()?;
    let next = match meta {
        Some(Meta {
            has_more: true,
            after_cursor: Some(after),
        }) => State::Backfill {
            start,
            after: Some(after),
        },
        _ => State::Time {
            start,
            seen: Vec::new(),
        },
    };
    Ok(Handled::Page(page_of(&kept, &next, false)))
}

/// The catalogs a ticket filter reads, made current.
fn refresh_for_tickets(ctx: &mut FetchContext<'_>) -> Result<(), ConnectorError> {
    ctx.catalogs.brands.refresh(ctx.storage, None)?;
    if ctx.config.only_tickets_with_customer_comments {
        ctx.catalogs.staff.refresh(ctx.storage, None)?;
    }
    Ok(())
}

/// Where the comment backfill is.
struct CommentBackfill {
    start: u64,
    search_after: Option<String>,
    search_done: bool,
    queue: Vec<u64>,
    page_after: Option<String>,
}

impl CommentBackfill {
    fn into_state(self) -> State {
        if self.queue.is_empty() && self.search_done {
            return State::Time {
                start: self.start,
                seen: Vec::new(),
            };
        }
        State::CommentBackfill {
            start: self.start,
            search_after: self.search_after,
            search_done: self.search_done,
            queue: self.queue,
            page_after: self.page_after,
        }
    }
}

/// A comment as the per-ticket comments endpoint lists it.
#[derive(Deserialize)]
struct CommentPeek<'a> {
    #[serde(default)]
    author_id: Option<i64>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
}

/// Comments of older unsolved tickets, one ticket at a time. Each comment
/// becomes a one-comment pseudo-audit `{"ticket_id":N,"child_events":[..]}`
/// (the comment itself is a slice of the body), the shape of the events
/// export, so that both map alike. Only comments made before the history's
/// start are kept: later ones come from the events export.
fn comments_backfill(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    mut position: CommentBackfill,
) -> Result<Handled, ConnectorError> {
    let meta = body.meta()?;
    let Some(&ticket) = position.queue.first() else {
        // A search page: queue its tickets (other brands' tickets skipped).
        ctx.catalogs.brands.refresh(ctx.storage, None)?;
        let brands = brand_ids(ctx.config, ctx.catalogs)?;
        for raw in body.items("results")? {
            let found: TicketPeek<'_> = peek(raw, body.what)?;
            if brands
                .as_ref()
                .is_none_or(|b| found.brand_id.is_some_and(|id| b.contains(&id)))
            {
                position.queue.push(found.id);
            }
        }
        match meta {
            Some(Meta {
                has_more: true,
                after_cursor: Some(after),
            }) => position.search_after = Some(after),
            _ => position.search_done = true,
        }
        return Ok(Handled::Next(position.into_state()));
    };
    let customer_filter = ctx.config.only_tickets_with_customer_comments;
    if customer_filter {
        ctx.catalogs.staff.refresh(ctx.storage, None)?;
    }
    let mut marks = Marks::new(CUSTOMER_COMMENTED);
    let mut records = Vec::new();
    for raw in body.items("comments")? {
        let comment: CommentPeek<'_> = peek(raw, body.what)?;
        if customer_filter && ctx.catalogs.role_of(comment.author_id) == Role::Customer {
            marks.set(ctx.storage, ticket, true)?;
        }
        let before_start = comment
            .created_at
            .as_deref()
            .and_then(time::parse_rfc3339)
            .is_none_or(|t| t < position.start as i64);
        if before_start && ctx.config.import_comments {
            records.push(format!(
                "{{\"ticket_id\":{ticket},\"child_events\":[{}]}}",
                raw.get()
            ));
        }
    }
    marks.flush(ctx.storage)?;
    match meta {
        Some(Meta {
            has_more: true,
            after_cursor: Some(after),
        }) => position.page_after = Some(after),
        _ => {
            position.queue.remove(0);
            position.page_after = None;
        }
    }
    let next = position.into_state();
    Ok(Handled::Page(Page {
        records,
        next_cursor: Some(cursor::encode(&next)),
        ..Page::default()
    }))
}

/// What boundaries need of a user.
#[derive(Deserialize)]
struct UserPeek<'a> {
    id: u64,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    role: Option<Text<'a>>,
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
}

/// Unix seconds of an optional RFC 3339 time, 0 when absent or unreadable.
fn seconds(text: Option<&str>) -> u64 {
    text.and_then(time::parse_rfc3339)
        .map_or(0, |t| t.max(0) as u64)
}

/// A page of a cursor-based export (tickets, users), from Zendesk's cursor
/// (`from` none) or from a time position.
fn cursor_export_page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    body: &Body<'_>,
    from: Option<(u64, &Vec<(u64, u64)>)>,
) -> Result<Handled, ConnectorError> {
    let (_, key) = cursor_export(stream).expect("only cursor exports come here");
    let cap = ctx.cap();
    let raws = body.items(key)?;
    let mut items = Vec::with_capacity(raws.len());
    let mut staff_changes = Vec::new();
    let mut filter = None;
    if stream == StreamName::Tickets {
        refresh_for_tickets(ctx)?;
        filter = Some(TicketFilter::new(ctx.config, ctx.catalogs)?);
    }
    let mut keep_ids = HashSet::new();
    for raw in raws {
        if let Some(filter) = filter.as_mut() {
            let ticket: TicketPeek<'_> = peek(raw, body.what)?;
            let at = ticket
                .generated_timestamp
                .unwrap_or_else(|| seconds(ticket.updated_at.as_deref()));
            if at <= cap && filter.keep(ctx.storage, ctx.catalogs, &ticket)? {
                keep_ids.insert(ticket.id);
            }
            items.push(Stamped {
                raw,
                id: ticket.id,
                at,
            });
        } else {
            let user: UserPeek<'_> = peek(raw, body.what)?;
            let at = seconds(user.updated_at.as_deref());
            if at <= cap {
                staff_changes.push(user_staff(&user));
            }
            items.push(Stamped {
                raw,
                id: user.id,
                at,
            });
        }
    }
    if let Some(mut filter) = filter {
        filter.flush(ctx.storage)?;
    } else {
        apply_staff(ctx, staff_changes)?;
    }
    let (start, seen) = from.map_or((None, &[][..]), |(s, seen)| (Some(s), seen.as_slice()));
    let (kept, capped) = dedupe_and_cap(items, seen, cap);
    let after: Option<String> = body.get("after_cursor")?;
    let end_of_stream = body.get::<bool>("end_of_stream")?.unwrap_or(false);
    let (next, done) = match (capped, after.filter(|a| !a.is_empty()), from) {
        (true, _, _) => {
            let previous = (start == Some(cap)).then_some(seen);
            (
                State::Time {
                    start: cap,
                    seen: seen_at(&kept, cap, previous),
                },
                true,
            )
        }
        (false, Some(after), _) => (State::After { after }, end_of_stream),
        // No cursor yet (nothing since `start`): stay at the time position.
        (false, None, Some((start, seen))) => (
            State::Time {
                start,
                seen: seen.clone(),
            },
            true,
        ),
        (false, None, None) => {
            return Err(ConnectorError::Protocol(format!(
                "Zendesk's answer for {} has no after_cursor; retry later",
                body.what
            )))
        }
    };
    let records: Vec<&RawValue> = if stream == StreamName::Tickets {
        kept.iter()
            .filter(|i| keep_ids.contains(&i.id))
            .map(|i| i.raw)
            .collect()
    } else {
        kept.iter().map(|i| i.raw).collect()
    };
    Ok(Handled::Page(page_of(&records, &next, done)))
}

/// The staff catalog change a user implies: agents and admins are added
/// (or renamed), anyone else removed.
fn user_staff(user: &UserPeek<'_>) -> (u64, Option<StaffMember>) {
    let member = match user.role.as_deref() {
        Some(role @ ("agent" | "admin")) => Some(StaffMember {
            role: role.to_owned(),
            name: user.name.as_deref().unwrap_or_default().to_owned(),
        }),
        _ => None,
    };
    (user.id, member)
}

fn apply_staff(
    ctx: &mut FetchContext<'_>,
    changes: Vec<(u64, Option<StaffMember>)>,
) -> Result<(), ConnectorError> {
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    for (id, member) in changes {
        match member {
            Some(m) => upserts.push((id, m)),
            None => removals.push(id),
        }
    }
    ctx.catalogs.staff.apply(ctx.storage, upserts, &removals)?;
    Ok(())
}

/// What boundaries need of an organization or a ticket event.
#[derive(Deserialize)]
struct TimedPeek<'a> {
    id: u64,
    #[serde(default)]
    ticket_id: Option<u64>,
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(default)]
    updater_id: Option<i64>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    child_events: Vec<ChildPeek<'a>>,
}

/// A child event of a ticket event.
#[derive(Deserialize)]
struct ChildPeek<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    event_type: Option<Text<'a>>,
    #[serde(default)]
    author_id: Option<i64>,
}

impl ChildPeek<'_> {
    fn is_comment(&self) -> bool {
        let is = |t: &Option<Text<'_>>| matches!(t.as_deref(), Some("Comment" | "VoiceComment"));
        is(&self.kind) || is(&self.event_type)
    }
}

/// A page of a time-based export (organizations, ticket events).
fn time_export_page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    body: &Body<'_>,
    start: u64,
    seen: &[(u64, u64)],
) -> Result<Handled, ConnectorError> {
    let (_, key) = time_export(stream).expect("only time exports come here");
    let cap = ctx.cap();
    let comments = stream == StreamName::TicketComments;
    let customer_filter = comments && ctx.config.only_tickets_with_customer_comments;
    if customer_filter {
        ctx.catalogs.staff.refresh(ctx.storage, None)?;
    }
    let mut customer_commented = Marks::new(CUSTOMER_COMMENTED);
    let mut other_brand = Marks::new(OTHER_BRAND);
    let brand_filter = comments && !ctx.config.brands.is_empty();
    let mut items = Vec::new();
    let mut keep = HashSet::new();
    for raw in body.items(key)? {
        let item: TimedPeek<'_> = peek(raw, body.what)?;
        let at = match item.timestamp {
            Some(t) => t,
            None => seconds(item.updated_at.as_deref().or(item.created_at.as_deref())),
        };
        if comments {
            let ticket = item.ticket_id.unwrap_or_default();
            let mut has_comment = false;
            for child in item.child_events.iter().filter(|c| c.is_comment()) {
                has_comment = true;
                if customer_filter
                    && at <= cap
                    && ctx.catalogs.role_of(child.author_id.or(item.updater_id)) == Role::Customer
                {
                    customer_commented.set(ctx.storage, ticket, true)?;
                }
            }
            let wanted = has_comment
                && ctx.config.import_comments
                && !(brand_filter && other_brand.is_marked(ctx.storage, ticket)?);
            if wanted {
                keep.insert(item.id);
            }
        } else {
            keep.insert(item.id);
        }
        items.push(Stamped {
            raw,
            id: item.id,
            at,
        });
    }
    customer_commented.flush(ctx.storage)?;
    let (kept, mut capped) = dedupe_and_cap(items, seen, cap);
    let end_of_stream = body.get::<bool>("end_of_stream")?.unwrap_or(false);
    let end_time: Option<u64> = body.get("end_time")?;
    let proposed = end_time
        .or_else(|| kept.iter().map(|i| i.at).max())
        .unwrap_or(start)
        .max(start);
    capped |= proposed > cap;
    let mut next_start = proposed.min(cap);
    let done = capped || end_of_stream;
    let previous = (next_start == start).then_some(seen);
    let mut next_seen = seen_at(&kept, next_start, previous);
    if !done && next_start == start && kept.is_empty() {
        // Zendesk returns every item of a second in one page, so a page
        // with nothing new at the same second means that second is done.
        next_start = start + 1;
        next_seen.clear();
    }
    let records: Vec<&RawValue> = kept
        .iter()
        .filter(|i| keep.contains(&i.id))
        .map(|i| i.raw)
        .collect();
    let next = State::Time {
        start: next_start,
        seen: next_seen,
    };
    Ok(Handled::Page(page_of(&records, &next, done)))
}

/// A ticket field as listed.
#[derive(Deserialize)]
struct FieldPeek {
    id: u64,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    custom_field_options: Vec<OptionPeek>,
}

#[derive(Deserialize)]
struct OptionPeek {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct NamedPeek {
    id: u64,
    #[serde(default)]
    name: String,
}

/// Peeks every item of a page.
fn peek_all<T: DeserializeOwned>(
    items: &[&RawValue],
    what: &str,
) -> Result<Vec<T>, ConnectorError> {
    items.iter().map(|raw| peek(raw, what)).collect()
}

/// A page of a list endpoint; reference lists also update their catalog.
fn list_page(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    body: &Body<'_>,
    page: Option<u32>,
) -> Result<Handled, ConnectorError> {
    let (_, key) = list_path(stream).expect("only lists come here");
    let items = body.items(key)?;
    let storage = ctx.storage;
    match stream {
        StreamName::TicketFields => {
            let fields: Vec<(u64, FieldDef)> = peek_all::<FieldPeek>(&items, body.what)?
                .into_iter()
                .map(|f| {
                    let options = f
                        .custom_field_options
                        .into_iter()
                        .filter_map(|o| Some((o.value?, o.name)))
                        .collect();
                    (
                        f.id,
                        FieldDef {
                            title: f.title,
                            kind: f.kind,
                            options,
                        },
                    )
                })
                .collect();
            ctx.catalogs.fields.apply(storage, fields, &[])?;
        }
        StreamName::Brands | StreamName::Groups => {
            let named: Vec<(u64, Named)> = peek_all::<NamedPeek>(&items, body.what)?
                .into_iter()
                .map(|n| (n.id, Named { name: n.name }))
                .collect();
            let catalog = if stream == StreamName::Brands {
                &mut ctx.catalogs.brands
            } else {
                &mut ctx.catalogs.groups
            };
            catalog.apply(storage, named, &[])?;
        }
        _ => {}
    }
    let next = match (body.meta()?, body.get::<String>("next_page")?) {
        (
            Some(Meta {
                has_more: true,
                after_cursor: Some(after),
            }),
            _,
        ) => Some(State::List {
            after: Some(after),
            page: None,
        }),
        (None, Some(_)) => Some(State::List {
            after: None,
            page: Some(page.unwrap_or(1) + 1),
        }),
        _ => None,
    };
    Ok(Handled::Page(Page {
        records: items.iter().map(|r| r.get().to_owned()).collect(),
        done: next.is_none(),
        // A finished full refresh starts over on the next sync.
        next_cursor: next.as_ref().map(cursor::encode),
        ..Page::default()
    }))
}

/// A page of satisfaction ratings; a finished sweep sets the next one to
/// start [`RATINGS_LOOKBACK_SECS`] before this one's end.
fn ratings_page(body: &Body<'_>, since: u64, until: u64) -> Result<Handled, ConnectorError> {
    let items = body.items("satisfaction_ratings")?;
    let (next, done) = match body.meta()? {
        Some(Meta {
            has_more: true,
            after_cursor: Some(after),
        }) => (
            State::Ratings {
                since,
                until: Some(until),
                after: Some(after),
            },
            false,
        ),
        _ => (
            State::Ratings {
                since: until.saturating_sub(RATINGS_LOOKBACK_SECS).max(since),
                until: None,
                after: None,
            },
            true,
        ),
    };
    Ok(Handled::Page(page_of(&items, &next, done)))
}
