//! The checks both stores must pass, written once over
//! [`StoreUnderTest`]; `tests/conformance.rs` runs each against SQLite and
//! PostgreSQL. Each check panics with what differs.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use connector_platform::model::{
    Customer, Decision, Link, MatchResults, Method, OrgMatch, Outcome, OverrideRule, Via,
};
use connector_platform::sentiment::stored::StoredSentiment;
use connector_platform::sentiment::Sentiment;
use connector_platform::Tombstones;
use connector_runtime::contract::NormalizedRecord;
use connector_runtime::kv::{ConnectionStorage, StorageError, StorageQuota};
use connector_runtime::sealed::{SealedTokenStore, StoreKey};
use connector_runtime::storage::{Expected, KeyValueStore, TokenStore};
use connector_runtime::ConnectorError;
use connector_sync::stored::{StreamState, SyncedRecords};
use connector_sync::{PageCommit, Sink};

use crate::stores::StoreUnderTest;

/// A record of kind `item`.
fn record(key: &str, version: &str, data: &str, deleted: bool) -> NormalizedRecord {
    NormalizedRecord {
        kind: "item".into(),
        key: key.into(),
        version: Some(version.into()),
        data: data.into(),
        deleted,
    }
}

/// A page of `records`, each its own raw record.
fn page(stream: &str, records: Vec<NormalizedRecord>, cursor: &str, done: bool) -> PageCommit {
    PageCommit {
        stream: stream.into(),
        records: records
            .into_iter()
            .map(|r| (format!("{{\"raw\":\"{}\"}}", r.key), vec![r]))
            .collect(),
        cursor: Some(cursor.into()),
        done,
        requests: 1,
        keep_raw: true,
    }
}

/// Run async store calls the way the host does: on a current-thread
/// runtime, where a store that blocked the runtime's thread on its own
/// futures would panic or hang.
fn on_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(work)
}

/// A stream's records as (kind, key, version, deleted, data as JSON).
type Visited = (String, String, Option<String>, bool, serde_json::Value);

fn visited(records: &impl SyncedRecords, stream: &str) -> Vec<Visited> {
    let mut seen = Vec::new();
    let count = records
        .for_each_record(stream, &mut |kind, key, version, deleted, data| {
            let data = serde_json::from_str(data).expect("stored data is JSON");
            seen.push((
                kind.into(),
                key.into(),
                version.map(Into::into),
                deleted,
                data,
            ));
            Ok(())
        })
        .expect("the records are visited");
    assert_eq!(count as usize, seen.len());
    seen
}

/// The keys of a connection's records of kind `item`, as the platform
/// visits them.
fn platform_keys<S: StoreUnderTest>(store: &S, tombstones: Tombstones) -> Vec<String> {
    let mut keys = Vec::new();
    store
        .visit_records("c", "item", tombstones, &mut |r| {
            keys.push(r.key.to_string());
            Ok(())
        })
        .expect("the records are visited");
    keys
}

