//! `map-record`: raw Zendesk records to the platform-neutral model
//! (`conversation`, `message`, `change`, `person`, `account`, `field`,
//! `satisfaction`, `tag`, `brand`, `group`), one file per kind. Mapping
//! reads typed structs that borrow from the raw record and writes the
//! output with serde; opaque values (custom field values, user and
//! organization fields) pass through as raw JSON slices.

mod account;
mod brand;
mod change;
mod common;
mod conversation;
mod field;
mod group;
mod message;
mod person;
mod satisfaction;
mod tag;

pub use common::MapContext;

use crate::streams::StreamName;
use crate::types::{ConnectorError, NormalizedRecord};

/// Maps one raw record of a stream to zero or more normalized records.
pub fn map_record(
    ctx: &mut MapContext<'_>,
    stream: StreamName,
    raw: &str,
) -> Result<Vec<NormalizedRecord>, ConnectorError> {
    match stream {
        StreamName::Tickets => conversation::map(ctx, raw).map(|r| vec![r]),
        StreamName::TicketComments => {
            let mut records = message::map(ctx, raw)?;
            records.extend(change::map(raw)?);
            Ok(records)
        }
        StreamName::TicketCommentsBackfill => message::map(ctx, raw),
        StreamName::Users => person::map(raw).map(|r| vec![r]),
        StreamName::Organizations => account::map(raw).map(|r| vec![r]),
        StreamName::TicketFields => field::map(raw).map(|r| vec![r]),
        StreamName::SatisfactionRatings => satisfaction::map(raw).map(|r| vec![r]),
        StreamName::Tags => tag::map(raw).map(|r| vec![r]),
        StreamName::Brands => brand::map(raw).map(|r| vec![r]),
        StreamName::Groups => group::map(raw).map(|r| vec![r]),
    }
}
