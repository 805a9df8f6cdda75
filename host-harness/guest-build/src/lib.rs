//! Builds connector components from source inside a build script, in the
//! style of wasmtime's `test-programs`: a nested `cargo build` for
//! `wasm32-wasip2` in a workspace of the guests' own, into a target
//! directory of its own, so `cargo build` / `cargo test` at the root build
//! every component they need. No `.wasm` file is ever checked in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every connector component is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Build the Zendesk connector component (`connector/` under the
/// repository root `repo`) and return its file; re-run when the connector,
/// its SDK or the contract change.
pub fn zendesk_connector(repo: &Path) -> PathBuf {
    let connector = repo.join("connector");
    build(
        &connector.join("Cargo.toml"),
        &["zendesk-connector"],
        &[
            &connector.join("src"),
            &connector.join("sdk"),
            &connector.join("build.rs"),
            &connector.join("Cargo.toml"),
            &repo.join("wit"),
        ],
    )
    .remove(0)
}

/// Build the packages of the guest workspace at `manifest` (release
/// profile) and return the component file of each package, in order.
///
/// Also tells cargo to re-run the build script when the guests' sources or
/// the contract change. Panics with the command to run when the build
/// cannot proceed (a build script has no other way to fail).
pub fn build(manifest: &Path, packages: &[&str], watch: &[&Path]) -> Vec<PathBuf> {
    for path in watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    ensure_target();
    let out_dir =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out: share one guest
    // target directory per workspace target directory.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|t| t.join("wasm-guests"))
        .unwrap_or_else(|| out_dir.join("wasm-guests"));
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        cmd.arg("-p").arg(package);
    }
    // The outer build's flags and settings are for the host, not the guests.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let keep = ["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_NET_OFFLINE"].contains(&key.as_ref())
            || key.starts_with("CARGO_REGISTRIES_");
        if (key.starts_with("CARGO_") && !keep)
            || key.starts_with("RUSTFLAGS")
            || key == "RUSTC_WRAPPER"
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the connector components: {e}"));
    if !status.success() {
        panic!(
            "building the connector components failed (see the errors above); to reproduce: \
             cargo build --release --target {TARGET} --manifest-path {}",
            manifest.display()
        );
    }
    packages
        .iter()
        .map(|package| {
            let file = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{}.wasm", package.replace('-', "_")));
            assert!(
                file.exists(),
                "cargo built {package} but {} is missing",
                file.display()
            );
            file
        })
        .collect()
}

/// Make sure the standard library for the target is installed, installing
/// it with rustup where possible.
fn ensure_target() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let installed = || {
        Command::new(&rustc)
            .args(["--print", "target-libdir", "--target", TARGET])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).exists())
            .unwrap_or(false)
    };
    if installed() {
        return;
    }
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !added || !installed() {
        panic!(
            "the {TARGET} target is not installed and could not be installed automatically; \
             run: rustup target add {TARGET}"
        );
    }
}
