//! The account's directory: users become `person`s, organizations
//! `account`s (as the record model's `directory` module defines them).

use std::borrow::Cow;

use connector_records::{Account, Person};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::input::{id_string, opt, opt_id, parse, record, updated};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct User<'a> {
    id: u64,
    #[serde(default, borrow)]
    name: Option<Text<'a>>,
    #[serde(default, borrow)]
    email: Option<Text<'a>>,
    #[serde(default, borrow)]
    role: Option<Text<'a>>,
    #[serde(default)]
    organization_id: Option<i64>,
    #[serde(default, borrow)]
    tags: Option<Vec<Text<'a>>>,
    #[serde(default, borrow)]
    user_fields: Option<&'a RawValue>,
    #[serde(default, borrow)]
    time_zone: Option<Text<'a>>,
    #[serde(default, borrow)]
    iana_time_zone: Option<Text<'a>>,
    #[serde(default, borrow)]
    locale: Option<Text<'a>>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    suspended: Option<bool>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
}

/// A user becomes a `person`; a deleted user (`active: false`) is a
/// tombstone.
pub(super) fn map_person(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let user: User<'_> = parse("person", raw)?;
    let active = user.active.unwrap_or(true);
    let person = Person {
        id: id_string(user.id),
        name: opt(&user.name),
        email: opt(&user.email),
        role: opt(&user.role),
        organization_id: opt_id(user.organization_id),
        tags: Cow::Borrowed(user.tags.as_deref().unwrap_or_default()),
        user_fields: user.user_fields.filter(|v| v.get() != "null"),
        time_zone: opt(&user.time_zone),
        iana_time_zone: opt(&user.iana_time_zone),
        locale: opt(&user.locale),
        active,
        suspended: user.suspended.unwrap_or(false),
        created_at: opt(&user.created_at),
        updated_at: opt(&user.updated_at),
        deleted: !active,
    };
    Ok(record(
        person.id.clone(),
        updated(&person.updated_at),
        &person,
        !active,
    ))
}

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

/// An organization becomes an `account`; a deleted one (`deleted_at` set)
/// is a tombstone.
pub(super) fn map_account(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
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
