//! The synced records the platform reads, typed: the fields it uses of
//! each kind, named as the connector's mapping writes them
//! (`connector/src/schemas/*.json`). Fields it does not use are skipped;
//! values it passes on untouched (custom fields, whole person and account
//! records in documents) stay JSON.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A kind of normalized record, by the name in `records.kind`.
pub trait Kind: DeserializeOwned {
    /// The kind's name.
    const KIND: &'static str;
}

/// A ticket (`conversation`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Conversation {
    /// Its subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// `new`, `open`, `pending`, `hold`, `solved`, `closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Where agents open it.
    #[serde(default)]
    pub url: Option<String>,
    /// How it was created.
    #[serde(default)]
    pub channel: Option<String>,
    /// `low`, `normal`, `high`, `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    /// `question`, `incident`, `problem`, `task`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The requester (a `person`).
    #[serde(default)]
    pub requester_id: Option<String>,
    /// Its organization (an `account`).
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Custom fields by title, as the connector wrote them.
    #[serde(default)]
    pub custom_fields: Option<Value>,
    /// Its satisfaction rating.
    #[serde(default)]
    pub satisfaction: Option<Rating>,
    /// Its tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<Time>,
}

impl Kind for Conversation {
    const KIND: &'static str = "conversation";
}

/// A satisfaction rating: on a ticket, or the `satisfaction` record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Rating {
    /// `offered`, `unoffered`, `good` or `bad`.
    #[serde(default)]
    pub score: Option<String>,
    /// The reason chosen with a bad rating.
    #[serde(default)]
    pub reason: Option<String>,
    /// The customer's comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A comment of a ticket, or one line of a chat transcript (`message`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Message {
    /// The ticket.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The comment (the transcript, for chat lines).
    #[serde(default)]
    pub comment_id: Option<String>,
    /// The author (a `person`), none for chat lines.
    #[serde(default)]
    pub author_id: Option<String>,
    /// The speaker of a chat line.
    #[serde(default)]
    pub author_name: Option<String>,
    /// `customer`, `agent` or `system`.
    #[serde(default)]
    pub author_role: Option<String>,
    /// `public` or `internal`.
    #[serde(default)]
    pub visibility: Option<String>,
    /// Plain text.
    #[serde(default)]
    pub body: Option<String>,
    /// When it was written.
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// For a chat line: its place in the transcript.
    #[serde(default)]
    pub chat: Option<ChatLine>,
}

impl Kind for Message {
    const KIND: &'static str = "message";
}

/// A file attached to a message.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Attachment {
    /// Its name.
    #[serde(default)]
    pub file_name: Option<String>,
}

/// Where a chat line stands in its transcript.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChatLine {
    /// Its number, from 1.
    #[serde(default)]
    pub line: Option<i64>,
    /// Its clock time (`HH:MM:SS`, the transcript's time zone).
    #[serde(default)]
    pub time: Option<String>,
}

/// A change of a ticket field (`change`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Change {
    /// The ticket.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The field: `status`, `priority`, ...
    #[serde(default)]
    pub field: Option<String>,
    /// The value before.
    #[serde(default)]
    pub from: Option<String>,
    /// The value after.
    #[serde(default)]
    pub to: Option<String>,
    /// When.
    #[serde(default)]
    pub at: Option<Time>,
}

impl Kind for Change {
    const KIND: &'static str = "change";
}

