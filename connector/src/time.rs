//! Calendar arithmetic on Unix seconds (UTC), enough for Zendesk's
//! timestamps: RFC 3339 parsing and formatting, and plain dates.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

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
    let year = number(&text[0..4])?;
    let month = number(&text[5..7])?;
    let day = number(&text[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    Some(days_from_civil(i64::from(year), month, day) * 86_400)
}

/// Number of days in a month of a year.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
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
        number(&rest[0..2])?,
        number(&rest[3..5])?,
        number(&rest[6..8])?,
    );
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut zone = &rest[8..];
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

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds.
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Whole days from `now` (Unix seconds) until `until` (Unix seconds),
/// counted on UTC calendar days; negative once `until` has passed.
pub fn days_until(now: i64, until: i64) -> i64 {
    until.div_euclid(86_400) - now.div_euclid(86_400)
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
}
