//! [`Conversation`]: a ticket, with the references and custom fields it
//! carries.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::Text;

/// A Zendesk ticket.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
#[schemars(rename = "conversation")]
pub struct Conversation<'a> {
    /// Ticket id
    pub id: String,
    /// The ticket in the agent view: https://{subdomain}.zendesk.com/agent/tickets/{id}
    pub url: String,
    /// Subject
    pub subject: Option<Text<'a>>,
    /// new, open, pending, hold, solved, closed or deleted
    pub status: Option<Text<'a>>,
    /// urgent, high, normal, low or null
    pub priority: Option<Text<'a>>,
    /// problem, incident, question, task or null
    #[serde(rename = "type")]
    pub kind: Option<Text<'a>>,
    /// How the ticket arrived (via.channel): email, web, chat, api, ...
    pub channel: Option<Text<'a>>,
    /// The brand, with its name from the brands stream
    pub brand: Option<Ref<'a>>,
    /// The assigned group, with its name from the groups stream
    pub group: Option<Ref<'a>>,
    /// Tags
    pub tags: Cow<'a, [Text<'a>]>,
    /// The requester (a person)
    pub requester_id: Option<String>,
    /// The assigned agent (a person)
    pub assignee_id: Option<String>,
    /// The requester's organization (an account)
    pub organization_id: Option<String>,
    /// Custom fields with a value, keyed by field title ('title (id)' when
    /// titles repeat, 'field_{id}' when the field is unknown); dropdown
    /// values are option labels, multi-selects lists of labels
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub custom_fields: CustomFields<'a>,
    /// The ticket's satisfaction rating
    pub satisfaction: Option<Rating<'a>>,
    /// RFC 3339
    pub created_at: Option<Text<'a>>,
    /// RFC 3339
    pub updated_at: Option<Text<'a>>,
    /// True for a deleted ticket (a tombstone)
    pub deleted: bool,
}

/// A reference to another record, with its display name if known.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
pub struct Ref<'a> {
    /// The record's id
    pub id: String,
    /// Its name, when the reference stream listed it
    pub name: Option<Text<'a>>,
}

/// A ticket's satisfaction rating, as the ticket carries it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "'de: 'a"))]
pub struct Rating<'a> {
    /// offered, unoffered, good or bad
    pub score: Option<Text<'a>>,
    /// Reason of a bad rating
    pub reason: Option<Text<'a>>,
    /// Comment
    pub comment: Option<Text<'a>>,
}

/// Custom fields as a JSON object whose members keep their order.
#[derive(Debug, Clone, Default)]
pub struct CustomFields<'a>(pub Vec<(Cow<'a, str>, FieldValue<'a>)>);

/// A custom field's value.
#[derive(Debug, Clone)]
pub enum FieldValue<'a> {
    /// As Zendesk sent it. (Every value reads back as `Raw`: the model
    /// does not tell a label from a text value.)
    Raw(&'a RawValue),
    /// A dropdown option's label.
    Label(Cow<'a, str>),
    /// A multi-select's option labels.
    Labels(Vec<Cow<'a, str>>),
}

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Raw(raw) => raw.serialize(serializer),
            FieldValue::Label(label) => serializer.serialize_str(label),
            FieldValue::Labels(labels) => labels.serialize(serializer),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FieldValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(FieldValue::Raw)
    }
}

impl Serialize for CustomFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CustomFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, Visitor};

        struct FieldsVisitor;

        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = CustomFields<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of custom fields")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((key, value)) = map.next_entry::<Text<'de>, FieldValue<'de>>()? {
                    fields.push((key.0, value));
                }
                Ok(CustomFields(fields))
            }
        }

        deserializer.deserialize_map(FieldsVisitor)
    }
}
