//! The key that seals the database's credentials (see
//! `connector_runtime::sealed`): `CONNECTOR_HOST_KEY` (64 hexadecimal
//! digits), else the key file (`--key-file`, by default a SQLite
//! database's path with `.key` added; a PostgreSQL database has no
//! default, as every host sharing it needs the same key), created with mode
//! 0600 on first use while the database holds no sealed credential. A missing or wrong key is an error
//! that says what to do; the host never makes a new key over sealed data.

use std::io::Write;
use std::path::{Path, PathBuf};

use connector_runtime::sealed::StoreKey;
use connector_runtime::storage::CredentialTable;
use connector_runtime::{ConnectorError, StoreError};

use crate::store::Store;

/// The environment variable that may hold the key itself.
pub const KEY_VAR: &str = "CONNECTOR_HOST_KEY";

/// The key file of a database: `connector-host.db` → `connector-host.db.key`.
pub fn default_path(db: &Path) -> PathBuf {
    suffixed(db, ".key")
}

/// `path` with `suffix` added to its name.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Where the key comes from.
pub enum KeySource {
    /// The environment variable.
    Variable,
    /// A file.
    File(PathBuf),
}

/// The key of the database `db`, and where it came from.
pub fn load(db: &Store, key_file: Option<&Path>) -> Result<(StoreKey, KeySource), ConnectorError> {
    if let Ok(text) = std::env::var(KEY_VAR) {
        return Ok((StoreKey::parse(&text, KEY_VAR)?, KeySource::Variable));
    }
    let path = match (key_file, db.sqlite_path()) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(db_path)) => default_path(db_path),
        (None, None) => {
            return Err(ConnectorError::config(
                "--key-file",
                format!(
                    "a PostgreSQL database has no default key file: pass --key-file FILE (created \
                     on first use) or set {KEY_VAR}, and use the same key on every host that \
                     shares {}",
                    db.describe()
                ),
            ))
        }
    };
    let db = db.credentials();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((
            StoreKey::parse(&text, &path.display().to_string())?,
            KeySource::File(path),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let sealed = db.sealed_credentials()?;
            if sealed > 0 {
                return Err(StoreError::refused(
                    format!(
                        "{} does not exist, and the database holds {sealed} credentials sealed \
                         with a key",
                        path.display()
                    ),
                    "restore the key file from its backup (or set CONNECTOR_HOST_KEY, or pass \
                     --key-file), or run `connector-host disconnect --config FILE` for each \
                     connection and authorize again",
                )
                .into());
            }
            let key = StoreKey::generate();
            write_key(&path, &key)?;
            Ok((key, KeySource::File(path)))
        }
        Err(e) => Err(StoreError::new(
            format!("cannot read the key file {}", path.display()),
            "check its permissions",
            e,
        )
        .into()),
    }
}

/// Write `key` to a new file at `path` readable by its owner only.
pub fn write_key(path: &Path, key: &StoreKey) -> Result<(), ConnectorError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| {
            writeln!(file, "{}", key.to_hex())?;
            file.sync_all()
        })
        .map_err(|e| {
            StoreError::new(
                format!("cannot write the key file {}", path.display()),
                "check that its folder exists and is writable (back the file up apart from the database)",
                e,
            )
            .into()
        })
}

/// `rotate-key`: every credential opened with the current key and sealed
/// with a new one in one transaction. The new key is written first, beside
/// the old (`.new`), and moved over it after the commit; returns what to
/// print.
pub fn rotate(
    db: &dyn CredentialTable,
    key: &StoreKey,
    source: &KeySource,
    new_key_file: Option<&Path>,
) -> Result<String, ConnectorError> {
    let target = match (new_key_file, source) {
        (Some(path), _) => path.to_path_buf(),
        (None, KeySource::File(path)) => path.clone(),
        (None, KeySource::Variable) => {
            return Err(ConnectorError::config(
                "--new-key-file",
                format!(
                    "the key comes from {KEY_VAR}: name the file to write the new key to, then \
                     set {KEY_VAR} to its content"
                ),
            ))
        }
    };
    let rows = db.all_credentials()?;
    let new_key = StoreKey::generate();
    let mut resealed = Vec::with_capacity(rows.len());
    for (connection, name, value) in &rows {
        let plain = key.open(connection, name, value)?;
        resealed.push((
            connection.clone(),
            name.clone(),
            new_key.seal(connection, name, &plain),
        ));
    }
    let pending = suffixed(&target, ".new");
    let _ = std::fs::remove_file(&pending);
    write_key(&pending, &new_key)?;
    db.rewrite_credentials(&resealed)?;
    std::fs::rename(&pending, &target).map_err(|e| {
        ConnectorError::from(StoreError::new(
            format!(
                "the credentials are sealed with the new key, but it could not be moved from {} to {}",
                pending.display(),
                target.display()
            ),
            "move it by hand: the old key no longer opens them",
            e,
        ))
    })?;
    Ok(format!(
        "{} credentials sealed again with key {} (was {}); the key is in {}: back it up apart \
         from the database\n",
        rows.len(),
        new_key.id(),
        key.id(),
        target.display()
    ))
}
