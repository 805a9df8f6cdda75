//! The schedule's view of every connection as Prometheus-style gauges,
//! published before each scrape: it covers the connections other
//! processes run too.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::policy::State;
use crate::schedule::ConnectionStatus;

/// Publishes [`ConnectionStatus`]es as gauges: seconds since the last
/// successful sync (absent before the first), whether the connection
/// needs attention, its consecutive failures, and its lease owner
/// (`connector_lease_owner{connection, owner}` 1 while that process holds
/// an unexpired lease; a former owner's series drops to 0).
#[derive(Default)]
pub struct StatusGauges {
    /// The owner each connection's lease gauge was last set for.
    owners: Mutex<HashMap<String, String>>,
}

impl StatusGauges {
    /// Sets the gauges from `statuses`, read at `now` (the database's
    /// Unix ms, from [`crate::Schedule::status`]).
    pub fn publish(&self, statuses: &[ConnectionStatus], now: i64) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        for status in statuses {
            let connection = || status.connection.clone();
            if let Some(success) = status.last_success_at {
                metrics::gauge!("connector_seconds_since_last_success", "connection" => connection())
                    .set((now - success) as f64 / 1000.0);
            }
            metrics::gauge!("connector_needs_attention", "connection" => connection())
                .set(f64::from(u8::from(status.state == State::Attention)));
            metrics::gauge!("connector_consecutive_failures", "connection" => connection())
                .set(f64::from(status.failures));
            let owner = match (&status.lease_owner, status.lease_expires_at) {
                (Some(owner), Some(expiry)) if expiry > now => Some(owner.clone()),
                _ => None,
            };
            let before = owners.get(&status.connection).cloned();
            if before.is_some() && before != owner {
                let before = before.unwrap_or_default();
                metrics::gauge!("connector_lease_owner", "connection" => connection(), "owner" => before)
                    .set(0.0);
                owners.remove(&status.connection);
            }
            if let Some(owner) = owner {
                metrics::gauge!("connector_lease_owner", "connection" => connection(), "owner" => owner.clone())
                    .set(1.0);
                owners.insert(connection(), owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    fn status(connection: &str, owner: Option<&str>, expires: i64) -> ConnectionStatus {
        ConnectionStatus {
            connection: connection.into(),
            state: if connection == "broken" {
                State::Attention
            } else {
                State::Scheduled
            },
            lease_owner: owner.map(Into::into),
            lease_expires_at: owner.map(|_| expires),
            next_run_at: 0,
            failures: u32::from(connection == "broken"),
            last_success_at: (connection != "broken").then_some(1_000),
            last_error: None,
            last_error_class: None,
        }
    }

    #[test]
    fn the_gauges_follow_the_schedule_and_a_former_owner_drops_to_zero() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let gauges = StatusGauges::default();
        metrics::with_local_recorder(&recorder, || {
            gauges.publish(
                &[
                    status("acme", Some("a:1:aa"), 99_000),
                    status("broken", None, 0),
                ],
                61_000,
            );
            // `a` died; after its lease expired, `b` took acme over.
            gauges.publish(&[status("acme", Some("b:2:bb"), 200_000)], 120_000);
        });
        let text = handle.render();
        for line in [
            "connector_seconds_since_last_success{connection=\"acme\"} 119",
            "connector_needs_attention{connection=\"broken\"} 1",
            "connector_needs_attention{connection=\"acme\"} 0",
            "connector_consecutive_failures{connection=\"broken\"} 1",
            "connector_lease_owner{connection=\"acme\",owner=\"a:1:aa\"} 0",
            "connector_lease_owner{connection=\"acme\",owner=\"b:2:bb\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        assert!(!text.contains("connector_seconds_since_last_success{connection=\"broken\"}"));
    }
}
