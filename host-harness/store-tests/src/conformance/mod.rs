//! The checks both stores must pass, written once over
//! [`StoreUnderTest`]; `tests/conformance.rs` runs each against SQLite and
//! PostgreSQL. Each check panics with what differs. By subject:
//! [`storage`] (connector storage and tokens), [`records`] (synced
//! records), and here the platform's tables, schema versions and calls
//! from any thread.

mod records;
mod storage;

pub use records::{
    failed_commits_leave_nothing, large_streams_are_read_whole, nul_characters_do_not_fail_a_page,
    page_commits,
};
pub use storage::{concurrent_rotation, credential_table, key_value_storage, token_storage};

use std::collections::HashMap;

use connector_platform::model::{
    Customer, Decision, Link, MatchResults, Method, OrgMatch, Outcome, OverrideRule, Via,
};
use connector_platform::sentiment::stored::StoredSentiment;
use connector_platform::sentiment::Sentiment;
use connector_platform::Tombstones;
use connector_runtime::contract::NormalizedRecord;
use connector_runtime::ConnectorError;
use connector_sync::stored::SyncedRecords;
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

fn visited(records: &dyn SyncedRecords, stream: &str) -> Vec<Visited> {
    crate::contents::stream_records(records, stream)
        .into_iter()
        .map(|r| (r.kind, r.key, r.version, r.deleted, r.data))
        .collect()
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
