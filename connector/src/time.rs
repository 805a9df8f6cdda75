//! Calendar arithmetic on Unix seconds (UTC), enough for Zendesk's
//! timestamps: RFC 3339 parsing and formatting, and plain dates. The
//! calendar is the `time` crate's; this module reads and writes the text.

use time::{Date, Month};

/// Seconds in a day.
const DAY: i64 = 86_400;
/// Days in 400 Gregorian years, after which the calendar repeats.
const DAYS_PER_400_YEARS: i64 = 146_097;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Parses `digits` as an unsigned number, refusing anything else.
fn number(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Unix seconds of midnight UTC of a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = i32::try_from(number(&text[0..4])?).ok()?;
    let month = Month::try_from(u8::try_from(number(&text[5..7])?).ok()?).ok()?;
    let day = u8::try_from(number(&text[8..10])?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(i64::from(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY) * DAY)
}

/// Unix seconds of an RFC 3339 timestamp such as `2019-06-03T02:23:47Z`
/// (fractions of a second are dropped; offsets such as `+02:00` applied).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let date = parse_date(text.get(0..10)?)?;
    let rest = text.get(10..)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let bytes = rest.as_bytes();
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        number(rest.get(0..2)?)?,
        number(rest.get(3..5)?)?,
        number(rest.get(6..8)?)?,
    );
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &fraction[digits..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = zone[1..].split_once(':')?;
            let (h, m) = (number(h)?, number(m)?);
            if h > 23 || m > 59 || zone.len() != 6 {
                return None;
            }
            sign * i64::from(h * 3600 + m * 60)
        }
    };
    Some(date + i64::from(hour * 3600 + minute * 60 + second) - offset)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds, on the proleptic Gregorian
/// calendar whatever the year (a year past 9999 takes more digits).
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(DAY);
    let secs = seconds.rem_euclid(DAY);
    // The calendar repeats every 400 years: the day is found in the 400
    // years from 1970, well within the `time` crate's range, and the year
    // moved back by as many cycles.
    let cycles = days.div_euclid(DAYS_PER_400_YEARS);
    let day_of_cycle = days.rem_euclid(DAYS_PER_400_YEARS) as i32;
    let date = Date::from_julian_day(UNIX_EPOCH_JULIAN_DAY + day_of_cycle)
        .expect("the years 1970 to 2369 are in the time crate's range");
    let year = i64::from(date.year()) + 400 * cycles;
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u8::from(date.month()),
        date.day(),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Whole days from `now` (Unix seconds) until `until` (Unix seconds),
/// counted on UTC calendar days; negative once `until` has passed.
pub fn days_until(now: i64, until: i64) -> i64 {
    until.div_euclid(DAY) - now.div_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_timestamps() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2019-06-03T02:23:47Z",
            "2000-02-29T23:59:59Z",
            "2027-04-30T00:00:00Z",
        ] {
            let secs = parse_rfc3339(text).unwrap();
            assert_eq!(format_rfc3339(secs), text);
        }
        assert_eq!(parse_rfc3339("2019-06-03T02:23:47Z"), Some(1_559_528_627));
    }

    #[test]
    fn applies_offsets_and_fractions() {
        assert_eq!(
            parse_rfc3339("2019-06-03T04:23:47.123+02:00"),
            Some(1_559_528_627)
        );
        assert_eq!(
            parse_rfc3339("2019-06-02T21:23:47-05:00"),
            Some(1_559_528_627)
        );
    }

    #[test]
    fn refuses_malformed_input() {
        for text in [
            "2019-13-01T00:00:00Z",
            "2019-02-29T00:00:00Z",
            "2019-06-03",
            "2019-06-03T25:00:00Z",
            "nonsense",
            "2019-06-03T02:23:47",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
    }

    #[test]
    fn counts_calendar_days() {
        let retire = parse_date("2027-04-30").unwrap();
        assert_eq!(
            days_until(parse_rfc3339("2027-04-29T23:59:59Z").unwrap(), retire),
            1
        );
        assert_eq!(days_until(retire + 3600, retire), 0);
        assert_eq!(days_until(parse_date("2026-04-30").unwrap(), retire), 365);
        assert_eq!(days_until(parse_date("2027-05-02").unwrap(), retire), -2);
    }

    #[test]
    fn formats_any_second_on_the_proleptic_calendar() {
        for (seconds, text) in [
            (-1, "1969-12-31T23:59:59Z"),
            (-62_167_219_200, "0000-01-01T00:00:00Z"),
            (-62_198_755_200, "-001-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (253_402_300_800, "10000-01-01T00:00:00Z"),
            (1_700_000_000_000, "55840-11-08T22:13:20Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ] {
            assert_eq!(format_rfc3339(seconds), text, "{seconds}");
        }
    }

    #[test]
    fn reads_the_edges_of_the_grammar() {
        assert_eq!(parse_date("0000-01-01"), Some(-62_167_219_200));
        assert_eq!(parse_date("9999-12-31"), Some(253_402_214_400));
        assert_eq!(parse_date("2100-02-29"), None);
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        for (text, expected) in [
            ("2019-06-03t02:23:47z", Some(1_559_528_627)),
            ("2019-06-03 02:23:47Z", Some(1_559_528_627)),
            ("2019-06-03T02:23:60Z", Some(1_559_528_640)),
            ("2019-06-03T02:23:47.9999Z", Some(1_559_528_627)),
            ("2019-06-03T02:23:47+23:59", Some(1_559_442_287)),
            ("2019-06-03T02:23:47.Z", None),
            ("2019-06-03T02:23:47+24:00", None),
            ("2019-06-03T02:23:47+02:60", None),
            ("2019-06-03T02:23:47+0200", None),
            ("2019-06-03T02:23:47+02:00:00", None),
            ("2019-06-03T02:60:47Z", None),
            ("2019-06-03T02:23:61Z", None),
            ("+019-06-03T02:23:47Z", None),
            ("2019-6-03T02:23:47Z", None),
            ("2019-00-10T00:00:00Z", None),
            ("2019-01-00T00:00:00Z", None),
            ("2019-06-03X02:23:47Z", None),
            ("2019-06-03T02:23:4\u{e9}Z", None),
            ("2019-06-03T02:23:47\u{e9}", None),
        ] {
            assert_eq!(parse_rfc3339(text), expected, "{text}");
        }
    }
}
