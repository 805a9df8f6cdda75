//! The database handle: a connection pool and the runtime it runs on.
//!
//! The storage traits the runtime and the platform call are blocking
//! (`KeyValueStore`, `TokenStore`, `PlatformStore`), and they are called
//! from async code on the host's tokio runtime, which may be a
//! current-thread one (tests, embeddings). Blocking such a thread on the
//! driver's futures cannot work: `Handle::block_on` panics inside a
//! runtime, and `block_in_place` panics on a current-thread runtime. So
//! the store owns a small multi-thread runtime of its own: the pool and
//! the connections' tasks live there, each blocking method spawns its work
//! there and waits for the answer on a channel. The waiting thread (a
//! worker of the host's runtime or any other thread) holds nothing the
//! store's runtime needs, so the wait cannot deadlock; the async [`Sink`]
//! methods await the spawned task instead of waiting.
//!
//! [`Sink`]: connector_sync::Sink

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use connector_runtime::{ConnectorError, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::config::Host;
use tokio_postgres::NoTls;

use crate::errors::pool_error;

/// Connections the pool keeps open at most: a page commit per stream
/// running at once, plus the connectors' storage reads.
const POOL_SIZE: usize = 8;

/// How long to wait for a connection from the pool, or for the server to
/// accept a new one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A handle to the database, cheap to clone and shared by every connection
/// of a process (and with other processes on other machines, through the
/// server).
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Where the database is, without the password: for messages.
    target: String,
    runtime: StoreRuntime,
}

/// The store's own runtime, shut down without waiting when the last handle
/// goes (dropping a runtime the usual way panics inside another runtime).
struct StoreRuntime(Option<tokio::runtime::Runtime>);

impl StoreRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime lives until the store is dropped")
            .handle()
    }
}

impl Drop for StoreRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Database {
    /// Connect to the database a PostgreSQL connection string names (a
    /// `postgres://` URL or `key=value` pairs) and bring its schema up to
    /// date. Messages name the database by user, host, port and name,
    /// never by its password.
    pub fn connect(connection_string: &str) -> Result<Self, ConnectorError> {
        let config = tokio_postgres::Config::from_str(connection_string).map_err(|e| {
            StoreError::new(
                "the PostgreSQL connection string cannot be read",
                "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or as \
                 `host=... port=... user=... dbname=...`",
                e,
            )
        })?;
        let target = describe(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres-store")
            .enable_all()
            .build()
            .map_err(|e| ConnectorError::Io {
                what: "cannot start the PostgreSQL store's threads".into(),
                source: e.into(),
            })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| {
                StoreError::new(
                    "cannot set up the PostgreSQL connection pool",
                    "report this with the connection string's form (not its password)",
                    e,
                )
            })?;
        let db = Database {
            inner: Arc::new(Inner {
                pool,
                target,
                runtime: StoreRuntime(Some(runtime)),
            }),
        };
        let migrate = db.clone();
        db.blocking(move |client| async move {
            crate::schema::migrate(client, &migrate.inner.target).await
        })?;
        Ok(db)
    }

    /// The connection pool, for embeddings that run their own queries on
    /// the database. Its connections run on the store's runtime: use them
    /// from work given to [`Database::spawn`] or [`Database::blocking`].
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Where the database is (user, host, port and name; never the
    /// password), for messages.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// Run `work` with a pooled connection on the store's runtime and wait
    /// for its answer, blocking the calling thread (see the module's
    /// documentation for why this is safe on any thread).
    pub fn blocking<T, E, F, Fut>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(deadpool_postgres::Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (sender, answer) = std::sync::mpsc::sync_channel(1);
        let pool = self.inner.pool.clone();
        self.inner.runtime.handle().spawn(async move {
            let result = match pool.get().await {
                Ok(client) => work(client).await,
                Err(e) => Err(pool_error(e).into()),
            };
            // The waiter is gone only if its thread ended; nobody is left
            // to tell.
            let _ = sender.send(result);
        });
        answer.recv().unwrap_or_else(|_| Err(lost_task().into()))
    }

    /// [`Database::blocking`] for async callers: the work runs on the
    /// store's runtime and is awaited, no thread waits.
    pub async fn spawn<T, E, F, Fut>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(deadpool_postgres::Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let pool = self.inner.pool.clone();
        self.inner
            .runtime
            .handle()
            .spawn(async move {
                match pool.get().await {
                    Ok(client) => work(client).await,
                    Err(e) => Err(pool_error(e).into()),
                }
            })
            .await
            .unwrap_or_else(|_| Err(lost_task().into()))
    }
}

/// The store's task ended without an answer: it panicked, or the store's
/// runtime was shut down under it.
fn lost_task() -> StoreError {
    StoreError::refused(
        "a PostgreSQL store task ended without an answer",
        "run the command again; if it persists, report it with --verbose output",
    )
}

/// `user@host:port/dbname` of a configuration, without its password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_server_is_refused_with_advice_and_without_the_password() {
        let nowhere = tempfile::tempdir().unwrap();
        let url = format!(
            "postgres://someone:hunter2secret@/db?host={}&port=1",
            nowhere.path().display()
        );
        let Err(error) = Database::connect(&url) else {
            panic!("a database without a server was opened");
        };
        let message = error.to_string();
        assert!(matches!(error, ConnectorError::Store(_)), "{error:?}");
        assert!(message.contains("server is running"), "{message}");
        assert!(!message.contains("hunter2secret"), "{message}");
    }

    #[test]
    fn unreadable_connection_strings_are_refused_without_echoing_them() {
        let Err(error) = Database::connect("postgres://someone:hunter2secret@host:notaport/db")
        else {
            panic!("a bad connection string was accepted");
        };
        let message = error.to_string();
        assert!(message.contains("postgres://USER"), "{message}");
        assert!(!message.contains("hunter2secret"), "{message}");
    }

    #[test]
    fn targets_name_the_database_without_its_password() {
        let config = tokio_postgres::Config::from_str(
            "postgres://someone:hunter2secret@db.example:6543/connectors",
        )
        .unwrap();
        assert_eq!(
            describe(&config),
            "postgres://someone@db.example:6543/connectors"
        );
    }
}
