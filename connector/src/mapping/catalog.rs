//! The account's catalog: ticket field definitions, satisfaction ratings,
//! tags, brands and groups, each a flat record of its own kind (as the
//! record model's `catalog` module defines them).

use connector_records::{Brand, Field, FieldOption, Group, Satisfaction, Tag};
use serde::Deserialize;

use super::input::{id_string, opt, opt_id, parse, record, updated};
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

/// A ticket field definition becomes a `field`.
pub(super) fn map_field(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
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

#[derive(Deserialize)]
struct Rating<'a> {
    id: u64,
    #[serde(default)]
    ticket_id: Option<u64>,
    #[serde(default, borrow)]
    score: Option<Text<'a>>,
    #[serde(default, borrow)]
    reason: Option<Text<'a>>,
    #[serde(default, borrow)]
    comment: Option<Text<'a>>,
    #[serde(default)]
    requester_id: Option<i64>,
    #[serde(default)]
    assignee_id: Option<i64>,
    #[serde(default)]
    group_id: Option<i64>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
}

/// A satisfaction rating becomes a `satisfaction`.
pub(super) fn map_satisfaction(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let rating: Rating<'_> = parse("satisfaction", raw)?;
    let satisfaction = Satisfaction {
        id: id_string(rating.id),
        conversation_id: opt_id(rating.ticket_id),
        score: opt(&rating.score),
        reason: opt(&rating.reason),
        comment: opt(&rating.comment),
        requester_id: opt_id(rating.requester_id),
        assignee_id: opt_id(rating.assignee_id),
        group_id: opt_id(rating.group_id),
        created_at: opt(&rating.created_at),
        updated_at: opt(&rating.updated_at),
    };
    Ok(record(
        satisfaction.id.clone(),
        updated(&satisfaction.updated_at),
        &satisfaction,
        false,
    ))
}

#[derive(Deserialize)]
struct TagIn<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(default)]
    count: Option<u64>,
}

/// An account tag (`{name, count}`) becomes a `tag`.
pub(super) fn map_tag(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let input: TagIn<'_> = parse("tag", raw)?;
    if input.name.is_empty() {
        // The name is the key: a tag without one cannot be stored or
        // matched to tickets.
        return Err(ConnectorError::Protocol(
            "Zendesk listed a tag without a name; resync the stream, and report it if it persists"
                .into(),
        ));
    }
    let tag = Tag {
        name: input.name,
        count: input.count,
    };
    Ok(record(tag.name.to_string(), None, &tag, false))
}

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

/// A brand becomes a `brand`; a deleted one is a tombstone.
pub(super) fn map_brand(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
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

/// An agent group becomes a `group`; a deleted one is a tombstone.
pub(super) fn map_group(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
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
