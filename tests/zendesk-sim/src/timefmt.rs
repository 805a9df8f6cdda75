//! Calendar formatting of Unix times, as Zendesk prints them (`2019-06-03T02:23:47Z`).

/// Days since 1970-01-01 to a (year, month, day) civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time in seconds.
pub(crate) fn iso(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// `YYYY-MM-DD` for a Unix time in seconds (the value of a date custom field).
pub(crate) fn date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `10:02:13 AM`: the clock of a chat transcript line.
pub(crate) fn clock_12h(secs: i64) -> String {
    let t = secs.rem_euclid(86_400);
    let (h, min, s) = (t / 3600, t / 60 % 60, t % 60);
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
