//! What commands print: JSON for machines, aligned tables for people.

use connector_platform::text::{format_time, table};
use connector_runtime::contract::{AuthKind, ConnectorSpec, NormalizedRecord, StreamInfo};
use connector_runtime::ConnectorError;
use connector_sync::stored::SyncedRecords;

/// The spec as pretty JSON (the config schema embedded as JSON).
pub fn spec_json(spec: &ConnectorSpec) -> String {
    let schemes: Vec<serde_json::Value> = spec
        .auth_schemes
        .iter()
        .map(|s| {
            let kind = match &s.kind {
                AuthKind::Basic(_) => "basic",
                AuthKind::Bearer(_) => "bearer",
                AuthKind::OAuth2RefreshToken(_) => "oauth2-refresh-token",
                AuthKind::OAuth2ClientCredentials(_) => "oauth2-client-credentials",
            };
            serde_json::json!({
                "id": s.id, "description": s.description, "kind": kind,
                "required_fields": s.required_fields,
            })
        })
        .collect();
    let schema: serde_json::Value = serde_json::from_str(&spec.config_schema)
        .unwrap_or_else(|_| spec.config_schema.clone().into());
    serde_json::to_string_pretty(&serde_json::json!({
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "config_schema": schema,
        "auth_schemes": schemes,
        "allowed_hosts": spec.allowed_hosts,
    }))
    .expect("JSON values serialize")
}

/// A table of streams.
pub fn streams_table(streams: &[StreamInfo]) -> String {
    let rows: Vec<Vec<String>> = streams
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.record_kinds.join(","),
                s.cursor_field.clone().unwrap_or_else(|| "-".into()),
                if s.depends_on.is_empty() {
                    "-".into()
                } else {
                    s.depends_on.join(",")
                },
                if s.optional {
                    "optional".into()
                } else {
                    "required".into()
                },
                s.description.clone(),
            ]
        })
        .collect();
    table(
        &["STREAM", "KINDS", "CURSOR", "AFTER", "", "DESCRIPTION"],
        &rows,
    )
}

/// The `status` view: streams and record counts.
pub fn status(store: &dyn SyncedRecords) -> Result<String, ConnectorError> {
    let states = store.all_stream_states()?;
    if states.is_empty() {
        return Ok("never synced: run `connector-host sync --config FILE`\n".into());
    }
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                s.stream.clone(),
                s.records.to_string(),
                s.pages.to_string(),
                s.requests.to_string(),
                s.last_synced_at
                    .map(format_time)
                    .unwrap_or_else(|| "never".into()),
                if s.done {
                    "caught up".into()
                } else {
                    "in progress".into()
                },
                s.cursor
                    .as_deref()
                    .map(shorten)
                    .unwrap_or_else(|| "-".into()),
                s.last_error.as_deref().map(shorten).unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "STREAM",
            "RECORDS",
            "PAGES",
            "REQUESTS",
            "LAST SYNC (UTC)",
            "STATE",
            "CURSOR",
            "LAST ERROR",
        ],
        &rows,
    );
    out.push('\n');
    let counts: Vec<Vec<String>> = store
        .counts()?
        .into_iter()
        .map(|(kind, live, deleted)| vec![kind, live.to_string(), deleted.to_string()])
        .collect();
    out.push_str(&table(&["KIND", "RECORDS", "DELETED"], &counts));
    Ok(out)
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        text.chars().take(57).collect::<String>() + "..."
    }
}

/// One normalized record as a JSON line.
pub fn record_json(record: &NormalizedRecord) -> String {
    let data: serde_json::Value =
        serde_json::from_str(&record.data).unwrap_or_else(|_| record.data.clone().into());
    serde_json::json!({
        "kind": record.kind,
        "key": record.key,
        "version": record.version,
        "deleted": record.deleted,
        "data": data,
    })
    .to_string()
}
