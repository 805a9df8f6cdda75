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

/// Deepest nesting a record's data may have. Opaque values pass through
/// unparsed, so a raw record may nest deeper than its readers allow
/// (serde_json stops at 128 levels); Zendesk's values nest a few levels.
const MAX_DATA_DEPTH: usize = 64;

/// Maps one raw record of a stream to zero or more normalized records.
pub fn map_record(
    ctx: &mut MapContext<'_>,
    stream: StreamName,
    raw: &str,
) -> Result<Vec<NormalizedRecord>, ConnectorError> {
    let records = map_by_stream(ctx, stream, raw)?;
    if let Some(record) = records.iter().find(|r| depth(&r.data) > MAX_DATA_DEPTH) {
        return Err(ConnectorError::Protocol(format!(
            "a {} Zendesk sent nests values deeper than {MAX_DATA_DEPTH} levels; resync the stream, and report it if it persists",
            record.kind
        )));
    }
    Ok(records)
}

/// How deeply the arrays and objects of a JSON text nest.
fn depth(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for byte in json.bytes() {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn map_by_stream(
    ctx: &mut MapContext<'_>,
    stream: StreamName,
    raw: &str,
) -> Result<Vec<NormalizedRecord>, ConnectorError> {
    match stream {
        StreamName::Tickets => conversation::map(ctx, raw).map(|r| vec![r]),
        StreamName::TicketComments | StreamName::TicketCommentsBackfill => {
            let mut records = message::map(ctx, raw)?;
            records.extend(change::map(raw)?);
            Ok(records)
        }
        StreamName::Users => directory::map_person(raw).map(|r| vec![r]),
        StreamName::Organizations => directory::map_account(raw).map(|r| vec![r]),
        StreamName::TicketFields => catalog::map_field(raw).map(|r| vec![r]),
        StreamName::SatisfactionRatings => catalog::map_satisfaction(raw).map(|r| vec![r]),
        StreamName::Tags => catalog::map_tag(raw).map(|r| vec![r]),
        StreamName::Brands => catalog::map_brand(raw).map(|r| vec![r]),
        StreamName::Groups => catalog::map_group(raw).map(|r| vec![r]),
    }
}

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn depth_counts_nesting_outside_strings() {
        assert_eq!(depth("1"), 0);
        assert_eq!(depth(r#"{"a":[1,{"b":[]}]}"#), 4);
        assert_eq!(depth(r#"{"a":"[[[{{{\"]]","b":"\\","c":[]}"#), 2);
        assert_eq!(
            depth(&format!("{}{}", "[".repeat(200), "]".repeat(200))),
            200
        );
    }
}
