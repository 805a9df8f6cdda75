//! Generates the JSON Schema of every record kind from the record model
//! (`connector-records`) into `$OUT_DIR/record_schemas.rs`, which
//! `discover` publishes: the schemas are made here, natively, so that the
//! component carries them as text, and neither a schema generator nor
//! JSON manipulation.

use std::fmt::Write;
use std::path::PathBuf;

use connector_records::Kind;
use serde_json::Value;

fn main() {
    let mut code = String::new();
    let mut meta_schema = Value::Null;
    writeln!(code, "const SCHEMAS: [KindSchema; {}] = [", Kind::ALL.len()).unwrap();
    for kind in Kind::ALL {
        let mut schema = kind.schema().to_value();
        let object = schema
            .as_object_mut()
            .expect("a record's schema is an object");
        meta_schema = object
            .remove("$schema")
            .expect("the schema names its draft");
        let required: Vec<(String, String)> = object["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|member| {
                let kind = object["properties"][member]["type"].to_string();
                (member.to_owned(), kind)
            })
            .collect();
        writeln!(
            code,
            "    KindSchema {{ name: {:?}, def: {:?}, required: &{required:?} }},",
            kind.name(),
            schema.to_string(),
        )
        .unwrap();
    }
    code.push_str("];\n");
    writeln!(
        code,
        "const META_SCHEMA: &str = {:?};",
        meta_schema.to_string()
    )
    .unwrap();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("record_schemas.rs"), code).expect("OUT_DIR is writable");
    // A change of the model rebuilds this script, hence reruns it.
    println!("cargo::rerun-if-changed=build.rs");
}
