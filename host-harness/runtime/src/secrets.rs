//! Secret values: never printed, and scrubbed from anything a connector says.

use std::fmt;
use std::sync::{Arc, RwLock};

/// A secret string whose `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is sent to its destination.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The set of secret values known to a connection, shared with the parts
/// that log or report errors so they can scrub them. New values (rotated
/// tokens) are added as they appear.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Remember a secret value (values shorter than 4 characters are too
    /// common to scrub safely and are ignored).
    pub fn add(&self, value: &str) {
        if value.len() < 4 {
            return;
        }
        let mut values = self.values.write().unwrap_or_else(|p| p.into_inner());
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
            // Longest first, so a secret containing another is scrubbed whole.
            values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_string();
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_and_are_scrubbed() {
        let secret = Secret::new("hunter22");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        let redactor = Redactor::default();
        redactor.add("hunter22");
        redactor.add("hunter22-long");
        redactor.add("abc");
        assert_eq!(
            redactor.redact("a hunter22 b hunter22-long c abc"),
            "a *** b *** c abc"
        );
    }
}
