//! Fuzz target of the output limits: pages and records of any sizes and
//! content (multi-byte, NUL, control characters, non-JSON data) against
//! any limits. `cargo test` runs it for [`CI_TIME`];
//! `cargo +nightly bolero test -p connector-runtime
//! output_limits::fuzz::output_is_bounded_exactly` under libFuzzer.

use std::time::Duration;

use super::*;

/// How long the target runs under `cargo test`.
const CI_TIME: Duration = Duration::from_millis(1500);

/// Text of about `len` bytes: `seed` repeated, cut on a char boundary.
fn text(seed: &str, len: u16) -> String {
    let seed = if seed.is_empty() { "\u{0}é" } else { seed };
    let mut out = seed.repeat(usize::from(len) / seed.len() + 1);
    let mut end = usize::from(len).min(out.len());
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

type Sizes = (u16, u16, u16, u16);

/// What the limits are said to be: the first breach in the documented
/// order, sizes counted in bytes.
fn expected(checks: &[(Limit, usize, usize)]) -> Option<Limit> {
    checks
        .iter()
        .find(|(_, bytes, allowed)| bytes > allowed)
        .map(|(limit, _, _)| *limit)
}

/// The limit named by a check's error; any other error fails.
fn breached(result: Result<(), ConnectorError>) -> Option<Limit> {
    match result {
        Ok(()) => None,
        Err(ConnectorError::LimitExceeded { limit, detail }) => {
            assert!(detail.contains("bytes, more than the"), "{detail}");
            Some(limit)
        }
        Err(other) => panic!("not a limit: {other}"),
    }
}

/// Target `output_is_bounded_exactly`: every breach is found, nothing
/// within the limits is refused, whatever the text is.
#[test]
fn output_is_bounded_exactly() {
    bolero::check!()
        .with_type::<(String, Sizes, Vec<u16>, u16, Vec<(Sizes, bool)>)>()
        .with_test_time(CI_TIME)
        .for_each(|(seed, limits, raw, cursor, records)| {
            let limits = Limits {
                max_page_bytes: usize::from(limits.0),
                max_record_bytes: usize::from(limits.1 % 4096),
                max_cursor_bytes: usize::from(limits.2 % 4096),
                max_key_bytes: usize::from(limits.3 % 512),
                max_kind_bytes: usize::from(limits.3 % 64),
                ..Limits::default()
            };
            let page = Page {
                records: raw.iter().map(|n| text(seed, n % 4096)).collect(),
                next_cursor: (cursor % 2 == 0).then(|| text(seed, cursor % 8192)),
                done: false,
                budgets: Vec::new(),
                requests: 1,
                progress: None,
            };
            let lens: Vec<usize> = page.records.iter().map(String::len).collect();
            let cursor_len = page.next_cursor.as_ref().map_or(0, String::len);
            let want = expected(&[
                (Limit::Page, lens.iter().sum(), limits.max_page_bytes),
                (
                    Limit::Record,
                    lens.iter().copied().max().unwrap_or(0),
                    limits.max_record_bytes,
                ),
                (Limit::Cursor, cursor_len, limits.max_cursor_bytes),
            ]);
            assert_eq!(breached(check_page(&page, &limits)), want);

            let records: Vec<NormalizedRecord> = records
                .iter()
                .map(|((kind, key, version, data), deleted)| NormalizedRecord {
                    kind: text(seed, kind % 128),
                    key: text(seed, key % 1024),
                    version: (version % 3 != 0).then(|| text(seed, version % 1024)),
                    data: text(seed, data % 4096),
                    deleted: *deleted,
                })
                .collect();
            let want = records.iter().find_map(|r| {
                let version = r.version.as_ref().map_or(0, String::len);
                expected(&[
                    (Limit::Kind, r.kind.len(), limits.max_kind_bytes),
                    (Limit::Key, r.key.len(), limits.max_key_bytes),
                    (Limit::Key, version, limits.max_key_bytes),
                    (Limit::Record, r.data.len(), limits.max_record_bytes),
                ])
            });
            assert_eq!(breached(check_records(&records, &limits)), want);
        });
}

#[test]
fn a_huge_key_of_multibyte_text_is_measured_in_bytes() {
    // 16 MiB of `é` (two bytes each): refused as a key, by its bytes.
    let record = NormalizedRecord {
        kind: "message".into(),
        key: "é".repeat(8 << 20),
        version: None,
        data: "not JSON, and never parsed here".into(),
        deleted: false,
    };
    let Err(ConnectorError::LimitExceeded { limit, detail }) =
        check_records(&[record], &Limits::default())
    else {
        panic!("a 16 MiB key was accepted");
    };
    assert_eq!(limit, Limit::Key);
    assert!(detail.contains(&format!("{} bytes", 16 << 20)), "{detail}");
}
