//! The people and organizations of an account: [`Person`] and [`Account`].

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Text;

/// A Zendesk user.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "person")]
pub struct Person<'a> {
    /// User id
    pub id: String,
    /// Name
    pub name: Option<Text<'a>>,
    /// Email
    pub email: Option<Text<'a>>,
    /// end-user, agent or admin
    pub role: Option<Text<'a>>,
    /// The user's organization (an account)
    pub organization_id: Option<String>,
    /// Tags
    pub tags: Cow<'a, [Text<'a>]>,
    /// User fields, as Zendesk sends them
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub user_fields: Option<&'a RawValue>,
    /// Zendesk time zone name
    pub time_zone: Option<Text<'a>>,
    /// IANA time zone
    pub iana_time_zone: Option<Text<'a>>,
    /// Locale
    pub locale: Option<Text<'a>>,
    /// False once deleted
    pub active: bool,
    /// Suspended
    pub suspended: bool,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
    /// True for a deleted user (a tombstone)
    pub deleted: bool,
}

/// A Zendesk organization.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "account")]
pub struct Account<'a> {
    /// Organization id
    pub id: String,
    /// Name
    pub name: Option<Text<'a>>,
    /// Email domains
    pub domains: Cow<'a, [Text<'a>]>,
    /// Tags
    pub tags: Cow<'a, [Text<'a>]>,
    /// Organization fields, as Zendesk sends them
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub organization_fields: Option<&'a RawValue>,
    /// External id
    pub external_id: Option<Text<'a>>,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
    /// True for a deleted organization (a tombstone)
    pub deleted: bool,
}
