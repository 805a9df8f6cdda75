//! The wasmtime engine and its limits, and loading connector components:
//! validation, the on-disk cache of compiled components, the import check
//! and the pre-linked instance template each connection instantiates.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::errors::ConnectorError;
pub use crate::generated::ContractVersion;
use crate::generated::CorePre;
use crate::state::HostState;

/// How often the engine's epoch advances; the unit of the CPU budget.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sandbox limits applied to every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// CPU time a single call may use while the guest runs (waiting for
    /// HTTP responses does not count beyond one tick per wait).
    pub cpu_per_call: Duration,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// WebAssembly stack, in bytes.
    pub stack_bytes: usize,
    /// Largest page of raw records a connector may return, in bytes.
    pub max_page_bytes: usize,
    /// Wall-clock time a single call may take, waiting for responses and
    /// timers included (the CPU budget does not count waiting).
    pub wall_per_call: Duration,
    /// Outgoing requests one instance may have in flight at once; more are
    /// refused.
    pub max_requests_in_flight: usize,
    /// Largest cursor a connector may return, in bytes.
    pub max_cursor_bytes: usize,
    /// Largest record key (and version), in bytes.
    pub max_key_bytes: usize,
    /// Largest record kind name, in bytes.
    pub max_kind_bytes: usize,
    /// Largest raw or normalized record, in bytes.
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_per_call: Duration::from_secs(30),
            memory_bytes: 256 << 20,
            stack_bytes: 1 << 20,
            max_page_bytes: 64 << 20,
            wall_per_call: Duration::from_secs(600),
            max_requests_in_flight: 32,
            max_cursor_bytes: 64 << 10,
            max_key_bytes: 1 << 10,
            max_kind_bytes: 64,
            max_record_bytes: 16 << 20,
        }
    }
}

impl Limits {
    /// The CPU budget in epoch ticks (at least one).
    pub fn cpu_ticks(&self) -> u64 {
        (self.cpu_per_call.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}

/// Interfaces a connector may import. Anything else is refused at load
/// time: notably `wasi:sockets`, which would bypass the HTTP policy.
const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/environment@",
    "wasi:cli/exit@",
    "wasi:cli/stdin@",
    "wasi:cli/stdout@",
    "wasi:cli/stderr@",
    "wasi:cli/terminal-",
    "wasi:filesystem/types@",
    "wasi:filesystem/preopens@",
    "wasi:http/types@0.2.",
    "wasi:http/outgoing-handler@0.2.",
    "wasi:logging/logging",
    "connector:source/storage@0.1.",
    "connector:source/types@0.1.",
    "connector:source/storage@0.2.",
    "connector:source/types@0.2.",
    "connector:source/storage@0.3.",
    "connector:source/types@0.3.",
    "connector:source/storage@0.4.",
    "connector:source/types@0.4.",
];

/// The engine, the linker with every host import, and the compile cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: Option<PathBuf>,
    limits: Limits,
}

/// A component ready to be instantiated, once per connection.
#[derive(Clone)]
pub struct LoadedConnector {
    pub(crate) pre: CorePre,
    /// SHA-256 of the component's bytes, hex.
    pub digest: String,
    /// The contract version it implements.
    pub version: ContractVersion,
    /// Whether it came from the compile cache.
    pub from_cache: bool,
}

