//! Fuzz target of what the host keeps of a component's output: normalized
//! records of any kind, key and version (NUL, control characters, huge
//! within the limits) and any data (not JSON, 100 000 `[`, wrong types),
//! as the sync engine commits them after `output_limits`, then read back
//! and matched by the platform. Commits never fail on content, read back
//! byte for byte, and the platform answers or refuses with a classified
//! error. `cargo test` runs it for [`CI_TIME`]; `cargo +nightly bolero
//! test -p connector-store-sqlite records::fuzz::component_output_is_kept_or_refused`
//! under libFuzzer.

use std::collections::BTreeMap;
use std::time::Duration;

use connector_platform::customers::{import, Customer};
use connector_runtime::output_limits::check_records;
use connector_runtime::Limits;

use super::*;

/// How long the target runs under `cargo test`.
const CI_TIME: Duration = Duration::from_millis(1500);

/// Kinds the platform reads, and one it does not know.
const KINDS: &[&str] = &[
    "conversation",
    "message",
    "person",
    "account",
    "change",
    "satisfaction",
    "",
];

/// Record data: the input's text as it is, deep nesting, or JSON objects
/// whose members have the wrong types or hostile text.
fn data(choice: u8, depth: u16, text: &str) -> String {
    let quoted = format!("{text:?}"); // a JSON string for most text
    let depth = usize::from(depth) % 100_001;
    match choice % 8 {
        0 => text.to_owned(),
        1 => "[".repeat(depth),
        2 => format!("{}1{}", "[".repeat(depth % 2000), "]".repeat(depth % 2000)),
        3 => format!("{}{}", "{\"a\":".repeat(depth % 2000), "1"),
        4 => format!(
            r#"{{"name":{quoted},"domains":[{quoted},1,null],"organization_id":{quoted},"email":{quoted}}}"#
        ),
        5 => format!(
            r#"{{"conversation_id":{quoted},"author_role":"end_user","body":{quoted},"created_at":{quoted}}}"#
        ),
        6 => format!(r#"{{"requester_id":[],"organization_id":{{}},"status":{quoted},"tags":7}}"#),
        _ => format!(
            r#"{{"domains":"{}","name":"Acme\u0000"}}"#,
            "x.".repeat(depth % 500)
        ),
    }
}

type RecordInput = (u8, String, Option<String>, (u8, u16), bool);

/// Target `component_output_is_kept_or_refused`.
#[test]
fn component_output_is_kept_or_refused() {
    bolero::check!()
        .with_type::<(String, Vec<RecordInput>, Option<String>, String)>()
        .with_test_time(CI_TIME)
        .for_each(|(raw, inputs, cursor, text)| {
            let records: Vec<NormalizedRecord> = inputs
                .iter()
                .map(
                    |(kind, key, version, (choice, depth), deleted)| NormalizedRecord {
                        kind: KINDS
                            .get(usize::from(*kind))
                            .map_or_else(|| text.clone(), |k| (*k).to_owned()),
                        key: key.clone(),
                        version: version.clone(),
                        data: data(*choice, *depth, text),
                        deleted: *deleted,
                    },
                )
                .collect();
            // What the runtime lets through is what the sync engine commits.
            if check_records(&records, &Limits::default()).is_err() {
                return;
            }
            let db = Database::in_memory().expect("an in-memory database");
            let customers = [Customer {
                id: "c1".into(),
                name: "Acme".into(),
                domains: vec!["acme.com".into()],
            }];
            import(&db, &customers).expect("the customer list is imported");
            let store = RecordStore::new(db.clone(), "conn");
            let page = PageCommit {
                stream: "stream".into(),
                records: vec![(raw.clone(), records.clone())],
                cursor: cursor.clone(),
                done: true,
                requests: 1,
                keep_raw: true,
            };
            let written = store
                .commit_page(&page)
                .unwrap_or_else(|e| panic!("a bounded page was not committed: {e}"));
            assert_eq!(written, records.len() as u64);

            let mut expected = BTreeMap::new();
            for r in &records {
                let value = (r.version.clone(), r.deleted, r.data.clone());
                expected.insert((r.kind.clone(), r.key.clone()), value);
            }
            let mut read = BTreeMap::new();
            store
                .for_each_record("stream", &mut |kind, key, version, deleted, data| {
                    let value = (version.map(str::to_owned), deleted, data.to_owned());
                    read.insert((kind.to_owned(), key.to_owned()), value);
                    Ok(())
                })
                .expect("committed records are read back");
            assert_eq!(read, expected);
            assert_eq!(store.stream_state("stream").unwrap().cursor, *cursor);
            assert_eq!(store.raw_records("stream").unwrap(), vec![raw.clone()]);

            match connector_platform::matching::run(&db, "conn") {
                Ok(_) => {}
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        });
}
