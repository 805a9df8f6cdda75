//! The time window a report covers, and its periods: UTC weeks from Monday,
//! or calendar months when the window is longer than half a year (so that a
//! long history still fits a page).

use time::{Date, Month, OffsetDateTime};

use crate::signals::{week_start, WEEK};

/// A window is summarized by month when longer than this many weeks.
pub const MONTHS_BEYOND_WEEKS: i64 = 26;

/// What a report was asked to cover; an open end is the first (last)
/// ticket's time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// From (Unix seconds), included.
    pub since: Option<i64>,
    /// Until (Unix seconds), excluded.
    pub until: Option<i64>,
}

impl Range {
    /// The last `weeks` weeks before `now`.
    pub fn last_weeks(now: i64, weeks: i64) -> Range {
        Range {
            since: Some(now - weeks * WEEK),
            until: Some(now),
        }
    }
}

/// How the window is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// UTC weeks starting on Monday.
    Week,
    /// Calendar months (UTC).
    Month,
}

impl Granularity {
    /// `week` or `month`.
    pub fn noun(self) -> &'static str {
        match self {
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }
}

/// A resolved window: `[since, until)`, `since` at the start of its
/// period, and the periods that cover it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// From (Unix seconds), included: the start of the first period.
    pub since: i64,
    /// Until (Unix seconds), excluded.
    pub until: i64,
    /// Weeks or months.
    pub granularity: Granularity,
    /// The start of each period, oldest first.
    pub periods: Vec<i64>,
}

impl Window {
    /// Resolve `range`; `first` and `last` are the first and last times
    /// the data has (for open ends). `None` without any time to go by.
    pub fn resolve(range: Range, first: Option<i64>, last: Option<i64>) -> Option<Window> {
        let since = range.since.or(first)?;
        let until = range.until.or(last.map(|t| t + 1))?.max(since + 1);
        let granularity = if until - since > MONTHS_BEYOND_WEEKS * WEEK {
            Granularity::Month
        } else {
            Granularity::Week
        };
        let since = period_start(granularity, since);
        let mut periods = vec![since];
        loop {
            let next = next_period(granularity, *periods.last().expect("one period"));
            if next >= until {
                break;
            }
            periods.push(next);
        }
        Some(Window {
            since,
            until,
            granularity,
            periods,
        })
    }

    /// The period `t` falls in, if it is inside the window.
    pub fn period_of(&self, t: i64) -> Option<usize> {
        if t < self.since || t >= self.until {
            return None;
        }
        Some(self.periods.partition_point(|start| *start <= t) - 1)
    }

    /// Whether `t` is inside the window.
    pub fn contains(&self, t: i64) -> bool {
        self.period_of(t).is_some()
    }

    /// A period's first day, `YYYY-MM-DD` (weeks) or `YYYY-MM` (months).
    pub fn label(&self, index: usize) -> String {
        let day = &crate::text::format_time(self.periods[index])[..10];
        match self.granularity {
            Granularity::Week => day.to_string(),
            Granularity::Month => day[..7].to_string(),
        }
    }

    /// The window's first and last day, `YYYY-MM-DD`.
    pub fn days(&self) -> (String, String) {
        let day = |t: i64| crate::text::format_time(t)[..10].to_string();
        (day(self.since), day(self.until - 1))
    }
}

/// The start of the period `t` is in.
fn period_start(granularity: Granularity, t: i64) -> i64 {
    match granularity {
        Granularity::Week => week_start(t),
        Granularity::Month => {
            let date = utc_date(t);
            unix(date.year(), date.month())
        }
    }
}

/// The start of the period after the one starting at `start`.
fn next_period(granularity: Granularity, start: i64) -> i64 {
    match granularity {
        Granularity::Week => start + WEEK,
        Granularity::Month => {
            let date = utc_date(start);
            let year = date.year() + i32::from(date.month() == Month::December);
            unix(year, date.month().next())
        }
    }
}

fn utc_date(t: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(t)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
}

/// Unix seconds of the first day of a month, 00:00 UTC.
fn unix(year: i32, month: Month) -> i64 {
    Date::from_calendar_date(year, month, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01, a Monday.
    const MONDAY: i64 = 1_704_067_200;

    #[test]
    fn short_windows_are_weeks_from_monday() {
        let w = Window::resolve(
            Range {
                since: Some(MONDAY + 3 * 86_400),
                until: Some(MONDAY + 3 * WEEK),
            },
            None,
            None,
        )
        .unwrap();
        assert_eq!(w.granularity, Granularity::Week);
        assert_eq!(w.periods, vec![MONDAY, MONDAY + WEEK, MONDAY + 2 * WEEK]);
        assert_eq!(w.period_of(MONDAY + WEEK + 5), Some(1));
        assert_eq!(w.period_of(MONDAY + 3 * WEEK), None, "until is excluded");
        assert_eq!(w.period_of(MONDAY - 1), None);
        assert_eq!(w.label(1), "2024-01-08");
    }

    #[test]
    fn long_windows_are_months() {
        // 2024-01-01 to 2025-07-01: 18 months.
        let w = Window::resolve(
            Range::default(),
            Some(MONDAY + 86_400 * 20),
            Some(1_751_327_999),
        )
        .unwrap();
        assert_eq!(w.granularity, Granularity::Month);
        assert_eq!(w.periods.len(), 18);
        assert_eq!(w.since, MONDAY);
        assert_eq!(w.label(0), "2024-01");
        assert_eq!(w.label(11), "2024-12");
        assert_eq!(w.label(12), "2025-01");
        // 2024-02-29 12:00 is in February of a leap year.
        assert_eq!(w.period_of(1_709_208_000), Some(1));
        assert_eq!(w.days(), ("2024-01-01".into(), "2025-06-30".into()));
    }

    #[test]
    fn the_default_is_the_last_26_weeks() {
        let now = MONDAY + 40 * WEEK + 3600;
        let w = Window::resolve(Range::last_weeks(now, 26), None, None).unwrap();
        assert_eq!(w.granularity, Granularity::Week);
        assert_eq!(w.periods.len(), 27, "a partial week at each end");
        assert_eq!(Window::resolve(Range::default(), None, None), None);
    }
}
