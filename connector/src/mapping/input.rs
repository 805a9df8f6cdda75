//! What every kind's mapping shares: the context it reads, parsing the
//! raw record, building the normalized record, and the raw fields read
//! the same way everywhere (ids, optional strings, `via`).

use std::borrow::Cow;

use connector_records::Record;
use serde::{Deserialize, Deserializer};

use crate::config::Config;
use crate::state::catalog::Catalogs;
use crate::storage::Storage;
use crate::text::Text;
use crate::types::{ConnectorError, NormalizedRecord};

/// What mapping reads besides the record.
pub struct MapContext<'a> {
    /// The adopted config.
    pub config: &'a Config,
    /// The connection's storage (read only).
    pub storage: &'a dyn Storage,
    /// The cached reference catalogs.
    pub catalogs: &'a mut Catalogs,
    /// A clock in milliseconds, to revalidate cached catalogs.
    pub now_ms: u64,
}

/// Reads a raw record of a kind.
pub(super) fn parse<'a, T: Deserialize<'a>>(kind: &str, raw: &'a str) -> Result<T, ConnectorError> {
    serde_json::from_str(raw).map_err(|e| {
        ConnectorError::Protocol(format!(
            "a raw record for a {kind} is not what Zendesk sends ({e}); resync the stream, and report it if it persists"
        ))
    })
}

/// Builds a normalized record of the record's kind.
pub(super) fn record<R: Record>(
    key: String,
    version: Option<String>,
    data: &R,
    deleted: bool,
) -> NormalizedRecord {
    NormalizedRecord {
        kind: R::KIND.name().to_owned(),
        key,
        version,
        data: serde_json::to_string(data).expect("normalized records serialise"),
        deleted,
    }
}

/// An id as the model's string.
pub(super) fn id_string(id: impl std::fmt::Display) -> String {
    id.to_string()
}

/// An optional id as the model's string.
pub(super) fn opt_id<T: std::fmt::Display>(id: Option<T>) -> Option<String> {
    id.map(id_string)
}

/// An optional string of the raw record, borrowed for output.
pub(super) fn opt<'a>(text: &'a Option<Text<'_>>) -> Option<Text<'a>> {
    text.as_ref().map(Text::reborrow)
}

/// The version of a record stamped with its `updated_at`.
pub(super) fn updated(updated_at: &Option<Text<'_>>) -> Option<String> {
    updated_at.as_deref().map(str::to_owned)
}

/// The channel code of a `via` display name, as ticket events send them
/// (`Web form`, `Mail`, ...), when the name is a known one.
fn channel_code(display: &str) -> Option<&'static str> {
    const CODES: [(&str, &str); 14] = [
        ("web form", "web"),
        ("mail", "email"),
        ("web service", "api"),
        ("chat", "chat"),
        ("chat transcript", "chat_transcript"),
        ("native messaging", "native_messaging"),
        ("messaging", "messaging"),
        ("rule", "rule"),
        ("closed ticket", "closed_ticket"),
        ("ticket sharing", "ticket_sharing"),
        ("voice", "voice"),
        ("text", "sms"),
        ("mobile sdk", "mobile_sdk"),
        ("help center post", "help_center"),
    ];
    CODES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(display.trim()))
        .map(|(_, code)| *code)
}

/// An unknown display name as a code: lower case, other characters `_`.
fn slug(display: &str) -> String {
    display
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `via` as Zendesk sends it: an object `{channel, source: {rel}}` on
/// tickets and comments, a display name (`Web form`) on ticket events,
/// read as the channel code (`web`).
#[derive(Debug, Default)]
pub(super) struct Via<'a> {
    /// The channel code (`web`, `email`, `rule`, ...).
    pub(super) channel: Option<Text<'a>>,
    /// The source's relation (`trigger`, `automation`, ...), on objects.
    pub(super) rel: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Via<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, Visitor};

        #[derive(Deserialize)]
        struct Source<'a> {
            #[serde(default, borrow)]
            rel: Option<Text<'a>>,
        }

        struct ViaVisitor;

        impl<'de> Visitor<'de> for ViaVisitor {
            type Value = Via<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a via object or string")
            }

            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                let channel = match channel_code(text) {
                    Some(code) => Cow::Borrowed(code),
                    None => Cow::Owned(slug(text)),
                };
                Ok(Via {
                    channel: Some(Text(channel)),
                    rel: None,
                })
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut via = Via::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "channel" => via.channel = map.next_value()?,
                        "source" => {
                            via.rel = map.next_value::<Option<Source<'de>>>()?.and_then(|s| s.rel)
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(via)
            }
        }

        deserializer.deserialize_any(ViaVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_reads_both_shapes() {
        #[derive(Deserialize)]
        struct Holder<'a> {
            #[serde(borrow, default)]
            via: Option<Via<'a>>,
        }
        let object: Holder<'_> = serde_json::from_str(
            r#"{"via":{"channel":"rule","source":{"rel":"trigger","from":{}}}}"#,
        )
        .unwrap();
        let via = object.via.unwrap();
        assert_eq!(
            (via.channel.as_deref(), via.rel.as_deref()),
            (Some("rule"), Some("trigger"))
        );
        let text: Holder<'_> = serde_json::from_str(r#"{"via":"Web form"}"#).unwrap();
        assert_eq!(text.via.unwrap().channel.as_deref(), Some("web"));
        let chat: Holder<'_> = serde_json::from_str(r#"{"via":"Chat"}"#).unwrap();
        assert_eq!(chat.via.unwrap().channel.as_deref(), Some("chat"));
        let other: Holder<'_> = serde_json::from_str(r#"{"via":"Facebook Post"}"#).unwrap();
        assert_eq!(other.via.unwrap().channel.as_deref(), Some("facebook_post"));
        let empty: Holder<'_> = serde_json::from_str(r#"{"via":{}}"#).unwrap();
        assert!(empty.via.unwrap().channel.is_none());
        let null: Holder<'_> = serde_json::from_str(r#"{"via":null}"#).unwrap();
        assert!(null.via.is_none());
    }
}
