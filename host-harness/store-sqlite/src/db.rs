//! The host's embedded SQLite database: one file holds every connection's
//! connector storage, credentials, cursors and records. The schema is
//! documented in ARCHITECTURE.md; users query it directly.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use connector_runtime::{ConnectorError, StoreError};

/// The schema version this host writes, kept in `PRAGMA user_version`.
/// Raise it with a migration in [`Database::init`] whenever a table
/// changes shape.
const SCHEMA_VERSION: i64 = 1;

/// Statements that must succeed on a database written before schema
/// versions were recorded (user_version 0) for it to be adopted as
/// version 1: every column of the tables that changed shape during
/// development.
const VERSION_1_PROBES: &[&str] = &[
    "SELECT id, connection, stream, kind, key, version, deleted, data, synced_at FROM records LIMIT 0",
    "SELECT id, connection, stream, raw_id, raw FROM raw_records LIMIT 0",
    "SELECT connection, stream, cursor, done, pages, records, requests, last_synced_at, last_error FROM streams LIMIT 0",
];

/// The current schema. Every statement is idempotent.
const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA cache_size = -32768;
PRAGMA temp_store = MEMORY;
-- Checkpoint every 32 MiB of WAL rather than 4 MiB: index pages rewritten
-- by many commits in a row are copied back once.
PRAGMA wal_autocheckpoint = 8192;

-- Connector key-value storage, one namespace per connection.
CREATE TABLE IF NOT EXISTS kv (
    connection TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    PRIMARY KEY (connection, key)
) WITHOUT ROWID;

-- Credentials the host manages (rotated OAuth tokens); never given to connectors.
CREATE TABLE IF NOT EXISTS credentials (
    connection TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (connection, name)
) WITHOUT ROWID;

-- Per-stream sync state; the cursor is committed with its page's records.
CREATE TABLE IF NOT EXISTS streams (
    connection     TEXT NOT NULL,
    stream         TEXT NOT NULL,
    cursor         TEXT,
    done           INTEGER NOT NULL DEFAULT 0,
    pages          INTEGER NOT NULL DEFAULT 0,
    records        INTEGER NOT NULL DEFAULT 0,
    requests       INTEGER NOT NULL DEFAULT 0,
    last_synced_at INTEGER,
    last_error     TEXT,
    PRIMARY KEY (connection, stream)
) WITHOUT ROWID;

-- Normalized records, upserted by (connection, stream, kind, key). Rows are
-- large (JSON), so they live in a rowid table with a unique index rather
-- than in a WITHOUT ROWID B-tree.
CREATE TABLE IF NOT EXISTS records (
    id         INTEGER PRIMARY KEY,
    connection TEXT NOT NULL,
    stream     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    version    TEXT,
    deleted    INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    synced_at  INTEGER NOT NULL,
    UNIQUE (connection, stream, kind, key)
);
CREATE INDEX IF NOT EXISTS records_by_kind ON records (connection, kind);

-- Raw records as the API sent them, for `remap` after a connector upgrade.
CREATE TABLE IF NOT EXISTS raw_records (
    id         INTEGER PRIMARY KEY,
    connection TEXT NOT NULL,
    stream     TEXT NOT NULL,
    raw_id     TEXT NOT NULL,
    raw        TEXT NOT NULL,
    UNIQUE (connection, stream, raw_id)
);

-- The integration platform (`platform/`). The customer list is global: a
-- platform has one list, shared by every connection of the database;
-- `customers import` replaces it. Everything else is per connection.
CREATE TABLE IF NOT EXISTS customers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    normalized_name TEXT NOT NULL,
    imported_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_domains (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    domain      TEXT NOT NULL,
    PRIMARY KEY (customer_id, domain)
);
CREATE INDEX IF NOT EXISTS customer_domains_by_domain ON customer_domains (domain);

