//! What a connector returns, bounded before the host keeps any of it: a
//! page's total size and cursor, each raw record, and each normalized
//! record's kind, key and data. A breach is a classified error naming the
//! limit ([`Limit`]), so that a hostile or broken component cannot make the
//! host store a 64 MiB cursor or a 16 MiB key.

use crate::contract::{NormalizedRecord, Page};
use crate::engine::Limits;
use crate::errors::{ConnectorError, Limit};

fn exceeded(limit: Limit, what: &str, bytes: usize, allowed: usize) -> ConnectorError {
    ConnectorError::LimitExceeded {
        limit,
        detail: format!("{what} of {bytes} bytes, more than the {allowed} allowed"),
    }
}

/// Check a page: its records' total and each one's size, and its cursor.
pub fn check_page(page: &Page, limits: &Limits) -> Result<(), ConnectorError> {
    let total: usize = page.records.iter().map(String::len).sum();
    let largest = page.records.iter().map(String::len).max().unwrap_or(0);
    let cursor = page.next_cursor.as_deref().map_or(0, str::len);
    let checks = [
        (Limit::Page, "a page", total, limits.max_page_bytes),
        (
            Limit::Record,
            "a raw record",
            largest,
            limits.max_record_bytes,
        ),
        (Limit::Cursor, "a cursor", cursor, limits.max_cursor_bytes),
    ];
    first_breach(&checks)
}

/// The first `(limit, what, bytes, allowed)` over its limit, as the error.
fn first_breach(checks: &[(Limit, &str, usize, usize)]) -> Result<(), ConnectorError> {
    match checks.iter().find(|(_, _, bytes, allowed)| bytes > allowed) {
        Some((limit, what, bytes, allowed)) => Err(exceeded(*limit, what, *bytes, *allowed)),
        None => Ok(()),
    }
}

/// Check normalized records: each kind, key, version and data.
pub fn check_records(records: &[NormalizedRecord], limits: &Limits) -> Result<(), ConnectorError> {
    for record in records {
        let version = record.version.as_deref().map_or(0, str::len);
        let checks = [
            (
                Limit::Kind,
                "a record kind",
                record.kind.len(),
                limits.max_kind_bytes,
            ),
            (
                Limit::Key,
                "a record key",
                record.key.len(),
                limits.max_key_bytes,
            ),
            (
                Limit::Key,
                "a record version",
                version,
                limits.max_key_bytes,
            ),
            (
                Limit::Record,
                "a record",
                record.data.len(),
                limits.max_record_bytes,
            ),
        ];
        first_breach(&checks)?;
    }
    Ok(())
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn page(records: &[usize], cursor: usize) -> Page {
        Page {
            records: records.iter().map(|n| "x".repeat(*n)).collect(),
            next_cursor: Some("c".repeat(cursor)),
            done: false,
            budgets: Vec::new(),
            requests: 1,
            progress: None,
        }
    }

    fn record(kind: usize, key: usize, data: usize) -> NormalizedRecord {
        NormalizedRecord {
            kind: "k".repeat(kind),
            key: "1".repeat(key),
            version: None,
            data: "d".repeat(data),
            deleted: false,
        }
    }

    #[test]
    fn each_size_has_its_limit() {
        let limits = Limits {
            max_page_bytes: 100,
            max_record_bytes: 60,
            max_cursor_bytes: 10,
            max_key_bytes: 8,
            max_kind_bytes: 4,
            ..Limits::default()
        };
        let limit = |r: Result<(), ConnectorError>| match r {
            Ok(()) => None,
            Err(ConnectorError::LimitExceeded { limit, .. }) => Some(limit),
            Err(other) => panic!("{other}"),
        };
        let pages = [
            (page(&[50, 50], 10), None),
            (page(&[50, 51], 0), Some(Limit::Page)),
            (page(&[61], 0), Some(Limit::Record)),
            (page(&[1], 11), Some(Limit::Cursor)),
        ];
        for (p, expected) in pages {
            assert_eq!(
                limit(check_page(&p, &limits)),
                expected,
                "{:?}",
                p.records.len()
            );
        }
        let records = [
            (record(4, 8, 60), None),
            (record(5, 1, 1), Some(Limit::Kind)),
            (record(1, 9, 1), Some(Limit::Key)),
            (record(1, 1, 61), Some(Limit::Record)),
        ];
        for (r, expected) in records {
            assert_eq!(limit(check_records(&[r], &limits)), expected);
        }
        let Err(error) = check_page(&page(&[1], 11), &limits) else {
            panic!("accepted");
        };
        assert!(
            error
                .to_string()
                .contains("a cursor of 11 bytes, more than the 10 allowed"),
            "{error}"
        );
    }
}
