//! The connections `serve` runs: a directory of connection files, read
//! again whenever its entries or their modification times change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use connector_runtime::ConnectorError;
use tokio::sync::watch;

use crate::connection_file::ConnectionFile;

/// Each connection's name and the file that describes it, shared by the
/// directory watcher and the syncs.
pub type Files = Arc<RwLock<BTreeMap<String, PathBuf>>>;

/// Each file's modification time and length, to tell whether it changed.
type Stamp = Option<(SystemTime, u64)>;

/// The `.toml` files of a directory with their stamps.
fn listing(dir: &Path) -> Result<BTreeMap<PathBuf, Stamp>, ConnectorError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ConnectorError::config(
            "--connections",
            format!(
                "cannot read the folder {}: {e}; pass a folder of connection files (*.toml)",
                dir.display()
            ),
        )
    })?;
    Ok(entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| {
            let stamp = std::fs::metadata(&path)
                .and_then(|m| Ok((m.modified()?, m.len())))
                .ok();
            (path, stamp)
        })
        .collect())
}

/// Reads the connection files of a listing: each connection's file by
/// name. A file that cannot be read, or that names a connection another
/// file named already, is left out with a warning saying why.
fn read_files(listing: &BTreeMap<PathBuf, Stamp>) -> BTreeMap<String, PathBuf> {
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in listing.keys() {
        match ConnectionFile::load(path) {
            Ok((parsed, path)) => {
                let name = parsed.name_for(&path);
                if let Some(first) = files.get(&name) {
                    tracing::warn!(
                        file = %path.display(),
                        first = %first.display(),
                        connection = name,
                        "two files name one connection: this one is ignored; give it another `name`"
                    );
                } else {
                    files.insert(name, path);
                }
            }
            Err(error) => tracing::warn!(
                file = %path.display(),
                %error,
                "connection file ignored until it is fixed"
            ),
        }
    }
    files
}

/// Reads `dir` now (an unreadable folder is an error), then again every
/// `every` while it changes, in a task: the connections' files go to
/// `files`, their names to the returned receiver.
pub fn watch_dir(
    dir: PathBuf,
    every: Duration,
) -> Result<(Files, watch::Receiver<Vec<String>>), ConnectorError> {
    let mut seen = listing(&dir)?;
    let first = read_files(&seen);
    let (names, receiver) = watch::channel(first.keys().cloned().collect::<Vec<_>>());
    tracing::info!(
        folder = %dir.display(),
        connections = first.len(),
        "connection files read"
    );
    let files: Files = Arc::new(RwLock::new(first));
    let shared = files.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let now = match listing(&dir) {
                Ok(now) => now,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the connections folder; keeping the last connections");
                    continue;
                }
            };
            if now == seen {
                continue;
            }
            let read = read_files(&now);
            seen = now;
            tracing::info!(connections = read.len(), "connection files changed");
            let list: Vec<String> = read.keys().cloned().collect();
            *shared.write().unwrap_or_else(|p| p.into_inner()) = read;
            if names.send(list).is_err() {
                return;
            }
        }
    });
    Ok((files, receiver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_named_by_their_files_and_bad_files_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("acme.toml", "plugin = \"zendesk\"\n");
        write("other.toml", "name = \"globex\"\nplugin = \"zendesk\"\n");
        write("twin.toml", "name = \"acme\"\nplugin = \"zendesk\"\n");
        write("broken.toml", "plugin = [\n");
        write("notes.txt", "not a connection");
        let files = read_files(&listing(dir.path()).unwrap());
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(names, ["acme", "globex"]);
        assert_eq!(files["acme"], dir.path().join("acme.toml"));
    }

    #[test]
    fn a_missing_folder_is_a_config_error_with_advice() {
        let error = listing(Path::new("/nonexistent/connections")).unwrap_err();
        assert!(matches!(error, ConnectorError::Config(_)), "{error:?}");
        assert!(error.to_string().contains("folder of connection files"));
    }
}