/// Feeds `Hash` output into SHA-256, to turn wasmtime's compatibility hash
/// into a stable cache key.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is read")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl Runtime {
    /// An engine with the given limits; compiled components are cached in
    /// `cache_dir` when given.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> Result<Self, ConnectorError> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack_bytes)
            .async_stack_size(limits.stack_bytes + (1 << 20))
            .wasm_component_model(true);
        let engine = Engine::new(&config)
            .map_err(|e| engine_error("cannot start the WebAssembly engine", e))?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| ConnectorError::Io {
                what: "cannot start the epoch ticker".into(),
                source: e.into(),
            })?;
        let mut linker = Linker::new(&engine);
        add_imports(&mut linker).map_err(|e| engine_error("cannot link host imports", e))?;
        Ok(Runtime {
            engine,
            linker,
            cache_dir,
            limits,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every connection gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Load a component from a file.
    pub fn load_file(&self, path: &Path) -> Result<LoadedConnector, ConnectorError> {
        let bytes = std::fs::read(path)
            .map_err(|e| ConnectorError::Refused(format!("cannot read {}: {e}", path.display())))?;
        self.load(&bytes)
    }

    /// Validate, compile (or fetch from the cache), check imports and
    /// exports, and pre-link a component.
    pub fn load(&self, bytes: &[u8]) -> Result<LoadedConnector, ConnectorError> {
        check_header(bytes)?;
        let digest = hex::encode(Sha256::digest(bytes));
        let (component, from_cache) = self.compile_cached(bytes, &digest)?;
        let version = self.check_interface(&component)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| ConnectorError::Refused(format!("the component cannot be linked: {e}")))?;
        let pre = CorePre::new(version, instance_pre).map_err(|e| {
            ConnectorError::Refused(format!(
                "the component does not implement the connector contract: {e}"
            ))
        })?;
        Ok(LoadedConnector {
            pre,
            digest,
            version,
            from_cache,
        })
    }

    fn cache_path(&self, digest: &str) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let mut hasher = Sha256Hasher(Sha256::new());
        std::hash::Hash::hash(&self.engine.precompile_compatibility_hash(), &mut hasher);
        hasher.0.update(digest.as_bytes());
        Some(dir.join(format!("{}.cwasm", hex::encode(hasher.0.finalize()))))
    }

    fn compile_cached(
        &self,
        bytes: &[u8],
        digest: &str,
    ) -> Result<(Component, bool), ConnectorError> {
        let cache_path = self.cache_path(digest);
        if let Some(path) = cache_path.as_ref().filter(|p| p.exists()) {
            // SAFETY: the file is read only from our own cache directory,
            // written by `Component::serialize` of this engine configuration
            // (the key includes wasmtime's compatibility hash).
            // Read into memory rather than mapping the file: a cache file
            // truncated by another process must not fault this one.
            let cached = std::fs::read(path).map_err(wasmtime::Error::from);
            match cached.and_then(|bytes| unsafe { Component::deserialize(&self.engine, bytes) }) {
                Ok(component) => return Ok((component, true)),
                Err(e) => tracing::warn!(
                    "ignoring unusable cache entry {}: {e}; recompiling",
                    path.display()
                ),
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| {
            ConnectorError::Refused(format!("the component is not valid WebAssembly: {e:#}"))
        })?;
        if let Some(path) = cache_path {
            if let Err(e) = write_cache(&path, &component) {
                tracing::warn!("cannot write the compile cache {}: {e}", path.display());
            }
        }
        Ok((component, false))
    }

    fn check_interface(&self, component: &Component) -> Result<ContractVersion, ConnectorError> {
        let ty = component.component_type();
        let refused: Vec<String> = ty
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .filter(|name| !ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p)))
            .collect();
        if !refused.is_empty() {
            return Err(ConnectorError::Refused(format!(
                "the component imports {}, which connectors may not use; a connector gets only \
                 HTTP through the host, logging, storage, clocks and randomness",
                refused.join(", ")
            )));
        }
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
            .map(|(name, _)| name.to_string())
            .collect();
        // The newest version the component implements.
        let implemented = ContractVersion::ALL.into_iter().rev().find(|version| {
            exports
                .iter()
                .any(|name| name.starts_with(version.export_prefix()))
        });
        if let Some(version) = implemented {
            return Ok(version);
        }
        Err(ConnectorError::Refused(format!(
            "the component implements no contract version this host serves \
             (connector:source@0.1, @0.2 or @0.3); it exports: {}",
            if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            }
        )))
    }
}

/// A failure to set up the engine, with wasmtime's error as its cause.
fn engine_error(what: &str, source: wasmtime::Error) -> ConnectorError {
    ConnectorError::Engine {
        what: what.into(),
        source: source.into_boxed_dyn_error().into(),
    }
}

fn write_cache(path: &Path, component: &Component) -> std::io::Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Refuse anything that is not a WebAssembly component before compiling.
fn check_header(bytes: &[u8]) -> Result<(), ConnectorError> {
    const MAGIC: &[u8] = b"\0asm";
    const COMPONENT_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
    const MODULE_LAYER: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(ConnectorError::Refused(
            "the file is not WebAssembly; pass a connector component (.wasm)".into(),
        ));
    }
    match <[u8; 4]>::try_from(&bytes[4..8]).expect("eight bytes checked") {
        COMPONENT_LAYER => Ok(()),
        MODULE_LAYER => Err(ConnectorError::Refused(
            "the file is a core WebAssembly module, not a component; build the connector for \
             the wasm32-wasip2 target"
                .into(),
        )),
        _ => Err(ConnectorError::Refused(
            "the file uses a WebAssembly version this host does not support".into(),
        )),
    }
}

/// Link every import a connector may use. WASI is linked without sockets;
/// the contexts grant no files, environment or arguments.
fn add_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
    use wasmtime_wasi::p2::bindings::{cli, filesystem, random};
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
    type T = HostState;
    // io, clocks, random, stdin, stdout, stderr.
    wasmtime_wasi::p2::add_to_linker_proxy_interfaces_async(linker)?;
    let l = linker;
    random::insecure::add_to_linker::<T, WasiRandom>(l, T::random)?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, T::random)?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?;
    crate::generated::add_to_linker(l)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_components_pass_the_header_check() {
        assert!(check_header(b"\0asm\x0d\x00\x01\x00rest").is_ok());
        let module = check_header(b"\0asm\x01\x00\x00\x00").unwrap_err();
        assert!(module.to_string().contains("wasm32-wasip2"), "{module}");
        assert!(check_header(b"#!/bin/sh").is_err());
        assert!(check_header(b"").is_err());
    }

    #[test]
    fn cpu_budget_is_counted_in_ticks() {
        let limits = Limits {
            cpu_per_call: Duration::from_millis(250),
            ..Limits::default()
        };
        assert_eq!(limits.cpu_ticks(), 25);
        let tiny = Limits {
            cpu_per_call: Duration::from_millis(1),
            ..Limits::default()
        };
        assert_eq!(tiny.cpu_ticks(), 1);
    }
}
