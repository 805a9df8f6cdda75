//! Rate-limit headers, in every variant Zendesk sends: `X-Rate-Limit` and
//! `X-Rate-Limit-Remaining`; `ratelimit-limit|remaining|reset` (and the
//! structured `ratelimit: limit=.., remaining=.., reset=..`); the older
//! `rate-limit`, `rate-limit-remaining`, `rate-limit-reset`; and the
//! per-endpoint `zendesk-ratelimit-<name>: total=N; remaining=N; resets=S`.

use crate::types::Budget;

/// Wait after a 429 that gives no hint at all.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 60_000;

/// Name of the account-wide budget.
pub const ACCOUNT: &str = "account";

/// Name of the incremental exports' budget.
pub const EXPORTS: &str = "incremental-exports";

/// The leading whole number of a header value (`700, 700;w=60` gives 700).
fn leading_number(value: &str) -> Option<u32> {
    let value = value.trim();
    let end = value
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

/// Fills a budget from `key=value` pairs separated by `;` or `,`.
fn apply_pairs(budget: &mut Budget, value: &str) {
    for pair in value.split([';', ',']) {
        let Some((key, number)) = pair.split_once('=') else {
            continue;
        };
        let number = leading_number(number);
        match key.trim().to_ascii_lowercase().as_str() {
            "total" | "limit" => budget.limit = number.or(budget.limit),
            "remaining" => budget.remaining = number.or(budget.remaining),
            "resets" | "reset" => budget.reset_seconds = number.or(budget.reset_seconds),
            _ => {}
        }
    }
}

/// The budgets described by response headers, the account budget first.
pub fn budgets(headers: &[(String, String)]) -> Vec<Budget> {
    let empty = |name: &str| Budget {
        name: name.to_owned(),
        limit: None,
        remaining: None,
        reset_seconds: None,
    };
    let mut account = empty(ACCOUNT);
    let mut others: Vec<Budget> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "x-rate-limit" | "ratelimit-limit" | "rate-limit" | "x-ratelimit-limit" => {
                account.limit = leading_number(value).or(account.limit);
            }
            "x-rate-limit-remaining"
            | "ratelimit-remaining"
            | "rate-limit-remaining"
            | "x-ratelimit-remaining" => {
                account.remaining = leading_number(value).or(account.remaining);
            }
            "ratelimit-reset" | "rate-limit-reset" | "x-ratelimit-reset" => {
                account.reset_seconds = leading_number(value).or(account.reset_seconds);
            }
            "ratelimit" => apply_pairs(&mut account, value),
            _ => {
                if let Some(endpoint) = name.strip_prefix("zendesk-ratelimit-") {
                    let mut budget = empty(endpoint);
                    apply_pairs(&mut budget, value);
                    others.push(budget);
                }
            }
        }
    }
    let has_account =
        account.limit.is_some() || account.remaining.is_some() || account.reset_seconds.is_some();
    let mut result: Vec<Budget> = has_account.then_some(account).into_iter().collect();
    result.extend(others);
    result
}

/// Whether some budget says no request is left in its window.
pub fn exhausted(budgets: &[Budget]) -> bool {
    budgets.iter().any(|b| b.remaining == Some(0))
}

/// Share of a budget a page that makes several requests leaves untouched:
/// the host's default reserve for the account's other integrations.
const RESERVE: f64 = 0.1;

/// Whether some budget is down to [`RESERVE`] (at least one request), so
/// that a page making several requests stops and lets the host pace it.
pub fn low(budgets: &[Budget]) -> bool {
    budgets.iter().any(|b| match (b.limit, b.remaining) {
        (Some(limit), Some(remaining)) => {
            f64::from(remaining) <= (f64::from(limit) * RESERVE).ceil().max(1.0)
        }
        (None, Some(remaining)) => remaining == 0,
        _ => false,
    })
}

/// The budget of this name.
pub fn find<'a>(budgets: &'a [Budget], name: &str) -> Option<&'a Budget> {
    budgets.iter().find(|b| b.name == name)
}

/// How long to wait after a 429: `Retry-After` (seconds), else the reset
/// time of an exhausted budget, else [`DEFAULT_RETRY_AFTER_MS`].
pub fn retry_after_ms(retry_after: Option<&str>, budgets: &[Budget]) -> u64 {
    if let Some(seconds) = retry_after.and_then(|v| v.trim().parse::<f64>().ok()) {
        if seconds.is_finite() && seconds >= 0.0 {
            return ((seconds * 1000.0) as u64).max(1000);
        }
    }
    budgets
        .iter()
        .filter(|b| b.remaining == Some(0))
        .filter_map(|b| b.reset_seconds)
        .max()
        .map_or(DEFAULT_RETRY_AFTER_MS, |s| u64::from(s.max(1)) * 1000)
}

