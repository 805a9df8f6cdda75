//! A user becomes a `person`; a deleted user (`active: false`) is a
//! tombstone.

use std::borrow::Cow;

use connector_records::Person;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{id_string, opt, opt_id, parse, record, updated};
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

/// Maps a user.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
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
