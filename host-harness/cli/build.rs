//! With the `zendesk` feature, builds the Zendesk connector component
//! (connector/) from source and embeds it: `connector-host` ships with the
//! connector built in.

use std::path::Path;

fn main() {
    if std::env::var_os("CARGO_FEATURE_ZENDESK").is_none() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let connector = root.join("connector");
    let files = guest_build::build(
        &connector.join("Cargo.toml"),
        &["zendesk-connector"],
        &[
            &connector.join("src"),
            &connector.join("sdk"),
            &connector.join("build.rs"),
            &connector.join("Cargo.toml"),
            &root.join("wit"),
        ],
    );
    println!("cargo:rustc-env=ZENDESK_COMPONENT={}", files[0].display());
}
