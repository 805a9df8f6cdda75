//! `map-record` on hostile raw records: arbitrary text for any stream, and
//! real records cut short or with one node replaced (the wrong type, an
//! impossible time, huge or hostile text). A record maps to records of the
//! stream's kinds whose data is a JSON object, or to a `Protocol` error.

use std::panic::AssertUnwindSafe;

use serde_json::Value;

use super::fetch::{configs, seeded, NOW};
use super::{fixtures, replace_node, replacement, truncated, CI_TIME};
use crate::config::Config;
use crate::mapping::{map_record, MapContext};
use crate::state::catalog::Catalogs;
use crate::storage::MemoryStorage;
use crate::streams::StreamName;
use crate::types::ConnectorError;

/// Mapping with a connection's stored catalogs.
struct Map {
    configs: [Config; 2],
    seeded: [MemoryStorage; 2],
}

impl Map {
    fn new() -> Self {
        let configs = configs();
        let seeded = [seeded(&configs[0]), seeded(&configs[1])];
        Map { configs, seeded }
    }

    /// Maps `raw` with config `which` (of two).
    fn map(
        &self,
        which: usize,
        stream: StreamName,
        raw: &str,
    ) -> Result<Vec<crate::types::NormalizedRecord>, ConnectorError> {
        let mut catalogs = Catalogs::default();
        let mut ctx = MapContext {
            config: &self.configs[which % 2],
            storage: &self.seeded[which % 2],
            catalogs: &mut catalogs,
            now_ms: NOW * 1000,
        };
        map_record(&mut ctx, stream, raw)
    }

    /// Maps `raw` and asserts what any record must give.
    fn run(&self, which: usize, stream: StreamName, raw: &str) {
        match self.map(which, stream, raw) {
            Ok(records) => {
                for record in records {
                    assert!(
                        stream.record_kinds().contains(&record.kind.as_str()),
                        "{stream:?} mapped to a {}",
                        record.kind
                    );
                    assert!(!record.key.is_empty(), "{stream:?}: empty key from {raw}");
                    let data: Value = serde_json::from_str(&record.data)
                        .unwrap_or_else(|e| panic!("{stream:?}: data not JSON ({e})"));
                    assert!(data.is_object(), "{stream:?}: data {data}");
                }
            }
            Err(ConnectorError::Protocol(message)) => assert!(!message.is_empty()),
            Err(other) => panic!("{stream:?} refused a record unclassified: {other:?}"),
        }
    }
}

/// The stream picked by a byte.
fn stream(pick: u8) -> StreamName {
    StreamName::ALL[usize::from(pick) % StreamName::ALL.len()]
}

/// Target `map_arbitrary_records`: any text as any stream's raw record.
#[test]
fn map_arbitrary_records() {
    let map = AssertUnwindSafe(Map::new());
    bolero::check!()
        .with_type::<(u8, u8, String)>()
        .with_test_time(CI_TIME)
        .for_each(|(which, pick, raw)| map.run(usize::from(*which), stream(*pick), raw));
}

type RealInput = (u8, u16, u8, u32, u8, String);

/// Target `map_real_records_mutated`: a recorded record of a stream, cut
/// short or with one node replaced (and then maybe cut), mapped by its
/// stream or by another.
#[test]
fn map_real_records_mutated() {
    let map = AssertUnwindSafe(Map::new());
    let records = fixtures::records();
    bolero::check!()
        .with_type::<RealInput>()
        .with_test_time(CI_TIME)
        .for_each(|(pick, cut, mode, node, choice, text)| {
            let (own, raw) = &records[usize::from(*pick) % records.len()];
            let mut value: Value = serde_json::from_str(raw).expect("fixtures are JSON");
            if mode % 3 != 0 {
                replace_node(&mut value, *node as usize, replacement(*choice, text));
            }
            let text = value.to_string();
            let at = (text.len() as u64 * u64::from(*cut) / u64::from(u16::MAX)) as usize;
            let raw = if mode % 3 == 1 {
                &text
            } else {
                truncated(&text, at)
            };
            let by = if *mode >= 0xF0 { stream(*choice) } else { *own };
            map.run(usize::from(*mode >> 7), by, raw);
        });
}

#[test]
fn real_records_map_unmutated() {
    // The fixtures reach every kind's mapping: unmutated, each maps.
    let map = Map::new();
    for (stream, raw) in fixtures::records() {
        let mapped = map
            .map(0, *stream, raw)
            .unwrap_or_else(|e| panic!("{stream:?}: {e:?}\n{raw}"));
        assert!(
            !mapped.is_empty() || *stream == StreamName::TicketComments,
            "{stream:?} mapped to nothing: {raw}"
        );
    }
}

#[test]
fn fuzz_regression_a_tag_without_a_name_is_refused() {
    // Found by `map_real_records_mutated`: `{"name": "", "count": 12}`
    // mapped to a `tag` whose key was empty.
    let map = Map::new();
    let refused = map.map(0, StreamName::Tags, r#"{"name":"","count":12}"#);
    assert!(
        matches!(refused, Err(ConnectorError::Protocol(_))),
        "{refused:?}"
    );
}

#[test]
fn fuzz_regression_values_nested_past_the_readers_limit_are_refused() {
    // Found by `map_real_records_mutated`: `user_fields` 200 levels deep
    // passed through unparsed, and the person's data was JSON no reader
    // with serde_json's default limit could parse.
    let map = Map::new();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let raw = format!(r#"{{"id":1,"name":"Ann","user_fields":{{"x":{deep}}}}}"#);
    let refused = map.map(0, StreamName::Users, &raw);
    assert!(
        matches!(refused, Err(ConnectorError::Protocol(_))),
        "{refused:?}"
    );
}
