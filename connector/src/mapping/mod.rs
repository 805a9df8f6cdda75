//! `map-record`: raw Zendesk records to the platform-neutral model
//! (`conversation`, `message`, `change`, `person`, `account`, `field`,
//! `satisfaction`, `tag`, `brand`, `group`), in the record model's
//! grouping: conversations, messages and changes a file each, the
//! directory (people, accounts) and the catalog (the rest). Mapping
//! reads typed structs that borrow from the raw record and writes the
//! output with serde; opaque values (custom field values, user and
//! organization fields) pass through as raw JSON slices. The output types
//! are the shared record model's (`connector-records`).

mod catalog;
mod change;
mod conversation;
mod directory;
mod input;
mod message;

pub use input::MapContext;

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
        StreamName::Users => directory::map_person(raw).map(|r| vec![r]),
        StreamName::Organizations => directory::map_account(raw).map(|r| vec![r]),
        StreamName::TicketFields => catalog::map_field(raw).map(|r| vec![r]),
        StreamName::SatisfactionRatings => catalog::map_satisfaction(raw).map(|r| vec![r]),
        StreamName::Tags => catalog::map_tag(raw).map(|r| vec![r]),
        StreamName::Brands => catalog::map_brand(raw).map(|r| vec![r]),
        StreamName::Groups => catalog::map_group(raw).map(|r| vec![r]),
    }
}
