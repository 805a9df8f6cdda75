//! The JSON Schema each stream publishes for its records' `data`, from the
//! schemas that `build.rs` generates from the record model.

use std::borrow::Cow;

use super::StreamName;

/// A record kind's generated schema.
struct KindSchema {
    /// The kind's name.
    name: &'static str,
    /// Its JSON Schema, without `$schema`.
    def: &'static str,
    /// The members it requires, each with its `type` as JSON.
    required: &'static [(&'static str, &'static str)],
}

// `SCHEMAS` (one `KindSchema` per kind) and `META_SCHEMA` (their draft, as
// a JSON string).
include!(concat!(env!("OUT_DIR"), "/record_schemas.rs"));

/// The generated schema of a record kind.
fn kind_schema(kind: &str) -> &'static KindSchema {
    SCHEMAS
        .iter()
        .find(|schema| schema.name == kind)
        .expect("a stream's kinds are the model's")
}

/// The JSON Schema of a stream's records' `data`: its kind's schema, or,
/// for a stream of several kinds, one schema per kind under `$defs` (keyed
/// by kind), one of which a record matches, with the members every kind
/// requires with the same type at the top.
pub fn json_schema(stream: StreamName) -> Cow<'static, str> {
    let kinds: Vec<&KindSchema> = stream
        .record_kinds()
        .iter()
        .map(|k| kind_schema(k))
        .collect();
    let first = kinds[0]; // every stream has a kind
    if kinds.len() == 1 {
        // The draft goes first: `{"$schema":...,` then the schema's members.
        return Cow::Owned(format!("{{\"$schema\":{META_SCHEMA},{}", &first.def[1..]));
    }
    let common: Vec<&(&str, &str)> = first
        .required
        .iter()
        .filter(|member| kinds.iter().all(|kind| kind.required.contains(member)))
        .collect();
    let list = |item: &dyn Fn(&KindSchema) -> String| {
        kinds.iter().map(|kind| item(kind)).collect::<Vec<_>>()
    };
    let required: Vec<String> = common
        .iter()
        .map(|(member, _)| format!("\"{member}\""))
        .collect();
    let properties: Vec<String> = common
        .iter()
        .map(|(member, kind)| format!("\"{member}\":{{\"type\":{kind}}}"))
        .collect();
    Cow::Owned(format!(
        "{{\"$schema\":{META_SCHEMA},\"title\":\"{title}\",\"description\":\"Records of kind {described}\",\
         \"type\":\"object\",\"required\":[{required}],\"properties\":{{{properties}}},\
         \"oneOf\":[{refs}],\"$defs\":{{{defs}}}}}",
        title = stream.as_str(),
        described = list(&|k| format!("{0} (see $defs.{0})", k.name)).join(" and "),
        required = required.join(","),
        properties = properties.join(","),
        refs = list(&|k| format!("{{\"$ref\":\"#/$defs/{}\"}}", k.name)).join(","),
        defs = list(&|k| format!("\"{}\":{}", k.name, k.def)).join(","),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn every_stream_publishes_its_kinds_schemas() {
        for stream in StreamName::ALL {
            let schema: Value = serde_json::from_str(&json_schema(stream)).unwrap();
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            assert_eq!(schema["type"], "object", "{}", stream.as_str());
            match stream.record_kinds() {
                [kind] => assert_eq!(schema["title"], *kind),
                kinds => {
                    assert_eq!(schema["title"], stream.as_str());
                    for kind in kinds {
                        assert_eq!(schema["$defs"][kind]["title"], *kind);
                        assert!(schema["$defs"][kind].get("$schema").is_none());
                    }
                    assert_eq!(
                        schema["required"],
                        json!(["author_id", "conversation_id", "id"])
                    );
                    assert_eq!(schema["properties"]["id"], json!({"type": "string"}));
                }
            }
        }
    }
}