/// Connector storage: values by key, namespaced by connection, sizes in
/// bytes, prefix listing sorted bytewise, and the runtime's quotas.
pub fn key_value_storage<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    store.set("a", "k2", b"two").unwrap();
    store.set("a", "k1", b"one").unwrap();
    store.set("a", "K0", b"upper").unwrap();
    store.set("a", "k1", b"uno!").unwrap();
    store.set("b", "k1", b"other").unwrap();
    store.set("a", "bin", &[0, 159, 255]).unwrap();
    assert_eq!(store.get("a", "k1").unwrap().as_deref(), Some(&b"uno!"[..]));
    assert_eq!(
        store.get("a", "bin").unwrap().as_deref(),
        Some(&[0, 159, 255][..])
    );
    assert_eq!(store.get("a", "nope").unwrap(), None);
    assert_eq!(store.list_keys("a", "k").unwrap(), vec!["k1", "k2"]);
    assert_eq!(
        store.list_keys("a", "").unwrap(),
        vec!["K0", "bin", "k1", "k2"]
    );
    assert_eq!(store.list_keys("a", "k%").unwrap(), Vec::<String>::new());
    assert_eq!(store.entry_size("a", "k1").unwrap(), 6);
    assert_eq!(store.entry_size("a", "nope").unwrap(), 0);
    assert_eq!(store.used_bytes("a").unwrap(), 6 + 5 + 7 + 6);
    store.delete("a", "k2").unwrap();
    store.delete("a", "never").unwrap();
    assert_eq!(store.list_keys("a", "k").unwrap(), vec!["k1"]);
    assert_eq!(KeyValueStore::clear(&store, "a").unwrap(), 3);
    assert_eq!(store.used_bytes("a").unwrap(), 0);
    assert_eq!(
        store.get("b", "k1").unwrap().as_deref(),
        Some(&b"other"[..])
    );

    let quota = StorageQuota {
        max_key_bytes: 8,
        max_value_bytes: 16,
        max_total_bytes: 40,
    };
    let mut storage = ConnectionStorage::open(Arc::new(store.clone()), "q", quota).unwrap();
    storage.set("k1", b"0123456789").unwrap();
    storage.set("k2", b"0123456789").unwrap();
    let refused = storage.set("k3", b"0123456789abcde");
    assert!(
        matches!(refused, Err(StorageError::QuotaExceeded(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.get("q", "k3").unwrap(),
        None,
        "a refused value is not stored"
    );
    // Usage is measured again from the store by a new session.
    let reopened = ConnectionStorage::open(Arc::new(store.clone()), "q", quota).unwrap();
    assert_eq!(reopened.used_bytes(), 24);
}

/// Tokens: saved together, loaded, cleared per connection, and swapped
/// only when the expected value is still there.
pub fn token_storage<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    store
        .save_all("a", &[("refresh", "r1"), ("access", "a1")])
        .unwrap();
    store.save_all("b", &[("refresh", "other")]).unwrap();
    store.save_all("a", &[("access", "a2")]).unwrap();
    assert_eq!(store.load("a", "refresh").unwrap().as_deref(), Some("r1"));
    assert_eq!(store.load("a", "access").unwrap().as_deref(), Some("a2"));

    let stale = Expected {
        name: "refresh",
        value: Some("r0"),
    };
    assert!(!store.save_if("a", stale, &[("refresh", "lost")]).unwrap());
    assert_eq!(store.load("a", "refresh").unwrap().as_deref(), Some("r1"));
    let current = Expected {
        name: "refresh",
        value: Some("r1"),
    };
    assert!(store
        .save_if("a", current, &[("refresh", "r2"), ("access", "a3")])
        .unwrap());
    assert_eq!(store.load("a", "access").unwrap().as_deref(), Some("a3"));
    let absent = Expected {
        name: "seed",
        value: None,
    };
    assert!(store.save_if("a", absent, &[("seed", "s")]).unwrap());
    assert!(!store.save_if("a", absent, &[("seed", "t")]).unwrap());
    assert_eq!(store.load("a", "seed").unwrap().as_deref(), Some("s"));

    assert_eq!(TokenStore::clear(&store, "a").unwrap(), 3);
    assert_eq!(store.load("a", "refresh").unwrap(), None);
    assert_eq!(
        store.load("b", "refresh").unwrap().as_deref(),
        Some("other")
    );
}

/// The credentials table as a whole (for `rotate-key`): sealed values
/// counted, every row listed by connection and name, rows rewritten
/// together.
pub fn credential_table<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    assert_eq!(store.sealed_credentials().unwrap(), 0);
    store
        .save_all("b", &[("refresh", "sealed:v1:k:b-refresh")])
        .unwrap();
    store
        .save_all(
            "a",
            &[("refresh", "sealed:v1:k:a-refresh"), ("access", "plain")],
        )
        .unwrap();
    assert_eq!(store.sealed_credentials().unwrap(), 2);
    let rows = store.all_credentials().unwrap();
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|(connection, name, _)| (connection.as_str(), name.as_str()))
        .collect();
    assert_eq!(names, [("a", "access"), ("a", "refresh"), ("b", "refresh")]);
    let resealed: Vec<_> = rows
        .iter()
        .map(|(connection, name, _)| {
            (
                connection.clone(),
                name.clone(),
                format!("sealed:v1:k2:{connection}-{name}"),
            )
        })
        .collect();
    store.rewrite_credentials(&resealed).unwrap();
    assert_eq!(store.sealed_credentials().unwrap(), 3);
    assert_eq!(
        store.load("a", "access").unwrap().as_deref(),
        Some("sealed:v1:k2:a-access")
    );
    assert_eq!(store.all_credentials().unwrap(), resealed);
}

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

