//! An organization becomes an `account`; a deleted one (`deleted_at` set)
//! is a tombstone.

use std::borrow::Cow;

use connector_records::Account;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{id_string, opt, parse, record, updated};
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

/// Maps an organization.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let org: Organization<'_> = parse("account", raw)?;
    let deleted = org.deleted_at.is_some();
    let account = Account {
        id: id_string(org.id),
        name: opt(&org.name),
        domains: Cow::Borrowed(org.domain_names.as_deref().unwrap_or_default()),
        tags: Cow::Borrowed(org.tags.as_deref().unwrap_or_default()),
        organization_fields: org.organization_fields.filter(|v| v.get() != "null"),
        external_id: opt(&org.external_id),
        created_at: opt(&org.created_at),
        updated_at: opt(&org.updated_at),
        deleted,
    };
    Ok(record(
        account.id.clone(),
        updated(&account.updated_at),
        &account,
        deleted,
    ))
}