-- Overrides pin an organization to a customer or forbid a match
-- (`customer_id = '*'`: any customer). `customers match --overrides FILE`
-- replaces them; later runs keep applying them.
CREATE TABLE IF NOT EXISTS customer_overrides (
    connection  TEXT NOT NULL,
    org_key     TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('pin', 'forbid')),
    customer_id TEXT NOT NULL,
    PRIMARY KEY (connection, org_key, action, customer_id)
);

-- The matching's results, rewritten by every run (`customers match`, and
-- before `report` and `export --documents`). One row per organization
-- (`account` record), matched or not, with the reason.
CREATE TABLE IF NOT EXISTS customer_matches (
    connection  TEXT NOT NULL,
    org_key     TEXT NOT NULL,
    org_name    TEXT,
    status      TEXT NOT NULL CHECK (status IN ('matched', 'unmatched', 'ambiguous')),
    customer_id TEXT,
    method      TEXT CHECK (method IN ('override', 'domain', 'domain+name', 'name')),
    reason      TEXT NOT NULL,
    matched_at  INTEGER NOT NULL,
    PRIMARY KEY (connection, org_key)
);
-- People (`person` records) with a customer: through their organization, or
-- for end users without one, through their email's domain.
CREATE TABLE IF NOT EXISTS customer_people (
    connection  TEXT NOT NULL,
    person_key  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    via         TEXT NOT NULL CHECK (via IN ('organization', 'email_domain')),
    PRIMARY KEY (connection, person_key)
);
CREATE INDEX IF NOT EXISTS customer_people_by_customer ON customer_people (connection, customer_id);
-- Tickets (`conversation` records) with a customer: the ticket's
-- organization's, or when it has none, its requester's.
CREATE TABLE IF NOT EXISTS customer_conversations (
    connection       TEXT NOT NULL,
    conversation_key TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    via              TEXT NOT NULL CHECK (via IN ('organization', 'requester')),
    PRIMARY KEY (connection, conversation_key)
);
CREATE INDEX IF NOT EXISTS customer_conversations_by_customer
    ON customer_conversations (connection, customer_id);
-- The sentiment of customer messages (`connector-host report`, `export
-- --documents`): VADER's compound score, or why there is none; kept until
-- the message's text (its fingerprint) changes.
CREATE TABLE IF NOT EXISTS message_sentiment (
    connection  TEXT NOT NULL,
    message_key TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('scored', 'not_english', 'no_text')),
    compound    REAL CHECK ((outcome = 'scored') = (compound IS NOT NULL)),
    PRIMARY KEY (connection, message_key)
);
-- Messages follow their ticket.
CREATE VIEW IF NOT EXISTS customer_messages AS
SELECT m.connection, m.key AS message_key, cc.conversation_key, cc.customer_id, m.data
FROM records m
JOIN customer_conversations cc
  ON cc.connection = m.connection
 AND cc.conversation_key = json_extract(m.data, '$.conversation_id')
WHERE m.kind = 'message' AND m.deleted = 0;
"#;

/// A handle to the database, cheap to clone and shared by every connection
/// of a process. SQLite has one writer at a time, so one guarded handle
/// writes; a second one serves connectors' storage reads, which then need
/// not wait while a page of records is committed (WAL readers see the last
/// commit).
#[derive(Clone)]
pub struct Database {
    inner: Arc<Mutex<rusqlite::Connection>>,
    reader: Option<Arc<Mutex<rusqlite::Connection>>>,
}

