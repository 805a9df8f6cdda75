//! The streams (`discover`), their cursors and the paging of each
//! (`fetch-page` without I/O: [`fetch::next_request`] and
//! [`fetch::handle_response`]).

mod anchor;
mod audits;
mod backfill;
mod body;
mod context;
pub mod cursor;
mod dedupe;
mod definition;
mod exports;
pub mod fetch;
mod filter;
mod lists;
mod probe;
pub mod progress;
mod ratings;
mod schema;
mod search;
mod tickets;

use std::borrow::Cow;

use crate::config::Config;
use crate::types::{StreamInfo, SyncMode};

/// The streams of the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamName {
    /// Tickets, from the cursor-based incremental export.
    Tickets,
    /// Comments and field changes, from the incremental ticket-events
    /// export.
    TicketComments,
    /// Comments and field changes made before the events export's start:
    /// from the account-wide audit list, and ticket by ticket for the
    /// tickets it does not list.
    TicketCommentsBackfill,
    /// Users, from the cursor-based incremental export.
    Users,
    /// Organizations, from the time-based incremental export.
    Organizations,
    /// Ticket field definitions.
    TicketFields,
    /// Satisfaction ratings.
    SatisfactionRatings,
    /// The account's popular tags.
    Tags,
    /// Brands.
    Brands,
    /// Groups.
    Groups,
}

impl StreamName {
    /// Every stream, in a sensible sync order.
    pub const ALL: [StreamName; 10] = [
        StreamName::TicketFields,
        StreamName::Brands,
        StreamName::Groups,
        StreamName::Users,
        StreamName::Organizations,
        StreamName::Tickets,
        StreamName::TicketComments,
        StreamName::TicketCommentsBackfill,
        StreamName::SatisfactionRatings,
        StreamName::Tags,
    ];

    /// The stream's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamName::Tickets => "tickets",
            StreamName::TicketComments => "ticket_comments",
            StreamName::TicketCommentsBackfill => "ticket_comments_backfill",
            StreamName::Users => "users",
            StreamName::Organizations => "organizations",
            StreamName::TicketFields => "ticket_fields",
            StreamName::SatisfactionRatings => "satisfaction_ratings",
            StreamName::Tags => "tags",
            StreamName::Brands => "brands",
            StreamName::Groups => "groups",
        }
    }

    /// The stream with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The normalized record kinds the stream maps to.
    pub fn record_kinds(self) -> &'static [&'static str] {
        match self {
            StreamName::Tickets => &["conversation"],
            StreamName::TicketComments => &["message", "change"],
            StreamName::TicketCommentsBackfill => &["message", "change"],
            StreamName::Users => &["person"],
            StreamName::Organizations => &["account"],
            StreamName::TicketFields => &["field"],
            StreamName::SatisfactionRatings => &["satisfaction"],
            StreamName::Tags => &["tag"],
            StreamName::Brands => &["brand"],
            StreamName::Groups => &["group"],
        }
    }

    /// JSON Schema of the normalized records' `data`. A stream of several
    /// kinds publishes one schema per kind under `$defs` (keyed by kind),
    /// with their common members at the top.
    pub fn json_schema(self) -> Cow<'static, str> {
        schema::json_schema(self)
    }

    fn description(self) -> &'static str {
        match self {
            StreamName::Tickets => "Tickets (incremental cursor export), unsolved ones older than the history included; deleted tickets become tombstones",
            StreamName::TicketComments => "Comments and internal notes, in bulk from the incremental ticket-events export (chat transcripts split into one message per line), and field changes (status, priority, ...); none of a ticket deleted before its first import",
            StreamName::TicketCommentsBackfill => "Comments and field changes made before the events export's start, of the tickets created before it: from the account-wide audit list (admins, 1,000 audits a request), and ticket by ticket for those it does not list (archived tickets) or when it is refused (comments only); none of a ticket deleted before its first import",
            StreamName::Users => "Users (incremental cursor export); deleted users become tombstones",
            StreamName::Organizations => "Organizations (incremental time-based export)",
            StreamName::TicketFields => "Ticket field definitions, whose titles and option labels key the tickets' custom fields",
            StreamName::SatisfactionRatings => "Satisfaction ratings (admins only; re-read over the last 30 days to catch late answers)",
            StreamName::Tags => "The account's most used tags of the last 60 days, with counts",
            StreamName::Brands => "Brands",
            StreamName::Groups => "Agent groups",
        }
    }

    /// Whether the stream reads everything every time.
    pub fn is_full_refresh(self) -> bool {
        matches!(
            self,
            StreamName::TicketFields | StreamName::Tags | StreamName::Brands | StreamName::Groups
        )
    }

    /// Default seconds between refreshes: people and organizations change
    /// slowly, so they are read daily; everything else on every sync.
    fn refresh_every_seconds(self) -> Option<u64> {
        matches!(self, StreamName::Users | StreamName::Organizations).then_some(86_400)
    }

    fn cursor_field(self) -> Option<&'static str> {
        match self {
            StreamName::Tickets | StreamName::Users | StreamName::Organizations => {
                Some("updated_at")
            }
            StreamName::TicketComments
            | StreamName::TicketCommentsBackfill
            | StreamName::SatisfactionRatings => Some("created_at"),
            _ => None,
        }
    }

    fn primary_key(self) -> &'static str {
        match self {
            StreamName::Tags => "name",
            _ => "id",
        }
    }

    /// Streams that must complete a sweep first, for this config.
    pub fn depends_on(self, config: &Config) -> Vec<StreamName> {
        let customer_filter = config.only_tickets_with_customer_comments;
        match self {
            StreamName::Tickets if customer_filter => vec![
                StreamName::TicketFields,
                StreamName::Brands,
                StreamName::Groups,
                StreamName::Users,
                StreamName::TicketComments,
            ],
            StreamName::Tickets => vec![
                StreamName::TicketFields,
                StreamName::Brands,
                StreamName::Groups,
            ],
            StreamName::TicketComments if customer_filter => vec![StreamName::Users],
            StreamName::TicketComments | StreamName::TicketCommentsBackfill => {
                vec![StreamName::Users, StreamName::Tickets]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the stream is read with this config: comments are skipped
    /// when neither messages nor the customer-comment filter need them.
    pub fn enabled(self, config: &Config) -> bool {
        match self {
            StreamName::TicketComments => {
                config.import_comments || config.only_tickets_with_customer_comments
            }
            StreamName::TicketCommentsBackfill => config.import_comments,
            _ => true,
        }
    }
}

/// The streams this config reads (`discover`).
pub fn discover(config: &Config) -> Vec<StreamInfo> {
    StreamName::ALL
        .into_iter()
        .filter(|s| s.enabled(config))
        .map(|s| StreamInfo {
            name: s.as_str().to_owned(),
            description: s.description().to_owned(),
            record_kinds: s.record_kinds().iter().map(|k| (*k).to_owned()).collect(),
            json_schema: s.json_schema().into_owned(),
            primary_key: vec![s.primary_key().to_owned()],
            cursor_field: s.cursor_field().map(str::to_owned),
            sync_modes: vec![if s.is_full_refresh() {
                SyncMode::FullRefresh
            } else {
                SyncMode::Incremental
            }],
            depends_on: s
                .depends_on(config)
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            optional: s != StreamName::Tickets,
            refresh_every_seconds: s.refresh_every_seconds(),
        })
        .collect()
}
