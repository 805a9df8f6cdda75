//! An agent group becomes a `group`; a deleted one is a tombstone.

use connector_records::Group;
use serde::Deserialize;

use super::{id_string, opt, parse, record, updated};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct GroupIn<'a> {
    id: u64,
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default, borrow)]
    description: Option<Text<'a>>,
    #[serde(default)]
    deleted: Option<bool>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
}

/// Maps a group.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let input: GroupIn<'_> = parse("group", raw)?;
    let deleted = input.deleted.unwrap_or(false);
    let group = Group {
        id: id_string(input.id),
        name: opt(&input.name),
        description: opt(&input.description),
        created_at: opt(&input.created_at),
        updated_at: opt(&input.updated_at),
        deleted,
    };
    Ok(record(
        group.id.clone(),
        updated(&group.updated_at),
        &group,
        deleted,
    ))
}
