//! An account tag (`{name, count}`) becomes a `tag`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::common::{parse, record};
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize, Serialize)]
struct Tag<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    count: Option<u64>,
}

/// Maps a tag.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let tag: Tag<'_> = parse("tag", raw)?;
    Ok(record(
        "tag",
        tag.name.clone().into_owned(),
        None,
        &tag,
        false,
    ))
}
