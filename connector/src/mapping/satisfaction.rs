//! A satisfaction rating becomes a `satisfaction`.

use connector_records::Satisfaction;
use serde::Deserialize;

use super::{id_string, opt, opt_id, parse, record, updated};
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

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

/// Maps a satisfaction rating.
pub(super) fn map(raw: &str) -> Result<NormalizedRecord, ConnectorError> {
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
