//! A brand becomes a `brand`; a deleted one is a tombstone.

use connector_records::Brand;
use serde::Deserialize;

use super::{id_string, opt, parse, record, updated};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct BrandIn<'a> {
    id: u64,
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default, borrow)]
    subdomain: Option<Text<'a>>,
    #[serde(default, borrow)]
    brand_url: Option<Text<'a>>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    default: Option<bool>,
    #[serde(default)]
    is_deleted: Option<bool>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
}

/// Maps a brand.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let input: BrandIn<'_> = parse("brand", raw)?;
    let deleted = input.is_deleted.unwrap_or(false);
    let brand = Brand {
        id: id_string(input.id),
        name: opt(&input.name),
        subdomain: opt(&input.subdomain),
        url: opt(&input.brand_url),
        active: input.active.unwrap_or(true),
        default: input.default.unwrap_or(false),
        created_at: opt(&input.created_at),
        updated_at: opt(&input.updated_at),
        deleted,
    };
    Ok(record(
        brand.id.clone(),
        updated(&brand.updated_at),
        &brand,
        deleted,
    ))
}
