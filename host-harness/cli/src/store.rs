//! The database `--db` names: a SQLite file (the embedded default) or a
//! shared PostgreSQL database (`postgres://…`). Every command reaches its
//! store through [`Store`], so each works on either; the sync engine's
//! generic [`connector_sync::run`] is given the concrete record store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use connector_platform::PlatformStore;
use connector_runtime::contract::StreamInfo;
use connector_runtime::storage::{CredentialTable, KeyValueStore, TokenStore};
use connector_runtime::ConnectorError;
use connector_sync::stored::SyncedRecords;
use connector_sync::{ConnectionFactory, Progress, SyncOptions, SyncReport};

/// The URL schemes that name a PostgreSQL database.
const POSTGRES_SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// The database a host keeps everything in.
#[derive(Clone)]
pub enum Store {
    /// A SQLite file, for one host on one machine.
    Sqlite {
        /// The database.
        db: connector_store_sqlite::Database,
        /// Its file.
        path: PathBuf,
    },
    /// A PostgreSQL database, shared by any number of hosts.
    Postgres(connector_store_postgres::Database),
}

impl Store {
    /// Open (creating or migrating) the database `location` names: a
    /// `postgres://` or `postgresql://` URL, else a SQLite file's path.
    pub fn open(location: &str) -> Result<Store, ConnectorError> {
        if is_postgres(location) {
            Ok(Store::Postgres(
                connector_store_postgres::Database::connect(location)?,
            ))
        } else {
            let path = PathBuf::from(location);
            Ok(Store::Sqlite {
                db: connector_store_sqlite::Database::open(&path)?,
                path,
            })
        }
    }

    /// The database for messages: the file, or user, host, port and name
    /// (never a password).
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite { path, .. } => path.display().to_string(),
            Store::Postgres(db) => db.target().to_string(),
        }
    }

    /// The SQLite file, when the store is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Store::Sqlite { path, .. } => Some(path),
            Store::Postgres(_) => None,
        }
    }

    /// The connectors' key-value storage.
    pub fn key_value(&self) -> Arc<dyn KeyValueStore> {
        match self {
            Store::Sqlite { db, .. } => Arc::new(db.clone()),
            Store::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// The host's credentials, as stored (sealing is the caller's).
    pub fn tokens(&self) -> Arc<dyn TokenStore> {
        match self {
            Store::Sqlite { db, .. } => Arc::new(db.clone()),
            Store::Postgres(db) => Arc::new(db.clone()),
        }
    }

    /// The credentials table as a whole, for the key's upkeep.
    pub fn credentials(&self) -> &dyn CredentialTable {
        match self {
            Store::Sqlite { db, .. } => db,
            Store::Postgres(db) => db,
        }
    }

    /// The platform's tables (customers, matches, overrides, scores).
    pub fn platform(&self) -> &dyn PlatformStore {
        match self {
            Store::Sqlite { db, .. } => db,
            Store::Postgres(db) => db,
        }
    }

    /// A connection's synced data, for reading and upkeep.
    pub fn records(&self, connection: &str) -> Box<dyn SyncedRecords> {
        match self {
            Store::Sqlite { db, .. } => Box::new(connector_store_sqlite::RecordStore::new(
                db.clone(),
                connection,
            )),
            Store::Postgres(db) => Box::new(connector_store_postgres::RecordStore::new(
                db.clone(),
                connection,
            )),
        }
    }

    /// Run one sync of `connection` into this store ([`connector_sync::run`]).
    pub async fn sync(
        &self,
        connection: &str,
        open: ConnectionFactory,
        streams: Vec<StreamInfo>,
        options: SyncOptions,
        progress: Progress,
    ) -> SyncReport {
        match self {
            Store::Sqlite { db, .. } => {
                let sink = connector_store_sqlite::RecordStore::new(db.clone(), connection);
                connector_sync::run(open, streams, sink, options, progress).await
            }
            Store::Postgres(db) => {
                let sink = connector_store_postgres::RecordStore::new(db.clone(), connection);
                connector_sync::run(open, streams, sink, options, progress).await
            }
        }
    }

    /// [`Store::sync`] for a fleet process that holds `connection`'s lease
    /// as `owner`: every page commit checks the lease in its transaction
    /// (`connector_store_postgres::RecordStore::leased_to`), so nothing is
    /// committed once another process may have taken the connection over.
    /// Only PostgreSQL keeps fleet leases.
    pub async fn sync_leased(
        &self,
        connection: &str,
        owner: &str,
        open: ConnectionFactory,
        streams: Vec<StreamInfo>,
        options: SyncOptions,
        progress: Progress,
    ) -> Result<SyncReport, ConnectorError> {
        let Store::Postgres(db) = self else {
            return Err(ConnectorError::config(
                "--db",
                "leases are kept in the fleet's shared PostgreSQL database: pass --db postgres://...",
            ));
        };
        let sink =
            connector_store_postgres::RecordStore::new(db.clone(), connection).leased_to(owner);
        Ok(connector_sync::run(open, streams, sink, options, progress).await)
    }
}

/// Whether `location` names a PostgreSQL database.
pub fn is_postgres(location: &str) -> bool {
    POSTGRES_SCHEMES
        .iter()
        .any(|scheme| location.starts_with(scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_postgresql_and_anything_else_a_sqlite_file() {
        for (location, postgres) in [
            ("postgres://u@db.internal/connector", true),
            ("postgresql:///connector?host=/run/postgresql", true),
            ("connector-host.db", false),
            ("/var/lib/connector/postgres.db", false),
            ("./postgres:/x.db", false),
        ] {
            assert_eq!(is_postgres(location), postgres, "{location}");
        }
    }
}
