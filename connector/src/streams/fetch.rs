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

use super::backfill;
use super::cursor::{self, State};
use super::filter::{brand_ids, TicketFilter, TicketPeek};
use super::StreamName;
use crate::api::errors::{self, ErrorContext};
use crate::api::{ratelimit, HttpRequestSpec, HttpResponse, Url};
use crate::config::Config;
use crate::state::catalog::{Catalogs, FieldDef, Named, Role, StaffMember};
use crate::state::marks::{Marks, CUSTOMER_COMMENTED, OTHER_BRAND};
use crate::state::split::{self, Plan, Rate, Rates, Scheme, Split, TicketLog};
use crate::state::window;
use crate::storage::Storage;
use crate::text::Text;
use crate::time;
use crate::types::{Budget, ConnectorError, Page};

/// The one-minute exclusion of the incremental exports.
pub const EXCLUSION_SECS: u64 = 60;

/// Satisfaction ratings are re-read this far back, to catch ratings
/// answered after they were offered.
pub const RATINGS_LOOKBACK_SECS: u64 = 30 * 86_400;

/// The search index's lag: after a search sweep of the window's tickets,
/// the incremental export resumes this long before the sweep began.
pub const SEARCH_LAG_SECS: u64 = 600;

/// Largest page of the incremental and search exports.
const EXPORT_MAX: u32 = 1000;
/// Largest page of the list endpoints.
pub(super) const LIST_MAX: u32 = 100;

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

    pub(super) fn size(&self, max: u32) -> u32 {
        self.page_size.unwrap_or(max).clamp(1, max)
    }

    pub(super) fn url(&self, path: &str) -> Url {
        Url::new(&self.config.base_url(), path)
    }
}

/// What to do next for a page.
#[derive(Debug)]
pub enum Step {
    /// Make this request, then call [`handle_response`].
    Request(PlannedRequest),
    /// Make these requests at once, then call [`handle_all`] with the
    /// responses in the same order.
    Batch(Vec<PlannedRequest>),
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
    pub(super) stream: StreamName,
    pub(super) state: State,
}

/// The search query for unsolved tickets last updated before `start`.
fn unsolved_before(start: u64) -> String {
    format!(
        "type:ticket status<solved updated<{}",
        time::format_rfc3339(start as i64)
    )
}

/// The search query for tickets updated since the day before `since` (the
/// search compares days; a day early leaves no gap).
fn updated_since(since: u64) -> String {
    let day = time::format_rfc3339(since.saturating_sub(86_400) as i64);
    format!("type:ticket updated>={}", &day[..10])
}