/// Workers rotating one connection's refresh token at once, each from its
/// own handle (as separate hosts would): exactly one rotation is stored,
/// whole, and the others learn that they lost. Through the sealed store
/// too, as the host uses it.
pub fn concurrent_rotation<S: StoreUnderTest>() {
    const WORKERS: usize = 6;
    let (store, place) = S::fresh();
    let key = StoreKey::generate();
    let stores: Vec<(&str, Arc<dyn TokenStore>)> = vec![
        ("plain", Arc::new(store.clone())),
        (
            "sealed",
            Arc::new(SealedTokenStore::new(Arc::new(store.clone()), key.clone())),
        ),
    ];
    for (label, tokens) in stores {
        let connection = format!("rotating-{label}");
        tokens
            .save_all(&connection, &[("oauth.refresh_token", "r1")])
            .unwrap();
        let barrier = Arc::new(Barrier::new(WORKERS));
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                // Each worker opens the store anew: its own connections.
                let own: Arc<dyn TokenStore> = match label {
                    "plain" => Arc::new(S::reopen(&place).unwrap()),
                    _ => Arc::new(SealedTokenStore::new(
                        Arc::new(S::reopen(&place).unwrap()),
                        key.clone(),
                    )),
                };
                let (barrier, connection) = (barrier.clone(), connection.clone());
                std::thread::spawn(move || {
                    let (refresh, access) = (format!("r2-{worker}"), format!("a2-{worker}"));
                    barrier.wait();
                    let expected = Expected {
                        name: "oauth.refresh_token",
                        value: Some("r1"),
                    };
                    let stored = own
                        .save_if(
                            &connection,
                            expected,
                            &[
                                ("oauth.refresh_token", &refresh),
                                ("oauth.access_token", &access),
                            ],
                        )
                        .unwrap();
                    (worker, stored)
                })
            })
            .collect();
        let results: Vec<(usize, bool)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, won)| *won)
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(winners.len(), 1, "{label}: {results:?}");
        let winner = winners[0];
        assert_eq!(
            tokens.load(&connection, "oauth.refresh_token").unwrap(),
            Some(format!("r2-{winner}")),
            "{label}"
        );
        assert_eq!(
            tokens.load(&connection, "oauth.access_token").unwrap(),
            Some(format!("a2-{winner}")),
            "{label}: the winner's pair is stored whole"
        );
    }
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

