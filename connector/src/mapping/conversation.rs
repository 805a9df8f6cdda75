//! A ticket becomes a `conversation`.
//!
//! Custom fields are keyed by their title from the `ticket_fields` catalog
//! (`title (id)` when titles repeat, `field_{id}` when the field is
//! unknown); dropdown values show their option label, multi-selects a list
//! of labels; empty values are left out.

use std::borrow::Cow;

use connector_records::{Conversation, CustomFields, FieldValue, Rating, Ref};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::input::{id_string, opt, opt_id, parse, record, MapContext, Via};
use crate::state::catalog::{Catalog, FieldDef, Named};
use crate::text::Text;
use crate::time;
use crate::types::{ConnectorError, NormalizedRecord};

#[derive(Deserialize)]
struct Ticket<'a> {
    id: u64,
    #[serde(default, borrow)]
    subject: Option<Text<'a>>,
    #[serde(default, borrow)]
    status: Option<Text<'a>>,
    #[serde(default, borrow)]
    priority: Option<Text<'a>>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    via: Option<Via<'a>>,
    #[serde(default)]
    brand_id: Option<u64>,
    #[serde(default)]
    group_id: Option<u64>,
    #[serde(default, borrow)]
    tags: Option<Vec<Text<'a>>>,
    #[serde(default)]
    requester_id: Option<i64>,
    #[serde(default)]
    assignee_id: Option<i64>,
    #[serde(default)]
    organization_id: Option<i64>,
    #[serde(default, borrow)]
    custom_fields: Option<Vec<CustomField<'a>>>,
    #[serde(default, borrow)]
    satisfaction_rating: Option<RatingIn<'a>>,
    #[serde(default, borrow)]
    created_at: Option<Text<'a>>,
    #[serde(default, borrow)]
    updated_at: Option<Text<'a>>,
    #[serde(default)]
    generated_timestamp: Option<u64>,
}

#[derive(Deserialize)]
struct CustomField<'a> {
    id: u64,
    #[serde(default, borrow)]
    value: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RatingIn<'a> {
    #[serde(default, borrow)]
    score: Option<Text<'a>>,
    #[serde(default, borrow)]
    reason: Option<Text<'a>>,
    #[serde(default, borrow)]
    comment: Option<Text<'a>>,
}

/// The label of an option value, or the value itself.
fn label<'a>(field: &'a FieldDef, value: Cow<'a, str>) -> Cow<'a, str> {
    match field.options.get(value.as_ref()) {
        Some(label) => Cow::Borrowed(label.as_str()),
        None => value,
    }
}

/// A custom field's value as the model shows it.
fn field_value<'a>(field: Option<&'a FieldDef>, raw: &'a RawValue) -> FieldValue<'a> {
    let Some(field) = field.filter(|f| !f.options.is_empty()) else {
        return FieldValue::Raw(raw);
    };
    if let Ok(one) = serde_json::from_str::<Text<'a>>(raw.get()) {
        return FieldValue::Label(label(field, one.0));
    }
    match serde_json::from_str::<Vec<Text<'a>>>(raw.get()) {
        Ok(many) => FieldValue::Labels(many.into_iter().map(|t| label(field, t.0)).collect()),
        Err(_) => FieldValue::Raw(raw),
    }
}

/// A reference with the name from a catalog.
fn named<'a>(catalog: &'a Catalog<Named>, id: Option<u64>) -> Option<Ref<'a>> {
    id.map(|id| Ref {
        id: id_string(id),
        name: catalog.get(id).map(|n| Text::from(n.name.as_str())),
    })
}

/// Maps a ticket.
pub(super) fn map(ctx: &mut MapContext<'_>, raw: &str) -> Result<NormalizedRecord, ConnectorError> {
    let ticket: Ticket<'_> = parse("conversation", raw)?;
    let set_fields: Vec<&CustomField<'_>> = ticket
        .custom_fields
        .iter()
        .flatten()
        .filter(|f| {
            f.value
                .is_some_and(|v| v.get() != "null" && v.get() != "\"\"" && v.get() != "[]")
        })
        .collect();
    let now = Some(ctx.now_ms);
    if !set_fields.is_empty() {
        ctx.catalogs.fields.refresh(ctx.storage, now)?;
    }
    if ticket.brand_id.is_some() {
        ctx.catalogs.brands.refresh(ctx.storage, now)?;
    }
    if ticket.group_id.is_some() {
        ctx.catalogs.groups.refresh(ctx.storage, now)?;
    }
    let catalogs = &*ctx.catalogs;
    let mut ids: Vec<u64> = Vec::with_capacity(set_fields.len());
    let mut custom_fields: Vec<(Cow<'_, str>, FieldValue<'_>)> =
        Vec::with_capacity(set_fields.len());
    for field in set_fields {
        let Some(raw) = field.value else { continue };
        let value = field_value(catalogs.fields.get(field.id), raw);
        // A field listed twice keeps its last value: keys stay unique.
        if let Some(at) = ids.iter().position(|id| *id == field.id) {
            custom_fields[at].1 = value;
            continue;
        }
        let key = match catalogs.fields.index().get(&field.id) {
            Some(key) => Cow::Borrowed(key.as_str()),
            None => Cow::Owned(format!("field_{}", field.id)),
        };
        ids.push(field.id);
        custom_fields.push((key, value));
    }
    let deleted = ticket.status.as_deref() == Some("deleted");
    let version = match ticket.generated_timestamp {
        Some(t) => Some(time::format_rfc3339(t as i64)),
        None => ticket.updated_at.as_deref().map(str::to_owned),
    };
    let conversation = Conversation {
        id: id_string(ticket.id),
        url: format!(
            "https://{}.zendesk.com/agent/tickets/{}",
            ctx.config.subdomain, ticket.id
        ),
        subject: opt(&ticket.subject),
        status: opt(&ticket.status),
        priority: opt(&ticket.priority),
        kind: opt(&ticket.kind),
        channel: ticket.via.as_ref().and_then(|v| opt(&v.channel)),
        brand: named(&catalogs.brands, ticket.brand_id),
        group: named(&catalogs.groups, ticket.group_id),
        tags: Cow::Borrowed(ticket.tags.as_deref().unwrap_or_default()),
        requester_id: opt_id(ticket.requester_id),
        assignee_id: opt_id(ticket.assignee_id),
        organization_id: opt_id(ticket.organization_id),
        custom_fields: CustomFields(custom_fields),
        satisfaction: ticket.satisfaction_rating.as_ref().map(|r| Rating {
            score: opt(&r.score),
            reason: opt(&r.reason),
            comment: opt(&r.comment),
        }),
        created_at: opt(&ticket.created_at),
        updated_at: opt(&ticket.updated_at),
        deleted,
    };
    Ok(record(
        conversation.id.clone(),
        version,
        &conversation,
        deleted,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_borrowed_from_the_record() {
        let raw = r#"{"id":1,"subject":"plain","status":"esc\u0061ped","tags":["a"],"via":{"channel":"web"}}"#;
        let ticket: Ticket<'_> = serde_json::from_str(raw).unwrap();
        assert!(matches!(ticket.subject, Some(Text(Cow::Borrowed("plain")))));
        assert!(matches!(ticket.status, Some(Text(Cow::Owned(ref s))) if s == "escaped"));
        assert!(matches!(
            ticket.tags.as_deref(),
            Some([Text(Cow::Borrowed("a"))])
        ));
        assert!(matches!(
            ticket.via.and_then(|v| v.channel),
            Some(Text(Cow::Borrowed("web")))
        ));
    }
}
