//! Input files: JSON given as one value, an array or JSON Lines.

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
