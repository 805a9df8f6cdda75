//! [`Text`]: a string that borrows from the JSON it was read from.

use std::borrow::Cow;
use std::ops::Deref;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A string read from JSON: borrowed from the input when it has no escape
/// sequence, owned otherwise. (`Option<Cow<str>>` fields never borrow with
/// serde; `Option<Text>` does.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Text<'_> {
    /// The same string, borrowed from `self`.
    pub fn reborrow(&self) -> Text<'_> {
        Text(Cow::Borrowed(&self.0))
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(text: &'a str) -> Self {
        Text(Cow::Borrowed(text))
    }
}

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_when_it_can() {
        #[derive(Deserialize)]
        struct Holder<'a> {
            #[serde(borrow)]
            plain: Option<Text<'a>>,
            #[serde(borrow)]
            escaped: Option<Text<'a>>,
            #[serde(borrow)]
            list: Vec<Text<'a>>,
        }
        let holder: Holder<'_> =
            serde_json::from_str(r#"{"plain":"a","escaped":"\u0062","list":["c"]}"#).unwrap();
        assert!(matches!(holder.plain, Some(Text(Cow::Borrowed("a")))));
        assert!(matches!(holder.escaped, Some(Text(Cow::Owned(ref s))) if s == "b"));
        assert!(matches!(holder.list.as_slice(), [Text(Cow::Borrowed("c"))]));
        assert_eq!(serde_json::to_string(&holder.list).unwrap(), r#"["c"]"#);
        let owned = holder.escaped.unwrap();
        assert!(matches!(owned.reborrow(), Text(Cow::Borrowed("b"))));
    }
}
