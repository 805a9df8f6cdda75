//! A ticket field definition becomes a `field`.

use connector_records::{Field, FieldOption};
use serde::Deserialize;

use super::{id_string, opt, parse, record, updated};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct TicketField<'a> {
    id: u64,
    #[serde(default, borrow)]
    title: Option<Text<'a>>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    removable: Option<bool>,
    #[serde(default, borrow)]
    custom_field_options: Option<Vec<OptionIn<'a>>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct OptionIn<'a> {
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default, borrow)]
    value: Option<Text<'a>>,
}

/// Maps a ticket field.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let input: TicketField<'_> = parse("field", raw)?;
    let field = Field {
        id: id_string(input.id),
        title: opt(&input.title),
        kind: opt(&input.kind),
        active: input.active.unwrap_or(true),
        system: input.removable == Some(false),
        options: input
            .custom_field_options
            .iter()
            .flatten()
            .map(|o| FieldOption {
                value: opt(&o.value),
                label: opt(&o.name),
            })
            .collect(),
        updated_at: opt(&input.updated_at),
    };
    Ok(record(
        field.id.clone(),
        updated(&field.updated_at),
        &field,
        false,
    ))
}
