//! Synced records: page commits with their cursors, failures that leave
//! nothing, long streams, text `jsonb` cannot hold.

use std::collections::HashMap;

use connector_platform::Tombstones;
use connector_runtime::contract::NormalizedRecord;
use connector_sync::stored::{StreamState, SyncedRecords};
use connector_sync::Sink;

use super::{on_runtime, page, platform_keys, record, visited};
use crate::stores::StoreUnderTest;

/// A NUL character in a record's text (JSON allows it as `\u0000`) does
/// not fail its page: SQLite keeps it, PostgreSQL's `jsonb` cannot and
/// keeps U+FFFD in its place; the rest of the record is unchanged.
pub fn nul_characters_do_not_fail_a_page<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    let records = store.records("c");
    let data = serde_json::json!({"body": "before\u{0}after", "n": 1}).to_string();
    assert!(data.contains("\\u0000"), "{data}");
    let committed = on_runtime(records.commit_page(page(
        "s",
        vec![record("1", "2024-01-01T00:00:00Z", &data, false)],
        "c1",
        true,
    )))
    .expect("a page with a NUL character commits");
    assert_eq!(committed, 1);
    let seen = visited(&records, "s");
    let expected = match S::NAME {
        "postgres" => "before\u{fffd}after",
        _ => "before\u{0}after",
    };
    assert_eq!(seen[0].4["body"], expected);
    assert_eq!(seen[0].4["n"], 1);
}

/// Pages: records and cursor together; upserts by key; a key twice in a
/// page keeps its last record; tombstones; raw records; counters.
pub fn page_commits<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    let records = store.records("c");
    let other = store.records("d");
    on_runtime(async {
        assert_eq!(records.cursor("items").await.unwrap(), None);
        let first = page(
            "items",
            vec![
                record("1", "1", r#"{"a":1}"#, false),
                record("2", "1", r#"{"a":2,"nested":{"x":[1,2]}}"#, false),
            ],
            "c1",
            false,
        );
        assert_eq!(records.commit_page(first.clone()).await.unwrap(), 2);
        other.commit_page(first).await.unwrap();
        let mut second = page(
            "items",
            vec![
                record("1", "2", r#"{"a":10}"#, false),
                record("2", "2", r#"{"a":2}"#, true),
                record("3", "1", r#"{"a":3}"#, false),
                record("3", "2", r#"{"a":33}"#, false),
            ],
            "c2",
            true,
        );
        second.requests = 2;
        assert_eq!(records.commit_page(second).await.unwrap(), 4);
        assert_eq!(
            records.cursor("items").await.unwrap().as_deref(),
            Some("c2")
        );
    });
    let state = records.stream_state("items").unwrap();
    assert_eq!(state.cursor.as_deref(), Some("c2"));
    assert!(state.done);
    assert_eq!((state.pages, state.records, state.requests), (2, 6, 3));
    assert!(state.last_synced_at.is_some());
    assert_eq!(records.counts().unwrap(), vec![("item".to_string(), 2, 1)]);
    let data = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(
        visited(&records, "items"),
        vec![
            (
                "item".into(),
                "1".into(),
                Some("2".into()),
                false,
                data(r#"{"a":10}"#)
            ),
            (
                "item".into(),
                "2".into(),
                Some("2".into()),
                true,
                data(r#"{"a":2}"#)
            ),
            (
                "item".into(),
                "3".into(),
                Some("2".into()),
                false,
                data(r#"{"a":33}"#)
            ),
        ]
    );
    assert_eq!(
        records.raw_records("items").unwrap(),
        vec![r#"{"raw":"1"}"#, r#"{"raw":"2"}"#, r#"{"raw":"3"}"#]
    );
    assert_eq!(
        platform_keys(&store, Tombstones::Skip),
        vec!["1", "3"],
        "stored order, without tombstones"
    );
    assert_eq!(platform_keys(&store, Tombstones::Include).len(), 3);

    records.record_error("items", "boom").unwrap();
    let failed = records.stream_state("items").unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("boom"));
    assert_eq!(
        failed.cursor.as_deref(),
        Some("c2"),
        "a failure keeps the cursor"
    );
    records
        .upsert_records(
            "items",
            &[("{}".into(), vec![record("1", "3", r#"{"a":100}"#, false)])],
        )
        .unwrap();
    assert_eq!(
        records.stream_state("items").unwrap().cursor.as_deref(),
        Some("c2")
    );
    assert_eq!(visited(&records, "items")[0].4, data(r#"{"a":100}"#));
    assert_eq!(
        records
            .all_stream_states()
            .unwrap()
            .iter()
            .map(|s| s.stream.as_str())
            .collect::<Vec<_>>(),
        vec!["items"]
    );

    let removed: HashMap<&str, usize> = records.delete_connection().unwrap().into_iter().collect();
    assert_eq!((removed["records"], removed["streams"]), (3, 1));
    assert_eq!(
        records.stream_state("items").unwrap(),
        StreamState::never_synced("items")
    );
    assert_eq!(
        other.counts().unwrap(),
        vec![("item".to_string(), 2, 0)],
        "other connections stay"
    );
}

/// A page whose commit fails after its records were written leaves
/// neither its records nor its cursor; the same page commits afterwards.
pub fn failed_commits_leave_nothing<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    let records = store.records("c");
    on_runtime(async {
        records
            .commit_page(page(
                "items",
                vec![record("1", "1", "{}", false)],
                "c1",
                false,
            ))
            .await
            .unwrap();
        store.fail_stream_writes(true);
        let next = page(
            "items",
            vec![
                record("2", "1", "{}", false),
                record("1", "2", r#"{"b":1}"#, false),
            ],
            "c2",
            false,
        );
        assert!(records.commit_page(next.clone()).await.is_err());
        store.fail_stream_writes(false);
        assert_eq!(
            records.cursor("items").await.unwrap().as_deref(),
            Some("c1")
        );
        assert_eq!(records.counts().unwrap(), vec![("item".to_string(), 1, 0)]);
        assert_eq!(visited(&records, "items")[0].2.as_deref(), Some("1"));
        assert_eq!(records.raw_records("items").unwrap().len(), 1);
        records.commit_page(next).await.unwrap();
        assert_eq!(
            records.cursor("items").await.unwrap().as_deref(),
            Some("c2")
        );
    });
    assert_eq!(records.counts().unwrap(), vec![("item".to_string(), 2, 0)]);
}

/// More records than one read brings back: visited whole, in order.
pub fn large_streams_are_read_whole<S: StoreUnderTest>() {
    const RECORDS: usize = 4500;
    let (store, _place) = S::fresh();
    let records = store.records("c");
    let all: Vec<NormalizedRecord> = (0..RECORDS)
        .map(|i| {
            record(
                &format!("{i:05}"),
                "1",
                &format!(r#"{{"i":{i}}}"#),
                i % 10 == 0,
            )
        })
        .collect();
    on_runtime(async {
        for chunk in all.chunks(1000) {
            records
                .commit_page(page("items", chunk.to_vec(), "c", false))
                .await
                .unwrap();
        }
    });
    let keys: Vec<String> = visited(&records, "items")
        .into_iter()
        .map(|r| r.1)
        .collect();
    let expected: Vec<String> = all.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys, expected);
    let expected_live: Vec<String> = all
        .iter()
        .filter(|r| !r.deleted)
        .map(|r| r.key.clone())
        .collect();
    assert_eq!(platform_keys(&store, Tombstones::Skip), expected_live);
}