/// The first state of a stream that has no cursor yet.
fn initial_state(ctx: &FetchContext<'_>, stream: StreamName) -> Result<State, ConnectorError> {
    let history = |start: u64| match (stream, ctx.config.max_tickets) {
        (StreamName::Tickets, None) => State::Backfill { start, after: None },
        _ => State::Time {
            start,
            seen: Vec::new(),
        },
    };
    Ok(match stream {
        StreamName::TicketComments => match split::stored(ctx.storage)? {
            Some(split) => State::Time {
                start: split.start,
                seen: Vec::new(),
            },
            // Comments before tickets (the customer filter, or a failed
            // tickets stream): no split, the export starts at the window.
            None => match window_start(ctx)? {
                Some(start) => {
                    undivided(ctx, start)?;
                    history(start)
                }
                None => State::Anchor,
            },
        },
        StreamName::Tickets => match window_start(ctx)? {
            Some(start) => history(start),
            None => State::Anchor,
        },
        StreamName::TicketCommentsBackfill => backfill::initial(ctx),
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

/// The first import's window start: stored, or resolved from the config
/// and stored; none while `max_tickets` needs its anchor request.
fn window_start(ctx: &FetchContext<'_>) -> Result<Option<u64>, ConnectorError> {
    if let Some(start) = window::stored_start(ctx.storage, ctx.config)? {
        return Ok(Some(start));
    }
    if ctx.config.max_tickets.is_some() {
        return Ok(None);
    }
    let start = window::configured_start(ctx.config, ctx.sync_started_at);
    window::store(ctx.storage, ctx.config, start)?;
    Ok(Some(start))
}

/// Records that the comment history is not split: the events export starts
/// at the window's start (`tickets` still marks the older tickets).
fn undivided(ctx: &FetchContext<'_>, start: u64) -> Result<(), ConnectorError> {
    if split::stored(ctx.storage)?.is_none() {
        split::store(
            ctx.storage,
            Split {
                start,
                marked: false,
            },
        )?;
    }
    Ok(())
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

/// Requests one page of a stream may make while it yields records (more
/// while steps yield none, see the driver).
pub fn requests_per_page(stream: StreamName) -> u32 {
    match stream {
        StreamName::TicketCommentsBackfill => backfill::TICKETS_AT_ONCE as u32,
        _ => 1,
    }
}

/// Once per `fetch-page`, before its requests: the per-ticket queue
/// forgets the pending sets a committed cursor has moved past.
pub fn begin_page(
    ctx: &FetchContext<'_>,
    stream: StreamName,
    cursor: Option<&str>,
) -> Result<(), ConnectorError> {
    match stream {
        StreamName::TicketCommentsBackfill => backfill::begin(ctx, cursor),
        _ => Ok(()),
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
            State::Sweep {
                since,
                after,
                resume: _,
            },
            StreamName::Tickets,
        ) => {
            let http = ctx
                .url("/api/v2/search/export.json")
                .param("query", updated_since(*since))
                .param("filter[type]", "ticket")
                .param("page[size]", &export_size)
                .param_opt("page[after]", after.as_deref())
                .get();
            (http, "the search export of the window's tickets".to_owned())
        }
        (State::Probe { at, .. }, StreamName::Tickets) => {
            let http = ctx
                .url("/api/v2/incremental/ticket_events.json")
                .param("start_time", at.to_string())
                .param("per_page", &export_size)
                .get();
            (http, "a page of the ticket events export".to_owned())
        }
        (
            State::Queue {
                generation,
                next,
                after,
                ..
            },
            StreamName::TicketCommentsBackfill,
        ) => {
            return backfill::plan(ctx, *generation, *next, after.as_deref());
        }
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
pub(super) struct Body<'a> {
    members: HashMap<String, &'a RawValue>,
    /// What the body answers, for messages.
    pub(super) what: &'a str,
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
    pub(super) fn items(&self, key: &str) -> Result<Vec<&'a RawValue>, ConnectorError> {
        Ok(self.get(key)?.unwrap_or_default())
    }

    /// Cursor pagination's `meta`.
    pub(super) fn meta(&self) -> Result<Option<Meta>, ConnectorError> {
        self.get("meta")
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
/// and an expired search-export cursor (the search restarts). The caller
/// reads the response's budgets.
pub fn handle_response(
    ctx: &mut FetchContext<'_>,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> Result<Page, ConnectorError> {
    Ok(match handle(ctx, planned, response)? {
        Handled::Page(page) => page,
        Handled::Next(state) => Page {
            next_cursor: Some(cursor::encode(&state)),
            ..Page::default()
        },
    })
}

/// Handles the responses of a step's requests in order, into one page
/// (none when no response was handled). A batch stops at the first response
/// that leaves its item unfinished (another page of one ticket's comments:
/// the later responses are dropped, to be requested again) or that fails:
/// then the error comes too.
pub fn handle_all(
    ctx: &mut FetchContext<'_>,
    planned: &[PlannedRequest],
    responses: Vec<Result<HttpResponse, ConnectorError>>,
) -> (Option<Page>, Option<ConnectorError>) {
    let mut all: Option<Page> = None;
    for (planned, response) in planned.iter().zip(responses) {
        let page = match response.and_then(|r| handle_response(ctx, planned, &r)) {
            Ok(page) => page,
            Err(e) => return (all, Some(e)),
        };
        let unfinished = page
            .next_cursor
            .as_deref()
            .and_then(|c| cursor::decode(planned.stream.as_str(), c).ok())
            .is_some_and(|s| matches!(s, State::Queue { after: Some(_), .. }));
        let all = all.get_or_insert_with(Page::default);
        all.records.extend(page.records);
        all.next_cursor = page.next_cursor;
        all.done = page.done;
        if unfinished || all.done {
            break;
        }
    }
    (all, None)
}

/// What a response gave.
pub(super) enum Handled {
    /// A page.
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
        return match &planned.state {
            State::Queue {
                generation, next, ..
            } if status == 404 => Ok(backfill::skipped(*generation, *next, ctx.sync_started_at)),
            State::Backfill {
                start,
                after: Some(_),
            } if matches!(status, 400 | 422) => Ok(Handled::Next(State::Backfill {
                start: *start,
                after: None,
            })),
            State::Sweep {
                since,
                after: Some(_),
                resume,
            } if matches!(status, 400 | 422) => Ok(Handled::Next(State::Sweep {
                since: *since,
                after: None,
                resume: *resume,
            })),
            _ => {
                let context = ErrorContext {
                    subdomain: &ctx.config.subdomain,
                    auth: ctx.config.auth,
                    what: &planned.what,
                };
                Err(errors::classify(response, &context))
            }
        };
    }
    let body = Body::parse(&response.body, &planned.what)?;
    let budgets = ratelimit::budgets(&response.headers);
    let stream = planned.stream;
    let handled = match &planned.state {
        State::Anchor => anchor(ctx, stream, &body),
        State::Backfill { start, .. } => tickets_backfill(ctx, &body, *start, &budgets),
        State::Sweep {
            since,
            after,
            resume,
        } => tickets_sweep(ctx, &body, *since, after.is_none(), *resume),
        State::Probe { at, resume } => probe(ctx, &body, *at, resume, &budgets),
        State::Queue {
            generation, next, ..
        } => backfill::page(ctx, &body, *generation, *next),
        State::After { .. } => cursor_export_page(ctx, stream, &body, None),
        State::Time { start, seen } if cursor_export(stream).is_some() => {
            cursor_export_page(ctx, stream, &body, Some((*start, seen)))
        }
        State::Time { start, seen } => time_export_page(ctx, stream, &body, *start, seen),
        State::List { page, .. } => list_page(ctx, stream, &body, *page),
        State::Ratings { since, until, .. } => {
            ratings_page(&body, *since, until.unwrap_or(ctx.cap()))
        }
    }?;
    match handled {
        Handled::Page(page) if page.done && stream == StreamName::Tickets => {
            finish_sweep(ctx, page, &budgets)
        }
        handled => Ok(handled),
    }
}

/// The `max_tickets`-th most recently updated ticket's update time starts
/// the history (0 when the account has fewer tickets).
fn anchor(
    ctx: &mut FetchContext<'_>,
    stream: StreamName,
    body: &Body<'_>,
) -> Result<Handled, ConnectorError> {
    let n = ctx.config.max_tickets.unwrap_or(1);
    let index = ((n - 1) % n.min(LIST_MAX)) as usize;
    let tickets = body.items("tickets")?;
    let start = match tickets.get(index) {
        None => 0,
        Some(raw) => {
            let ticket: TicketPeek<'_> = peek(raw, body.what)?;
            seconds(ticket.updated_at.as_deref())
        }
    };
    window::store(ctx.storage, ctx.config, start)?;
    // `max_tickets` keeps to the incremental export (its N is counted in
    // the export's terms).
    if stream == StreamName::TicketComments {
        undivided(ctx, start)?;
    }
    Ok(Handled::Next(State::Time {
        start,
        seen: Vec::new(),
    }))
}

/// Whether comments are still to be imported and their history split.
fn split_pending(ctx: &FetchContext<'_>) -> Result<bool, ConnectorError> {
    Ok(ctx.config.import_comments && split::stored(ctx.storage)?.is_none())
}

/// Where the first import reads the window's tickets. From the search
/// export (account budget) when Zendesk reports rate limits and the comment
/// history is still to be split: then the incremental export's budget is
/// left to the comments. Otherwise from the incremental export.
fn window_tickets(
    ctx: &FetchContext<'_>,
    start: u64,
    budgets: &[Budget],
) -> Result<State, ConnectorError> {
    let limited = ratelimit::find(budgets, ratelimit::ACCOUNT).is_some_and(|b| b.limit.is_some());
    Ok(if limited && split_pending(ctx)? {
        State::Sweep {
            since: start,
            after: None,
            resume: ctx
                .sync_started_at
                .saturating_sub(SEARCH_LAG_SECS)
                .max(start),
        }
    } else {
        State::Time {
            start,
            seen: Vec::new(),
        }
    })
}

/// A ticket a page delivers, for the split of the comment history.
struct Noted {
    id: u64,
    created: u64,
    updated: u64,
}

impl Noted {
    /// A live ticket with its creation time.
    fn of(ticket: &TicketPeek<'_>) -> Option<Noted> {
        if ticket.status.as_deref() == Some("deleted") {
            return None;
        }
        let created = ticket.created_at.as_deref().and_then(time::parse_rfc3339)?;
        Some(Noted {
            id: ticket.id,
            created: created.max(0) as u64,
            updated: seconds(ticket.updated_at.as_deref()),
        })
    }
}

/// Notes the tickets of a page. During the first import every ticket is
/// logged (to split the comment history); later, a ticket created before
/// the split and seen for the first time is marked for the per-ticket
/// comments.
fn note_tickets(ctx: &FetchContext<'_>, tickets: &[Noted]) -> Result<(), ConnectorError> {
    let Some(window) = window::stored_start(ctx.storage, ctx.config)? else {
        return Ok(());
    };
    if tickets.is_empty() {
        return Ok(());
    }
    let scheme = Scheme::load_or_create(ctx.storage, window, ctx.cap())?;
    let mut log = TicketLog::default();
    match split::stored(ctx.storage)? {
        Some(Split {
            start,
            marked: true,
        }) => {
            let mut pending = Marks::new(split::pending(ctx.sync_started_at));
            for t in tickets.iter().filter(|t| t.created < start) {
                if !log.knows(ctx.storage, t.id)? {
                    log.set(ctx.storage, &scheme, t.id, t.created, t.updated)?;
                    pending.set(ctx.storage, t.id, true)?;
                }
            }
            pending.flush(ctx.storage)?;
        }
        _ => {
            for t in tickets {
                log.set(ctx.storage, &scheme, t.id, t.created, t.updated)?;
            }
        }
    }
    log.flush(ctx.storage)?;
    Ok(())
}

/// Tickets of a search-export page that the filters keep, noted.
fn search_results<'a>(
    ctx: &mut FetchContext<'_>,
    body: &Body<'a>,
) -> Result<Vec<&'a RawValue>, ConnectorError> {
    refresh_for_tickets(ctx)?;
    let mut filter = TicketFilter::new(ctx.config, ctx.catalogs)?;
    let mut kept = Vec::new();
    let mut noted = Vec::new();
    for raw in body.items("results")? {
        let ticket: TicketPeek<'_> = peek(raw, body.what)?;
        if filter.keep(ctx.storage, ctx.catalogs, &ticket)? {
            kept.push(raw);
            noted.extend(Noted::of(&ticket));
        }
    }
    filter.flush(ctx.storage)?;
    note_tickets(ctx, &noted)?;
    Ok(kept)
}

/// The search export's next page, if any.
fn search_after(body: &Body<'_>) -> Result<Option<String>, ConnectorError> {
    Ok(match body.meta()? {
        Some(Meta {
            has_more: true,
            after_cursor: Some(after),
        }) => Some(after),
        _ => None,
    })
}

/// Older unsolved tickets from the search export.
fn tickets_backfill(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    start: u64,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let kept = search_results(ctx, body)?;
    let next = match search_after(body)? {
        Some(after) => State::Backfill {
            start,
            after: Some(after),
        },
        None => window_tickets(ctx, start, budgets)?,
    };
    Ok(Handled::Page(page_of(&kept, &next, false)))
}

/// The window's tickets from the search export. A first page that holds
/// them all (no more than a page: the export budget is no bottleneck)
/// hands over to the incremental export from the window's start; else the
/// sweep goes on and the export resumes at `resume`.
fn tickets_sweep(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    since: u64,
    first: bool,
    resume: u64,
) -> Result<Handled, ConnectorError> {
    let kept = search_results(ctx, body)?;
    let time = |start| State::Time {
        start,
        seen: Vec::new(),
    };
    let next = match search_after(body)? {
        Some(after) => State::Sweep {
            since,
            after: Some(after),
            resume,
        },
        None if first => time(since),
        None => time(resume),
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

/// The two budgets, when Zendesk reports both: the account budget as the
/// per-ticket comments may use it.
fn rates(budgets: &[Budget]) -> Option<Rates> {
    let rate = |name| {
        let budget = ratelimit::find(budgets, name)?;
        Some(Rate {
            per_minute: f64::from(budget.limit?.max(1)),
            left: f64::from(budget.remaining.unwrap_or(0)),
        })
    };
    let (account, export) = (rate(ratelimit::ACCOUNT)?, rate(ratelimit::EXPORTS)?);
    Some(Rates {
        // Export requests count against the account budget too.
        account: Rate {
            per_minute: (account.per_minute - export.per_minute).max(1.0),
            ..account
        },
        export,
    })
}

/// The end of a sweep of the tickets. At the end of the first import's,
/// the comment history is split: where splitting may pay, after one probe
/// of the events export (the page then is not the last).
fn finish_sweep(
    ctx: &mut FetchContext<'_>,
    mut page: Page,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let start = match split::stored(ctx.storage)? {
        Some(Split { marked: true, .. }) => return Ok(Handled::Page(page)),
        Some(split) => split.start,
        None => {
            let Some(window) = window::stored_start(ctx.storage, ctx.config)? else {
                return Ok(Handled::Page(page));
            };
            if let (Some(at), Some(resume)) = (probe_at(ctx, budgets)?, page.next_cursor.as_deref())
            {
                let resume = cursor::decode(StreamName::Tickets.as_str(), resume)?;
                page.done = false;
                page.next_cursor = Some(cursor::encode(&State::Probe {
                    at,
                    resume: Box::new(resume),
                }));
                return Ok(Handled::Page(page));
            }
            window
        }
    };
    settle(ctx, start)?;
    Ok(Handled::Page(page))
}

/// Where to probe the events export before splitting: the best split at an
/// assumed number of events per ticket, when that is not the window's start.
fn probe_at(ctx: &FetchContext<'_>, budgets: &[Budget]) -> Result<Option<u64>, ConnectorError> {
    let (Some(scheme), Some(rates), true) = (
        Scheme::stored(ctx.storage)?,
        rates(budgets),
        ctx.config.import_comments,
    ) else {
        return Ok(None);
    };
    let plan = Plan::collect(ctx.storage, scheme)?;
    let j = plan.best(split::PRIOR_EVENTS_PER_TICKET, rates);
    Ok((j > 0).then(|| scheme.boundary(j)))
}

/// The probe: how many events the tickets have, from one page of the events
/// export; then the split where both endpoints finish together.
fn probe(
    ctx: &mut FetchContext<'_>,
    body: &Body<'_>,
    at: u64,
    resume: &State,
    budgets: &[Budget],
) -> Result<Handled, ConnectorError> {
    let window = window::stored_start(ctx.storage, ctx.config)?.unwrap_or(at);
    let start = match (Scheme::stored(ctx.storage)?, rates(budgets)) {
        (Some(scheme), Some(rates)) => {
            let plan = Plan::collect(ctx.storage, scheme)?;
            let events = body.items("ticket_events")?;
            let mut counted = 0;
            let mut last = at;
            for raw in &events {
                let event: TimedPeek<'_> = peek(raw, body.what)?;
                let t = event.timestamp.unwrap_or(at);
                if t <= scheme.to {
                    counted += 1;
                    last = last.max(t);
                }
            }
            let end_of_stream = body.get::<bool>("end_of_stream")?.unwrap_or(false);
            let until = if counted == events.len() && !end_of_stream {
                last
            } else {
                scheme.to
            };
            let per_ticket = plan
                .calibrate(at, until, counted)
                .unwrap_or(split::PRIOR_EVENTS_PER_TICKET);
            scheme.boundary(plan.best(per_ticket, rates))
        }
        _ => window,
    };
    settle(ctx, start)?;
    Ok(Handled::Page(Page {
        next_cursor: Some(cursor::encode(resume)),
        done: true,
        ..Page::default()
    }))
}

/// Stores the split and marks the tickets created before it.
fn settle(ctx: &FetchContext<'_>, start: u64) -> Result<(), ConnectorError> {
    split::store(
        ctx.storage,
        Split {
            start,
            marked: false,
        },
    )?;
    if let Some(scheme) = Scheme::stored(ctx.storage)? {
        split::mark_before(ctx.storage, scheme.boundary_at(start), ctx.sync_started_at)?;
    }
    split::store(
        ctx.storage,
        Split {
            start,
            marked: true,
        },
    )?;
    Ok(())
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
    let mut noted = Vec::new();
    for raw in raws {
        if let Some(filter) = filter.as_mut() {
            let ticket: TicketPeek<'_> = peek(raw, body.what)?;
            let at = ticket
                .generated_timestamp
                .unwrap_or_else(|| seconds(ticket.updated_at.as_deref()));
            if at <= cap && filter.keep(ctx.storage, ctx.catalogs, &ticket)? {
                keep_ids.insert(ticket.id);
                noted.extend(Noted::of(&ticket));
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
        note_tickets(ctx, &noted)?;
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

    fn is_change(&self) -> bool {
        let is = |t: &Option<Text<'_>>| t.as_deref() == Some("Change");
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
            let has_change = item.child_events.iter().any(ChildPeek::is_change);
            let wanted = ((has_comment && ctx.config.import_comments) || has_change)
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
