//! An organization becomes an `account`; a deleted one (`deleted_at` set)
//! is a tombstone.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::common::{id_string, opt, parse, record};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct Organization<'a> {
    id: u64,
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default, borrow)]
    domain_names: Option<Vec<Text<'a>>>,
    #[serde(default, borrow)]
    tags: Option<Vec<Text<'a>>>,
    #[serde(default, borrow)]
    organization_fields: Option<&'a RawValue>,
    #[serde(default, borrow)]
    external_id: Option<Text<'a>>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    deleted_at: Option<Text<'a>>,
}

#[derive(Serialize)]
struct Account<'a> {
    id: String,
    name: Option<&'a str>,
    domains: &'a [Text<'a>],
    tags: &'a [Text<'a>],
    organization_fields: Option<&'a RawValue>,
    external_id: Option<&'a str>,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
    deleted: bool,
}

/// Maps an organization.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let org: Organization<'_> = parse("account", raw)?;
    let deleted = org.deleted_at.is_some();
    let account = Account {
        id: id_string(org.id),
        name: opt(&org.name),
        domains: org.domain_names.as_deref().unwrap_or_default(),
        tags: org.tags.as_deref().unwrap_or_default(),
        organization_fields: org.organization_fields.filter(|v| v.get() != "null"),
        external_id: opt(&org.external_id),
        created_at: opt(&org.created_at),
        updated_at: opt(&org.updated_at),
        deleted,
    };
    let version = account.updated_at.map(str::to_owned);
    Ok(record(
        "account",
        account.id.clone(),
        version,
        &account,
        deleted,
    ))
}
