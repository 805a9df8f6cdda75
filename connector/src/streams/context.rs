//! What every endpoint family of `fetch-page` shares: the fetch's context,
//! the steps and requests it plans, and the pages a response gives.

use serde_json::value::RawValue;

use super::cursor::{self, State};
use super::StreamName;
use crate::api::{HttpRequestSpec, Url};
use crate::config::Config;
use crate::state::catalog::Catalogs;
use crate::storage::Storage;
use crate::types::Page;

/// The one-minute exclusion of the incremental exports.
pub const EXCLUSION_SECS: u64 = 60;

/// Largest page of the incremental and search exports.
pub(super) const EXPORT_MAX: u32 = 1000;
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

    /// The page size to ask for, at most `max`.
    pub(super) fn size(&self, max: u32) -> u32 {
        self.page_size.unwrap_or(max).clamp(1, max)
    }

    /// A URL on the account's host.
    pub(super) fn url(&self, path: &str) -> Url {
        Url::new(&self.config.base_url(), path)
    }
}

/// What to do next for a page.
#[derive(Debug)]
pub enum Step {
    /// Make this request, then call `fetch::handle_response`.
    Request(PlannedRequest),
    /// Make these requests at once, then call `fetch::handle_all` with the
    /// responses in the same order.
    Batch(Vec<PlannedRequest>),
    /// Nothing to request (the stream is caught up): this is the page.
    Finished(Page),
}

impl Step {
    /// The last page of a sweep, ending at `state`.
    pub(super) fn finished(state: &State) -> Step {
        Step::Finished(Page {
            next_cursor: Some(cursor::encode(state)),
            done: true,
            ..Page::default()
        })
    }
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

/// What a response gave.
pub(super) enum Handled {
    /// A page.
    Page(Page),
    /// No records; continue from this state.
    Next(State),
}

/// A page of kept items.
pub(super) fn page_of(items: &[&RawValue], next: &State, done: bool) -> Page {
    Page {
        records: items.iter().map(|r| r.get().to_owned()).collect(),
        next_cursor: Some(cursor::encode(next)),
        done,
        ..Page::default()
    }
}
