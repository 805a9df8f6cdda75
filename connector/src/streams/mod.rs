//! The streams (`discover`), their cursors and the paging of each
//! (`fetch-page` without I/O: [`fetch::next_request`] and
//! [`fetch::handle_response`]).

pub mod cursor;
pub mod fetch;
mod filter;

use crate::config::Config;
use crate::types::{StreamInfo, SyncMode};

/// The streams of the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamName {
    /// Tickets, from the cursor-based incremental export.
    Tickets,
    /// Comments, from the incremental ticket-events export.
    TicketComments,
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
    pub const ALL: [StreamName; 9] = [
        StreamName::TicketFields,
        StreamName::Brands,
        StreamName::Groups,
        StreamName::Users,
        StreamName::Organizations,
        StreamName::Tickets,
        StreamName::TicketComments,
        StreamName::SatisfactionRatings,
        StreamName::Tags,
    ];

    /// The stream's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamName::Tickets => "tickets",
            StreamName::TicketComments => "ticket_comments",
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

    /// The normalized record kind the stream maps to.
    pub fn record_kind(self) -> &'static str {
        match self {
            StreamName::Tickets => "conversation",
            StreamName::TicketComments => "message",
            StreamName::Users => "person",
            StreamName::Organizations => "account",
            StreamName::TicketFields => "field",
            StreamName::SatisfactionRatings => "satisfaction",
            StreamName::Tags => "tag",
            StreamName::Brands => "brand",
            StreamName::Groups => "group",
        }
    }

    /// JSON Schema of the normalized records' `data`.
    pub fn json_schema(self) -> &'static str {
        match self {
            StreamName::Tickets => include_str!("../schemas/conversation.json"),
            StreamName::TicketComments => include_str!("../schemas/message.json"),
            StreamName::Users => include_str!("../schemas/person.json"),
            StreamName::Organizations => include_str!("../schemas/account.json"),
            StreamName::TicketFields => include_str!("../schemas/field.json"),
            StreamName::SatisfactionRatings => include_str!("../schemas/satisfaction.json"),
            StreamName::Tags => include_str!("../schemas/tag.json"),
            StreamName::Brands => include_str!("../schemas/brand.json"),
            StreamName::Groups => include_str!("../schemas/group.json"),
        }
    }

    fn description(self) -> &'static str {
        match self {
            StreamName::Tickets => "Tickets (incremental cursor export), unsolved ones older than the history included; deleted tickets become tombstones",
            StreamName::TicketComments => "Comments and internal notes, in bulk from the incremental ticket-events export; chat transcripts split into one message per line",
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

    fn cursor_field(self) -> Option<&'static str> {
        match self {
            StreamName::Tickets | StreamName::Users | StreamName::Organizations => {
                Some("updated_at")
            }
            StreamName::TicketComments | StreamName::SatisfactionRatings => Some("created_at"),
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
            StreamName::TicketComments => vec![StreamName::Users, StreamName::Tickets],
            _ => Vec::new(),
        }
    }

    /// Whether the stream is read with this config: comments are skipped
    /// when neither messages nor the customer-comment filter need them.
    pub fn enabled(self, config: &Config) -> bool {
        self != StreamName::TicketComments
            || config.import_comments
            || config.only_tickets_with_customer_comments
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
            record_kinds: vec![s.record_kind().to_owned()],
            json_schema: s.json_schema().to_owned(),
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
        })
        .collect()
}
