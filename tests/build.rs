//! Builds the test guests (tests/guests) into components and exports their
//! paths as `GUEST_<NAME>` environment variables for the tests.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guests = root.join("guests");
    let packages = ["example-feed", "hostile", "sockets-importer"];
    let files = guest_build::build(
        &guests.join("Cargo.toml"),
        &packages,
        &[
            &guests,
            &root.join("../wit"),
            &root.join("../connector/sdk"),
        ],
    );
    for (package, file) in packages.iter().zip(files) {
        let var = format!("GUEST_{}", package.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", file.display());
    }
    // The Zendesk connector, for the embedding example (examples/embed.rs);
    // connector-host builds the same component into the same folder.
    let zendesk = guest_build::zendesk_connector(&root.join(".."));
    println!("cargo:rustc-env=GUEST_ZENDESK={}", zendesk.display());
}