impl Database {
    /// Open (or create) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self, ConnectorError> {
        let conn = rusqlite::Connection::open(path).map_err(|e| {
            StoreError::new(
                format!("cannot open the database {}", path.display()),
                "check the path and its permissions",
                e,
            )
        })?;
        let mut db = Self::init(conn, &path.display().to_string())?;
        let reader = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|reader| {
            reader.busy_timeout(std::time::Duration::from_secs(30))?;
            Ok(reader)
        })
        .map_err(host_error)?;
        db.reader = Some(Arc::new(Mutex::new(reader)));
        Ok(db)
    }

    /// An in-memory database, for tests and one-off commands.
    pub fn in_memory() -> Result<Self, ConnectorError> {
        Self::init(
            rusqlite::Connection::open_in_memory().map_err(host_error)?,
            "the in-memory database",
        )
    }

    /// Brings the schema of `conn` (the database `name`) up to date.
    fn init(conn: rusqlite::Connection, name: &str) -> Result<Self, ConnectorError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(host_error)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(host_error)?;
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .map_err(host_error)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::refused(
                format!(
                    "{name} was written by a newer connector-host (schema version {version}; \
                     this one knows up to {SCHEMA_VERSION})"
                ),
                "upgrade connector-host, or use another database file",
            )
            .into());
        }
        if version == 0 && tables > 0 && !VERSION_1_PROBES.iter().all(|q| conn.prepare(q).is_ok()) {
            return Err(StoreError::refused(
                format!(
                    "{name} was written by an early development build of connector-host and \
                     cannot be upgraded"
                ),
                "move it aside (or use a new database file) and sync again: the first sync \
                 imports everything anew",
            )
            .into());
        }
        conn.execute_batch(SCHEMA).map_err(host_error)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(host_error)?;
        Ok(Database {
            inner: Arc::new(Mutex::new(conn)),
            reader: None,
        })
    }

    /// Exclusive access to the underlying connection.
    pub fn lock(&self) -> MutexGuard<'_, rusqlite::Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent
        // (an open transaction is rolled back when dropped), so poisoning is
        // safe to ignore.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection for reading what is committed: the reader of a database
    /// file (not held up by a commit in progress), else the writer.
    pub fn read(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.reader
            .as_ref()
            .unwrap_or(&self.inner)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Turn a SQLite error into a host error with advice.
pub fn host_error(err: rusqlite::Error) -> ConnectorError {
    ConnectorError::Store(store_error(err))
}

/// A database failure as the runtime's storage error.
pub fn store_error(err: rusqlite::Error) -> StoreError {
    StoreError::new(
        "database error",
        "check disk space and that no other process holds the database",
        err,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(path: &Path) -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn schema_versions_are_recorded_checked_and_never_guessed() {
        let dir = tempfile::tempdir().unwrap();

        // A new file gets the current version; opening it again is fine.
        let fresh = dir.path().join("fresh.db");
        Database::open(&fresh).unwrap();
        assert_eq!(user_version(&fresh), SCHEMA_VERSION);
        Database::open(&fresh).unwrap();

        // Written before versions were recorded, with today's shape: adopted.
        let unversioned = dir.path().join("unversioned.db");
        rusqlite::Connection::open(&unversioned)
            .unwrap()
            .execute_batch(SCHEMA)
            .unwrap();
        assert_eq!(user_version(&unversioned), 0);
        Database::open(&unversioned).unwrap();
        assert_eq!(user_version(&unversioned), SCHEMA_VERSION);

        // An early shape (no raw_id): refused with advice, left as it was.
        let early = dir.path().join("early.db");
        rusqlite::Connection::open(&early)
            .unwrap()
            .execute_batch(
                "CREATE TABLE raw_records (connection TEXT, stream TEXT, key TEXT, raw TEXT);
                 INSERT INTO raw_records VALUES ('c', 's', 'k', '{}');",
            )
            .unwrap();
        let Err(error) = Database::open(&early) else {
            panic!("an early database was opened");
        };
        let message = error.to_string();
        assert!(message.contains("early.db"), "{message}");
        assert!(message.contains("move it aside"), "{message}");
        let kept: i64 = rusqlite::Connection::open(&early)
            .unwrap()
            .query_row("SELECT count(*) FROM raw_records", [], |row| row.get(0))
            .unwrap();
        assert_eq!((kept, user_version(&early)), (1, 0));

        // Written by a newer host: refused.
        let newer = dir.path().join("newer.db");
        rusqlite::Connection::open(&newer)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let Err(error) = Database::open(&newer) else {
            panic!("a newer database was opened");
        };
        assert!(
            error.to_string().contains("upgrade connector-host"),
            "{error}"
        );
    }
}
