//! Input files: JSON given as one value, an array or JSON Lines, and the
//! rows of CSV or JSON tables (customer lists, overrides).

use std::collections::BTreeMap;

use connector_runtime::ConnectorError;

/// JSON values given as one JSON value, a JSON array of them, or JSON
/// Lines, each as compact JSON text.
pub fn json_items(text: &str) -> Result<Vec<String>, ConnectorError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        return Ok(match value {
            serde_json::Value::Array(items) => items.iter().map(|v| v.to_string()).collect(),
            other => vec![other.to_string()],
        });
    }
    trimmed
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str::<serde_json::Value>(line)
                .map(|v| v.to_string())
                .map_err(|e| {
                    ConnectorError::config(
                        "input",
                        format!(
                            "line {} is not JSON ({e}); give one object, an array or JSON Lines",
                            n + 1
                        ),
                    )
                })
        })
        .collect()
}

/// One row of a CSV or JSON file: field name (lower case) to value.
pub(crate) type Row = BTreeMap<String, serde_json::Value>;

/// The rows of a CSV or JSON file, each with a label for errors (`FILE
/// line N` or `FILE item N`).
pub(crate) fn read_rows(text: &str, file: &str) -> Result<Vec<(String, Row)>, ConnectorError> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.starts_with('[') || text.starts_with('{') {
        let items = json_items(text).map_err(|e| ConnectorError::config(file, e.to_string()))?;
        return items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                let label = format!("{file} item {}", n + 1);
                match serde_json::from_str(item) {
                    Ok(serde_json::Value::Object(map)) => Ok((
                        label,
                        map.into_iter()
                            .map(|(k, v)| (k.trim().to_lowercase(), v))
                            .collect(),
                    )),
                    _ => Err(ConnectorError::config(&label, "expected a JSON object")),
                }
            })
            .collect();
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ConnectorError::config(file, format!("not CSV: {e}")))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ConnectorError::config(file, e.to_string()))?;
        // The reader's line count and position leave out the blank lines
        // before a record: count them here.
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let rest = text.get(start..).unwrap_or_default();
        let start = start + rest.len() - rest.trim_start_matches(['\r', '\n']).len();
        let line = 1 + text.get(..start).unwrap_or(text).matches('\n').count();
        let label = format!("{file} line {line}");
        if record.iter().all(str::is_empty) {
            continue;
        }
        let fields = header
            .iter()
            .zip(record.iter())
            .map(|(name, value)| (name.clone(), serde_json::Value::from(value)))
            .collect();
        rows.push((label, fields));
    }
    Ok(rows)
}

/// A field as text: strings as they are, numbers written out; empty is none.
pub(crate) fn text_field(row: &Row, name: &str) -> Option<String> {
    match row.get(name)? {
        serde_json::Value::String(s) => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_as_an_object_an_array_or_lines() {
        assert_eq!(json_items("{\"id\":1}").unwrap(), vec!["{\"id\":1}"]);
        assert_eq!(json_items("[{\"id\":1},{\"id\":2}]").unwrap().len(), 2);
        assert_eq!(json_items("{\"id\":1}\n\n{\"id\":2}\n").unwrap().len(), 2);
        assert!(json_items("").unwrap().is_empty());
        let err = json_items("{\"id\":1}\nnot json").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
