//! Which streams a sync runs: the selection with its dependencies, checked
//! before any work starts, less the streams not due yet.

use std::collections::{BTreeMap, BTreeSet};

use connector_runtime::contract::StreamInfo;
use connector_runtime::ConnectorError;

use crate::SyncOptions;

/// The streams to run: the selection plus everything it depends on. A
/// connector whose streams cannot all run (a name listed twice, a
/// dependency it does not list, a dependency cycle) is refused before any
/// work starts.
pub fn plan(
    streams: &[StreamInfo],
    selection: &[String],
) -> Result<Vec<StreamInfo>, ConnectorError> {
    let mut by_name: BTreeMap<&str, &StreamInfo> = BTreeMap::new();
    for stream in streams {
        if by_name.insert(stream.name.as_str(), stream).is_some() {
            return Err(ConnectorError::Internal(format!(
                "the connector lists stream `{}` twice",
                stream.name
            )));
        }
    }
    if let Some(unknown) = selection.iter().find(|n| !by_name.contains_key(n.as_str())) {
        return Err(ConnectorError::config(
            "--streams",
            format!(
                "unknown stream `{unknown}`; this connection has: {}",
                by_name.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut queue: Vec<&str> = if selection.is_empty() {
        by_name.keys().copied().collect()
    } else {
        selection.iter().map(String::as_str).collect()
    };
    while let Some(name) = queue.pop() {
        if wanted.insert(name) {
            for dependency in &by_name[name].depends_on {
                if !by_name.contains_key(dependency.as_str()) {
                    return Err(ConnectorError::Internal(format!(
                        "stream `{name}` depends on `{dependency}`, which the connector does not list"
                    )));
                }
                queue.push(dependency);
            }
        }
    }
    // Every stream must be able to start: take away the streams whose
    // dependencies are all taken; what remains waits on itself.
    let mut waiting = wanted.clone();
    while let Some(ready) = waiting.iter().copied().find(|n| {
        by_name[n]
            .depends_on
            .iter()
            .all(|d| !waiting.contains(d.as_str()))
    }) {
        waiting.remove(ready);
    }
    if !waiting.is_empty() {
        return Err(ConnectorError::Internal(format!(
            "these streams depend on each other in a cycle and can never start: {}",
            waiting.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(streams
        .iter()
        .filter(|s| wanted.contains(s.name.as_str()))
        .cloned()
        .collect())
}

/// The streams of a plan that are not due yet, with when they last synced:
/// those with a refresh interval that synced more recently than it, unless
/// the operator named them.
pub fn not_due(
    plan: &[StreamInfo],
    options: &SyncOptions,
    last_synced_at: impl Fn(&str) -> Option<i64>,
    now: i64,
) -> Vec<(String, i64)> {
    plan.iter()
        .filter(|s| !options.streams.contains(&s.name))
        .filter_map(|s| {
            let every = options.refresh_every.get(&s.name)?;
            let last = last_synced_at(&s.name)?;
            // Exact for any times and intervals (no wrap, no overflow).
            let elapsed = i128::from(now) - i128::from(last);
            (elapsed < i128::from(every.as_secs())).then(|| (s.name.clone(), last))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stream(name: &str, deps: &[&str]) -> StreamInfo {
        StreamInfo {
            name: name.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            ..StreamInfo::default()
        }
    }

    #[test]
    fn plans_include_dependencies_and_refuse_unknown_streams() {
        let all = vec![
            stream("ticket_fields", &[]),
            stream("tickets", &["ticket_fields"]),
            stream("users", &[]),
        ];
        let names = |p: Vec<StreamInfo>| p.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names(plan(&all, &[]).unwrap()),
            vec!["ticket_fields", "tickets", "users"]
        );
        assert_eq!(
            names(plan(&all, &["tickets".into()]).unwrap()),
            vec!["ticket_fields", "tickets"]
        );
        let err = plan(&all, &["nope".into()]).unwrap_err();
        assert!(
            err.to_string().contains("ticket_fields, tickets, users"),
            "{err}"
        );
    }

    #[test]
    fn plans_refuse_a_connector_whose_streams_cannot_be_planned() {
        let cases: [(&[StreamInfo], &str); 4] = [
            (
                &[stream("tickets", &[]), stream("tickets", &[])],
                "the connector lists stream `tickets` twice",
            ),
            (
                &[stream("tickets", &["ticket_fields"])],
                "stream `tickets` depends on `ticket_fields`, which the connector does not list",
            ),
            (
                &[stream("a", &["b"]), stream("b", &["a"]), stream("c", &[])],
                "in a cycle and can never start: a, b",
            ),
            (&[stream("a", &["a"])], "in a cycle and can never start: a"),
        ];
        for (streams, expected) in cases {
            let err = plan(streams, &[]).unwrap_err();
            assert_eq!(err.class(), "internal", "{err}");
            assert!(err.to_string().contains(expected), "{err}");
            assert!(
                err.to_string()
                    .contains("report it to the connector's authors"),
                "{err}"
            );
        }
        // A cycle outside the selection does not matter.
        let streams = [stream("a", &["b"]), stream("b", &["a"]), stream("c", &[])];
        assert_eq!(plan(&streams, &["c".into()]).unwrap().len(), 1);
    }

    #[test]
    fn streams_refreshed_recently_are_not_due() {
        let all = vec![stream("users", &[]), stream("tickets", &[])];
        let mut options = SyncOptions::default();
        options
            .refresh_every
            .insert("users".into(), Duration::from_secs(86_400));
        let synced_at = |name: &str| (name == "users").then_some(1_000);
        let skipped = not_due(&all, &options, synced_at, 1_000 + 3_600);
        assert_eq!(skipped, vec![("users".to_string(), 1_000)]);
        assert!(not_due(&all, &options, synced_at, 1_000 + 86_400).is_empty());
        assert!(not_due(&all, &options, |_| None, 5_000).is_empty());
        options.streams = vec!["users".into()];
        assert!(not_due(&all, &options, synced_at, 1_000 + 3_600).is_empty());
    }

    #[test]
    fn fuzz_regression_an_interval_beyond_i64_seconds_is_not_every_sync() {
        // Found by `connection_file::fuzz::connection_files_parse_or_say_why`
        // (connector-host): `users = "18446744073709551615"` was cast to
        // -1 seconds, so the stream was due on every sync; a last sync time
        // far in the past overflowed `now - last`.
        let all = vec![stream("users", &[])];
        let mut options = SyncOptions::default();
        options
            .refresh_every
            .insert("users".into(), Duration::from_secs(u64::MAX));
        let skipped = not_due(&all, &options, |_| Some(999), 1_000);
        assert_eq!(skipped, vec![("users".to_string(), 999)]);
        let long_ago = not_due(&all, &options, |_| Some(i64::MIN + 1), i64::MAX);
        assert_eq!(long_ago.len(), 1, "u64::MAX seconds have not passed");
        options
            .refresh_every
            .insert("users".into(), Duration::from_secs(60));
        assert!(not_due(&all, &options, |_| Some(i64::MIN), i64::MAX).is_empty());
    }
}
