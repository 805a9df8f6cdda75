//! What commands print: JSON for machines, aligned tables for people.

use crate::contract::{AuthKind, ConnectorSpec, NormalizedRecord, StreamInfo};

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
pub fn status(store: &crate::store::RecordStore) -> Result<String, crate::ConnectorError> {
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

/// Unix seconds as `YYYY-MM-DD HH:MM:SS`.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
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

/// Left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let out = table(
            &["A", "BB"],
            &[
                vec!["long".into(), "x".into()],
                vec!["s".into(), "y".into()],
            ],
        );
        assert_eq!(out, "A     BB\nlong  x\ns     y\n");
    }

    #[test]
    fn times_are_civil_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_795_000_000), "2026-11-18 11:06:40");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00");
    }
}
