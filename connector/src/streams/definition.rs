//! The streams' definitions, in one table: per stream, the endpoint its
//! records come from (its family, path and collection key) and the cursor
//! phases it may be in. [`Definition::admit`] is the one place that refuses
//! a cursor of another stream.

use super::cursor::{self, Phase, State};
use super::StreamName;
use crate::types::ConnectorError;

/// How an endpoint pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    /// A cursor-based incremental export (Zendesk's `after_cursor`, or a
    /// time position to start).
    CursorExport,
    /// A time-based incremental export (`start_time`, `end_time`).
    TimeExport,
    /// A list endpoint: cursor pagination, or offset pagination where the
    /// endpoint ignores it; a full refresh.
    List,
    /// Satisfaction ratings, swept over a time range.
    Ratings,
    /// One ticket's comments, ticket by ticket.
    PerTicket,
}

/// The endpoint a stream's records come from.
#[derive(Debug)]
pub(super) struct Endpoint {
    /// How it pages.
    pub(super) family: Family,
    /// Its path (`{id}` stands for a ticket id).
    pub(super) path: &'static str,
    /// The member holding its items.
    pub(super) key: &'static str,
    /// A query parameter it always takes.
    pub(super) include: Option<(&'static str, &'static str)>,
}

/// How a stream is read.
#[derive(Debug)]
pub(super) struct Definition {
    /// The endpoint of the stream's records.
    pub(super) endpoint: Endpoint,
    /// The phases its cursors may be in: the endpoint's own, and the first
    /// import's steps (the `max_tickets` anchor, the search export, the
    /// probe of the events export).
    pub(super) phases: &'static [Phase],
}

/// A stream's definition.
const fn define(
    family: Family,
    path: &'static str,
    key: &'static str,
    phases: &'static [Phase],
) -> Definition {
    Definition {
        endpoint: Endpoint {
            family,
            path,
            key,
            include: None,
        },
        phases,
    }
}

const TICKETS: Definition = define(
    Family::CursorExport,
    "/api/v2/incremental/tickets/cursor.json",
    "tickets",
    &[
        Phase::Anchor,
        Phase::Backfill,
        Phase::Sweep,
        Phase::Probe,
        Phase::AuditProbe,
        Phase::After,
        Phase::Time,
    ],
);
const TICKET_EVENTS: Definition = define(
    Family::TimeExport,
    "/api/v2/incremental/ticket_events.json",
    "ticket_events",
    &[Phase::Anchor, Phase::Time],
);
const TICKET_COMMENTS: Definition = Definition {
    endpoint: Endpoint {
        include: Some(("include", "comment_events")),
        ..TICKET_EVENTS.endpoint
    },
    ..TICKET_EVENTS
};
const TICKET_COMMENTS_BACKFILL: Definition = define(
    Family::PerTicket,
    "/api/v2/tickets/{id}/comments.json",
    "comments",
    &[Phase::Walk, Phase::Queue],
);
const USERS: Definition = define(
    Family::CursorExport,
    "/api/v2/incremental/users/cursor.json",
    "users",
    &[Phase::After, Phase::Time],
);
const ORGANIZATIONS: Definition = define(
    Family::TimeExport,
    "/api/v2/incremental/organizations.json",
    "organizations",
    &[Phase::Time],
);
const SATISFACTION_RATINGS: Definition = define(
    Family::Ratings,
    "/api/v2/satisfaction_ratings.json",
    "satisfaction_ratings",
    &[Phase::Ratings],
);
const LIST: &[Phase] = &[Phase::List];
const TICKET_FIELDS: Definition = define(
    Family::List,
    "/api/v2/ticket_fields.json",
    "ticket_fields",
    LIST,
);
const TAGS: Definition = define(Family::List, "/api/v2/tags.json", "tags", LIST);
const BRANDS: Definition = define(Family::List, "/api/v2/brands.json", "brands", LIST);
const GROUPS: Definition = define(Family::List, "/api/v2/groups.json", "groups", LIST);

impl Definition {
    /// The definition of a stream.
    pub(super) fn of(stream: StreamName) -> &'static Definition {
        match stream {
            StreamName::Tickets => &TICKETS,
            StreamName::TicketComments => &TICKET_COMMENTS,
            StreamName::TicketCommentsBackfill => &TICKET_COMMENTS_BACKFILL,
            StreamName::Users => &USERS,
            StreamName::Organizations => &ORGANIZATIONS,
            StreamName::TicketFields => &TICKET_FIELDS,
            StreamName::SatisfactionRatings => &SATISFACTION_RATINGS,
            StreamName::Tags => &TAGS,
            StreamName::Brands => &BRANDS,
            StreamName::Groups => &GROUPS,
        }
    }

    /// Refuses a state the stream's cursors are never in (a cursor of
    /// another stream).
    pub(super) fn admit(&self, stream: StreamName, state: &State) -> Result<(), ConnectorError> {
        if self.phases.contains(&state.phase()) {
            return Ok(());
        }
        Err(ConnectorError::Internal(format!(
            "the cursor {} does not belong to the {} stream; reset the stream's state",
            cursor::encode(state),
            stream.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_admits_only_its_own_phases() {
        let list = State::List {
            after: None,
            page: None,
        };
        assert!(Definition::of(StreamName::Tags)
            .admit(StreamName::Tags, &list)
            .is_ok());
        let error = Definition::of(StreamName::Users)
            .admit(StreamName::Users, &list)
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Internal(m) if m.contains("does not belong to the users stream")),
            "{error:?}"
        );
        for stream in StreamName::ALL {
            let definition = Definition::of(stream);
            let own = match definition.endpoint.family {
                Family::CursorExport | Family::TimeExport => Phase::Time,
                Family::List => Phase::List,
                Family::Ratings => Phase::Ratings,
                Family::PerTicket => Phase::Queue,
            };
            assert!(definition.phases.contains(&own), "{stream:?}");
        }
    }
}
