//! With the `zendesk` feature, builds the Zendesk connector component
//! (connector/) from source and embeds it: `connector-host` ships with the
//! connector built in.

use std::path::Path;

fn main() {
    if std::env::var_os("CARGO_FEATURE_ZENDESK").is_none() {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let component = guest_build::zendesk_connector(&repo);
    println!("cargo:rustc-env=ZENDESK_COMPONENT={}", component.display());
}
