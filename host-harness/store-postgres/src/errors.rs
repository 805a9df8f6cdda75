//! Driver and pool failures as the runtime's typed errors, classified by
//! SQLSTATE and by the kind of failure, never by message text.

use connector_runtime::{ConnectorError, StoreError};
use tokio_postgres::error::SqlState;

/// Advice when the server cannot be reached or dropped the connection.
const UNREACHABLE: &str = "check that the PostgreSQL server is running and reachable, and the \
     connection string's host, port, user and database; nothing half-written was kept";

/// Whether a failure is worth retrying as it is: the connection was lost,
/// the server is shutting down or starting, or the transaction lost a
/// serialization race or a deadlock.
fn is_transient(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                ]
                .contains(code)
        }
        None => {
            err.is_closed()
                || std::error::Error::source(err).is_some_and(|cause| cause.is::<std::io::Error>())
        }
    }
}

/// A driver failure as the runtime's storage error.
pub(crate) fn store_error(err: tokio_postgres::Error) -> StoreError {
    if is_transient(&err) {
        StoreError::new("the PostgreSQL database cannot be used", UNREACHABLE, err)
    } else {
        StoreError::new(
            "PostgreSQL refused a statement",
            "check the server's log and that the database's schema is this host's",
            err,
        )
    }
}

/// A driver failure as a host error: a lost connection is transient (the
/// sync engine retries it), anything else a storage error.
pub fn host_error(err: tokio_postgres::Error) -> ConnectorError {
    if is_transient(&err) {
        ConnectorError::Transient(format!("the PostgreSQL database cannot be used: {err}"))
    } else {
        ConnectorError::Store(store_error(err))
    }
}

/// A failure to get a connection from the pool.
pub(crate) fn pool_error(err: deadpool_postgres::PoolError) -> StoreError {
    match err {
        deadpool_postgres::PoolError::Backend(err) => store_error(err),
        other => StoreError::new("no PostgreSQL connection is available", UNREACHABLE, other),
    }
}
