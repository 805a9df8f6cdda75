//! The record model shared by connectors, which emit these records, and
//! the platform, which reads them: one Rust type per kind of normalized
//! record (`conversation`, `message`, `change`, `person`, `account`,
//! `satisfaction`, `field`, `tag`, `brand`, `group`), serialized with serde
//! as the record's `data`, and the JSON Schema of each kind, generated
//! from the types (their doc comments are the schema's descriptions).
//!
//! Records borrow their strings ([`Text`], `Cow`) so that a connector
//! writes them without copying what it read, and a reader can parse them
//! without copying either. Every member is always present: an unknown
//! value is `null`, never left out, and the schemas require every member.

#![warn(missing_docs)]

mod catalog;
mod change;
mod conversation;
mod directory;
mod message;
mod text;

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalog::{Brand, Field, FieldOption, Group, Satisfaction, Tag};
pub use change::Change;
pub use conversation::{Conversation, CustomFields, FieldValue, Rating, Ref};
pub use directory::{Account, Person};
pub use message::{Attachment, AuthorRole, Chat, Message, Visibility};
pub use text::Text;

/// A record type of the model: its records are of one [`Kind`].
pub trait Record: Serialize {
    /// The kind of the type's records.
    const KIND: Kind;
}

/// Declares [`Kind`] from a table of variant, name and record type.
macro_rules! kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal => $record:ident,)*) => {
        /// A kind of normalized record, named as records' `kind` field
        /// names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Kind {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Kind {
            /// Every kind.
            pub const ALL: [Kind; 10] = [$(Kind::$variant),*];

            /// The kind's name (`conversation`, `message`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The JSON Schema (draft 2020-12) of the `data` of the kind's
            /// records, self-contained (no `$ref`), titled with its name.
            pub fn schema(self) -> Schema {
                match self {
                    $(Kind::$variant => schema_of::<$record<'static>>(),)*
                }
            }
        }

        $(impl Record for $record<'_> {
            const KIND: Kind = Kind::$variant;
        })*
    };
}

kinds! {
    /// A ticket.
    Conversation = "conversation" => Conversation,
    /// A comment of a ticket, or one line of a chat transcript.
    Message = "message" => Message,
    /// A change of one field of a ticket.
    Change = "change" => Change,
    /// A user.
    Person = "person" => Person,
    /// An organization.
    Account = "account" => Account,
    /// A satisfaction rating.
    Satisfaction = "satisfaction" => Satisfaction,
    /// A ticket field definition.
    Field = "field" => Field,
    /// A popular tag.
    Tag = "tag" => Tag,
    /// A brand.
    Brand = "brand" => Brand,
    /// An agent group.
    Group = "group" => Group,
}

impl Kind {
    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// The schema of a record type: subschemas inlined, every member required.
fn schema_of<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .with_transform(RecursiveTransform(require_every_member))
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Lists every property of an object schema as required, in the order of
/// `properties`: records write every member, `null` when unknown (serde
/// reads an absent `Option` as `None` all the same).
fn require_every_member(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<Value> = properties.keys().map(|key| key.as_str().into()).collect();
    object.insert("required".into(), required.into());
}

#[cfg(test)]
mod tests;
