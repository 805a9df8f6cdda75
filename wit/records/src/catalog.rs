//! Reference data and ratings: [`Field`], [`Satisfaction`], [`Tag`],
//! [`Brand`] and [`Group`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Text;

/// A ticket field definition.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "field")]
pub struct Field<'a> {
    /// Field id
    pub id: String,
    /// Title
    pub title: Option<Text<'a>>,
    /// tagger, multiselect, text, ...
    #[serde(rename = "type")]
    pub kind: Option<Text<'a>>,
    /// Active
    pub active: bool,
    /// A system field (not removable)
    pub system: bool,
    /// The options of a dropdown or multi-select
    pub options: Vec<FieldOption<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
}

/// An option of a dropdown or multi-select field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
pub struct FieldOption<'a> {
    /// The value tickets carry
    pub value: Option<Text<'a>>,
    /// The label shown
    pub label: Option<Text<'a>>,
}

/// A satisfaction rating.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "satisfaction")]
pub struct Satisfaction<'a> {
    /// Rating id
    pub id: String,
    /// The ticket
    pub conversation_id: Option<String>,
    /// offered, unoffered, good or bad
    pub score: Option<Text<'a>>,
    /// Reason of a bad rating
    pub reason: Option<Text<'a>>,
    /// Comment
    pub comment: Option<Text<'a>>,
    /// Who rated
    pub requester_id: Option<String>,
    /// Assignee at the time
    pub assignee_id: Option<String>,
    /// Group at the time
    pub group_id: Option<String>,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
}

/// A tag among the account's most used of the last 60 days.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "tag")]
pub struct Tag<'a> {
    /// Tag
    pub name: Text<'a>,
    /// Uses
    pub count: Option<u64>,
}

/// A brand.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "brand")]
pub struct Brand<'a> {
    /// Brand id
    pub id: String,
    /// Name
    pub name: Option<Text<'a>>,
    /// Help-center subdomain
    pub subdomain: Option<Text<'a>>,
    /// Brand URL
    pub url: Option<Text<'a>>,
    /// Active
    pub active: bool,
    /// The default brand
    pub default: bool,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
    /// True for a deleted brand
    pub deleted: bool,
}

/// An agent group.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "group")]
pub struct Group<'a> {
    /// Group id
    pub id: String,
    /// Name
    pub name: Option<Text<'a>>,
    /// Description
    pub description: Option<Text<'a>>,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
    /// True for a deleted group
    pub deleted: bool,
}