/// Merges the budgets of responses to requests in flight together: what
/// is left is the least any of them saw (they were answered in any order).
pub fn merge_concurrent(into: &mut Vec<Budget>, other: Vec<Budget>) {
    for budget in other {
        match into.iter_mut().find(|b| b.name == budget.name) {
            Some(existing) => {
                if budget.remaining.unwrap_or(u32::MAX) < existing.remaining.unwrap_or(u32::MAX) {
                    *existing = budget;
                }
            }
            None => into.push(budget),
        }
    }
}

/// Merges the budgets of a later response into earlier ones (later wins).
pub fn merge(into: &mut Vec<Budget>, later: Vec<Budget>) {
    for budget in later {
        match into.iter_mut().find(|b| b.name == budget.name) {
            Some(existing) => *existing = budget,
            None => into.push(budget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn budget(
        name: &str,
        limit: Option<u32>,
        remaining: Option<u32>,
        reset: Option<u32>,
    ) -> Budget {
        Budget {
            name: name.into(),
            limit,
            remaining,
            reset_seconds: reset,
        }
    }

    #[test]
    fn parses_every_header_variant() {
        let parsed = budgets(&headers(&[
            ("X-Rate-Limit", "700"),
            ("X-Rate-Limit-Remaining", "699"),
            (
                "Zendesk-RateLimit-incremental-exports",
                "total=10; remaining=9; resets=2",
            ),
            ("Content-Type", "application/json"),
        ]));
        assert_eq!(
            parsed,
            vec![
                budget("account", Some(700), Some(699), None),
                budget("incremental-exports", Some(10), Some(9), Some(2))
            ]
        );
        let parsed = budgets(&headers(&[
            ("ratelimit-limit", "400"),
            ("ratelimit-remaining", "12"),
            ("ratelimit-reset", "31"),
        ]));
        assert_eq!(
            parsed,
            vec![budget("account", Some(400), Some(12), Some(31))]
        );
        let parsed = budgets(&headers(&[
            ("rate-limit", "200"),
            ("rate-limit-remaining", "0"),
            ("rate-limit-reset", "9"),
        ]));
        assert_eq!(parsed, vec![budget("account", Some(200), Some(0), Some(9))]);
        let parsed = budgets(&headers(&[(
            "RateLimit",
            "limit=100, remaining=50, reset=5",
        )]));
        assert_eq!(
            parsed,
            vec![budget("account", Some(100), Some(50), Some(5))]
        );
        let parsed = budgets(&headers(&[("ratelimit-limit", "700, 700;w=60")]));
        assert_eq!(parsed[0].limit, Some(700));
        assert!(budgets(&headers(&[("Date", "x")])).is_empty());
    }

    #[test]
    fn retry_after_falls_back_sanely() {
        assert_eq!(retry_after_ms(Some("7"), &[]), 7000);
        assert_eq!(retry_after_ms(Some("0"), &[]), 1000);
        let exhausted = [budget("incremental-exports", Some(10), Some(0), Some(42))];
        assert_eq!(retry_after_ms(None, &exhausted), 42_000);
        assert_eq!(
            retry_after_ms(Some("Wed, 21 Oct 2015 07:28:00 GMT"), &[]),
            DEFAULT_RETRY_AFTER_MS
        );
        assert_eq!(
            retry_after_ms(None, &[budget("account", Some(700), Some(3), Some(10))]),
            DEFAULT_RETRY_AFTER_MS
        );
    }

    #[test]
    fn merge_keeps_the_latest_value_per_budget() {
        let mut all = vec![budget("account", Some(700), Some(650), None)];
        merge(
            &mut all,
            vec![
                budget("account", Some(700), Some(649), None),
                budget("incremental-exports", Some(10), Some(8), Some(1)),
            ],
        );
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].remaining, Some(649));
        assert!(!exhausted(&all));
        merge(
            &mut all,
            vec![budget("incremental-exports", Some(10), Some(0), Some(1))],
        );
        assert!(exhausted(&all));
    }

    #[test]
    fn concurrent_answers_keep_the_least_left() {
        let mut batch = Vec::new();
        for remaining in [40, 12, 31] {
            merge_concurrent(
                &mut batch,
                vec![budget("account", Some(700), Some(remaining), Some(9))],
            );
        }
        merge_concurrent(&mut batch, vec![budget(EXPORTS, Some(10), None, None)]);
        assert_eq!(batch[0].remaining, Some(12));
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn budgets_are_low_at_the_reserve() {
        assert!(!low(&[budget("account", Some(700), Some(71), None)]));
        assert!(low(&[budget("account", Some(700), Some(70), None)]));
        assert!(!low(&[budget(EXPORTS, Some(10), Some(2), Some(5))]));
        assert!(low(&[budget(EXPORTS, Some(10), Some(1), Some(5))]));
        assert!(low(&[budget("x", None, Some(0), None)]));
        assert!(!low(&[budget("x", None, Some(1), None)]));
        assert_eq!(
            find(&[budget(EXPORTS, Some(10), None, None)], EXPORTS).and_then(|b| b.limit),
            Some(10)
        );
    }
}
