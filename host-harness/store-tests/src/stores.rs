//! Either store, opened the same way: what the conformance suite and the
//! host's end-to-end tests are parameterised over.

use std::path::PathBuf;

use connector_platform::PlatformStore;
use connector_runtime::storage::{CredentialTable, KeyValueStore, TokenStore};
use connector_runtime::ConnectorError;
use connector_sync::stored::SyncedRecords;
use connector_sync::Sink;

use crate::postgres::TestDatabase;

/// A store under test, freshly made.
pub trait StoreUnderTest:
    KeyValueStore + TokenStore + CredentialTable + PlatformStore + Clone + Send + Sync + 'static
{
    /// A connection's synced data.
    type Records: Sink + SyncedRecords;

    /// Which store this is, for messages.
    const NAME: &'static str;

    /// A new, empty store, and what keeps it alive.
    fn fresh() -> (Self, Place);

    /// The store `place` holds, opened again (as another process would).
    fn reopen(place: &Place) -> Result<Self, ConnectorError>;

    /// The synced data of `connection`.
    fn records(&self, connection: &str) -> Self::Records;

    /// Mark the store as written by a host one schema version newer.
    fn raise_schema_version(&self);

    /// Make every write of a stream's state fail (`on`), or work again:
    /// a failure in the middle of a page commit, after its records.
    fn fail_stream_writes(&self, on: bool);
}

/// Which store a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl StoreKind {
    /// A new, empty store of this kind.
    pub fn fresh(self) -> Place {
        match self {
            StoreKind::Sqlite => connector_store_sqlite::Database::fresh().1,
            StoreKind::Postgres => connector_store_postgres::Database::fresh().1,
        }
    }
}

/// Defines a test per store for a test function taking a [`StoreKind`]:
/// `on_both_stores!(name)` for `fn name(kind)`, `on_both_stores!(async
/// name)` for `async fn name(kind)` (run on a multi-threaded runtime).
/// The tests are `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    (async $name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name($crate::stores::StoreKind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$name($crate::stores::StoreKind::Postgres).await
            }
        }
    };
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::stores::StoreKind::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name($crate::stores::StoreKind::Postgres)
            }
        }
    };
}

/// Where a store under test lives; dropping it deletes the store.
pub enum Place {
    /// A SQLite file in a temporary folder.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database of its own.
    Postgres(Box<TestDatabase>),
}

impl Place {
    /// What the CLI's `--db` takes to open this store.
    pub fn db_argument(&self) -> String {
        match self {
            Place::Sqlite(dir) => sqlite_path(dir).display().to_string(),
            Place::Postgres(database) => database.url(),
        }
    }

    /// Whether anything has made the store yet (a host run on
    /// [`Place::db_argument`] makes it on first use).
    pub fn exists(&self) -> bool {
        match self {
            Place::Sqlite(dir) => sqlite_path(dir).exists(),
            Place::Postgres(_) => true,
        }
    }

    /// The synced data of `connection`, read from the store opened anew
    /// (as another process would).
    pub fn records(&self, connection: &str) -> Box<dyn SyncedRecords> {
        match self {
            Place::Sqlite(_) => {
                Box::new(opened::<connector_store_sqlite::Database>(self).records(connection))
            }
            Place::Postgres(_) => {
                Box::new(opened::<connector_store_postgres::Database>(self).records(connection))
            }
        }
    }

    /// The connectors' key-value storage, read from the store opened anew.
    pub fn key_value(&self) -> Box<dyn KeyValueStore> {
        match self {
            Place::Sqlite(_) => Box::new(opened::<connector_store_sqlite::Database>(self)),
            Place::Postgres(_) => Box::new(opened::<connector_store_postgres::Database>(self)),
        }
    }
}

/// The store at `place`, opened again; panics if it cannot be.
fn opened<S: StoreUnderTest>(place: &Place) -> S {
    S::reopen(place).unwrap_or_else(|e| panic!("the {} store opens again: {e}", S::NAME))
}

