//! Fuzz targets: `fetch-page`'s response handling ([`fetch`]) and
//! `map-record` ([`map`]) on arbitrary input and on truncated and mutated
//! real bodies ([`fixtures`]). No input may panic or hang: a body either
//! gives a page whose cursor the connector reads back, or a classified
//! error.
//!
//! Each target is a `#[test]` built on `bolero`: `cargo test` runs it with
//! random input for [`CI_TIME`] (`BOLERO_RANDOM_TEST_TIME_MS` or
//! `BOLERO_RANDOM_ITERATIONS` change that), and
//! `cargo +nightly bolero test --manifest-path connector/Cargo.toml
//! fuzz::fetch::<target> -T 60s` runs it under libFuzzer. Inputs that once
//! failed are named regression tests beside their target.

mod fetch;
mod fixtures;
mod map;

use std::time::Duration;

/// How long each target runs under `cargo test`.
pub(crate) const CI_TIME: Duration = Duration::from_millis(1500);

/// Structured replacements for a node of a real record or body: the wrong
/// type, the wrong size, or hostile text.
pub(crate) fn replacement(choice: u8, text: &str) -> serde_json::Value {
    use serde_json::{json, Value};
    match choice % 16 {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(i64::MIN),
        5 => json!(1.5e300),
        6 => json!(""),
        7 => json!("2020-13-45T99:99:99Z"),
        8 => json!("9999-12-31T23:59:59+14:00"),
        9 => json!([]),
        10 => json!({}),
        // Deeper than serde_json's recursion limit (128).
        11 => (0..200).fold(json!([]), |inner, _| json!([inner])),
        12 => json!("\u{0}\u{feff}\u{202e}\r\n<script>"),
        13 => json!("x".repeat(70_000)),
        14 => json!(0),
        _ => Value::String(text.to_owned()),
    }
}

/// Replaces the `n`-th node (pre-order, modulo the node count) of `value`.
pub(crate) fn replace_node(value: &mut serde_json::Value, n: usize, with: serde_json::Value) {
    fn count(value: &serde_json::Value) -> usize {
        1 + match value {
            serde_json::Value::Array(items) => items.iter().map(count).sum(),
            serde_json::Value::Object(members) => members.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(value: &mut serde_json::Value, n: &mut usize, with: &mut Option<serde_json::Value>) {
        if *n == 0 {
            if let Some(with) = with.take() {
                *value = with;
            }
            return;
        }
        *n -= 1;
        match value {
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, n, with);
                }
            }
            serde_json::Value::Object(members) => {
                for member in members.values_mut() {
                    walk(member, n, with);
                }
            }
            _ => {}
        }
    }
    let mut n = n % count(value);
    walk(value, &mut n, &mut Some(with));
}

/// `text` cut to at most `at` bytes, on a character boundary.
pub(crate) fn truncated(text: &str, at: usize) -> &str {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mutations_replace_one_node_and_cut_on_boundaries() {
        let mut value = json!({"a": [1, {"b": 2}], "c": 3});
        replace_node(&mut value, 3, json!(null));
        assert_eq!(value, json!({"a": [1, null], "c": 3}));
        replace_node(&mut value, 0, json!([]));
        assert_eq!(value, json!([]));
        assert_eq!(truncated("añb", 2), "a");
        assert_eq!(truncated("añb", 3), "añ");
        assert_eq!(truncated("ab", 10), "ab");
    }
}
