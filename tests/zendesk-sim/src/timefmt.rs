//! Calendar formatting of Unix times, as Zendesk prints them (`2019-06-03T02:23:47Z`).

use time::{OffsetDateTime, PrimitiveDateTime};

/// The UTC calendar date and time of a Unix time in seconds (the `time`
/// crate's calendar; times outside its range, which no dataset has, clamp
/// to its ends).
fn utc(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(if secs < 0 {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        PrimitiveDateTime::MAX.assume_utc()
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time in seconds.
pub(crate) fn iso(secs: i64) -> String {
    let t = utc(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DD` for a Unix time in seconds (the value of a date custom field).
pub(crate) fn date(secs: i64) -> String {
    let t = utc(secs);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `10:02:13 AM`: the clock of a chat transcript line.
pub(crate) fn clock_12h(secs: i64) -> String {
    let t = utc(secs);
    let (h, min, s) = (t.hour(), t.minute(), t.second());
    let (h12, half) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{h12}:{min:02}:{s:02} {half}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        // 2019-06-03T02:23:47Z, the creation time of the go-zendesk fixture ticket.
        assert_eq!(iso(1_559_528_627), "2019-06-03T02:23:47Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(date(1_559_528_627), "2019-06-03");
        assert_eq!(clock_12h(1_559_528_627), "2:23:47 AM");
        assert_eq!(clock_12h(12 * 3600 + 5), "12:00:05 PM");
        assert_eq!(clock_12h(5), "12:00:05 AM");
        assert_eq!(clock_12h(23 * 3600), "11:00:00 PM");
    }
}