/// A user (`person`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Person {
    /// Their name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their email address.
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent` or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// Their organization (an `account`).
    #[serde(default)]
    pub organization_id: Option<String>,
}

impl Kind for Person {
    const KIND: &'static str = "person";
}

/// An organization (`account`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Account {
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its domains, as synced.
    #[serde(default)]
    pub domains: Option<Vec<String>>,
}

impl Kind for Account {
    const KIND: &'static str = "account";
}

/// A satisfaction rating of the ratings stream (`satisfaction`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Satisfaction {
    /// The rated ticket.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Score, reason and comment.
    #[serde(flatten)]
    pub rating: Rating,
    /// When it was last answered.
    #[serde(default)]
    pub updated_at: Option<Time>,
}

impl Kind for Satisfaction {
    const KIND: &'static str = "satisfaction";
}

/// A record time as the JSON has it: RFC 3339 text (the connector's), or
/// Unix seconds as a number.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Time {
    /// Unix seconds.
    Seconds(serde_json::Number),
    /// A date and time as text.
    Text(String),
}

impl Time {
    /// Unix seconds: a number truncated toward zero (as SQLite's `CAST`),
    /// text read as SQLite's `unixepoch()` reads it (`YYYY-MM-DD`, then optionally `T` or spaces,
    /// `HH:MM`, `:SS`, `.fraction`, then `Z` or `±HH:MM`); `None` for text
    /// in no such form.
    pub fn unix(&self) -> Option<i64> {
        match self {
            Time::Seconds(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Time::Text(text) => parse_time(text),
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = Time;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a time as RFC 3339 text or Unix seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Time, E> {
                Ok(Time::Seconds(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Time, E> {
                Ok(Time::Seconds(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Time, E> {
                serde_json::Number::from_f64(v)
                    .map(Time::Seconds)
                    .ok_or_else(|| E::custom("a time that is not a finite number"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Time, E> {
                Ok(Time::Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Time, E> {
                Ok(Time::Text(v))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// A time as text, in the forms SQLite's date functions read, as Unix
/// seconds (rounded down, as `unixepoch()` does).
fn parse_time(text: &str) -> Option<i64> {
    let mut rest = text.as_bytes();
    let negative = rest.first() == Some(&b'-');
    if negative {
        rest = &rest[1..];
    }
    let year = digits(&mut rest, 4, 0, 9999)?;
    let month = sep(&mut rest, b'-').and_then(|()| digits(&mut rest, 2, 1, 12))?;
    let day = sep(&mut rest, b'-').and_then(|()| digits(&mut rest, 2, 1, 31))?;
    let year = if negative { -year } else { year };
    while let Some(b' ' | b'\t' | b'\n' | b'\r' | b'T') = rest.first() {
        rest = &rest[1..];
    }
    let mut millis = 0;
    if !rest.is_empty() {
        let hour = digits(&mut rest, 2, 0, 24)?;
        let minute = sep(&mut rest, b':').and_then(|()| digits(&mut rest, 2, 0, 59))?;
        let mut second_ms = 0;
        if rest.first() == Some(&b':') {
            rest = &rest[1..];
            second_ms = digits(&mut rest, 2, 0, 59)? * 1000;
            if rest.first() == Some(&b'.') && rest.get(1).is_some_and(u8::is_ascii_digit) {
                rest = &rest[1..];
                let count = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let fraction: f64 = std::str::from_utf8(&rest[..count])
                    .ok()
                    .and_then(|f| format!("0.{f}").parse().ok())?;
                second_ms += (fraction * 1000.0) as i64;
                rest = &rest[count..];
            }
        }
        millis = (hour * 3600 + minute * 60) * 1000 + second_ms;
        millis -= zone_minutes(&mut rest)? * 60_000;
    }
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400_000 + millis).div_euclid(1000))
}

/// Exactly `count` ASCII digits within `min..=max`, consumed.
fn digits(rest: &mut &[u8], count: usize, min: i64, max: i64) -> Option<i64> {
    let head = rest.get(..count)?;
    if !head.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = head.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
    *rest = &rest[count..];
    (min..=max).contains(&value).then_some(value)
}

/// The separator `byte`, consumed.
fn sep(rest: &mut &[u8], byte: u8) -> Option<()> {
    let (&first, tail) = rest.split_first()?;
    (first == byte).then(|| *rest = tail)
}

/// A time zone after the time (`Z`, `±HH:MM`, or none) as minutes east of
/// UTC, consumed with the spaces around it.
fn zone_minutes(rest: &mut &[u8]) -> Option<i64> {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = rest.first() {
        *rest = &rest[1..];
    }
    let sign = match rest.first() {
        Some(b'Z' | b'z') => {
            *rest = &rest[1..];
            return Some(0);
        }
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some(0),
    };
    *rest = &rest[1..];
    let hours = digits(rest, 2, 0, 14)?;
    let minutes = sep(rest, b':').and_then(|()| digits(rest, 2, 0, 59))?;
    Some(sign * (hours * 60 + minutes))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar; a
/// day past the month's end runs into the next month, as in SQLite.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(json: &str) -> Option<i64> {
        serde_json::from_str::<Time>(json).unwrap().unix()
    }

    #[test]
    fn times_are_text_or_seconds() {
        assert_eq!(unix("1704067200"), Some(1_704_067_200));
        assert_eq!(unix("1704067200.9"), Some(1_704_067_200));
        assert_eq!(unix("\"2024-01-01T00:00:00Z\""), Some(1_704_067_200));
        assert_eq!(unix("\"2024-01-01 02:00:00+02:00\""), Some(1_704_067_200));
        assert_eq!(unix("\"2024-01-01\""), Some(1_704_067_200));
        assert_eq!(unix("\"2024-01-01T00:00:01.999Z\""), Some(1_704_067_201));
        assert_eq!(unix("\"2000-02-29T12:30\""), Some(951_827_400));
        assert_eq!(unix("\"1969-12-31T23:59:59Z\""), Some(-1));
        assert_eq!(unix("\"2023-02-31\""), unix("\"2023-03-03\""));
        for bad in ["soon", "2024-1-01", "2024-01-01T10", "2024-01-01Zx", ""] {
            assert_eq!(unix(&format!("\"{bad}\"")), None, "{bad}");
        }
        assert!(serde_json::from_str::<Time>("true").is_err());
    }

    #[test]
    fn times_pass_through_as_they_came() {
        for json in ["1704067200", "\"2024-01-01T00:00:00Z\""] {
            let time: Time = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&time).unwrap(), json);
        }
    }
}