fn sqlite_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.db")
}

/// The statements that make stream-state writes fail, per store.
const SQLITE_FAIL_STREAMS: &str = "
    CREATE TRIGGER fail_streams_insert BEFORE INSERT ON streams BEGIN SELECT RAISE(ABORT, 'sabotaged'); END;
    CREATE TRIGGER fail_streams_update BEFORE UPDATE ON streams BEGIN SELECT RAISE(ABORT, 'sabotaged'); END;";
const SQLITE_HEAL_STREAMS: &str =
    "DROP TRIGGER fail_streams_insert; DROP TRIGGER fail_streams_update;";
const POSTGRES_FAIL_STREAMS: &str = "
    CREATE FUNCTION sabotage() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'sabotaged'; END $$;
    CREATE TRIGGER fail_streams BEFORE INSERT OR UPDATE ON streams
        FOR EACH ROW EXECUTE FUNCTION sabotage();";
const POSTGRES_HEAL_STREAMS: &str =
    "DROP TRIGGER fail_streams ON streams; DROP FUNCTION sabotage();";

impl StoreUnderTest for connector_store_sqlite::Database {
    type Records = connector_store_sqlite::RecordStore;
    const NAME: &'static str = "sqlite";

    fn fresh() -> (Self, Place) {
        let dir = tempfile::tempdir().expect("a folder for the test database");
        let db = Self::open(&sqlite_path(&dir)).expect("a new SQLite database opens");
        (db, Place::Sqlite(dir))
    }

    fn reopen(place: &Place) -> Result<Self, ConnectorError> {
        match place {
            Place::Sqlite(dir) => Self::open(&sqlite_path(dir)),
            Place::Postgres(_) => panic!("a SQLite store lives in a file"),
        }
    }

    fn records(&self, connection: &str) -> Self::Records {
        connector_store_sqlite::RecordStore::new(self.clone(), connection)
    }

    fn raise_schema_version(&self) {
        let conn = self.lock();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("the schema version reads");
        conn.pragma_update(None, "user_version", version + 1)
            .expect("the schema version is raised");
    }

    fn fail_stream_writes(&self, on: bool) {
        self.lock()
            .execute_batch(if on {
                SQLITE_FAIL_STREAMS
            } else {
                SQLITE_HEAL_STREAMS
            })
            .expect("the triggers change");
    }
}

impl StoreUnderTest for connector_store_postgres::Database {
    type Records = connector_store_postgres::RecordStore;
    const NAME: &'static str = "postgres";

    fn fresh() -> (Self, Place) {
        let database = TestDatabase::new();
        let db = Self::connect(&database.url()).expect("a new PostgreSQL database opens");
        (db, Place::Postgres(Box::new(database)))
    }

    fn reopen(place: &Place) -> Result<Self, ConnectorError> {
        match place {
            Place::Postgres(database) => Self::connect(&database.url()),
            Place::Sqlite(_) => panic!("a PostgreSQL store lives on a server"),
        }
    }

    fn records(&self, connection: &str) -> Self::Records {
        connector_store_postgres::RecordStore::new(self.clone(), connection)
    }

    fn raise_schema_version(&self) {
        self.execute("UPDATE connector_host_schema SET version = version + 1");
    }

    fn fail_stream_writes(&self, on: bool) {
        self.execute(if on {
            POSTGRES_FAIL_STREAMS
        } else {
            POSTGRES_HEAL_STREAMS
        });
    }
}

/// Statements run on a PostgreSQL store's own pool.
trait Execute {
    fn execute(&self, statements: &str);
}

impl Execute for connector_store_postgres::Database {
    fn execute(&self, statements: &str) {
        let statements = statements.to_owned();
        self.blocking(move |client| async move {
            client
                .batch_execute(&statements)
                .await
                .map_err(|e| ConnectorError::Internal(e.to_string()))
        })
        .expect("the test's statements run");
    }
}
