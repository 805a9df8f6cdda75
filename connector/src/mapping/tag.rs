//! An account tag (`{name, count}`) becomes a `tag`.

use connector_records::Tag;
use serde::Deserialize;

use super::{parse, record};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct TagIn<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(default)]
    count: Option<u64>,
}

/// Maps a tag.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let input: TagIn<'_> = parse("tag", raw)?;
    let tag = Tag {
        name: input.name,
        count: input.count,
    };
    Ok(record(tag.name.to_string(), None, &tag, false))
}