/// The platform's data: replaced and read back as written.
pub fn platform_round_trips<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    let customer = |id: &str, name: &str, domains: &[&str]| Customer {
        id: id.into(),
        name: name.into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
    };
    let first = vec![
        customer("c1", "Acme", &["acme.com", "acme.org"]),
        customer("c2", "Globex", &[]),
        customer("c3", "Initech", &["initech.com"]),
    ];
    store.replace_customers(&first).unwrap();
    assert_eq!(store.customers().unwrap(), first);
    let second = vec![
        customer("c1", "Acme Inc", &["acme.com"]),
        customer("c3", "Initech", &["initech.com"]),
    ];
    store.replace_customers(&second).unwrap();
    assert_eq!(store.customers().unwrap(), second);

    let rules = vec![
        OverrideRule {
            org_key: "o1".into(),
            action: "pin".into(),
            customer_id: "c1".into(),
        },
        OverrideRule {
            org_key: "o2".into(),
            action: "forbid".into(),
            customer_id: "*".into(),
        },
    ];
    store.replace_overrides("conn", &rules).unwrap();
    let mut read = store.overrides("conn").unwrap();
    read.sort_by(|a, b| a.org_key.cmp(&b.org_key));
    assert_eq!(read, rules);

    let results = MatchResults {
        organizations: vec![
            OrgMatch {
                org_key: "o1".into(),
                org_name: Some("Acme".into()),
                decision: Decision {
                    outcome: Outcome::Matched {
                        customer_id: "c1".into(),
                        method: Method::Override,
                    },
                    reason: "pinned".into(),
                },
            },
            OrgMatch {
                org_key: "o2".into(),
                org_name: None,
                decision: Decision {
                    outcome: Outcome::Unmatched,
                    reason: "no domain".into(),
                },
            },
        ],
        people: vec![Link {
            key: "p1".into(),
            customer_id: "c1".into(),
            via: Via::Organization,
        }],
        conversations: vec![
            Link {
                key: "t1".into(),
                customer_id: "c1".into(),
                via: Via::Organization,
            },
            Link {
                key: "t2".into(),
                customer_id: "c1".into(),
                via: Via::Requester,
            },
        ],
    };
    store.replace_matching_results("conn", &results).unwrap();
    assert_eq!(store.matching_results("conn").unwrap(), results);
    assert_eq!(
        store.matching_results("never").unwrap(),
        MatchResults::default()
    );
    assert_eq!(store.matched_connections().unwrap(), vec!["conn"]);

    let scored = StoredSentiment {
        fingerprint: -7,
        sentiment: Sentiment::from_outcome("scored", Some(0.25)).unwrap(),
    };
    let no_text = StoredSentiment {
        fingerprint: 3,
        sentiment: Sentiment::from_outcome("no_text", None).unwrap(),
    };
    store
        .update_sentiment_scores(
            "conn",
            &[("m1".into(), scored), ("m2".into(), no_text)],
            &[],
        )
        .unwrap();
    store
        .update_sentiment_scores("conn", &[], &["m2".into()])
        .unwrap();
    let scores = store.sentiment_scores("conn").unwrap();
    assert_eq!(scores.len(), 1);
    assert_eq!(scores["m1"], scored);

    let removed: HashMap<&str, usize> = store
        .forget_connection("conn")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(removed["customer_conversations"], 2);
    assert_eq!(removed["message_sentiment"], 1);
    assert_eq!(store.matched_connections().unwrap(), Vec::<String>::new());
    assert_eq!(
        store.customers().unwrap(),
        second,
        "the customer list is shared and stays"
    );
}

/// A store written by a newer host is refused with advice, and left as it
/// was; one written by this host opens again.
pub fn newer_schemas_are_refused<S: StoreUnderTest>() {
    let (store, place) = S::fresh();
    store.set("a", "k", b"v").unwrap();
    drop(S::reopen(&place).expect("this host's store opens again"));
    store.raise_schema_version();
    let Err(error) = S::reopen(&place) else {
        panic!("{}: a newer store was opened", S::NAME);
    };
    assert!(matches!(error, ConnectorError::Store(_)), "{error:?}");
    assert!(
        error.to_string().contains("upgrade connector-host"),
        "{error}"
    );
    assert_eq!(store.get("a", "k").unwrap().as_deref(), Some(&b"v"[..]));
}

/// The blocking methods work from a current-thread runtime's thread and
/// from plain threads at once.
pub fn blocking_calls_work_anywhere<S: StoreUnderTest>() {
    let (store, _place) = S::fresh();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                for n in 0..20 {
                    store.set("t", &format!("{i}-{n}"), b"x").unwrap();
                }
            })
        })
        .collect();
    let inside = on_runtime(async {
        store.set("t", "runtime", b"y").unwrap();
        let records = store.records("t");
        records
            .commit_page(page("s", vec![record("1", "1", "{}", false)], "c", true))
            .await
            .unwrap();
        tokio::task::yield_now().await;
        store.get("t", "runtime").unwrap()
    });
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(inside.as_deref(), Some(&b"y"[..]));
    assert_eq!(store.list_keys("t", "").unwrap().len(), 81);
}
